"""The synthetic city: its people, households, places, contact groups and how its people move,
deterministic from a seed (`build_city`). The figures come from `data/census-2020.yaml` (China's
2020 census, the districts of Shanghai, vaccination in April 2022) and `data/city.yaml` (places,
group sizes, contacts, venue visits), each number with its source.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from fangkong.sim.agent import PUBLIC_VENUE_KINDS, Layer
from fangkong.sim.census import load_census
from fangkong.sim.groups import (
    Groups,
    form_classes,
    form_institutions,
    form_workplaces,
    households_as_groups,
)
from fangkong.sim.parameter import ModelFile, bundled_path, read_model_file
from fangkong.sim.places import Geography, Venues, place_households, place_venues
from fangkong.sim.population import Households, Persons, build_population
from fangkong.sim.rng import Stream, stream_generator

__all__ = ["Behaviour", "City", "build_city", "load_behaviour"]

log = logging.getLogger(__name__)
_KIND_KEYS = ("essential", "open_air", "enclosed_entertainment")


@dataclass(frozen=True)
class Behaviour:
    """How people meet: contacts per day in large groups, the weight of a contact-day in each
    layer, and venue visits by public venue kind (ESSENTIAL, OPEN_AIR, ENCLOSED_ENTERTAINMENT)."""

    full_contact_max: int  # a group this size or smaller: everyone meets everyone each day
    coworker_contacts: int  # in a larger workplace or class: contacts a day
    resident_contacts: int  # in an institution: contacts a day
    layer_weight: dict[Layer, float]
    venue_weight_per_hour: npt.NDArray[np.float64]  # by public venue kind
    visit_probability: npt.NDArray[np.float64]  # visits a day, by public venue kind
    visit_minutes: npt.NDArray[np.float64]  # mean duration, by public venue kind
    opening_minute: int
    closing_minute: int


def load_behaviour(f: ModelFile) -> Behaviour:
    base = f.number("contacts", "venue_weight_per_hour")
    ratio = np.array(
        [
            1.0,
            f.number("contacts", "open_air_ratio"),
            f.number("contacts", "enclosed_entertainment_ratio"),
        ]
    )
    return Behaviour(
        full_contact_max=int(f.number("contacts", "household_full_contact_max")),
        coworker_contacts=int(f.number("work", "coworker_contacts_per_day")),
        resident_contacts=int(f.number("institutions", "resident_contacts_per_day")),
        layer_weight={
            Layer.HOUSEHOLD: f.number("contacts", "household_weight"),
            Layer.SCHOOL: f.number("contacts", "school_weight"),
            Layer.WORK: f.number("contacts", "work_weight"),
            Layer.INSTITUTION: f.number("contacts", "institution_weight"),
        },
        venue_weight_per_hour=base * ratio,
        visit_probability=np.array([f.number("venues", f"{k}_visits_per_day") for k in _KIND_KEYS]),
        visit_minutes=np.array([f.number("venues", f"{k}_visit_minutes") for k in _KIND_KEYS]),
        opening_minute=int(f.number("venues", "opening_minute")),
        closing_minute=int(f.number("venues", "closing_minute")),
    )


@dataclass(frozen=True)
class City:
    seed: int
    persons: Persons
    households: Households
    geography: Geography
    venues: Venues
    household_groups: Groups
    classes: Groups
    workplaces: Groups
    institutions: Groups
    behaviour: Behaviour

    @property
    def n(self) -> int:
        return self.persons.n

    @property
    def person_street(self) -> npt.NDArray[np.int16]:
        return self.geography.household_street[self.persons.household]

    def person_street_of(self, agents: npt.NDArray[np.int32]) -> npt.NDArray[np.int16]:
        return self.geography.household_street[self.persons.household[agents]]

    def layer_groups(self) -> dict[Layer, Groups]:
        return {
            Layer.HOUSEHOLD: self.household_groups,
            Layer.SCHOOL: self.classes,
            Layer.WORK: self.workplaces,
            Layer.INSTITUTION: self.institutions,
        }


def build_city(
    n: int,
    seed: int,
    *,
    vaccinated: bool = True,
    census_path: Path | None = None,
    city_path: Path | None = None,
) -> City:
    """A city of n people drawn from seed. `vaccinated=False` gives the city before vaccines
    (2020); otherwise doses follow the coverage of April 2022."""
    census = load_census(census_path)
    f = read_model_file(city_path or bundled_path("city.yaml"))
    persons, households = build_population(n, seed, census, f, vaccinated=vaccinated)
    rng = stream_generator(seed, Stream.POPULATION, 1)
    geography = place_households(households, census, f, rng)
    venues = place_venues(households, geography, f)
    classes = form_classes(persons, households, geography, f, rng)
    work, staff_pool = form_workplaces(persons, households, classes, f, rng)
    institutions, work = form_institutions(households, staff_pool, work, rng)
    log.info(
        "city of %d people: %d households, %d streets, %d venues, %d classes, %d workplaces",
        n,
        households.n,
        geography.n_streets,
        venues.n,
        classes.n,
        work.n,
    )
    assert len(PUBLIC_VENUE_KINDS) == len(_KIND_KEYS)
    return City(
        seed=seed,
        persons=persons,
        households=households,
        geography=geography,
        venues=venues,
        household_groups=households_as_groups(households),
        classes=classes,
        workplaces=work,
        institutions=institutions,
        behaviour=load_behaviour(f),
    )
