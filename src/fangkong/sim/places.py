"""Where the synthetic city's people live and go: districts (real GB/T 2260 codes of the city),
streets (街道, 9-digit codes numbered inside their district, the format of the statistical
division codes), residential compounds (小区) and buildings (楼栋), and venues with a venue code
(场所码) of each category, the special institutions among them.

Family households fill the districts in proportion to the districts' 2020 census population,
then the streets of a district, then buildings of `households_per_building` and compounds of
`buildings_per_compound`, in household order. Public venues are placed in every street in
proportion to its people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fangkong.errors import ModelFileError
from fangkong.sim.agent import PUBLIC_VENUE_KINDS, VenueKind
from fangkong.sim.census import Census
from fangkong.sim.parameter import ModelFile
from fangkong.sim.population import PRIVATE, Households
from fangkong.store.regions import builtin_regions

__all__ = ["Geography", "Venues", "place_households", "place_venues"]

_VENUE_KEYS = {
    VenueKind.ESSENTIAL: "essential",
    VenueKind.OPEN_AIR: "open_air",
    VenueKind.ENCLOSED_ENTERTAINMENT: "enclosed_entertainment",
}
# capacities written to the venues frame (people at once): engineering figures
_CAPACITY = {
    VenueKind.ESSENTIAL: 100,
    VenueKind.OPEN_AIR: 2000,
    VenueKind.ENCLOSED_ENTERTAINMENT: 200,
}


@dataclass(frozen=True)
class Geography:
    district_codes: tuple[str, ...]
    district_names: tuple[str, ...]
    street_district: npt.NDArray[np.int16]
    household_street: npt.NDArray[np.int16]
    household_building: npt.NDArray[np.int32]  # -1 for an institution
    building_compound: npt.NDArray[np.int32]

    @property
    def n_streets(self) -> int:
        return len(self.street_district)

    def street_codes(self) -> npt.NDArray[np.str_]:
        """The 9-digit code of each street: its district's code and a 3-digit number."""
        district = np.array(self.district_codes)[self.street_district]
        first = np.searchsorted(self.street_district, self.street_district)
        number = np.arange(self.n_streets) - first + 1
        return np.char.add(district.astype("<U6"), np.char.zfill(number.astype("<U3"), 3))

    def street_names(self) -> npt.NDArray[np.str_]:
        district = np.array(self.district_names)[self.street_district]
        number = np.char.zfill(
            (
                np.arange(self.n_streets)
                - np.searchsorted(self.street_district, self.street_district)
                + 1
            ).astype("<U3"),
            3,
        )
        return np.char.add(np.char.add(district, "第"), np.char.add(number, "街道"))


def _district_names(codes: tuple[str, ...], path: str) -> tuple[str, ...]:
    table = builtin_regions().select("region_code", "name", "valid_until")
    known = {
        r["region_code"]: r["name"] for r in table.iter_rows(named=True) if r["valid_until"] is None
    }
    for code in codes:
        if code not in known:
            raise ModelFileError(path, "not a GB/T 2260 county code in use", key=code)
    return tuple(known[c] for c in codes)


