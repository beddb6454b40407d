"""The transmission kernels: from the day's infectious agents to proposed infections, one layer
at a time, in time proportional to the infectious agents' contacts.

A group layer (households, classes, workplaces, institutions): an infectious agent meets every
other member of a group of up to `full_max` people, or `k` members drawn at random in a larger
one. A venue: an infectious agent's visit meets the visits of the same venue that overlap it in
time (only the hour buckets that can overlap are read). A contact of a susceptible agent
transmits with probability 1 - exp(-beta * weight * infectiousness * susceptibility), the venue's
weight per hour of overlap. The draw is keyed by (day, infector, infectee) in the layer's stream.

Proposals are written chunk by chunk into one buffer (`Proposals`), so the result does not
depend on how threads are scheduled; a chunk that overflows is reported and the caller runs the
layer again with more room.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from fangkong.sim.checkin import HOURS
from fangkong.sim.rng import Stream, agent_key, stream_key, sub_key, unit

__all__ = ["CHUNKS", "Proposals", "group_contacts", "venue_contacts", "venue_exposure"]

CHUNKS = 64
_PICK = int(Stream.GROUP_CONTACTS)
_VENUE = int(Stream.VENUE)


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
    infected: npt.NDArray[np.int16],
    blocked: npt.NDArray[np.uint8],
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
        for i in range(c * n // CHUNKS, (c + 1) * n // CHUNKS):
            a = sources[i]
            g = of_agent[a]
            if g < 0 or blocked[a] != 0:
                continue
            ha = agent_key(key, a)
            hp = agent_key(pick, a)
            s0 = start[g]
            size = start[g + 1] - s0
            pressure = beta * w[i]
            draws = size if size <= full_max else k
            for j in range(draws):
                if size <= full_max:
                    b = members[s0 + j]
                else:
                    b = members[s0 + int(unit(sub_key(hp, j)) * size)]
                if b == a or infected[b] >= 0 or blocked[b] != 0:
                    continue
                if _transmits(ha, b, pressure, susceptibility[doses[b]]):
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
    infected: npt.NDArray[np.int16],
    blocked: npt.NDArray[np.uint8],
    susceptibility: npt.NDArray[np.float32],
    doses: npt.NDArray[np.uint8],
    cap: int = 4096,
) -> Proposals:
    """Infections proposed in one group layer (`groups` = of_agent, start, members); agents with
    `blocked` non-zero neither give nor take an infection in it."""
    of_agent, start, members = groups

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
            infected,
            blocked,
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
def _venues(
    hot: npt.NDArray[np.bool_],
    w_agent: npt.NDArray[np.float32],
    day: int,
    seed: np.uint64,
    beta: float,
    person: npt.NDArray[np.int32],
    venue: npt.NDArray[np.int32],
    vstart: npt.NDArray[np.int16],
    vend: npt.NDArray[np.int16],
    bucket_start: npt.NDArray[np.int64],
    venue_weight: npt.NDArray[np.float64],
    longest_hours: npt.NDArray[np.int64],
    infected: npt.NDArray[np.int16],
    susceptibility: npt.NDArray[np.float32],
    doses: npt.NDArray[np.uint8],
    cap: int,
    target: npt.NDArray[np.int32],
    source: npt.NDArray[np.int32],
    place: npt.NDArray[np.int32],
    count: npt.NDArray[np.int64],
) -> None:
    n = len(person)
    key = stream_key(seed, _VENUE, day)
    for c in prange(CHUNKS):
        base = c * cap
        m = 0
        for v in range(c * n // CHUNKS, (c + 1) * n // CHUNKS):
            if not hot[v]:
                continue
            a = person[v]
            wa = w_agent[a]
            ha = agent_key(key, a)
            ven = venue[v]
            s, e = int(vstart[v]), int(vend[v])
            per_minute = beta * venue_weight[ven] * wa / 60.0
            h0 = max(0, s // 60 - longest_hours[ven])
            h1 = min(HOURS - 1, (e - 1) // 60)
            for j in range(bucket_start[ven * HOURS + h0], bucket_start[ven * HOURS + h1 + 1]):
                # the overlap first: it reads the sorted visits, the state a random agent's
                overlap = min(e, int(vend[j])) - max(s, int(vstart[j]))
                if overlap <= 0:
                    continue
                b = person[j]
                if b == a or infected[b] >= 0:
                    continue
                pair = int((np.int64(b) << 20) | np.int64(ven & 0xFFFFF))
                if _transmits(ha, pair, per_minute * overlap, susceptibility[doses[b]]):
                    if m < cap:
                        target[base + m] = b
                        source[base + m] = a
                        place[base + m] = ven
                    m += 1
        count[c] = m


def venue_contacts(
    hot: npt.NDArray[np.bool_],
    w_agent: npt.NDArray[np.float32],
    day: int,
    seed: int,
    beta: float,
    visits: tuple[
        npt.NDArray[np.int32],
        npt.NDArray[np.int32],
        npt.NDArray[np.int16],
        npt.NDArray[np.int16],
        npt.NDArray[np.int64],
    ],
    venue_weight: npt.NDArray[np.float64],
    longest_hours: npt.NDArray[np.int64],
    infected: npt.NDArray[np.int16],
    susceptibility: npt.NDArray[np.float32],
    doses: npt.NDArray[np.uint8],
    cap: int = 4096,
) -> Proposals:
    """Infections proposed between overlapping visits of the same venue: from the visits marked
    `hot` (by an infectious agent), whose infectiousness today is `w_agent`. A visit to venue v
    lasts at most longest_hours[v] hours (so earlier hour buckets cannot overlap)."""
    person, venue, vstart, vend, bucket_start = visits

    def kernel(out: Proposals) -> None:
        _venues(
            hot,
            w_agent,
            day,
            np.uint64(seed),
            beta,
            person,
            venue,
            vstart,
            vend,
            bucket_start,
            venue_weight,
            longest_hours,
            infected,
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
    visits: tuple[
        npt.NDArray[np.int32],
        npt.NDArray[np.int32],
        npt.NDArray[np.int16],
        npt.NDArray[np.int16],
        npt.NDArray[np.int64],
    ],
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
