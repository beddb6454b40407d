"""A day's venue visits (场所码 check-ins), sorted by venue and starting hour so that the visits
overlapping one visit are found by looking at a few hour buckets of its venue: those of every
person who may go out in some streets (`draw_visits`), or of some people alone
(`draw_visits_of`).

Each person visits each public venue kind with the day's probability (`Behaviour`), at a venue of
that kind in their street, starting at a uniform time between opening and closing, for half to
one and a half times the kind's mean duration. Draws are keyed by (day, person, kind) (stream
VISITS): a person's visits do not depend on anyone else's, so closing a venue or confining a
person changes no one else's day, and any person's visits can be drawn alone, on demand (`visit`
is the one draw every function here and the venue kernel use).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from fangkong.sim.rng import Stream, agent_key, stream_key, sub_key, unit21

__all__ = [
    "HOURS",
    "VisitArrays",
    "VisitRules",
    "Visits",
    "draw_visits",
    "draw_visits_of",
    "street_of",
    "visit",
]

HOURS = 24
VisitArrays: TypeAlias = tuple[
    npt.NDArray[np.int32],  # person
    npt.NDArray[np.int32],  # venue
    npt.NDArray[np.int16],  # start
    npt.NDArray[np.int16],  # end
    npt.NDArray[np.int64],  # bucket_start
]
"""Sorted visits as arrays (`Visits` without the day and the hot flags), for the kernels."""
_VISITS = int(Stream.VISITS)


@dataclass(frozen=True)
class Visits:
    """The day's visits, sorted by venue then starting hour: those of venue v starting in hour h
    are bucket_start[v*24+h] .. bucket_start[v*24+h+1]-1. Times are minutes of the day."""

    day: int
    person: npt.NDArray[np.int32]
    venue: npt.NDArray[np.int32]
    start: npt.NDArray[np.int16]
    end: npt.NDArray[np.int16]
    bucket_start: npt.NDArray[np.int64]
    hot: npt.NDArray[np.bool_]  # the visit is an infectious agent's

    @property
    def n(self) -> int:
        return len(self.person)

    def only(self, keep: npt.NDArray[np.bool_]) -> Visits:
        """The visits where `keep` is set (still sorted, buckets recounted)."""
        n_venues = (len(self.bucket_start) - 1) // HOURS
        person, venue, start, end, bucket_start = _bucket(
            self.person[keep], self.venue[keep], self.start[keep], self.end[keep], n_venues
        )
        return Visits(self.day, person, venue, start, end, bucket_start, self.hot[keep])


@njit(inline="always", cache=True)
def visit(
    h: np.uint64,
    k: int,
    sk: int,
    by_street_kind: npt.NDArray[np.int32],
    minutes: npt.NDArray[np.float64],
    opening: int,
    closing: int,
) -> tuple[int, int, int]:
    """The venue, first and last minute of the visit to kind k of the person whose key is h (who
    goes when unit21(h, k) < the kind's probability), at a venue of the street-kind sk."""
    first = by_street_kind[sk]
    hv = sub_key(h, k)
    v = first + int(unit21(hv, 0) * (by_street_kind[sk + 1] - first))
    t = opening + int(unit21(hv, 1) * (closing - opening))
    d = minutes[k] * (0.5 + unit21(hv, 2))
    return v, t, min(t + max(1, int(d)), 24 * 60 - 1)


@njit(cache=True)
def _close_up(
    person: npt.NDArray[np.int32],
    venue: npt.NDArray[np.int32],
    start: npt.NDArray[np.int16],
    end: npt.NDArray[np.int16],
    hot: npt.NDArray[np.bool_],
    bucket_start: npt.NDArray[np.int64],
    offsets: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    kept: npt.NDArray[np.int64],
    by_street_kind: npt.NDArray[np.int32],
    kinds: int,
    n_venues: int,
) -> tuple[
    npt.NDArray[np.int32],
    npt.NDArray[np.int32],
    npt.NDArray[np.int16],
    npt.NDArray[np.int16],
    npt.NDArray[np.bool_],
]:
    """Visits to closed venues left gaps at the end of their street's range: close them up."""
    total = len(person)
    keep = np.zeros(total, dtype=np.bool_)
    shift = np.zeros(n_venues * HOURS + 1, dtype=np.int64)
    gone = 0
    for s in range(len(kept)):
        for i in range(offsets[s], offsets[s] + kept[s]):
            keep[i] = True
        v0 = by_street_kind[s * kinds]
        v1 = by_street_kind[(s + 1) * kinds]
        for b in range(v0 * HOURS, v1 * HOURS):
            shift[b] = gone
        gone += counts[s + 1] - kept[s]
    for b in range(n_venues * HOURS):
        bucket_start[b] -= shift[b]
    return person[keep], venue[keep], start[keep], end[keep], hot[keep]


@njit(parallel=True, cache=True)
def _count(
    key: np.uint64,
    street_first: npt.NDArray[np.int64],
    stays_in: npt.NDArray[np.uint8],
    probability: npt.NDArray[np.float64],
    street_drawn: npt.NDArray[np.bool_],
) -> npt.NDArray[np.int64]:
    """Visits of each street's people (counts[s + 1] for street s)."""
    n_streets = len(street_first) - 1
    counts = np.zeros(n_streets + 1, dtype=np.int64)
    for s in prange(n_streets):
        m = 0
        if not street_drawn[s]:
            continue
        for a in range(street_first[s], street_first[s + 1]):
            if stays_in[a] != 0:
                continue
            h = agent_key(key, a)
            for k in range(len(probability)):
                if unit21(h, k) < probability[k]:
                    m += 1
        counts[s + 1] = m
    return counts


@njit(parallel=True, cache=True)
def _draw(  # noqa: PLR0915 (one pass per street keeps its visits in cache)
    day: int,
    seed: np.uint64,
    street_first: npt.NDArray[np.int64],
    stays_in: npt.NDArray[np.uint8],
    by_street_kind: npt.NDArray[np.int32],
    probability: npt.NDArray[np.float64],
    minutes: npt.NDArray[np.float64],
    opening: int,
    closing: int,
    venue_closed: npt.NDArray[np.bool_],
    n_venues: int,
    infectious: npt.NDArray[np.bool_],
    street_drawn: npt.NDArray[np.bool_],
) -> tuple[
    npt.NDArray[np.int32],
    npt.NDArray[np.int32],
    npt.NDArray[np.int16],
    npt.NDArray[np.int16],
    npt.NDArray[np.int64],
    npt.NDArray[np.bool_],
]:
    n_streets = len(street_first) - 1
    kinds = len(probability)
    key = stream_key(seed, _VISITS, day)
    counts = _count(key, street_first, stays_in, probability, street_drawn)
    offsets = np.cumsum(counts)
    total = offsets[-1]
    person = np.empty(total, dtype=np.int32)
    venue = np.empty(total, dtype=np.int32)
    start = np.empty(total, dtype=np.int16)
    end = np.empty(total, dtype=np.int16)
    hot = np.zeros(total, dtype=np.bool_)
    bucket_start = np.zeros(n_venues * HOURS + 1, dtype=np.int64)
    kept = np.zeros(n_streets, dtype=np.int64)
    for s in prange(n_streets):
        # the street's people visit the street's venues: sort them inside the street
        v0 = by_street_kind[s * kinds]
        nv = by_street_kind[(s + 1) * kinds] - v0
        m = counts[s + 1]
        l_person = np.empty(m, dtype=np.int32)
        l_venue = np.empty(m, dtype=np.int32)
        l_start = np.empty(m, dtype=np.int16)
        l_end = np.empty(m, dtype=np.int16)
        buckets = np.zeros(nv * HOURS + 1, dtype=np.int64)
        j = 0
        for a in range(street_first[s], street_first[s + 1] if street_drawn[s] else 0):
            if stays_in[a] != 0:
                continue
            h = agent_key(key, a)
            for k in range(kinds):
                if unit21(h, k) >= probability[k]:
                    continue
                v, t, e = visit(h, k, s * kinds + k, by_street_kind, minutes, opening, closing)
                if venue_closed[v]:
                    continue
                l_person[j] = a
                l_venue[j] = v
                l_start[j] = t
                l_end[j] = e
                buckets[(v - v0) * HOURS + t // 60 + 1] += 1
                j += 1
        kept[s] = j
        for b in range(nv * HOURS):
            buckets[b + 1] += buckets[b]
        base = offsets[s]
        for b in range(nv * HOURS):
            bucket_start[v0 * HOURS + b] = base + buckets[b]
        for i in range(j):
            b = (l_venue[i] - v0) * HOURS + l_start[i] // 60
            t = base + buckets[b]
            buckets[b] += 1
            person[t] = l_person[i]
            venue[t] = l_venue[i]
            start[t] = l_start[i]
            end[t] = l_end[i]
            hot[t] = infectious[l_person[i]]
    if kept.sum() < total:
        person, venue, start, end, hot = _close_up(
            person,
            venue,
            start,
            end,
            hot,
            bucket_start,
            offsets,
            counts,
            kept,
            by_street_kind,
            kinds,
            n_venues,
        )
        total = kept.sum()
    # institutions' venues (after the public ones) are never visited
    last = by_street_kind[n_streets * kinds] * HOURS
    for b in range(last, n_venues * HOURS + 1):
        bucket_start[b] = total
    return person, venue, start, end, bucket_start, hot


def draw_visits(
    day: int,
    seed: int,
    street_first: npt.NDArray[np.int64],
    stays_in: npt.NDArray[np.uint8],
    by_street_kind: npt.NDArray[np.int32],
    probability: npt.NDArray[np.float64],
    minutes: npt.NDArray[np.float64],
    opening: int,
    closing: int,
    venue_closed: npt.NDArray[np.bool_],
    infectious: npt.NDArray[np.bool_],
    street_drawn: npt.NDArray[np.bool_],
) -> Visits:
    """The visits of `day` of every agent whose `stays_in` is 0; the people of street s are the
    agents street_first[s] .. street_first[s+1]-1 and visit the venues of their street. Only
    the streets marked in `street_drawn` are drawn; visits of `infectious` agents are marked
    hot."""
    person, venue, start, end, bucket_start, hot = _draw(
        day,
        np.uint64(seed),
        street_first,
        stays_in,
        by_street_kind,
        probability,
        minutes,
        opening,
        closing,
        venue_closed,
        len(venue_closed),
        infectious,
        street_drawn,
    )
    return Visits(day, person, venue, start, end, bucket_start, hot)


@dataclass(frozen=True)
class VisitRules:
    """Where and when the people of each street go: the people of street s are the agents
    street_first[s] .. street_first[s+1]-1, and visit kind k at one of the venues
    by_street_kind[s*kinds+k] .. by_street_kind[s*kinds+k+1]-1 with probability[k] a day."""

    street_first: npt.NDArray[np.int64]
    by_street_kind: npt.NDArray[np.int32]
    probability: npt.NDArray[np.float64]
    minutes: npt.NDArray[np.float64]
    opening: int
    closing: int

    @property
    def kinds(self) -> int:
        return len(self.probability)


@njit(inline="always", cache=True)
def street_of(street_first: npt.NDArray[np.int64], a: int) -> int:
    """The street whose people include agent a (n_streets for agents who never go out)."""
    return int(np.searchsorted(street_first, a, side="right")) - 1


@njit(parallel=True, cache=True)
def _visits_of(
    seed: np.uint64,
    day: int,
    agents: npt.NDArray[np.int32],
    stays_in: npt.NDArray[np.uint8],
    venue_closed: npt.NDArray[np.bool_],
    street_first: npt.NDArray[np.int64],
    by_street_kind: npt.NDArray[np.int32],
    probability: npt.NDArray[np.float64],
    minutes: npt.NDArray[np.float64],
    opening: int,
    closing: int,
    stay_mask: int,
) -> tuple[
    npt.NDArray[np.int32],
    npt.NDArray[np.int32],
    npt.NDArray[np.int16],
    npt.NDArray[np.int16],
]:
    """Agent i's visit to kind k at i*kinds+k, venue -1 where there is none."""
    key = stream_key(seed, _VISITS, day)
    kinds = len(probability)
    n_streets = len(street_first) - 1
    n = len(agents) * kinds
    person = np.empty(n, dtype=np.int32)
    venue = np.full(n, -1, dtype=np.int32)
    start = np.empty(n, dtype=np.int16)
    end = np.empty(n, dtype=np.int16)
    for i in prange(len(agents)):
        a = agents[i]
        if stays_in[a] & stay_mask:
            continue
        s = street_of(street_first, a)
        if not 0 <= s < n_streets:
            continue
        h = agent_key(key, a)
        for k in range(kinds):
            if unit21(h, k) >= probability[k]:
                continue
            v, t, e = visit(h, k, s * kinds + k, by_street_kind, minutes, opening, closing)
            if not venue_closed[v]:
                j = i * kinds + k
                person[j], venue[j], start[j], end[j] = a, v, t, e
    return person, venue, start, end


@njit(cache=True)
def _bucket(
    person: npt.NDArray[np.int32],
    venue: npt.NDArray[np.int32],
    start: npt.NDArray[np.int16],
    end: npt.NDArray[np.int16],
    n_venues: int,
) -> VisitArrays:
    """The visits sorted by venue and starting hour (a counting sort, stable), and the buckets;
    entries of venue -1 are left out."""
    bucket_start = np.zeros(n_venues * HOURS + 1, dtype=np.int64)
    for i in range(len(person)):
        if venue[i] >= 0:
            bucket_start[venue[i] * HOURS + start[i] // 60 + 1] += 1
    for b in range(n_venues * HOURS):
        bucket_start[b + 1] += bucket_start[b]
    fill = bucket_start[:-1].copy()
    order = np.empty(bucket_start[-1], dtype=np.int64)
    for i in range(len(person)):
        if venue[i] < 0:
            continue
        b = venue[i] * HOURS + start[i] // 60
        order[fill[b]] = i
        fill[b] += 1
    return person[order], venue[order], start[order], end[order], bucket_start


def draw_visits_of(
    day: int,
    seed: int,
    agents: npt.NDArray[np.int32],
    stays_in: npt.NDArray[np.uint8],
    venue_closed: npt.NDArray[np.bool_],
    rules: VisitRules,
    infectious: npt.NDArray[np.bool_],
    stay_mask: int = 0xFF,
) -> Visits:
    """The visits of `day` of `agents` alone: each the same as in `draw_visits` of their
    street (the draws are keyed by person), an agent with any bit of `stay_mask` set in
    `stays_in` staying in; visits of `infectious` agents are marked hot."""
    person, venue, start, end = _visits_of(
        np.uint64(seed),
        day,
        np.asarray(agents, dtype=np.int32),
        stays_in,
        venue_closed,
        rules.street_first,
        rules.by_street_kind,
        rules.probability,
        rules.minutes,
        rules.opening,
        rules.closing,
        stay_mask,
    )
    person, venue, start, end, bucket_start = _bucket(person, venue, start, end, len(venue_closed))
    return Visits(day, person, venue, start, end, bucket_start, infectious[person])
