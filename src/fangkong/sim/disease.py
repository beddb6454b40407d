"""The course of an infection, drawn once per infected agent (`draw_courses`), and what it gives
each day: infectiousness and the Ct value a PCR test would read.

An agent infected on day t0 has its symptom onset (or, when asymptomatic, its viral-load peak)
after a log-normal incubation period. Viral load rises from the detection limit (Ct 40) to its
peak at onset over the proliferation phase, then falls back to the detection limit over the
clearance phase (Kissler et al. 2021): the agent is infectious while its viral load is above the
limit, in proportion to its log viral load over the limit (a fraction of the peak), times the
relative infectiousness of asymptomatic infection. Severe disease and death are drawn by age band
and vaccine doses from the variant's tables.

All draws are keyed by the agent alone (stream NATURAL_HISTORY), so an agent infected in two
scenarios has the same course in both, whatever the day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from fangkong.sim.agent import DAY_DTYPE, NEVER, AgentIds, Days
from fangkong.sim.rng import Stream, hash_u01
from fangkong.sim.variant import Variant

__all__ = [
    "CT_LIMIT",
    "Courses",
    "advance",
    "ct_on_day",
    "draw_courses",
    "infectious_today",
    "infectiousness_on_day",
]

CT_LIMIT = 40.0
"""The detection limit: Ct 40 is no amplification (a negative test)."""
_NH = int(Stream.NATURAL_HISTORY)
_TESTS = int(Stream.TESTS)


@dataclass(frozen=True)
class Courses:
    """Per agent (index = AgentId); days are simulated day indices, NEVER when not (yet) so."""

    infected: Days
    infectious: Days  # first infectious day
    peak: Days  # day of peak viral load (= onset when symptomatic)
    onset: Days
    end: Days  # first day no longer infectious (viral load under the detection limit)
    severe: Days
    death: Days
    peak_ct: npt.NDArray[np.float32]
    infector: npt.NDArray[np.int32]  # -1: seeded
    layer: npt.NDArray[np.uint8]  # Layer of the infection

    @classmethod
    def empty(cls, n: int) -> Courses:
        def days() -> Days:
            return np.full(n, NEVER, dtype=DAY_DTYPE)

        return cls(
            infected=days(),
            infectious=days(),
            peak=days(),
            onset=days(),
            end=days(),
            severe=days(),
            death=days(),
            peak_ct=np.full(n, CT_LIMIT, dtype=np.float32),
            infector=np.full(n, -1, dtype=np.int32),
            layer=np.zeros(n, dtype=np.uint8),
        )


@njit(inline="always", cache=True)
def _normal(seed: np.uint64, agent: int, k: int) -> float:
    u1 = hash_u01(seed, _NH, 0, agent, k)
    u2 = hash_u01(seed, _NH, 0, agent, k + 1)
    return float(np.sqrt(-2.0 * np.log(1.0 - u1)) * np.cos(2.0 * np.pi * u2))


@njit(parallel=True, cache=True)
def _draw(
    agents: npt.NDArray[np.int32],
    seed: np.uint64,
    age: npt.NDArray[np.uint8],
    doses: npt.NDArray[np.uint8],
    inc_mu: float,
    inc_sigma: float,
    timing: npt.NDArray[np.float64],  # proliferation, clearance, onset->severe, onset->death
    ct: npt.NDArray[np.float64],  # peak mean, sd
    asymptomatic_share: float,
    band_of_age: npt.NDArray[np.int64],
    severe_by_band: npt.NDArray[np.float64],
    death_by_band: npt.NDArray[np.float64],
    severe_factor: npt.NDArray[np.float64],
    death_factor: npt.NDArray[np.float64],
    infected: npt.NDArray[np.int16],
    infectious: npt.NDArray[np.int16],
    peak: npt.NDArray[np.int16],
    onset: npt.NDArray[np.int16],
    end: npt.NDArray[np.int16],
    severe: npt.NDArray[np.int16],
    death: npt.NDArray[np.int16],
    peak_ct: npt.NDArray[np.float32],
) -> None:
    for i in prange(len(agents)):
        a = agents[i]
        t0 = int(infected[a])
        inc = np.exp(inc_mu + inc_sigma * _normal(seed, a, 0))
        to_peak = max(1, int(np.round(inc)))
        rise = max(1, int(np.round(timing[0] * (0.75 + 0.5 * hash_u01(seed, _NH, 0, a, 2)))))
        fall = max(1, int(np.round(timing[1] * (0.75 + 0.5 * hash_u01(seed, _NH, 0, a, 3)))))
        infectious[a] = t0 + max(1, to_peak - rise)
        peak[a] = t0 + to_peak
        end[a] = t0 + to_peak + fall
        peak_ct[a] = min(38.0, max(12.0, ct[0] + ct[1] * _normal(seed, a, 4)))
        if hash_u01(seed, _NH, 0, a, 6) < asymptomatic_share:
            continue
        onset[a] = peak[a]
        band = band_of_age[age[a]]
        p_severe = severe_by_band[band] * severe_factor[doses[a]]
        if p_severe <= 0.0 or hash_u01(seed, _NH, 0, a, 7) * (1.0 - asymptomatic_share) >= p_severe:
            continue
        u = hash_u01(seed, _NH, 0, a, 8)
        to_severe = max(1, int(np.round(timing[2] * (0.6 + 0.8 * u))))
        severe[a] = onset[a] + to_severe
        p_death = death_by_band[band] * death_factor[doses[a]] / p_severe
        if hash_u01(seed, _NH, 0, a, 9) < p_death:
            u = hash_u01(seed, _NH, 0, a, 10)
            death[a] = onset[a] + max(to_severe + 1, int(np.round(timing[3] * (0.6 + 0.8 * u))))


def draw_courses(
    courses: Courses,
    agents: AgentIds,
    seed: int,
    age: npt.NDArray[np.uint8],
    doses: npt.NDArray[np.uint8],
    variant: Variant,
) -> None:
    """Fill in the course of `agents`, whose `infected` day is set."""
    if len(agents) == 0:
        return
    mu, sigma = variant.incubation_lognormal
    band_of_age = np.searchsorted(variant.severity_age_bands, np.arange(256), side="right") - 1
    _draw(
        agents,
        np.uint64(seed),
        age,
        doses,
        mu,
        sigma,
        np.array(
            [
                variant.proliferation_days,
                variant.clearance_days,
                variant.onset_to_severe_days,
                variant.onset_to_death_days,
            ]
        ),
        np.array([variant.peak_ct, variant.peak_ct_sd]),
        variant.asymptomatic_share,
        band_of_age.astype(np.int64),
        variant.severe_by_band,
        variant.death_by_band,
        variant.severe_factor_by_doses,
        variant.death_factor_by_doses,
        courses.infected,
        courses.infectious,
        courses.peak,
        courses.onset,
        courses.end,
        courses.severe,
        courses.death,
        courses.peak_ct,
    )


@njit(inline="always", cache=True)
def viral_fraction(day: int, start: int, peak: int, end: int) -> float:
    """Log viral load over the detection limit as a fraction of its peak (0 outside)."""
    if start < 0 or day < start or day >= end:
        return 0.0
    if day <= peak:
        return (day - start + 1) / (peak - start + 1)
    return (end - day) / (end - peak)


@njit(inline="always", cache=True)
def _weight(
    a: int,
    day: int,
    infectious: Days,
    peak: Days,
    onset: Days,
    end: Days,
    asym_relative: float,
) -> float:
    """Agent a's infectiousness on `day`: its viral fraction, times the relative infectiousness
    of asymptomatic infection when it has no onset."""
    f = viral_fraction(day, infectious[a], peak[a], end[a])
    return f if onset[a] >= 0 else f * asym_relative


@njit(parallel=True, cache=True)
def _infectiousness(
    agents: npt.NDArray[np.int32],
    day: int,
    infectious: npt.NDArray[np.int16],
    peak: npt.NDArray[np.int16],
    onset: npt.NDArray[np.int16],
    end: npt.NDArray[np.int16],
    asym_relative: float,
    out: npt.NDArray[np.float32],
) -> None:
    for i in prange(len(agents)):
        out[i] = _weight(agents[i], day, infectious, peak, onset, end, asym_relative)


@njit(cache=True)
def _infectious(
    agents: AgentIds,
    day: int,
    infectious: Days,
    peak: Days,
    onset: Days,
    end: Days,
    asym_relative: float,
    status: npt.NDArray[np.uint8],
    off: np.uint8,
) -> tuple[AgentIds, npt.NDArray[np.float32]]:
    sources = np.empty(len(agents), dtype=np.int32)
    w = np.empty(len(agents), dtype=np.float32)
    n = 0
    for a in agents:
        f = _weight(a, day, infectious, peak, onset, end, asym_relative)
        if f > 0.0 and status[a] & off == 0:
            sources[n] = a
            w[n] = f
            n += 1
    return sources[:n].copy(), w[:n].copy()


def infectious_today(
    courses: Courses,
    agents: AgentIds,
    day: int,
    variant: Variant,
    status: npt.NDArray[np.uint8],
    off: int | np.uint8,
) -> tuple[AgentIds, npt.NDArray[np.float32]]:
    """Those of `agents` infectious on `day` whose status has no bit of `off` (in the order
    given), and their infectiousness (as `infectiousness_on_day`)."""
    return _infectious(
        agents,
        day,
        courses.infectious,
        courses.peak,
        courses.onset,
        courses.end,
        variant.asymptomatic_relative_infectiousness,
        status,
        np.uint8(off),
    )


def infectiousness_on_day(
    courses: Courses, agents: AgentIds, day: int, variant: Variant
) -> npt.NDArray[np.float32]:
    """Each agent's infectiousness on `day`, 0 to 1."""
    out = np.empty(len(agents), dtype=np.float32)
    _infectiousness(
        agents,
        day,
        courses.infectious,
        courses.peak,
        courses.onset,
        courses.end,
        variant.asymptomatic_relative_infectiousness,
        out,
    )
    return out


