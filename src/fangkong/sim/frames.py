"""The synthetic city as frames with the columns of the import kinds
(`fangkong.ingest.kinds`), so that the engine reads the twin's people, places and check-ins as
it reads real ones: `regions_frame` (the city's streets), `persons_frame`, `venues_frame`,
`vaccinations_frame`, `checkins_frame` (one day's visits), and `households_frame` (no import
kind: the household, building, compound and street of each household, which risk areas are
drawn by).

Person ids are agent ids; venue ids are venue indices; a check-in's scan id is
day * 10**9 + its index in the day. Times are Beijing time, day 0 being `start`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import polars as pl

from fangkong.model.glossary import VenueCategory
from fangkong.sample.identity import ric_numbers, valid_birthplaces
from fangkong.sim.agent import VenueKind
from fangkong.sim.checkin import Visits
from fangkong.sim.city import City
from fangkong.sim.population import PRIVATE, Persons
from fangkong.sim.rng import Stream, stream_generator

__all__ = [
    "checkins_frame",
    "households_frame",
    "person_slices",
    "persons_frame",
    "regions_frame",
    "vaccination_slices",
    "vaccinations_frame",
    "venues_frame",
]

BEIJING = ZoneInfo("Asia/Shanghai")
SCANS_PER_DAY = 10**9
_CATEGORIES = [c.value for c in VenueCategory]


def regions_frame(city: City) -> pl.DataFrame:
    """The city's streets (import kind `regions`)."""
    g = city.geography
    return pl.DataFrame({"region_code": g.street_codes(), "name": g.street_names()})


def _street_code_of_household(city: City) -> npt.NDArray[np.str_]:
    return city.geography.street_codes()[city.geography.household_street]


def persons_frame(city: City, year: int = 2022, *, identities: bool = True) -> pl.DataFrame:
    """People (import kind `persons`), with resident ID numbers (GB 11643) whose birthplace is
    their district when that code was in use in their birth year, else the oldest of the city's
    district codes, and whose birth date agrees with their age on 1 January of `year`. With
    `identities=False` the `id_number` column is null (the twin's store holds no personal data,
    and drawing the numbers is most of the cost)."""
    people = _persons(city, year, range(city.n))
    ids = (
        _ric_numbers(city, year, people["birth_year"].to_numpy())
        if identities
        else pl.repeat(None, city.n, dtype=pl.String, eager=True)
    )
    return people.with_columns(id_number=ids).select(
        "person_id", "id_type", "id_number", *people.columns[2:]
    )


def person_slices(city: City, year: int, people_per_slice: int) -> Iterator[pl.DataFrame]:
    """The rows of `persons_frame(city, year)` without the `id_number` column, in slices of
    `people_per_slice` consecutive people: a store loads a city of 25 million without the city
    being one frame in memory beside it."""
    for first in range(0, city.n, people_per_slice):
        yield _persons(city, year, range(first, min(first + people_per_slice, city.n)))


def _persons(city: City, year: int, people: range) -> pl.DataFrame:
    """The people of `people` (a range of agent ids) without their ID numbers."""
    p, g = city.persons, city.geography
    household = p.household[people.start : people.stop]
    n = len(household)
    building = g.household_building[household].astype(np.int64)
    compound = np.where(building >= 0, g.building_compound[np.maximum(building, 0)], -1)
    return pl.DataFrame(
        {
            "person_id": np.arange(people.start, people.stop, dtype=np.int64),
            "id_type": pl.repeat("ric", n, eager=True),
            "household_id": household.astype(np.int64),
            "region_code": g.street_codes()[g.household_street[household]],
            # the residence's compound and building (none for an institution's residents)
            "compound_id": _ids_or_null(compound.astype(np.int64)),
            "building_id": _ids_or_null(building),
            "sex": np.where(p.male[people.start : people.stop], "M", "F"),
            "birth_year": _birth_year(p.age[people.start : people.stop], year),
        }
    )


def _birth_year(age: npt.NDArray[np.uint8], year: int) -> npt.NDArray[np.int16]:
    """The birth year of people of `age` on 1 January of `year`."""
    return (year - 1 - age.astype(np.int64)).astype(np.int16)


def _ric_numbers(city: City, year: int, birth_year: npt.NDArray[np.int16]) -> npt.NDArray[np.str_]:
    """Everyone's resident ID number, drawn over the whole city at once (the numbers are
    distinct in the city)."""
    p = city.persons
    rng = stream_generator(city.seed, Stream.POPULATION, 2)
    day_of_year = rng.integers(0, 365, size=p.n)
    born = np.array([f"{y}-01-01" for y in range(1900, year + 1)], dtype="datetime64[D]")[
        birth_year - 1900
    ] + day_of_year.astype("timedelta64[D]")
    street = city.geography.household_street[p.household]
    district = np.array(city.geography.district_codes)[city.geography.street_district[street]]
    places = valid_birthplaces().filter(pl.col("code").is_in(list(city.geography.district_codes)))
    since = dict(zip(places["code"].to_list(), places["since"].to_list(), strict=True))
    oldest = min(city.geography.district_codes, key=lambda c: since.get(c) or 0)
    codes = np.array(city.geography.district_codes)
    order = np.argsort(codes)
    start = np.array([since.get(c) or 0 for c in codes])[order]
    ok = start[np.searchsorted(codes[order], district)] <= birth_year
    birthplace = np.where(ok, district, oldest)
    return ric_numbers(birthplace, born, p.male, rng)


