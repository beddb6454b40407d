"""A homogeneous-mixing SIR run of the same transmission machinery reaches the Kermack-McKendrick
final size. Every agent is in one group of the household layer and meets k members drawn at random
each day; the courses are the ancestral variant's (no vaccination, no venues, no other layers).

Each infected agent i infects a given other agent on day d with probability (k/N) p_i(d), with
p_i(d) = 1 - exp(-beta w_i(d)), so R0 = k E[sum_d p_i(d)], measured on the courses of the run
itself; with a fraction eps infected at the start, the final size z solves
1 - z = (1 - eps) exp(-R0 z) (Kermack and McKendrick 1927; Ma and Earn 2006 for any infectious
period). N = 200,000 keeps the stochastic spread of z (about 1/sqrt(N)) well inside 1%.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
import pytest

from fangkong.sim.agent import Layer
from fangkong.sim.city import City, build_city
from fangkong.sim.disease import Courses, draw_courses, infectiousness_on_day
from fangkong.sim.groups import Groups
from fangkong.sim.transmission import Checkins, Epidemic
from fangkong.sim.variant import Variant, load_variant

N = 200_000
K = 10
SEEDS = 200


def _homogeneous(city: City) -> City:
    everyone = Groups(
        start=np.array([0, city.n], dtype=np.int64),
        members=np.arange(city.n, dtype=np.int32),
        of_agent=np.zeros(city.n, dtype=np.int32),
    )
    nobody = Groups(
        start=np.zeros(1, dtype=np.int64),
        members=np.empty(0, dtype=np.int32),
        of_agent=np.full(city.n, -1, dtype=np.int32),
    )
    b = city.behaviour
    behaviour = dataclasses.replace(
        b,
        full_contact_max=0,  # always k random members
        coworker_contacts=K,
        layer_weight={layer: 1.0 for layer in b.layer_weight},
        visit_probability=np.zeros_like(b.visit_probability),
    )
    return dataclasses.replace(
        city,
        household_groups=everyone,
        classes=nobody,
        workplaces=nobody,
        institutions=nobody,
        behaviour=behaviour,
    )


def _transmission_sums(
    courses: Courses, agents: npt.NDArray[np.int32], beta: float, variant: Variant
) -> npt.NDArray[np.float64]:
    """sum over days of 1 - exp(-beta w(d)) per agent, while not admitted to hospital."""
    total = np.zeros(len(agents))
    for d in range(int(courses.end[agents].max()) + 1):
        w = infectiousness_on_day(courses, agents, d, variant)
        admitted = (courses.severe[agents] >= 0) & (d >= courses.severe[agents])
        total += np.where(admitted, 0.0, 1.0 - np.exp(-beta * w))
    return total


def _beta_for(r0: float, city: City, variant: Variant) -> float:
    """beta with K E[sum_d p(d)] = r0 over a sample of courses (bisection)."""
    agents = np.arange(20_000, dtype=np.int32)
    courses = Courses.empty(len(agents))
    courses.infected[:] = 0
    draw_courses(
        courses, agents, 99, city.persons.age[:20_000], np.zeros(20_000, np.uint8), variant
    )
    lo, hi = 0.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if K * _transmission_sums(courses, agents, mid, variant).mean() < r0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _final_size(r0: float, eps: float) -> float:
    """The root z in (0, 1] of 1 - z = (1 - eps) exp(-r0 z) (Newton from z = 1)."""
    z = 1.0
    for _ in range(100):
        f = 1 - z - (1 - eps) * np.exp(-r0 * z)
        df = -1 + (1 - eps) * r0 * np.exp(-r0 * z)
        z -= f / df
    return float(z)


@pytest.mark.parametrize(("r0", "seed"), [(2.0, 1), (2.0, 2), (1.5, 3)])
def test_final_size_is_kermack_mckendrick(r0: float, seed: int) -> None:
    variant = load_variant("ancestral-2020")
    city = _homogeneous(build_city(N, seed, vaccinated=False))
    beta = _beta_for(r0, city, variant)
    epidemic = Epidemic(city, variant, seed=seed, beta=beta)
    epidemic.seed_random(SEEDS)
    while len(epidemic.active):
        epidemic.step(checkins=Checkins.INFECTIOUS)
    infected = np.flatnonzero(epidemic.courses.infected >= 0).astype(np.int32)
    realized_r0 = (
        K * (1 - 1 / N) * _transmission_sums(epidemic.courses, infected, beta, variant).mean()
    )
    z_sim = len(infected) / N
    z_km = _final_size(realized_r0, SEEDS / N)
    print(
        f"\nR0 {realized_r0:.3f}: simulated final size {z_sim:.4f}, Kermack-McKendrick {z_km:.4f}"
    )
    assert set(np.unique(epidemic.courses.layer[infected])) <= {Layer.SEED, Layer.HOUSEHOLD}
    assert abs(z_sim - z_km) / z_km < 0.01
