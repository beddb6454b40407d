"""The contact groups of the city, one `Groups` per layer: family households, school classes
(with their teacher), workplaces (hospitals among them, where the medical workers work), and
special institutions (residents and staff). An agent is in at most one group of a layer.

Students: everyone aged 6-14, and at the census enrolment rates ages 3-5 (kindergarten), 15-17
(senior secondary) and 18-21 (higher education); classes are formed by street and single year
of age (universities by district), at the class sizes of the Ministry of Education. Workers:
adults not in education at the employment rate, a share of them medical workers in hospitals;
the rest in workplaces of geometric size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fangkong.sim.agent import AGENT_DTYPE, AgentIds, KeyGroup
from fangkong.sim.parameter import ModelFile
from fangkong.sim.places import Geography
from fangkong.sim.population import PRIVATE, Households, Persons

__all__ = ["Groups", "form_classes", "form_institutions", "form_workplaces", "groups_of"]

# (first age, last age, enrolment key or None for all, class-size key)
_STAGES = (
    (3, 5, "kindergarten_enrolment", "kindergarten_class_size"),
    (6, 11, None, "primary_class_size"),
    (12, 14, None, "secondary_class_size"),
    (15, 17, "senior_secondary_enrolment", "secondary_class_size"),
    (18, 21, "higher_education_enrolment", "university_class_size"),
)


@dataclass(frozen=True)
class Groups:
    """The members of group g are members[start[g]:start[g+1]]; of_agent[a] is agent a's group
    or -1."""

    start: npt.NDArray[np.int64]
    members: AgentIds
    of_agent: npt.NDArray[np.int32]

    @property
    def n(self) -> int:
        return len(self.start) - 1


def groups_of(of_agent: npt.NDArray[np.int32], n_groups: int) -> Groups:
    """The groups of an assignment (agent -> group or -1)."""
    inside = np.flatnonzero(of_agent >= 0)
    order = inside[np.argsort(of_agent[inside], kind="stable")].astype(AGENT_DTYPE)
    counts = np.bincount(of_agent[inside], minlength=n_groups)
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Groups(start=start, members=order, of_agent=of_agent.astype(np.int32))


def households_as_groups(households: Households) -> Groups:
    """Family households (members are contiguous); institution residents are in no household
    group (they meet in their institution's)."""
    int(households.start[-1])
    household = np.repeat(np.arange(households.n, dtype=np.int32), households.size)
    of_agent = np.where(households.kind[household] == PRIVATE, household, -1).astype(np.int32)
    return groups_of(of_agent, households.n)


def _chunk(keys: npt.NDArray[np.int64], size: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
    """Sorted keys cut into groups of `size` (per element) inside each key: the group index."""
    first = np.searchsorted(keys, keys)
    local = np.arange(len(keys)) - first
    new = (local % size) == 0
    return (np.cumsum(new) - 1).astype(np.int32)


def form_classes(
    persons: Persons,
    households: Households,
    geography: Geography,
    city: ModelFile,
    rng: np.random.Generator,
) -> Groups:
    """School classes, each with one teacher (an adult 25-59 taken from the workforce)."""
    age = persons.age.astype(np.int64)
    resident = households.kind[persons.household] != PRIVATE
    street = geography.household_street[persons.household].astype(np.int64)
    district = geography.street_district[street].astype(np.int64)
    student = np.zeros(persons.n, dtype=bool)
    class_size = np.zeros(persons.n, dtype=np.int64)
    key = np.zeros(persons.n, dtype=np.int64)
    u = rng.random(persons.n)
    for lo, hi, enrol, size_key in _STAGES:
        in_stage = (age >= lo) & (age <= hi) & ~resident
        if enrol is not None:
            in_stage &= u < city.number("schools", enrol)
        student |= in_stage
        class_size[in_stage] = int(city.number("schools", size_key))
        place = district if hi >= 18 else street
        key[in_stage] = (place[in_stage] * 2 + (hi >= 18)) * 128 + age[in_stage]
    pupils = np.flatnonzero(student)
    order = pupils[np.lexsort((rng.random(len(pupils)), key[pupils]))]
    cls = _chunk(key[order], class_size[order])
    n_classes = int(cls[-1]) + 1 if len(cls) else 0
    of_agent = np.full(persons.n, -1, dtype=np.int32)
    of_agent[order] = cls
    adults = np.flatnonzero((age >= 25) & (age <= 59) & ~resident)
    teachers = rng.choice(adults, size=min(n_classes, len(adults)), replace=False)
    of_agent[teachers] = np.arange(len(teachers), dtype=np.int32)
    persons.groups[pupils] |= np.uint8(KeyGroup.STUDENT)
    return groups_of(of_agent, n_classes)


def _fill(workers: AgentIds, sizes: npt.NDArray[np.int64], first: int) -> npt.NDArray[np.int32]:
    """Group index (from `first`) of each worker when the groups of `sizes` are filled in order."""
    ends = np.cumsum(sizes)
    return (first + np.searchsorted(ends, np.arange(len(workers)), side="right")).astype(np.int32)


def form_workplaces(
    persons: Persons,
    households: Households,
    classes: Groups,
    city: ModelFile,
    rng: np.random.Generator,
) -> tuple[Groups, AgentIds]:
    """Workplaces (hospitals first), and the workers left for the institutions' staff pool:
    every employed adult not teaching a class."""
    age = persons.age
    resident = households.kind[persons.household] != PRIVATE
    busy = (persons.groups & np.uint8(KeyGroup.STUDENT)).astype(bool) | (classes.of_agent >= 0)
    rate = np.where(
        (age >= 18) & (age <= 59),
        city.number("work", "employment_18_59"),
        np.where((age >= 60) & (age <= 64), city.number("work", "employment_60_64"), 0.0),
    )
    hired = np.flatnonzero(~resident & ~busy & (rng.random(persons.n) < rate))
    employed: AgentIds = np.asarray(hired[rng.permutation(len(hired))], dtype=AGENT_DTYPE)
    n_medical = min(len(employed), round(persons.n * city.number("work", "medical_worker_share")))
    medical, others = employed[:n_medical], employed[n_medical:]
    persons.groups[medical] |= np.uint8(KeyGroup.MEDICAL_WORKER)
    hospital = int(city.number("work", "hospital_size"))
    n_hospitals = max(1, -(-n_medical // hospital)) if n_medical else 0
    of_agent = np.full(persons.n, -1, dtype=np.int32)
    if n_medical:
        of_agent[medical] = np.arange(n_medical, dtype=np.int32) % n_hospitals
    mean = city.number("work", "workplace_size_mean")
    sizes = rng.geometric(1.0 / mean, size=int(len(others) / mean * 1.2) + 16).astype(np.int64)
    while sizes.sum() < len(others):
        sizes = np.concatenate([sizes, rng.geometric(1.0 / mean, size=len(sizes)).astype(np.int64)])
    of_agent[others] = _fill(others, sizes, n_hospitals)
    n_groups = int(of_agent.max()) + 1 if len(employed) else 0
    return groups_of(of_agent, n_groups), others


def form_institutions(
    households: Households, staff_pool: AgentIds, work: Groups, rng: np.random.Generator
) -> tuple[Groups, Groups]:
    """Each institution's residents and its staff (one for every five residents, at least
    five), who leave their workplace for it: the institutions, and the workplaces without them."""
    institutions = np.flatnonzero(households.kind != PRIVATE)
    n = int(households.start[-1])
    of_agent = np.full(n, -1, dtype=np.int32)
    if len(institutions) == 0:
        return groups_of(of_agent, 0), work
    # institutions come after the family households: their residents are the last agents
    first = int(households.start[institutions[0]])
    of_agent[first:] = np.repeat(
        np.arange(len(institutions), dtype=np.int32), households.size[institutions]
    )
    need = np.maximum(5, households.size[institutions] // 5).astype(np.int64)
    take = min(int(need.sum()), len(staff_pool))
    staff = np.sort(rng.choice(staff_pool, size=take, replace=False)).astype(AGENT_DTYPE)
    staff = staff[rng.permutation(take)]
    of_agent[staff] = _fill(staff, need, 0)
    work_of = work.of_agent.copy()
    work_of[staff] = -1
    return groups_of(of_agent, len(institutions)), groups_of(work_of, work.n)