@njit(cache=True)
def _test_noise(
    agents: npt.NDArray[np.int32], seed: np.uint64, day: int
) -> npt.NDArray[np.float64]:
    out = np.empty(len(agents))
    for i in range(len(agents)):
        u1 = hash_u01(seed, _TESTS, day, agents[i], 0)
        u2 = hash_u01(seed, _TESTS, day, agents[i], 1)
        out[i] = np.sqrt(-2.0 * np.log(1.0 - u1)) * np.cos(2.0 * np.pi * u2)
    return out


def ct_on_day(
    courses: Courses, agents: AgentIds, day: int, seed: int, sd: float = 1.0
) -> npt.NDArray[np.float32]:
    """The Ct value a PCR test of each agent sampled on `day` reads: CT_LIMIT (negative) when
    its viral load is under the detection limit, else the course's value with a measurement
    error of `sd` cycles (stream TESTS, keyed by agent and day)."""
    start, top, end = courses.infectious[agents], courses.peak[agents], courses.end[agents]
    rising = (day - start + 1) / np.maximum(top - start + 1, 1)
    falling = (end - day) / np.maximum(end - top, 1)
    frac = np.where(day <= top, rising, falling)
    inside = (start >= 0) & (day >= start) & (day < end)
    ct = CT_LIMIT - (CT_LIMIT - courses.peak_ct[agents]) * np.where(inside, frac, 0.0)
    noise = sd * _test_noise(np.asarray(agents, dtype=np.int32), np.uint64(seed), day)
    return np.where(inside, np.minimum(ct + noise, CT_LIMIT - 0.01), CT_LIMIT).astype(np.float32)