def _ids_or_null(index: npt.NDArray[np.int64]) -> pl.Series:
    """Indices as the registry's text ids; -1 (none) as null."""
    return pl.Series(index).cast(pl.String).replace("-1", None)


def households_frame(city: City) -> pl.DataFrame:
    """Households and institutions with their building, compound and street."""
    h, g = city.households, city.geography
    kind = np.array(["family", *[k.category.value for k in VenueKind]])[
        np.where(h.kind == PRIVATE, 0, h.kind.astype(np.int64) + 1)
    ]
    building = g.household_building.astype(np.int64)
    compound = np.where(building >= 0, g.building_compound[np.maximum(building, 0)], -1)
    return pl.DataFrame(
        {
            "household_id": np.arange(h.n, dtype=np.int64),
            "kind": kind,
            "size": h.size,
            "building_id": pl.Series(building).replace(-1, None),
            "compound_id": pl.Series(compound.astype(np.int64)).replace(-1, None),
            "region_code": _street_code_of_household(city),
        }
    )


def venues_frame(city: City) -> pl.DataFrame:
    """Venues with a venue code (import kind `venues`), the special institutions among them."""
    v = city.venues
    category = np.array(_CATEGORIES)[v.kind.astype(np.int64)]
    ids = np.arange(v.n, dtype=np.int64)
    return pl.DataFrame(
        {
            "venue_id": ids,
            "region_code": city.geography.street_codes()[v.street],
            "category": category,
            "name": np.char.add(np.char.add(category, "-"), ids.astype(str)),
            "capacity": v.capacity.astype(np.int32),
        }
    )


def vaccinations_frame(city: City) -> pl.DataFrame:
    """Vaccine doses (import kind `vaccinations`): primary doses in the first half of 2021,
    boosters from November 2021 (an engineering spread of dates)."""
    return pl.concat(vaccination_slices(city, city.n))


def vaccination_slices(city: City, people_per_slice: int) -> Iterator[pl.DataFrame]:
    """The rows of `vaccinations_frame(city)`, the doses of `people_per_slice` consecutive
    people at a time. The dates come from one stream drawn in person order, so the slices
    together are the whole frame, whatever their size."""
    rng = stream_generator(city.seed, Stream.POPULATION, 3)
    for first in range(0, city.n, people_per_slice):
        yield _doses(city.persons, range(first, min(first + people_per_slice, city.n)), rng)


def _doses(p: Persons, people: range, rng: np.random.Generator) -> pl.DataFrame:
    doses = p.doses[people.start : people.stop]
    who = np.repeat(np.arange(people.start, people.stop, dtype=np.int64), doses)
    first = np.concatenate([[0], np.cumsum(doses.astype(np.int64))[:-1]])
    dose = (np.arange(len(who)) - np.repeat(first, doses) + 1).astype(np.int16)
    base = np.array(["2021-01-15", "2021-03-01", "2021-11-15"], dtype="datetime64[D]")[dose - 1]
    # int64 draws: numpy draws bounded 64-bit integers one by one from the stream, so drawing
    # a city's dates in slices gives the dates drawn at once (smaller types are buffered)
    days = base + rng.integers(0, 90, size=len(who), dtype=np.int64).astype("timedelta64[D]")
    at = (days.astype("datetime64[us]") + np.timedelta64(10, "h")).astype("datetime64[us]")
    return pl.DataFrame(
        {
            "person_id": who,
            "dose": dose,
            "vaccinated_at": pl.Series(at).dt.replace_time_zone("Asia/Shanghai"),
            "product": pl.repeat("inactivated", len(who), eager=True),
        }
    )


def checkins_frame(visits: Visits, start: dt.date) -> pl.DataFrame:
    """One day's visits as check-ins (import kind `checkins`); day 0 is `start`."""
    midnight = dt.datetime.combine(start + dt.timedelta(days=visits.day), dt.time(), BEIJING)
    base = pl.lit(midnight).cast(pl.Datetime("us", "Asia/Shanghai"))
    return pl.DataFrame(
        {
            "scan_id": np.arange(visits.n, dtype=np.int64) + visits.day * SCANS_PER_DAY,
            "person_id": visits.person.astype(np.int64),
            "venue_id": visits.venue.astype(np.int64),
            "minute_in": visits.start.astype(np.int64),
            "minute_out": visits.end.astype(np.int64),
        }
    ).select(
        "scan_id",
        "person_id",
        "venue_id",
        checkin_at=base + pl.duration(minutes=pl.col("minute_in")),
        checkout_at=base + pl.duration(minutes=pl.col("minute_out")),
    )
