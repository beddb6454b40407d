"""The people of the synthetic city and their households, drawn from the census
(`fangkong.sim.census`) and deterministic from a seed.

Every person gets an age from the 2020 census pyramid and a sex; the residents of the special
institutions (elderly care, child welfare, prison, mental health) are chosen by age first and
live in their institution; everybody else lives in a family household whose size follows the
census, with at least one adult in every household (two in households of two or more) and the
children placed in the other seats. Agents are numbered household by household, so the members
of a household are a contiguous range of ids. Vaccine doses follow the coverage by age, and the
key groups are flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fangkong.errors import InputError
from fangkong.sim.agent import AGENT_DTYPE, AgentIds, KeyGroup, VenueKind
from fangkong.sim.census import Census
from fangkong.sim.parameter import ModelFile
from fangkong.sim.rng import Stream, stream_generator

__all__ = ["MIN_POPULATION", "Households", "Persons", "build_population"]

MIN_POPULATION = 1000
MAX_POPULATION = 100_000_000
_INSTITUTIONS = (
    # kind, key of its share, key of its size, ages it takes
    (VenueKind.ELDERLY_CARE, "elderly_care_share_of_60_plus", "elderly_care_size", (60, 99)),
    (VenueKind.CHILD_WELFARE, "child_welfare_share_of_0_17", "child_welfare_size", (0, 17)),
    (VenueKind.PRISON, "prison_share_of_18_59", "prison_size", (18, 59)),
    (VenueKind.MENTAL_HEALTH, "mental_health_share_of_18_plus", "mental_health_size", (18, 99)),
)
PRIVATE = 0  # Households.kind of a family household; an institution's is its VenueKind


@dataclass(frozen=True)
class Persons:
    """One row per agent (the index is the AgentId)."""

    age: npt.NDArray[np.uint8]
    male: npt.NDArray[np.bool_]
    household: npt.NDArray[np.int32]
    doses: npt.NDArray[np.uint8]  # vaccine doses: 0, 2 (full primary) or 3 (booster)
    groups: npt.NDArray[np.uint8]  # KeyGroup bits

    @property
    def n(self) -> int:
        return len(self.age)

    def in_group(self, group: KeyGroup) -> AgentIds:
        return np.flatnonzero(self.groups & np.uint8(group)).astype(AGENT_DTYPE)


@dataclass(frozen=True)
class Households:
    """Family households and institutions; the members of household h are the agents
    start[h] .. start[h+1]-1."""

    start: npt.NDArray[np.int32]
    kind: npt.NDArray[np.uint8]  # PRIVATE, or the institution's VenueKind

    @property
    def n(self) -> int:
        return len(self.kind)

    @property
    def size(self) -> npt.NDArray[np.int32]:
        return np.diff(self.start).astype(np.int32)


def _household_sizes(m: int, census: Census, rng: np.random.Generator) -> npt.NDArray[np.int32]:
    """Household sizes adding up to m people (the last household is cut to fit)."""
    share = census.household_size_share
    sizes = np.empty(0, dtype=np.int32)
    while sizes.sum() < m:
        more = int(m / census.mean_household_size * 1.05) + 16
        sizes = np.concatenate([sizes, rng.choice(len(share), size=more, p=share).astype(np.int32)])
    total = np.cumsum(sizes)
    last = int(np.searchsorted(total, m))
    sizes = sizes[: last + 1].copy()
    sizes[-1] -= int(total[last]) - m
    return sizes


def _institution_residents(
    age: npt.NDArray[np.uint8], city: ModelFile, rng: np.random.Generator
) -> list[tuple[VenueKind, AgentIds, int]]:
    """For each kind of institution, the people living in one, and the institution size."""
    taken = np.zeros(len(age), dtype=bool)
    out = []
    for kind, share_key, size_key, (lo, hi) in _INSTITUTIONS:
        candidates = np.flatnonzero((age >= lo) & (age <= hi) & ~taken)
        count = round(len(candidates) * city.number("institutions", share_key))
        chosen = np.sort(rng.choice(candidates, size=count, replace=False)).astype(AGENT_DTYPE)
        taken[chosen] = True
        out.append((kind, chosen, int(city.number("institutions", size_key))))
    return out


def _seat_people(
    sizes: npt.NDArray[np.int32],
    people: AgentIds,
    age: npt.NDArray[np.uint8],
    rng: np.random.Generator,
) -> AgentIds:
    """The person in each household seat, seats in household order: the first seat of each
    household (and the second, in households of two or more) goes to an adult; children take
    the other seats."""
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    position = np.arange(int(sizes.sum())) - np.repeat(start, sizes)
    free = np.flatnonzero(position >= 2)
    adult_seats = np.flatnonzero(position < 2)
    rng.shuffle(free)
    people = people[rng.permutation(len(people))]
    is_child = age[people] < 18
    children, adults = people[is_child], people[~is_child]
    seats = np.concatenate([free, adult_seats])  # children first into the free seats
    seated = np.empty(len(people), dtype=AGENT_DTYPE)
    seated[seats] = np.concatenate([children, adults])
    return seated


def _doses(
    age: npt.NDArray[np.uint8], census: Census, rng: np.random.Generator
) -> npt.NDArray[np.uint8]:
    u = rng.random(len(age))
    primary = u < census.primary_by_age[age]
    booster = primary & (age >= census.booster_age)
    booster &= rng.random(len(age)) < census.booster_of_vaccinated_adults
    return np.where(booster, 3, np.where(primary, 2, 0)).astype(np.uint8)


def build_population(
    n: int, seed: int, census: Census, city: ModelFile, *, vaccinated: bool
) -> tuple[Persons, Households]:
    """Draw n people and their households."""
    if not MIN_POPULATION <= n <= MAX_POPULATION:
        raise InputError(f"a synthetic city has {MIN_POPULATION:,} to {MAX_POPULATION:,} people")
    rng = stream_generator(seed, Stream.POPULATION)
    age = rng.choice(len(census.age_share), size=n, p=census.age_share).astype(np.uint8)
    male = rng.random(n) < census.male_share
    residents = _institution_residents(age, city, rng)
    in_institution = np.zeros(n, dtype=bool)
    for _, who, _ in residents:
        in_institution[who] = True
    free = np.flatnonzero(~in_institution).astype(AGENT_DTYPE)
    sizes = _household_sizes(len(free), census, rng)
    order = [_seat_people(sizes, free, age, rng)]
    kinds = [np.zeros(len(sizes), dtype=np.uint8)]
    all_sizes = [sizes]
    for institution, who, size in residents:
        if len(who) == 0:
            continue
        count = -(-len(who) // size)
        inst = np.full(count, len(who) // count, dtype=np.int32)
        inst[: len(who) - int(inst.sum())] += 1
        order.append(who)
        kinds.append(np.full(count, int(institution), dtype=np.uint8))
        all_sizes.append(inst)
    perm = np.concatenate(order)
    age, male = age[perm], male[perm]
    sizes = np.concatenate(all_sizes)
    kind = np.concatenate(kinds)
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int32)
    household = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)
    doses = _doses(age, census, rng) if vaccinated else np.zeros(n, dtype=np.uint8)
    groups = np.zeros(n, dtype=np.uint8)
    groups[age >= 60] |= np.uint8(KeyGroup.ELDERLY)
    groups[age < 14] |= np.uint8(KeyGroup.CHILD)
    groups[kind[household] != PRIVATE] |= np.uint8(KeyGroup.INSTITUTION_RESIDENT)
    share = city.number("key_groups", "pregnant_share_of_women_20_39")
    pregnant = ~male & (age >= 20) & (age <= 39) & (rng.random(n) < share)
    groups[pregnant] |= np.uint8(KeyGroup.PREGNANT)
    persons = Persons(age=age, male=male, household=household, doses=doses, groups=groups)
    return persons, Households(start=start, kind=kind)
