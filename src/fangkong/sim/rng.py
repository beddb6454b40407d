"""Counter-based random numbers: a draw is a hash of (seed, stream, day, a, b), so it does not
depend on the order in which threads or agents are visited. Each component has its own stream;
an agent's draws in a stream are the same in every scenario that uses the same seed, so two
scenarios share their randomness and differ only by what the policy changed.

The mixer is SplitMix64's finaliser (Steele, Lea and Flood, 2014).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numba import njit

__all__ = [
    "Stream",
    "agent_key",
    "hash_u01",
    "mix64",
    "stream_generator",
    "stream_key",
    "sub_key",
    "unit",
    "unit21",
]


class Stream(IntEnum):
    """One random stream per component."""

    POPULATION = 1
    SEEDING = 2
    NATURAL_HISTORY = 3
    HOUSEHOLD = 4
    SCHOOL = 5
    WORK = 6
    INSTITUTION = 7
    VENUE = 8
    VISITS = 9
    TESTS = 10
    GROUP_CONTACTS = 11
    TWIN = 12  # the twin loop: who goes to a fever clinic, the imported seed


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_TO_UNIT21 = 1.0 / 2097152.0  # 2**-21


@njit(inline="always", cache=True)
def mix64(x: np.uint64) -> np.uint64:
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


@njit(inline="always", cache=True)
def stream_key(seed: np.uint64, stream: int, day: int) -> np.uint64:
    """The key of a stream on a day: computed once per kernel call."""
    h = mix64(seed + np.uint64(stream) * _GOLDEN)
    return mix64(h ^ (np.uint64(day & 0xFFFF) + _GOLDEN))


@njit(inline="always", cache=True)
def agent_key(key: np.uint64, a: int) -> np.uint64:
    """The key of agent a in a stream's day: computed once per agent."""
    return mix64(key ^ (np.uint64(a & 0xFFFFFFFF) * _GOLDEN))


@njit(inline="always", cache=True)
def sub_key(h: np.uint64, b: int) -> np.uint64:
    """The 64 random bits of (agent key, b): b is a contact, a venue kind, a draw number."""
    return mix64(h ^ (np.uint64(b & 0xFFFFFFFFFFFF) + _M1))


@njit(inline="always", cache=True)
def unit(h: np.uint64) -> float:
    """A uniform number in [0, 1) from 64 random bits (the top 53)."""
    return float(h >> _S11) * _TO_UNIT


@njit(inline="always", cache=True)
def unit21(h: np.uint64, part: int) -> float:
    """A uniform number in [0, 1) from the 21 bits number `part` (0, 1 or 2) of h: three
    draws from one hash where 2**-21 resolution is enough."""
    return float((h >> np.uint64(21 * part)) & np.uint64(0x1FFFFF)) * _TO_UNIT21


@njit(inline="always", cache=True)
def hash_u01(seed: np.uint64, stream: int, day: int, a: int, b: int) -> float:
    """A uniform number in [0, 1) determined by its five keys."""
    return unit(sub_key(agent_key(stream_key(seed, stream, day), a), b))


def stream_generator(seed: int, stream: Stream, *extra: int) -> np.random.Generator:
    """A NumPy generator of its own for a build step (the city is drawn once, vectorized)."""
    return np.random.default_rng(np.random.SeedSequence([seed, int(stream), *extra]))
