"""What each import kind reads and where it goes.

A kind declares the fields of its file (type, whether required, allowed values, checks,
references to stored tables) and, for each table it writes, the SQL expression of every column
over the staged fields. All checks are SQL predicates evaluated over the whole file at once; the
same predicate then finds the first offending row for the error message.

In predicates and expressions, `{f}` stands for the staged (typed) value of the field and
`{raw}` for its text as read.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from enum import StrEnum

from fangkong.ingest.ric import (
    RIC17,
    RIC_BIRTH_DATE,
    RIC_BIRTHPLACE_INVALID,
    RIC_CHECK_CHAR,
    RIC_SEX,
    RIC_YEAR_OF_BIRTH,
)
from fangkong.model.glossary import (
    CaseEventType,
    ContactTier,
    ContactVia,
    Diagnosis,
    FacilityKind,
    IdType,
    Origin,
    Outcome,
    Setting,
    Severity,
    Sex,
    TestResult,
    VenueCategory,
)
from fangkong.model.tables import SqlType

__all__ = ["KINDS", "Check", "Field", "Kind", "Target", "kind"]

B, INT, S, D, V = SqlType.BIGINT, SqlType.INTEGER, SqlType.SMALLINT, SqlType.DOUBLE, SqlType.VARCHAR
DATE, TS = SqlType.DATE, SqlType.TIMESTAMPTZ

# Earliest plausible event: the first cases of the epidemic were reported in December 2019.
EARLIEST_EVENT = "2019-12-01"


@dataclass(frozen=True)
class Check:
    """A predicate that is TRUE for a bad value, and the message that says why."""

    bad_when: str
    message: str


@dataclass(frozen=True)
class Field:
    name: str
    type: SqlType
    required: bool = True  # the column must be present and every value non-empty
    optional_column: bool = False  # the column may be absent from the file (values NULL)
    values: builtins.type[StrEnum] | None = None
    checks: tuple[Check, ...] = ()
    ref: tuple[str, str] | None = None  # (table, column) that must hold every value
    personal: bool = False  # never echoed in messages or logs


# Checks may name `_this_file`, the staged rows of the file being imported (e.g. a community
# whose street is in the same file).
# Reference tables small enough to be checked inside the one pass over the file (the importer
# exposes each as `_ref_<table>` to DuckDB); references to others are checked by their distinct
# values against the store.
INLINE_REFS = frozenset({"region"})


@dataclass(frozen=True)
class Target:
    table: str
    columns: dict[str, str]  # table column -> SQL expression over staged fields `{name}`
    where: str | None = None  # only rows for which this holds go to this table


@dataclass(frozen=True)
class Kind:
    name: str
    doc: str
    fields: tuple[Field, ...]
    targets: tuple[Target, ...]
    key: tuple[str, ...]  # fields that identify an event: twice in one file is an error
    # helper columns computed once per row over the fields (`{_name}` in checks and targets)
    derived: dict[str, str] = field(default_factory=dict)
    row_checks: tuple[Check, ...] = field(default_factory=tuple)  # checks across fields

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def _time(name: str, *, required: bool = True, optional_column: bool = False) -> Field:
    return Field(
        name,
        TS,
        required=required,
        optional_column=optional_column,
        checks=(
            Check(
                f"{{{name}}} < TIMESTAMPTZ '{EARLIEST_EVENT} 00:00:00+08' "
                f"OR {{{name}}} > now() + INTERVAL 1 DAY",
                f"time outside {EARLIEST_EVENT} .. tomorrow",
            ),
        ),
    )


def _region(name: str, *, required: bool = True, optional_column: bool = False) -> Field:
    return Field(
        name,
        V,
        required=required,
        optional_column=optional_column,
        checks=(
            Check(
                f"NOT regexp_full_match({{{name}}}, '[0-9]{{6}}([0-9]{{3}}([0-9]{{3}})?)?')",
                "a division code has 6, 9 or 12 digits",
            ),
        ),
        ref=("region", "region_code"),
    )


def _id(name: str, type_: SqlType = B, **kw: object) -> Field:
    if type_ is B:
        checks = (Check(f"{{{name}}} < 0", "an id is not negative"),)
    else:
        checks = (Check(f"length({{{name}}}) > 64", "an id is at most 64 characters"),)
    return Field(name, type_, checks=checks, **kw)  # type: ignore[arg-type]


_IS_RIC = "coalesce({id_type}, 'ric') = 'ric' AND {id_number} IS NOT NULL"

PERSONS = Kind(
    "persons",
    "People of the jurisdiction, with their identity (kept apart) and household.",
    fields=(
        _id("person_id"),
        Field("id_type", V, required=False, optional_column=True, values=IdType),
        Field(
            "id_number",
            V,
            personal=True,
            checks=(
                Check(
                    "{_ric} AND {_ric17} IS NULL",
                    "a resident ID number (GB 11643) has 17 digits and a check character",
                ),
                Check(
                    f"{{_ric17}} IS NOT NULL AND {RIC_BIRTH_DATE} IS NULL",
                    "the birth date in the ID number is not a date",
                ),
                Check(
                    f"{{_ric17}} IS NOT NULL AND substr({{id_number}}, 18, 1) <> {RIC_CHECK_CHAR}",
                    "the ID number's check digit is wrong (GB 11643)",
                ),
                Check(
                    RIC_BIRTHPLACE_INVALID,
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
        Field(
            "household_id",
            B,
            required=False,
            optional_column=True,
            checks=(Check("{household_id} < 0", "an id is not negative"),),
        ),
        _region("region_code", required=False),
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
                # from the ID number when there is one (GB 11643), else as given
                "sex": f"CASE WHEN {{_ric}} THEN {RIC_SEX} ELSE {{sex}} END",
                "birth_year": (
                    f"CASE WHEN {{_ric}} THEN {RIC_YEAR_OF_BIRTH} ELSE {{birth_year}} END"
                ),
                "id_type": "coalesce({id_type}, 'ric')",
            },
        ),
        Target(
            "person_identity",
            {
                "person_id": "{person_id}",
                "id_number": "{id_number}",
                "name": "{name}",
                "phone": "{phone}",
            },
        ),
    ),
    key=("person_id",),
    derived={"_ric": _IS_RIC, "_ric17": RIC17},
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

VENUES = Kind(
    "venues",
    "Places with a venue code (场所码).",
    fields=(
        _id("venue_id"),
        _region("region_code"),
        Field("category", V, values=VenueCategory),
        Field("name", V, required=False, optional_column=True),
        Field(
            "capacity",
            INT,
            required=False,
            optional_column=True,
            checks=(Check("{capacity} < 0", "a capacity is not negative"),),
        ),
    ),
    targets=(
        Target(
            "venue",
            {c: f"{{{c}}}" for c in ("venue_id", "region_code", "category", "name", "capacity")},
        ),
    ),
    key=("venue_id",),
)

CHECKINS = Kind(
    "checkins",
    "Venue-code scans (场所码), each with the scan id the venue-code service gave it. Not checked"
    " against the person registry: visitors from other regions scan venue codes too.",
    fields=(
        _id("scan_id"),
        _id("person_id"),
        Field(
            "venue_id",
            B,
            checks=(Check("{venue_id} < 0", "an id is not negative"),),
            ref=("venue", "venue_id"),
        ),
        _time("checkin_at"),
        _time("checkout_at", required=False, optional_column=True),
    ),
    row_checks=(Check("{checkout_at} < {checkin_at}", "checkout_at is before checkin_at"),),
    targets=(
        Target(
            "checkin",
            {
                c: f"{{{c}}}"
                for c in ("scan_id", "person_id", "venue_id", "checkin_at", "checkout_at")
            },
        ),
    ),
    key=("scan_id",),
)

VACCINATIONS = Kind(
    "vaccinations",
    "Vaccine doses.",
    fields=(
        Field("person_id", B, ref=("person", "person_id")),
        Field("dose", S, checks=(Check("{dose} < 1 OR {dose} > 10", "dose is 1 to 10"),)),
        _time("vaccinated_at"),
        Field("product", V, required=False, optional_column=True),
    ),
    targets=(
        Target(
            "vaccination",
            {c: f"{{{c}}}" for c in ("person_id", "dose", "vaccinated_at", "product")},
        ),
    ),
    key=("person_id", "dose"),
)

SAMPLES = Kind(
    "samples",
    "Swabs: one person's sample into a tube (a pooled tube holds several).",
    fields=(
        _id("sample_id", V),
        _id("person_id"),
        _id("tube_id", V),
        _time("sampled_at"),
        Field("round_id", V, required=False, optional_column=True),
    ),
    targets=(
        Target(
            "sample",
            {
                c: f"{{{c}}}"
                for c in ("sample_id", "person_id", "tube_id", "sampled_at", "round_id")
            },
        ),
    ),
    key=("sample_id",),
)

RESULTS = Kind(
    "results",
    "Laboratory results per tube.",
    fields=(
        _id("tube_id", V),
        Field("result", V, values=TestResult),
        Field(
            "ct_value",
            D,
            required=False,
            optional_column=True,
            checks=(Check("{ct_value} <= 0 OR {ct_value} > 50", "a Ct value lies in (0, 50]"),),
        ),
        _time("reported_at"),
        Field("lab_id", V, required=False, optional_column=True),
    ),
    targets=(
        Target(
            "tube_result",
            {c: f"{{{c}}}" for c in ("tube_id", "result", "ct_value", "reported_at", "lab_id")},
        ),
    ),
    key=("tube_id", "reported_at"),
)

CASES = Kind(
    "cases",
    "The case registry: reports, reclassifications, severity changes, outcomes.",
    fields=(
        _id("report_id", V),
        _id("case_id", V),
        Field("person_id", B, ref=("person", "person_id")),
        _region("region_code"),
        _time("reported_at"),
        Field("event_type", V, values=CaseEventType),
        Field("diagnosis", V, required=False, optional_column=True, values=Diagnosis),
        Field("origin", V, required=False, optional_column=True, values=Origin),
        Field("severity", V, required=False, optional_column=True, values=Severity),
        Field("outcome", V, required=False, optional_column=True, values=Outcome),
        Field("onset_date", DATE, required=False, optional_column=True),
    ),
    row_checks=(
        Check(
            "{event_type} = 'report' AND ({diagnosis} IS NULL OR {diagnosis} = 'excluded'"
            " OR {origin} IS NULL)",
            "a report names its diagnosis (suspected, confirmed, asymptomatic) and origin",
        ),
        Check(
            "{event_type} = 'reclassify' AND {diagnosis} IS NULL AND {origin} IS NULL",
            "a reclassification names the new diagnosis or origin",
        ),
        Check("{event_type} = 'severity' AND {severity} IS NULL", "a severity event names it"),
        Check("{event_type} = 'outcome' AND {outcome} IS NULL", "an outcome event names it"),
        Check("{onset_date} > CAST({reported_at} AS DATE)", "onset_date is after reported_at"),
    ),
    targets=(
        Target(
            "case_report",
            {
                c: f"{{{c}}}"
                for c in (
                    "report_id",
                    "case_id",
                    "person_id",
                    "region_code",
                    "reported_at",
                    "event_type",
                    "diagnosis",
                    "origin",
                    "severity",
                    "outcome",
                    "onset_date",
                )
            },
        ),
    ),
    key=("report_id",),
)

CONTACTS = Kind(
    "contacts",
    "Declared contacts: named by a case or found in field investigation.",
    fields=(
        Field("person_id", B, ref=("person", "person_id")),
        Field("contact_person_id", B, ref=("person", "person_id")),
        Field("setting", V, values=Setting),
        _time("last_contact_at"),
        _time("first_contact_at", required=False, optional_column=True),
    ),
    row_checks=(
        Check(
            "{first_contact_at} > {last_contact_at}", "first_contact_at is after last_contact_at"
        ),
        Check("{person_id} = {contact_person_id}", "a person is not their own contact"),
    ),
    targets=(
        Target(
            "declared_contact",
            {
                c: f"{{{c}}}"
                for c in (
                    "person_id",
                    "contact_person_id",
                    "setting",
                    "last_contact_at",
                    "first_contact_at",
                )
            },
        ),
    ),
    key=("person_id", "contact_person_id", "last_contact_at"),
)

ARRIVALS = Kind(
    "arrivals",
    "Inbound travellers at a port of entry.",
    fields=(
        _id("arrival_id", V),
        _id("person_id"),
        _time("arrived_at"),
        _region("port_region_code"),
        Field(
            "origin_country",
            V,
            checks=(
                Check(
                    "NOT regexp_full_match({origin_country}, '[A-Z]{2}')",
                    "a country is its ISO 3166 alpha-2 code",
                ),
            ),
        ),
        Field("flight", V, required=False, optional_column=True),
        Field(
            "seat_row",
            S,
            required=False,
            optional_column=True,
            checks=(Check("{seat_row} < 1 OR {seat_row} > 120", "a seat row is 1 to 120"),),
        ),
        _region("destination_region_code", required=False, optional_column=True),
    ),
    targets=(
        Target(
            "arrival",
            {
                c: f"{{{c}}}"
                for c in (
                    "arrival_id",
                    "person_id",
                    "arrived_at",
                    "port_region_code",
                    "origin_country",
                    "flight",
                    "seat_row",
                    "destination_region_code",
                )
            },
        ),
    ),
    key=("arrival_id",),
)

FACILITIES = Kind(
    "facilities",
    "Quarantine sites (capacity in rooms), designated and shelter hospitals (in beds).",
    fields=(
        _id("facility_id", V),
        Field("kind", V, values=FacilityKind),
        _region("region_code"),
        Field("capacity", INT, checks=(Check("{capacity} < 0", "a capacity is not negative"),)),
        Field("name", V, required=False, optional_column=True),
    ),
    targets=(
        Target(
            "facility",
            {c: f"{{{c}}}" for c in ("facility_id", "kind", "region_code", "capacity", "name")},
        ),
    ),
    key=("facility_id",),
)

TRIPS = Kind(
    "trips",
    "Domestic flights and trains taken, for co-travel tracing.",
    fields=(
        _id("person_id"),
        Field(
            "service",
            V,
            checks=(
                Check(
                    "NOT regexp_full_match({service}, '[A-Z0-9]{2,8}')",
                    "a flight or train number is 2 to 8 capital letters and digits",
                ),
            ),
        ),
        Field("service_date", DATE),
        _time("departed_at"),
        Field(
            "seat_row",
            S,
            required=False,
            optional_column=True,
            checks=(Check("{seat_row} < 1 OR {seat_row} > 120", "a seat row is 1 to 120"),),
        ),
    ),
    row_checks=(
        Check(
            "CAST({departed_at} AS DATE) - {service_date} NOT BETWEEN -1 AND 1",
            "departed_at is not on the service date",
        ),
    ),
    targets=(
        Target(
            "trip",
            {
                c: f"{{{c}}}"
                for c in ("person_id", "service", "service_date", "departed_at", "seat_row")
            },
        ),
    ),
    key=("person_id", "service", "service_date"),
)

ASSISTANCE = Kind(
    "assistance",
    "Assistance requests (协查) received from another region's instance: its exchange file, as"
    " docs/assistance-format.md describes it. The identity is kept apart from the request.",
    fields=(
        _id("request_id", V),
        _time("requested_at"),
        _region("from_region"),
        Field(
            "to_region",
            V,
            checks=(
                Check(
                    "NOT regexp_full_match({to_region}, '[0-9]{2}0000')",
                    "to_region is a province code (2 digits and 0000)",
                ),
            ),
            ref=("region", "region_code"),
        ),
        _region("region_code"),
        Field("id_type", V, values=IdType),
        PERSONS.field("id_number"),  # the same GB 11643 checks as for persons
        PERSONS.field("name"),
        PERSONS.field("phone"),
        Field("tier", V, values=ContactTier),
        Field("via", V, values=ContactVia),
        _time("exposed_at"),
        Field("policy_id", V, required=False, optional_column=True),
    ),
    row_checks=(
        Check("{exposed_at} > {requested_at}", "exposed_at is after requested_at"),
        Check(
            "substr({region_code}, 1, 2) <> substr({to_region}, 1, 2)",
            "region_code is not in the province to_region",
        ),
    ),
    targets=(
        Target(
            "assistance_request",
            {
                c: f"{{{c}}}"
                for c in (
                    "request_id",
                    "requested_at",
                    "from_region",
                    "to_region",
                    "region_code",
                    "tier",
                    "via",
                    "exposed_at",
                    "policy_id",
                )
            },
        ),
        Target(
            "assistance_identity",
            {c: f"{{{c}}}" for c in ("request_id", "id_type", "id_number", "name", "phone")},
        ),
    ),
    key=("request_id",),
    derived={"_ric": _IS_RIC, "_ric17": RIC17},
)

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        REGIONS,
        PERSONS,
        VENUES,
        CHECKINS,
        VACCINATIONS,
        SAMPLES,
        RESULTS,
        CASES,
        CONTACTS,
        ARRIVALS,
        FACILITIES,
        TRIPS,
        ASSISTANCE,
    )
}


def kind(name: str) -> Kind:
    return KINDS[name]