@njit(cache=True)
def advance(
    active: AgentIds,
    new: AgentIds,
    day: int,
    onset: Days,
    end: Days,
    severe: Days,
    death: Days,
) -> tuple[AgentIds, AgentIds, AgentIds, AgentIds]:
    """The end of `day` for the agents with a course under way (`active`, in agent order) and
    those infected that day (`new`, in agent order): the agents whose symptoms began, who
    became severe and who died that day, and those whose course goes on after it (in agent
    order: the two lists merged, those done left out)."""
    n = len(active) + len(new)
    still = np.empty(n, dtype=np.int32)
    began = np.empty(n, dtype=np.int32)
    worse = np.empty(n, dtype=np.int32)
    died = np.empty(n, dtype=np.int32)
    i = j = kept = b = s = d = 0
    while i < len(active) or j < len(new):
        if j == len(new) or (i < len(active) and active[i] < new[j]):
            a = active[i]
            i += 1
        else:
            a = new[j]
            j += 1
        if onset[a] == day:
            began[b] = a
            b += 1
        if severe[a] == day:
            worse[s] = a
            s += 1
        if death[a] == day:
            died[d] = a
            d += 1
        if max(end[a], severe[a], death[a]) > day:
            still[kept] = a
            kept += 1
    return still[:kept].copy(), began[:b].copy(), worse[:s].copy(), died[:d].copy()
