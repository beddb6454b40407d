"""The transmission kernels: from the day's infectious agents to proposed infections, one layer
at a time, in time proportional to the infectious agents' contacts.

A group layer (households, classes, workplaces, institutions): an infectious agent meets every
other member of a group of up to `full_max` people, or `k` members drawn at random in a larger
one. A contact of a susceptible agent transmits with probability
1 - exp(-beta * weight * infectiousness * susceptibility); the draw is keyed by (day, infector,
infectee) in the layer's stream.

A venue: a visit meets the infectious agents' visits of the same venue that overlap it in time,
for w x minutes of overlap each (w: the infectious agent's infectiousness), and is infected with
probability 1 - exp(-beta * venue weight per hour * (the sum of those) / 60 * susceptibility):
the same as one independent draw per pair of visits. The kernel goes the other way round from
the group layers: it draws the visits of the susceptible people of the streets and venue kinds
that infectious agents visit (a hash each, no visit stored), and reads for each the infectious
visits of its venue in the hour buckets that can overlap it; the draw is keyed by (day,
infectee, venue), and the infector is one of the overlapping infectious visits, drawn in
proportion to what it brought.

Proposals are written chunk by chunk into one buffer (`Proposals`), so the result does not
depend on how threads are scheduled; a chunk that overflows is reported and the caller runs the
layer again with more room.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from fangkong.sim.checkin import HOURS, VisitArrays, VisitRules, Visits, street_of, visit
from fangkong.sim.rng import Stream, agent_key, stream_key, sub_key, unit, unit21

__all__ = ["CHUNKS", "Proposals", "group_contacts", "venue_contacts", "venue_exposure"]

CHUNKS = 64
_PICK = int(Stream.GROUP_CONTACTS)
_VENUE = int(Stream.VENUE)
_VISITS = int(Stream.VISITS)
# the infectious agents' visits for the venue kernel: person, start, end, bucket_start, and the
# infectiousness of each visit's person
_HotVisits: TypeAlias = tuple[
    npt.NDArray[np.int32],
    npt.NDArray[np.int16],
    npt.NDArray[np.int16],
    npt.NDArray[np.int64],
    npt.NDArray[np.float32],
]
_BLOCK = 256  # people whose visits the venue kernel lists at a time
_NONE, _FEW, _MANY = 0, 1, 2  # hot venues of a street-kind
# hot visits from which a venue's minute table (about 2 x 1,000 steps) costs less than summing
# over the hot visits in the hours each visit may overlap (a few dozen of them per visit)
_TABLE_FROM = 96


@dataclass
class Proposals:
    """Per chunk c, count[c] proposals at target/source/place[c*cap : c*cap+count[c]]."""

    cap: int
    target: npt.NDArray[np.int32]
    source: npt.NDArray[np.int32]
    place: npt.NDArray[np.int32]
    count: npt.NDArray[np.int64]

    @classmethod
    def room(cls, cap: int) -> Proposals:
        return cls(
            cap,
            np.empty(CHUNKS * cap, dtype=np.int32),
            np.empty(CHUNKS * cap, dtype=np.int32),
            np.empty(CHUNKS * cap, dtype=np.int32),
            np.zeros(CHUNKS, dtype=np.int64),
        )

    @property
    def overflowed(self) -> bool:
        return bool(self.count.max(initial=0) > self.cap)

    @classmethod
    def filled(cls, kernel: Callable[[Proposals], None], cap: int) -> Proposals:
        """Run `kernel` into fresh room of `cap` per chunk, and again with room for the largest
        chunk's count while any chunk overflowed (a kernel counts past its room but writes no
        further)."""
        while True:
            out = cls.room(cap)
            kernel(out)
            if not out.overflowed:
                return out
            cap = int(out.count.max()) + 1024

    def flat(self) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        keep = np.concatenate(
            [np.arange(c * self.cap, c * self.cap + int(n)) for c, n in enumerate(self.count)]
        )
        return self.target[keep], self.source[keep], self.place[keep]


@njit(inline="always", cache=True)
def _transmits(h: np.uint64, b: int, pressure: float, sus: float) -> bool:
    u = unit(sub_key(h, b))
    x = pressure * sus
    # 1 - exp(-x) <= x: most draws are settled without the exponential
    return u < x and u < 1.0 - np.exp(-x)


@njit(parallel=True, cache=True)
def _groups(
    sources: npt.NDArray[np.int32],
    w: npt.NDArray[np.float32],
    day: int,
    seed: np.uint64,
    stream: int,
    beta: float,
    of_agent: npt.NDArray[np.int32],
    start: npt.NDArray[np.int64],
    members: npt.NDArray[np.int32],
    full_max: int,
    k: int,
    status: npt.NDArray[np.uint8],
    source_off: np.uint8,
    target_off: np.uint8,
    susceptibility: npt.NDArray[np.float32],
    doses: npt.NDArray[np.uint8],
    cap: int,
    target: npt.NDArray[np.int32],
    source: npt.NDArray[np.int32],
    place: npt.NDArray[np.int32],
    count: npt.NDArray[np.int64],
) -> None:
    n = len(sources)
    key = stream_key(seed, stream, day)
    pick = stream_key(seed, _PICK + 16 * stream, day)
    for c in prange(CHUNKS):
        base = c * cap
        m = 0
        # a source's contacts are listed first in a loop without a branch (whether a contact
        # is still susceptible is a coin toss late in an epidemic), then tried one by one
        met = np.empty(max(full_max, k), dtype=np.int32)
        free = np.empty(max(full_max, k), dtype=np.bool_)
        for i in range(c * n // CHUNKS, (c + 1) * n // CHUNKS):
            a = sources[i]
            g = of_agent[a]
            if g < 0 or status[a] & source_off:
                continue
            s0 = start[g]
            size = start[g + 1] - s0
            if size <= full_max:
                draws = size
                for j in range(draws):
                    met[j] = members[s0 + j]
            else:
                draws = k
                hp = agent_key(pick, a)
                for j in range(draws):
                    met[j] = members[s0 + np.int64(unit(sub_key(hp, j)) * size)]
            for j in range(draws):
                free[j] = (status[met[j]] & target_off == 0) & (met[j] != a)
            ha = agent_key(key, a)
            pressure = beta * w[i]
            for j in range(draws):
                b = met[j]
                if free[j] and _transmits(ha, b, pressure, susceptibility[doses[b]]):
                    if m < cap:
                        target[base + m] = b
                        source[base + m] = a
                        place[base + m] = g
                    m += 1
        count[c] = m


def group_contacts(
    sources: npt.NDArray[np.int32],
    w: npt.NDArray[np.float32],
    day: int,
    seed: int,
    stream: Stream,
    beta: float,
    groups: tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.int32]],
    full_max: int,
    k: int,
    state: tuple[npt.NDArray[np.uint8], np.uint8, np.uint8],
    susceptibility: npt.NDArray[np.float32],
    doses: npt.NDArray[np.uint8],
    cap: int = 4096,
) -> Proposals:
    """Infections proposed in one group layer (`groups` = of_agent, start, members). `state` is
    (status, source_off, target_off): an agent with any bit of source_off in its status gives
    no infection in the layer, one with any bit of target_off takes none (target_off holds
    source_off and the bit of those already infected)."""
    of_agent, start, members = groups
    status, source_off, target_off = state

    def kernel(out: Proposals) -> None:
        _groups(
            sources,
            w,
            day,
            np.uint64(seed),
            int(stream),
            beta,
            of_agent,
            start,
            members,
            full_max,
            k,
            status,
            np.uint8(source_off),
            np.uint8(target_off),
            susceptibility,
            doses,
            out.cap,
            out.target,
            out.source,
            out.place,
            out.count,
        )

    return Proposals.filled(kernel, cap)


@njit(inline="always", cache=True)
def _met(
    t: int,
    e: int,
    lo: int,
    hi: int,
    hot_start: npt.NDArray[np.int16],
    hot_end: npt.NDArray[np.int16],
    w: npt.NDArray[np.float32],
) -> float:
    """What the visit t..e meets of the hot visits lo..hi-1: w x minutes of overlap, summed
    (exactly 0 when it overlaps none)."""
    met = 0.0
    for i in range(lo, hi):
        met += w[i] * max(0, min(e, int(hot_end[i])) - max(t, int(hot_start[i])))
    return met


@njit(parallel=True, cache=True)
def _minute_tables(
    venues: npt.NDArray[np.int64],
    hot_start: npt.NDArray[np.int16],
    hot_end: npt.NDArray[np.int16],
    bucket_start: npt.NDArray[np.int64],
    w: npt.NDArray[np.float32],
    opening: int,
    table: npt.NDArray[np.float32],
) -> None:
    """For each of `venues`, what a visit from minute `opening` to minute opening + j meets of
    the venue's hot visits: table[r, j] (w x minutes; a visit t..e meets table[e] - table[t],
    exactly 0 while no hot visit is on)."""
    width = table.shape[1]
    for r in prange(len(venues)):
        v = venues[r]
        change = np.zeros(width, dtype=np.float64)
        on = np.zeros(width, dtype=np.int64)
        for i in range(bucket_start[v * HOURS], bucket_start[(v + 1) * HOURS]):
            change[hot_start[i] - opening] += w[i]
            on[hot_start[i] - opening] += 1
            change[hot_end[i] - opening] -= w[i]
            on[hot_end[i] - opening] -= 1
        rate, n_on, total = 0.0, 0, 0.0
        table[r, 0] = 0.0
        for j in range(width - 1):
            rate += change[j]
            n_on += on[j]
            if n_on == 0:
                rate = 0.0  # no residue of the sums where no hot visit is on
            total += rate
            table[r, j + 1] = total


@njit(inline="always", cache=True)
def _goes(
    keys: npt.NDArray[np.uint64],
    n_free: int,
    k: int,
    sk: int,
    few: bool,
    p: float,
    by_street_kind: npt.NDArray[np.int32],
    hours_hot: npt.NDArray[np.uint32],
    goes: npt.NDArray[np.bool_],
) -> None:
    """Whether each of the agents of street-kind sk whose visit keys are keys[:n_free] visits
    kind k and, when `few` of the street-kind's venues are hot, goes to a hot one (as `visit`
    draws)."""
    for i in range(n_free):
        goes[i] = unit21(keys[i], k) < p
    if few:
        first = by_street_kind[sk]
        n_venues = by_street_kind[sk + 1] - first
        for i in range(n_free):
            hv = sub_key(keys[i], k)
            goes[i] &= hours_hot[first + np.int64(unit21(hv, 0) * n_venues)] != 0


@njit(inline="always", cache=True)
def _list_visits(
    b0: int,
    b1: int,
    s: int,
    visits_key: np.uint64,
    state: tuple[npt.NDArray[np.uint8], np.uint8],
    kind_hot: npt.NDArray[np.uint8],
    probability: npt.NDArray[np.float64],
    by_street_kind: npt.NDArray[np.int32],
    hours_hot: npt.NDArray[np.uint32],
    room: tuple[
        npt.NDArray[np.int64],
        npt.NDArray[np.uint64],
        npt.NDArray[np.bool_],
        npt.NDArray[np.int64],
        npt.NDArray[np.int64],
    ],
) -> int:
    """The visits of the free agents b0 .. b1-1 of street s that may meet a hot visit: the
    free agents and their visit keys in free/keys, the visits as (index there, kind) in
    todo_i/todo_k; their count. Listed in loops without a branch (whether a person goes is a
    coin toss a branch would mispredict)."""
    status, target_off = state
    free, keys, goes, todo_i, todo_k = room
    kinds = len(probability)
    n_todo = n_free = 0
    for a in range(b0, b1):
        free[n_free] = a
        n_free += status[a] & target_off == 0
    for i in range(n_free):
        keys[i] = agent_key(visits_key, free[i])
    for k in range(kinds if n_free else 0):
        sk = s * kinds + k
        if kind_hot[sk] == _NONE:
            continue
        few = kind_hot[sk] == _FEW
        _goes(keys, n_free, k, sk, few, probability[k], by_street_kind, hours_hot, goes)
        for i in range(n_free):
            todo_i[n_todo], todo_k[n_todo] = i, k
            n_todo += goes[i]
    return n_todo


@njit(inline="always", cache=True)
def _infector(
    ht: np.uint64,
    v: int,
    met: float,
    t: int,
    e: int,
    lo: int,
    hi: int,
    hot: _HotVisits,
) -> int:
    """The hot visit (among lo .. hi-1) that infected the visit t..e: drawn in proportion to the
    w x minutes each brought (`met` in all)."""
    _, hot_start, hot_end, _, w = hot
    u = unit(sub_key(ht, v + (1 << 40))) * met
    j, acc = -1, 0.0
    for i in range(lo, hi):
        overlap = min(e, int(hot_end[i])) - max(t, int(hot_start[i]))
        if overlap > 0:
            j = i
            acc += w[i] * overlap
            if acc > u:
                break
    return j


@njit(parallel=True, cache=True)
def _venues(
    day: int,
    seed: np.uint64,
    beta: float,
    hot: _HotVisits,
    kind_hot: npt.NDArray[np.uint8],
    street_hot: npt.NDArray[np.bool_],
    hours_hot: npt.NDArray[np.uint32],
    table_row: npt.NDArray[np.int32],
    table: npt.NDArray[np.float32],
    street_first: npt.NDArray[np.int64],
    by_street_kind: npt.NDArray[np.int32],
    probability: npt.NDArray[np.float64],
    minutes: npt.NDArray[np.float64],
    opening: int,
    closing: int,
    status: npt.NDArray[np.uint8],
    target_off: np.uint8,
    venue_closed: npt.NDArray[np.bool_],
    venue_weight: npt.NDArray[np.float64],
    longest_hours: npt.NDArray[np.int64],
    susceptibility: npt.NDArray[np.float32],
    doses: npt.NDArray[np.uint8],
    cap: int,
    target: npt.NDArray[np.int32],
    source: npt.NDArray[np.int32],
    place: npt.NDArray[np.int32],
    count: npt.NDArray[np.int64],
) -> None:
    hot_person, hot_start, hot_end, bucket_start, w = hot
    kinds = len(probability)
    people = street_first[-1]
    key = stream_key(seed, _VENUE, day)
    visits_key = stream_key(seed, _VISITS, day)
    for c in prange(CHUNKS):
        base = c * cap
        m = 0
        # the visits of a block of people are listed first, then handled one by one
        todo_a = np.empty(_BLOCK * kinds, dtype=np.int64)
        todo_k = np.empty(_BLOCK * kinds, dtype=np.int64)
        goes = np.empty(_BLOCK, dtype=np.bool_)
        free = np.empty(_BLOCK, dtype=np.int64)
        keys = np.empty(_BLOCK, dtype=np.uint64)
        a0, a1 = c * people // CHUNKS, (c + 1) * people // CHUNKS
        s = street_of(street_first, a0)
        while a0 < a1:
            street_end = min(a1, street_first[s + 1])
            for b0 in range(a0, street_end if street_hot[s] else a0, _BLOCK):
                n_todo = _list_visits(
                    b0,
                    min(b0 + _BLOCK, street_end),
                    s,
                    visits_key,
                    (status, target_off),
                    kind_hot,
                    probability,
                    by_street_kind,
                    hours_hot,
                    (free, keys, goes, todo_a, todo_k),
                )
                for q in range(n_todo):
                    a, k, h = free[todo_a[q]], todo_k[q], keys[todo_a[q]]
                    v, t, e = visit(h, k, s * kinds + k, by_street_kind, minutes, opening, closing)
                    # hot visits starting in an earlier hour than h0 cannot overlap it
                    h0 = max(0, t // 60 - longest_hours[v])
                    h1 = min(HOURS - 1, (e - 1) // 60)
                    if hours_hot[v] >> h0 & ((2 << (h1 - h0)) - 1) == 0 or venue_closed[v]:
                        continue
                    lo = bucket_start[v * HOURS + h0]
                    hi = bucket_start[v * HOURS + h1 + 1]
                    r = table_row[v]
                    if r >= 0:
                        met = float(table[r, e - opening]) - float(table[r, t - opening])
                    else:
                        met = _met(t, e, lo, hi, hot_start, hot_end, w)
                    if not met > 0.0:
                        continue
                    ht = agent_key(key, a)
                    x = beta * venue_weight[v] / 60.0 * met
                    if not _transmits(ht, v, x, susceptibility[doses[a]]):
                        continue
                    if m < cap:
                        target[base + m] = a
                        source[base + m] = hot_person[_infector(ht, v, met, t, e, lo, hi, hot)]
                        place[base + m] = v
                    m += 1
            a0 = street_end
            s += 1
        count[c] = m


def venue_contacts(
    day: int,
    seed: int,
    beta: float,
    hot: Visits,
    w_agent: npt.NDArray[np.float32],
    rules: VisitRules,
    state: tuple[npt.NDArray[np.uint8], np.uint8],
    venue_closed: npt.NDArray[np.bool_],
    venue_weight: npt.NDArray[np.float64],
    longest_hours: npt.NDArray[np.int64],
    susceptibility: npt.NDArray[np.float32],
    doses: npt.NDArray[np.uint8],
    cap: int = 4096,
) -> Proposals:
    """Infections proposed at venues: `hot` holds the day's visits of the infectious agents
    (whose infectiousness today is `w_agent`); every susceptible agent who may go out has its
    visits drawn (`rules`, as in `draw_visits`) where its street has a hot visit of that kind.
    A visit meeting hot visits for w x minutes of overlap in all is infected with probability
    1 - exp(-beta x venue weight per hour x (w x minutes) / 60 x susceptibility), the same as
    independent draws per pair of visits; its infector is one of the hot visits, drawn in
    proportion to its w x minutes. The draws are keyed by (day, infectee, venue). `state` is
    (status, off): an agent with any bit of `off` in its status (staying in, or infected) has
    no visit drawn here."""
    w = w_agent[hot.person]
    # per venue, bit h set when a hot visit starts in hour h
    begun = (np.diff(hot.bucket_start) > 0).reshape(-1, HOURS)
    hours_hot = (begun.astype(np.uint32) << np.arange(HOURS, dtype=np.uint32)).sum(
        axis=1, dtype=np.uint32
    )
    # per street-kind: no hot venue, few (under half: a visit's venue is looked at before the
    # visit is drawn), or many
    sk_end = rules.by_street_kind
    hot_venues = np.concatenate([[0], np.cumsum(hours_hot[: sk_end[-1]] != 0)])
    share = (hot_venues[sk_end[1:]] - hot_venues[sk_end[:-1]]) / np.diff(sk_end)
    kind_hot = np.where(share == 0, _NONE, np.where(share < 0.5, _FEW, _MANY)).astype(np.uint8)
    # a venue with many hot visits: what a visit meets is read from a table by the minute
    # rather than summed over the hot visits that may overlap it
    crowded = np.flatnonzero(np.diff(hot.bucket_start[::HOURS]) >= _TABLE_FROM)
    table_row = np.full(len(hours_hot), -1, dtype=np.int32)
    table_row[crowded] = np.arange(len(crowded), dtype=np.int32)
    table = np.empty((len(crowded), 24 * 60 + 1 - rules.opening), dtype=np.float32)
    _minute_tables(crowded, hot.start, hot.end, hot.bucket_start, w, rules.opening, table)

    def kernel(out: Proposals) -> None:
        _venues(
            day,
            np.uint64(seed),
            beta,
            (hot.person, hot.start, hot.end, hot.bucket_start, w),
            kind_hot,
            (kind_hot != _NONE).reshape(-1, rules.kinds).any(axis=1),
            hours_hot,
            table_row,
            table,
            rules.street_first,
            rules.by_street_kind,
            rules.probability,
            rules.minutes,
            rules.opening,
            rules.closing,
            state[0],
            np.uint8(state[1]),
            venue_closed,
            venue_weight,
            longest_hours,
            susceptibility,
            doses,
            out.cap,
            out.target,
            out.source,
            out.place,
            out.count,
        )

    return Proposals.filled(kernel, cap)


@njit(parallel=True, cache=True)
def _exposure(
    sample: npt.NDArray[np.int64],
    person: npt.NDArray[np.int32],
    venue: npt.NDArray[np.int32],
    vstart: npt.NDArray[np.int16],
    vend: npt.NDArray[np.int16],
    bucket_start: npt.NDArray[np.int64],
    venue_weight: npt.NDArray[np.float64],
    longest_hours: npt.NDArray[np.int64],
) -> float:
    total = 0.0
    for i in prange(len(sample)):
        v = sample[i]
        ven = venue[v]
        s, e = int(vstart[v]), int(vend[v])
        h0 = max(0, s // 60 - longest_hours[ven])
        h1 = min(HOURS - 1, (e - 1) // 60)
        hours = 0.0
        for j in range(bucket_start[ven * HOURS + h0], bucket_start[ven * HOURS + h1 + 1]):
            overlap = min(e, int(vend[j])) - max(s, int(vstart[j]))
            if overlap > 0 and person[j] != person[v]:
                hours += overlap / 60.0
        total += hours * venue_weight[ven]
    return total


def venue_exposure(
    visits: VisitArrays,
    venue_weight: npt.NDArray[np.float64],
    longest_hours: npt.NDArray[np.int64],
    sample_size: int = 200_000,
) -> float:
    """The mean, over visits, of the overlap-hours x venue weight a visit meets (from an evenly
    spaced sample of the visits)."""
    person, venue, vstart, vend, bucket_start = visits
    if len(person) == 0:
        return 0.0
    sample = np.arange(0, len(person), max(1, len(person) // sample_size), dtype=np.int64)
    total = _exposure(
        sample, person, venue, vstart, vend, bucket_start, venue_weight, longest_hours
    )
    return total / len(sample)