def place_households(
    households: Households, census: Census, city: ModelFile, rng: np.random.Generator
) -> Geography:
    """Districts, streets, compounds and buildings for the households."""
    private = households.kind == PRIVATE
    n_private = int(private.sum())
    people = np.cumsum(households.size[:n_private]).astype(np.float64)
    total = people[-1]
    # district of each family household, by cumulative people
    bounds = np.cumsum(census.district_weight)[:-1] * total
    district = np.searchsorted(bounds, people - 0.5, side="right")
    per_street = city.number("geography", "people_per_street")
    street_district: list[int] = []
    street_of = np.empty(n_private, dtype=np.int16)
    for d in range(len(census.district_codes)):
        rows = np.flatnonzero(district == d)
        if len(rows) == 0:
            continue
        pop = people[rows[-1]] - (people[rows[0] - 1] if rows[0] > 0 else 0.0)
        k = max(1, round(pop / per_street))
        local = people[rows] - people[rows[0]]
        part = np.minimum((local / max(pop, 1.0) * k).astype(np.int64), k - 1)
        street_of[rows] = len(street_district) + part
        street_district.extend([d] * k)
    n_streets = len(street_district)
    hh_street = np.empty(households.n, dtype=np.int16)
    hh_street[:n_private] = street_of
    hh_street[n_private:] = rng.integers(0, n_streets, size=households.n - n_private)
    # buildings and compounds, numbered street by street
    per_building = int(city.number("geography", "households_per_building"))
    per_compound = int(city.number("geography", "buildings_per_compound"))
    first = np.searchsorted(street_of, np.arange(n_streets))
    count = np.bincount(street_of, minlength=n_streets)
    local = np.arange(n_private) - first[street_of]
    buildings_in = -(-count // per_building)
    building_offset = np.concatenate([[0], np.cumsum(buildings_in)])
    building = np.full(households.n, -1, dtype=np.int32)
    building[:n_private] = building_offset[street_of] + local // per_building
    b_street = np.repeat(np.arange(n_streets), buildings_in)
    b_local = np.arange(int(building_offset[-1])) - building_offset[b_street]
    compounds_in = -(-buildings_in // per_compound)
    compound_offset = np.concatenate([[0], np.cumsum(compounds_in)])
    compound = (compound_offset[b_street] + b_local // per_compound).astype(np.int32)
    return Geography(
        district_codes=census.district_codes,
        district_names=_district_names(census.district_codes, str(city.path)),
        street_district=np.array(street_district, dtype=np.int16),
        household_street=hh_street,
        household_building=building,
        building_compound=compound,
    )


@dataclass(frozen=True)
class Venues:
    """Public venues ordered by (street, kind), then one venue per special institution. The
    public venues of kind k in street s are by_street_kind[s*3+k] .. by_street_kind[s*3+k+1]-1."""

    kind: npt.NDArray[np.uint8]
    street: npt.NDArray[np.int16]
    capacity: npt.NDArray[np.int32]
    by_street_kind: npt.NDArray[np.int32]
    institution_household: npt.NDArray[np.int32]  # -1 for a public venue

    @property
    def n(self) -> int:
        return len(self.kind)


def place_venues(households: Households, geography: Geography, city: ModelFile) -> Venues:
    """Public venues in every street by its people; one venue per institution."""
    n_streets = geography.n_streets
    private = households.kind == PRIVATE
    street_people = np.bincount(
        geography.household_street[private], weights=households.size[private], minlength=n_streets
    )
    counts = np.empty((n_streets, len(PUBLIC_VENUE_KINDS)), dtype=np.int64)
    for k in PUBLIC_VENUE_KINDS:
        per = city.number("venues", f"{_VENUE_KEYS[k]}_people_per_venue")
        counts[:, int(k)] = np.maximum(1, np.ceil(street_people / per)).astype(np.int64)
    flat = counts.ravel()
    by_street_kind = np.concatenate([[0], np.cumsum(flat)]).astype(np.int32)
    kind = np.tile(np.arange(len(PUBLIC_VENUE_KINDS), dtype=np.uint8), n_streets)
    street = np.repeat(np.arange(n_streets, dtype=np.int16), len(PUBLIC_VENUE_KINDS))
    public_kind = np.repeat(kind, flat)
    public_street = np.repeat(street, flat)
    capacity_of = np.array([_CAPACITY[k] for k in PUBLIC_VENUE_KINDS], dtype=np.int32)
    capacity = capacity_of[public_kind]
    inst = np.flatnonzero(~private).astype(np.int32)
    return Venues(
        kind=np.concatenate([public_kind, households.kind[inst]]),
        street=np.concatenate([public_street, geography.household_street[inst]]),
        capacity=np.concatenate([capacity, households.size[inst]]),
        by_street_kind=by_street_kind,
        institution_household=np.concatenate([np.full(len(public_kind), -1, dtype=np.int32), inst]),
    )
