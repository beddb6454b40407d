"""The import kinds of the registry: what the events refer to — divisions below the county
(regions), people with their identity and household (persons), venues with a venue code, and
quarantine and care facilities.

How a kind is declared: `fangkong.ingest.declaration`.
"""

from __future__ import annotations

from fangkong.ingest.declaration import INT, Check, Field, Kind, S, Target, V, unchanged
from fangkong.ingest.ric import (
    BIRTHPLACE,
    CHECK,
    DATE,
    RIC_PROBLEMS,
    RIC_SEX,
    RIC_YEAR_OF_BIRTH,
    SHAPE,
)
from fangkong.model.glossary import FacilityKind, IdType, Sex, VenueCategory

__all__ = ["FACILITIES", "PERSONS", "REGIONS", "RIC_DERIVED", "VENUES"]

# helper columns of a kind with an ID number: `_ric` (a resident ID is given) and `_ric_problems`
# (its problems, as `fangkong.ingest.ric`'s bits: computed once per row, read by each check)
RIC_DERIVED = {
    "_ric": "coalesce({id_type}, 'ric') = 'ric' AND {id_number} IS NOT NULL",
    "_ric_problems": RIC_PROBLEMS,
}


def _ric_check(bit: int, message: str) -> Check:
    """A GB 11643 check of a resident ID number: bad when its problems hold `bit`."""
    return Check(f"{{_ric}} AND ({{_ric_problems}} & {bit}) <> 0", message)


PERSONS = Kind(
    "persons",
    "People of the jurisdiction, with their identity (kept apart) and household.",
    fields=(
        Field.id("person_id"),
        Field("id_type", V, required=False, optional_column=True, values=IdType),
        Field(
            "id_number",
            V,
            personal=True,
            checks=(
                _ric_check(
                    SHAPE, "a resident ID number (GB 11643) has 17 digits and a check character"
                ),
                _ric_check(DATE, "the birth date in the ID number is not a date"),
                _ric_check(CHECK, "the ID number's check digit is wrong (GB 11643)"),
                _ric_check(
                    BIRTHPLACE,
                    "the ID number's birthplace (digits 1-6) was not a division code in its"
                    " birth year",
                ),
            ),
        ),
        Field("name", V, required=False, optional_column=True, personal=True),
        Field(
            "phone",
            V,
            required=False,
            optional_column=True,
            personal=True,
            checks=(
                Check(
                    "NOT regexp_full_match({phone}, '\\+?[0-9][0-9 -]{4,19}')",
                    "a phone number has 5 to 20 digits",
                ),
            ),
        ),
        Field.id("household_id", required=False, optional_column=True),
        Field.region("region_code", required=False),
        # the residence's compound (小区) and building (楼栋), as the community gives them
        Field.id("compound_id", V, required=False, optional_column=True),
        Field.id("building_id", V, required=False, optional_column=True),
        Field("sex", V, required=False, optional_column=True, values=Sex),
        Field(
            "birth_year",
            S,
            required=False,
            optional_column=True,
            checks=(Check("{birth_year} < 1880 OR {birth_year} > 2100", "not a birth year"),),
        ),
    ),
    targets=(
        Target(
            "person",
            {
                "person_id": "{person_id}",
                "household_id": "{household_id}",
                "region_code": "{region_code}",
                "compound_id": "{compound_id}",
                "building_id": "{building_id}",
                # from the ID number when there is one (GB 11643), else as given
                "sex": f"CASE WHEN {{_ric}} THEN {RIC_SEX} ELSE {{sex}} END",
                "birth_year": (
                    f"CASE WHEN {{_ric}} THEN {RIC_YEAR_OF_BIRTH} ELSE {{birth_year}} END"
                ),
                "id_type": "coalesce({id_type}, 'ric')",
            },
        ),
        Target("person_identity", unchanged("person_id", "id_number", "name", "phone")),
    ),
    key=("person_id",),
    derived=dict(RIC_DERIVED),
    # a stored person is never edited: changed values come as these kinds' events
    corrected_by={
        **dict.fromkeys(("household_id", "region_code", "compound_id", "building_id"), "moves"),
        **dict.fromkeys(
            ("id_type", "id_number", "sex", "birth_year", "name", "phone"), "person_corrections"
        ),
    },
)

_PARENT = (
    "CASE WHEN length({region_code}) = 9 THEN substr({region_code}, 1, 6)"
    " ELSE substr({region_code}, 1, 9) END"
)

REGIONS = Kind(
    "regions",
    "Street (9-digit) and community (12-digit) codes below the built-in county table.",
    fields=(
        Field(
            "region_code",
            V,
            checks=(
                Check(
                    "NOT regexp_full_match({region_code}, '[0-9]{9}([0-9]{3})?')",
                    "an imported division code has 9 (street) or 12 (community) digits",
                ),
            ),
        ),
        Field("name", V),
    ),
    row_checks=(
        Check(
            f"{_PARENT} NOT IN (SELECT region_code FROM _ref_region)"
            f" AND {_PARENT} NOT IN (SELECT region_code FROM _this_file)",
            "the parent division is neither stored nor in the file",
        ),
    ),
    targets=(
        Target(
            "region",
            {
                "region_code": "{region_code}",
                "name": "{name}",
                "level": "CASE WHEN length({region_code}) = 9 THEN 'street' ELSE 'community' END",
                "parent_code": _PARENT,
                "valid_from": "CAST(NULL AS SMALLINT)",
                "valid_until": "CAST(NULL AS SMALLINT)",
            },
        ),
    ),
    key=("region_code",),
)


def _capacity(*, required: bool = True, optional_column: bool = False) -> Field:
    return Field(
        "capacity",
        INT,
        required=required,
        optional_column=optional_column,
        checks=(Check("{capacity} < 0", "a capacity is not negative"),),
    )


VENUES = Kind.one_table(
    "venues",
    "Places with a venue code (场所码).",
    table="venue",
    fields=(
        Field.id("venue_id"),
        Field.region("region_code"),
        Field("category", V, values=VenueCategory),
        Field("name", V, required=False, optional_column=True),
        _capacity(required=False, optional_column=True),
    ),
    key=("venue_id",),
)

FACILITIES = Kind.one_table(
    "facilities",
    "Quarantine sites (capacity in rooms), designated and shelter hospitals (in beds).",
    table="facility",
    fields=(
        Field.id("facility_id", V),
        Field("kind", V, values=FacilityKind),
        Field.region("region_code"),
        _capacity(),
        Field("name", V, required=False, optional_column=True),
    ),
    key=("facility_id",),
)
