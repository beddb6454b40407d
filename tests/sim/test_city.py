"""The synthetic city against the census figures it is drawn from, and its determinism."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from fangkong.errors import InputError
from fangkong.model.glossary import VenueCategory
from fangkong.sim.agent import KeyGroup, VenueKind
from fangkong.sim.census import load_census
from fangkong.sim.city import City, build_city
from fangkong.sim.population import PRIVATE
from fangkong.store.regions import builtin_regions


@cache
def _city() -> City:
    return build_city(200_000, 7)


def test_same_seed_same_city_other_seed_other_city() -> None:
    a, b, c = build_city(5_000, 3), build_city(5_000, 3), build_city(5_000, 4)
    for name in ("age", "male", "household", "doses", "groups"):
        assert np.array_equal(getattr(a.persons, name), getattr(b.persons, name))
    assert np.array_equal(a.workplaces.of_agent, b.workplaces.of_agent)
    assert np.array_equal(a.classes.members, b.classes.members)
    assert not np.array_equal(a.persons.age, c.persons.age)


def test_arrays_have_small_declared_types() -> None:
    city = build_city(5_000, 3)
    p = city.persons
    declared = {"age": "uint8", "male": "bool", "household": "int32", "doses": "uint8"}
    assert {k: str(getattr(p, k).dtype) for k in declared} == declared
    assert str(p.groups.dtype) == "uint8"
    assert city.classes.members.dtype == np.int32
    assert city.geography.household_street.dtype == np.int16


def test_census_age_pyramid_and_households() -> None:
    city, census = _city(), load_census()
    age = city.persons.age
    # the 2020 census bulletin's broad groups (0-14 17.95%, 60+ 18.70%, 65+ 13.50%)
    assert abs((age <= 14).mean() - 0.1795) < 0.004
    assert abs((age >= 60).mean() - 0.1870) < 0.004
    assert abs((age >= 65).mean() - 0.1350) < 0.004
    hh = city.households
    family = hh.size[hh.kind == PRIVATE]
    assert abs(family.mean() - census.mean_household_size) < 0.02  # 2.62
    assert abs((family == 1).mean() - 0.2539) < 0.01
    # every family household has an adult, and two in households of two or more
    first = hh.start[:-1][hh.kind == PRIVATE]
    assert (age[first] >= 18).all()
    assert (age[first[family >= 2] + 1] >= 18).all()


def test_vaccination_coverage_gives_the_published_aggregates() -> None:
    age, doses = _city().persons.age, _city().persons.doses
    # Cai et al. 2022: 91.4% of 3+ fully vaccinated, 53.7% of the vaccinated boosted,
    # 52 million of about 264 million aged 60+ unvaccinated
    assert abs((doses[age >= 3] >= 2).mean() - 0.914) < 0.01
    assert abs((doses[doses >= 2] == 3).mean() - 0.537) < 0.015
    assert abs((doses[age >= 60] == 0).mean() - 52 / 264) < 0.015
    assert (doses[age < 3] == 0).all()


def test_districts_are_real_and_places_nest() -> None:
    city = _city()
    g = city.geography
    in_use = set(
        builtin_regions().filter(builtin_regions()["valid_until"].is_null())["region_code"]
    )
    assert set(g.district_codes) <= in_use
    assert all(code[:6] in g.district_codes and len(code) == 9 for code in g.street_codes())
    family = city.households.kind == PRIVATE
    assert (g.household_building[family] >= 0).all()
    # a building's households are in one street
    street_of_building = np.full(g.household_building.max() + 1, -1)
    street_of_building[g.household_building[family]] = g.household_street[family]
    assert (street_of_building[g.household_building[family]] == g.household_street[family]).all()
    assert len(np.unique(g.building_compound)) < len(g.building_compound)


def test_key_groups_institutions_schools_and_work() -> None:
    city = _city()
    p = city.persons
    for group in KeyGroup:
        assert len(p.in_group(group)) > 0, group
    kinds = {VenueKind(k).category for k in np.unique(city.venues.kind)}
    assert kinds == set(VenueCategory)
    residents = p.in_group(KeyGroup.INSTITUTION_RESIDENT)
    assert (city.institutions.of_agent[residents] >= 0).all()
    assert (city.household_groups.of_agent[residents] == -1).all()
    medical = p.in_group(KeyGroup.MEDICAL_WORKER)
    assert abs(len(medical) / p.n - 0.0095) < 0.001
    students = p.in_group(KeyGroup.STUDENT)
    assert (city.classes.of_agent[students] >= 0).all()
    assert (p.age[p.in_group(KeyGroup.PREGNANT)] >= 20).all()
    # nobody is in two workplaces: the groups partition their members
    assert len(np.unique(city.workplaces.members)) == len(city.workplaces.members)


def test_population_bounds() -> None:
    with pytest.raises(InputError, match="1,000 to"):
        build_city(10, 1)
