"""The store's tables, declared once. Both backends (DuckDB, PostgreSQL) render their DDL from
these declarations, and the importers, the engine and the tests name columns through them.

Event tables are append-only: a row is a fact, never edited. Each table declares its `key`, the
columns that make an event's stable id; ingesting a row whose key is already stored with the same
content changes nothing, and a correction is a new event with its own key. Every event row carries
the `batch_id` of the import that brought it.

Personal data (ID number, name, phone) lives only in `person_identity`, apart from the
epidemiological tables, which refer to people by `person_id` alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ALL_TABLES",
    "PERSON_V6_COLUMNS",
    "RUN_HELD_FROM",
    "STATE_ORDER",
    "TABLES",
    "TABLES_V3",
    "TABLES_V4",
    "TABLES_V5",
    "TABLES_V6",
    "TABLES_V7",
    "TABLES_V8",
    "TABLES_V9",
    "TABLES_V10",
    "TABLES_V11",
    "TABLES_V12",
    "TABLES_V13",
    "Column",
    "SqlType",
    "Table",
    "table",
]


class SqlType(StrEnum):
    """Logical column types; each backend maps them to its own names."""

    BIGINT = "BIGINT"
    INTEGER = "INTEGER"
    SMALLINT = "SMALLINT"
    DOUBLE = "DOUBLE"
    VARCHAR = "VARCHAR"
    DATE = "DATE"
    TIMESTAMPTZ = "TIMESTAMPTZ"
    BOOLEAN = "BOOLEAN"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: SqlType
    nullable: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    doc: str
    personal: bool = False  # holds personal data: never logged, shown only within jurisdiction
    batched: bool = True  # rows carry the batch_id of their import

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(name: str, type_: SqlType, nullable: bool = False) -> Column:
    return Column(name, type_, nullable)


B, INT, S, D, V = SqlType.BIGINT, SqlType.INTEGER, SqlType.SMALLINT, SqlType.DOUBLE, SqlType.VARCHAR
DATE, TS = SqlType.DATE, SqlType.TIMESTAMPTZ
BATCH = _c("batch_id", INT)

TABLES: tuple[Table, ...] = (
    Table(
        "import_batch",
        (
            _c("batch_id", INT),
            _c("kind", V),
            _c("source", V),
            _c("sha256", V),
            _c("rows_read", B),
            _c("rows_stored", B),
            _c("imported_at", TS),
        ),
        key=("batch_id",),
        doc="One row per import: which file, its content hash, how many rows it brought.",
        batched=False,
    ),
    Table(
        "region",
        (
            _c("region_code", V),
            _c("name", V),
            _c("level", V),
            _c("parent_code", V, True),
            _c("valid_from", S, True),
            _c("valid_until", S, True),
            BATCH,
        ),
        key=("region_code",),
        doc="Administrative divisions: GB/T 2260 down to county (built in, with the years a code"
        " was in use), extended by imported street (9-digit) and community (12-digit) codes."
        " valid_until is NULL for codes in use today.",
    ),
    Table(
        "person",
        (
            _c("person_id", B),
            _c("household_id", B, True),
            _c("region_code", V, True),
            _c("sex", V, True),
            _c("birth_year", S, True),
            _c("id_type", V),
            BATCH,
        ),
        key=("person_id",),
        doc="People of the jurisdiction: household and residence (county or finer).",
    ),
    Table(
        "person_identity",
        (
            _c("person_id", B),
            _c("id_number", V, True),
            _c("name", V, True),
            _c("phone", V, True),
            BATCH,
        ),
        key=("person_id",),
        doc="Personal data, apart from the epidemiological tables.",
        personal=True,
    ),
    Table(
        "venue",
        (
            _c("venue_id", B),
            _c("region_code", V),
            _c("category", V),
            _c("name", V, True),
            _c("capacity", INT, True),
            BATCH,
        ),
        key=("venue_id",),
        doc="Places with a venue code (场所码), by category of the April 2020 notice.",
    ),
    Table(
        "checkin",
        (
            _c("scan_id", B),
            _c("person_id", B),
            _c("venue_id", B),
            _c("checkin_at", TS),
            _c("checkout_at", TS, True),
            BATCH,
        ),
        key=("scan_id",),
        doc="Venue-code scans (场所码), each with the id the venue-code service gave it.",
    ),
    Table(
        "vaccination",
        (
            _c("person_id", B),
            _c("dose", S),
            _c("vaccinated_at", TS),
            _c("product", V, True),
            BATCH,
        ),
        key=("person_id", "dose"),
        doc="Vaccine doses.",
    ),
    Table(
        "sample",
        (
            _c("sample_id", V),
            _c("person_id", B),
            _c("tube_id", V),
            _c("sampled_at", TS),
            _c("round_id", V, True),
            BATCH,
        ),
        key=("sample_id",),
        doc="Swabs (采样): one person's sample into a tube; a pooled tube holds several samples.",
    ),
    Table(
        "tube_result",
        (
            _c("tube_id", V),
            _c("result", V),
            _c("ct_value", D, True),
            _c("reported_at", TS),
            _c("lab_id", V, True),
            BATCH,
        ),
        key=("tube_id", "reported_at"),
        doc="Laboratory results per tube, with the Ct value when the lab reports one.",
    ),
    Table(
        "case_report",
        (
            _c("report_id", V),
            _c("case_id", V),
            _c("person_id", B),
            _c("region_code", V),
            _c("reported_at", TS),
            _c("event_type", V),
            _c("diagnosis", V, True),
            _c("origin", V, True),
            _c("severity", V, True),
            _c("outcome", V, True),
            _c("onset_date", DATE, True),
            BATCH,
        ),
        key=("report_id",),
        doc="The case registry: reports, reclassifications, severity changes and outcomes.",
    ),
    Table(
        "declared_contact",
        (
            _c("person_id", B),
            _c("contact_person_id", B),
            _c("setting", V),
            _c("last_contact_at", TS),
            _c("first_contact_at", TS, True),
            BATCH,
        ),
        key=("person_id", "contact_person_id", "last_contact_at"),
        doc="Contacts named by a case or found by field investigation.",
    ),
    Table(
        "arrival",
        (
            _c("arrival_id", V),
            _c("person_id", B),
            _c("arrived_at", TS),
            _c("port_region_code", V),
            _c("origin_country", V),
            _c("flight", V, True),
            _c("seat_row", S, True),
            _c("destination_region_code", V, True),
            BATCH,
        ),
        key=("arrival_id",),
        doc="Inbound travellers at a port of entry (外防输入).",
    ),
)

# Added by migration 3: facilities and domestic trips (events), and the engine's derived tables,
# which a run of a day replaces for that day (they are recomputable from the events).
TABLES_V3: tuple[Table, ...] = (
    Table(
        "facility",
        (
            _c("facility_id", V),
            _c("kind", V),
            _c("region_code", V),
            _c("capacity", INT),
            _c("name", V, True),
            BATCH,
        ),
        key=("facility_id",),
        doc="Quarantine sites (rooms), designated and shelter hospitals (beds).",
    ),
    Table(
        "trip",
        (
            _c("person_id", B),
            _c("service", V),
            _c("service_date", DATE),
            _c("departed_at", TS),
            _c("seat_row", S, True),
            BATCH,
        ),
        key=("person_id", "service", "service_date"),
        doc="Domestic flights and trains taken (for co-travel tracing); `service` is the flight"
        " or train number, `seat_row` the row on a flight; migration 5 adds `carriage`, the"
        " coach on a train.",
    ),
    Table(
        "engine_order",
        (
            _c("run_day", DATE),
            _c("order_id", V),
            _c("person_id", B, True),
            _c("order_type", V),
            _c("start_at", TS),
            _c("end_at", TS, True),
            _c("place", V, True),
            _c("detail", V, True),
            _c("rule", V),
            _c("policy_id", V),
            _c("reason", V),
        ),
        key=("order_id",),
        doc="The orders the engine derived for a day, each with its rule and policy.",
        batched=False,
    ),
    Table(
        "traced_contact",
        (
            _c("run_day", DATE),
            _c("case_person_id", B),
            _c("contact_person_id", B),
            _c("tier", V),
            _c("via", V),
            _c("exposed_at", TS),
            _c("rule", V),
            _c("policy_id", V),
        ),
        key=("run_day", "case_person_id", "contact_person_id", "tier"),
        doc="Contacts found by tracing on a day: who, through whom, how, when last exposed.",
        batched=False,
    ),
)

# Added by migration 4: assistance requests (协查) received from other regions' instances, as
# imported from their exchange files (docs/assistance-format.md). The identity of the person
# asked about is personal data, kept apart like person_identity.
TABLES_V4: tuple[Table, ...] = (
    Table(
        "assistance_request",
        (
            _c("request_id", V),
            _c("requested_at", TS),
            _c("from_region", V),
            _c("to_region", V),
            _c("region_code", V),
            _c("tier", V),
            _c("via", V),
            _c("exposed_at", TS),
            _c("policy_id", V, True),
            BATCH,
        ),
        key=("request_id",),
        doc="Assistance requests (协查) received: a contact of another region's case who lives"
        " here (region_code), the tier and route, and the last exposure.",
    ),
    Table(
        "assistance_identity",
        (
            _c("request_id", V),
            _c("id_type", V),
            _c("id_number", V, True),
            _c("name", V, True),
            _c("phone", V, True),
            BATCH,
        ),
        key=("request_id",),
        doc="The identity of the person a received assistance request is about.",
        personal=True,
    ),
)

# Added by migration 5: scenarios. Everything the engine writes carries the scenario it was
# written for (`live` for operations; a what-if has a name of its own), so that a what-if never
# touches live rows. `engine_order` and `traced_contact` get a `scenario` column (existing rows
# are live); the tables below are new.
SCENARIO = _c("scenario", V)

TABLES_V5: tuple[Table, ...] = (
    Table(
        "scenario",
        (
            _c("scenario", V),
            _c("policy_id", V),
            _c("fork_day", DATE),
            _c("created_at", TS),
            _c("note", V, True),
        ),
        key=("scenario",),
        doc="What-if scenarios: a scenario sees live's derived rows of the days before its"
        " fork day as its own history, and writes only rows of its own.",
        batched=False,
    ),
    Table(
        "engine_run",
        (
            SCENARIO,
            _c("run_day", DATE),
            _c("policy_id", V),
            _c("batch_watermark", INT),
            _c("ran_at", TS),
        ),
        key=("scenario", "run_day"),
        doc="One row per run of a day in a scenario: the policy and the newest import batch the"
        " run saw. Events of later batches are new to the next run, whatever their times.",
        batched=False,
    ),
    Table(
        "engine_case_event",
        (
            SCENARIO,
            _c("run_day", DATE),
            _c("report_id", V),
            _c("case_id", V),
            _c("person_id", B),
            _c("region_code", V, True),
            _c("reported_at", TS),
            _c("event_type", V),
            _c("diagnosis", V, True),
            _c("origin", V, True),
            _c("severity", V, True),
            _c("outcome", V, True),
            _c("onset_date", DATE, True),
            _c("rule", V),
        ),
        key=("scenario", "report_id"),
        doc="Case-registry events the engine derived (a lab-positive single test becomes a"
        " report, a discharge an outcome), each with its rule; a run of a day replaces its"
        " own. The registry reads them beside case_report.",
        batched=False,
    ),
)

# Added by migration 6: corrections of the person registry, as events. A person's registration
# (`person`, `person_identity`) is never edited; a corrected identity or a move is a new event
# with its own id, effective time and reason, and the person as the engine sees them is the
# latest correction in effect (`fangkong.store.person_view`). The identity's personal part is
# kept apart like person_identity. Migration 6 also adds the residence's compound (小区) and
# building (楼栋) to `person` (PERSON_V6_COLUMNS).
PERSON_V6_COLUMNS: tuple[Column, ...] = (_c("compound_id", V, True), _c("building_id", V, True))

TABLES_V6: tuple[Table, ...] = (
    Table(
        "person_correction",
        (
            _c("correction_id", V),
            _c("person_id", B),
            _c("effective_at", TS),
            _c("reason", V),
            _c("id_type", V, True),
            _c("sex", V, True),
            _c("birth_year", S, True),
            BATCH,
        ),
        key=("correction_id",),
        doc="Corrections of a person's identity: when in effect and why; with a corrected ID"
        " number, its type and the sex and birth year it gives (GB 11643). The corrected"
        " values themselves are in person_identity_correction.",
    ),
    Table(
        "person_identity_correction",
        (
            _c("correction_id", V),
            _c("person_id", B),
            _c("id_number", V, True),
            _c("name", V, True),
            _c("phone", V, True),
            BATCH,
        ),
        key=("correction_id",),
        doc="The corrected identity values (null: not corrected by this event).",
        personal=True,
    ),
    Table(
        "person_move",
        (
            _c("move_id", V),
            _c("person_id", B),
            _c("effective_at", TS),
            _c("reason", V),
            _c("region_code", V),
            _c("compound_id", V, True),
            _c("building_id", V, True),
            _c("household_id", B, True),
            BATCH,
        ),
        key=("move_id",),
        doc="Changes of residence: the whole new residence (region, compound, building,"
        " household) from the effective time.",
    ),
)

# Added by migration 7: the state the engine carries from one day to the next, kept by the run
# of each day instead of being derived again from all of history. `engine_episode` holds the case
# episodes (`fangkong.engine.episode`) as of the end of the run's day, for the people whose case
# events changed in that run: a person's episodes as of day D are their rows of the latest run
# day <= D the scenario sees. A run of a day replaces its own rows, like its orders.
TABLES_V7: tuple[Table, ...] = (
    Table(
        "engine_episode",
        (
            SCENARIO,
            _c("run_day", DATE),
            _c("person_id", B),
            _c("episode_no", INT),
            _c("case_id", V),
            _c("opened_at", TS),
            _c("opened_batch", INT, True),
            _c("opened_run_day", DATE, True),
            _c("diagnosis", V),
            _c("severity", V, True),
            _c("origin", V, True),
            _c("region_code", V, True),
            _c("onset_date", DATE, True),
            _c("closed_at", TS, True),
            _c("ended_by", V, True),
            _c("prev_closed_at", TS, True),
        ),
        key=("scenario", "run_day", "person_id", "episode_no"),
        doc="Case episodes as of the end of a run's day, for the people whose case events the"
        " run saw change (the engine's state between days; rows of a run are replaced by a"
        " rerun of its day).",
        batched=False,
    ),
    Table(
        "engine_state",
        (SCENARIO, _c("run_day", DATE), _c("state", V), _c("person_id", B), _c("place", V, True)),
        key=("scenario", "run_day", "state", "person_id"),
        doc="Who is in a state at the start of a run's day, as the run read it: `placed` (in a"
        " facility: `place`, and the order that placed them, issued on `issued_day`; migration"
        " 12). The next run starts from them and the orders of the runs since. (Open"
        " quarantines, kept as `quarantined` before migration 12, are in `engine_schedule`.)",
        batched=False,
    ),
)

# Added by migration 8: the risk areas (分区分级) the engine draws each run day, in the run's
# scenario (`fangkong.engine.zones`); a run of a day replaces its own, like engine_order.
BOOL = SqlType.BOOLEAN

TABLES_V8: tuple[Table, ...] = (
    Table(
        "risk_area",
        (
            SCENARIO,
            _c("run_day", DATE),
            _c("area_id", V),
            _c("level", V),
            _c("unit", V),
            _c("reason", V),
            _c("region_code", V, True),
            _c("compound_id", V, True),
            _c("building_id", V, True),
            _c("venue_id", B, True),
            _c("drawn_on", DATE),
            _c("level_since", DATE),
            _c("last_infection_on", DATE),
            _c("infections", INT),
            _c("next_level", V, True),
            _c("next_change_on", DATE, True),
            _c("awaiting_round", BOOL),
            _c("area_rule", V, True),
            _c("policy_id", V),
            _c("rule", V),
        ),
        key=("scenario", "run_day", "area_id"),
        doc="Risk areas in force on the run day: level, unit, why drawn (typed), since when,"
        " and the day the rule lowers or lifts it if no new infection comes (next_level null:"
        " lifted). A run of a day replaces its own rows in its scenario.",
        batched=False,
    ),
)


# Added by migration 9: fever-clinic visits (events); health-code colours and the border's check
# of foreign certificates, derived rows of a run in its scenario; the certificate an arrival may
# carry.
CERTIFICATE = _c("certificate", V, True)

TABLES_V9: tuple[Table, ...] = (
    Table(
        "fever_clinic_visit",
        (
            _c("visit_id", V),
            _c("person_id", B),
            _c("visited_at", TS),
            _c("hospital", V, True),
            BATCH,
        ),
        key=("visit_id",),
        doc="Visits to a fever clinic (发热门诊就诊), as the clinics report them.",
    ),
    Table(
        "health_code",
        (
            SCENARIO,
            _c("run_day", DATE),
            _c("person_id", B),
            _c("policy_id", V),
            _c("colour", V),
            _c("tested_at", TS, True),
            _c("venue_valid_until", TS, True),
            _c("leave_city_valid_until", TS, True),
        ),
        key=("scenario", "run_day", "person_id"),
        doc="A person's health-code colour as a run of a day derived it (fangkong.engine.colours):"
        " written for the people whose facts changed; a person's colour on a day is their row"
        " of the latest run day on or before it. tested_at is the latest negative test, counted"
        " from sampling or the report as the policy says; the windows end its validity"
        " (migration 13 drops these three, and the row no longer holds the lapse of a test:"
        " both are derived when read, from engine_negative).",
        batched=False,
    ),
    Table(
        "health_code_reason",
        (
            SCENARIO,
            _c("run_day", DATE),
            _c("person_id", B),
            _c("reason", V),
            _c("source", V),
            _c("source_ref", V, True),
            _c("since", TS, True),
        ),
        key=("scenario", "run_day", "person_id", "reason", "source_ref"),
        doc="The reasons of a health_code row: each a CodeReason, the kind of fact it comes from"
        " (CodeSource), that fact's id (a case id, a tube id, an order's rule) and since when.",
        batched=False,
    ),
    Table(
        "certificate_check",
        (
            SCENARIO,
            _c("run_day", DATE),
            _c("arrival_id", V),
            _c("person_id", B),
            _c("checked_at", TS),
            _c("result", V),
            _c("refusal", V, True),
            _c("issuer", V, True),
            _c("dcc_kind", V, True),
            _c("detail", V, True),
        ),
        key=("scenario", "run_day", "arrival_id"),
        doc="The border's check of an arrival's foreign certificate (EU DCC) at its arrival:"
        " valid, refused (with the typed refusal) or unchecked (no trust material given).",
        batched=False,
    ),
)


# Added by migration 10: the measures of the risk areas in force, derived rows of a run.
TABLES_V10: tuple[Table, ...] = (
    Table(
        "area_measure",
        (
            SCENARIO,
            _c("run_day", DATE),
            _c("area_id", V),
            _c("level", V),
            _c("subject", V),
            _c("restriction", V),
            _c("measure", V),
            _c("in_force_from", DATE),
            _c("in_force_until", DATE, True),
            _c("rule", V),
            _c("policy_id", V),
        ),
        key=("scenario", "run_day", "area_id", "subject", "in_force_from"),
        doc="The measures of the risk areas a run of a day drew (fangkong.engine.zones_measures):"
        " for an area and a subject (its residents, or its venues of one category), the typed"
        " restriction (AreaRestriction), the policy's measure, from when and until when the"
        " rule holds it without a new infection. A run of a day replaces its own rows.",
        batched=False,
    ),
)


def _with_scenario(t: Table) -> Table:
    return Table(t.name, (*t.columns, SCENARIO), ("scenario", *t.key), t.doc, t.personal, t.batched)


# The tables as they stand after every migration (migration 3 created the two derived tables
# without a scenario; migration 5 adds it; migration 6 adds the person's compound and building).
_SCENARIO_TABLES = frozenset({"engine_order", "traced_contact"})
CARRIAGE = _c("carriage", S, True)


# migration 5 adds the typed facts the engine decides on to its orders
ORDER_FACTS = (_c("population", V, True), _c("waiting_for", V, True))
# migration 7: whether the run kept the engine's state (runs stored before it did not)
RUN_STATE_KEPT = _c("state_kept", SqlType.BOOLEAN)
# migration 14: the earliest run day of a latest health-code row holding a reason the next run
# asks again (a positive pool, a risk area); the day after the run when none holds one
RUN_HELD_FROM = _c("held_from", DATE, True)
# migration 12: a kept placement carries the order that placed the person
STATE_ORDER = (
    _c("order_type", V, True),
    _c("detail", V, True),
    _c("issued_day", DATE, True),
    _c("start_at", TS, True),
    _c("end_at", TS, True),
)


# Added by migration 11: symptoms reported of a person (a health-code reason).
TABLES_V11: tuple[Table, ...] = (
    Table(
        "symptom_report",
        (
            _c("report_id", V),
            _c("person_id", B),
            _c("observed_at", TS),
            _c("symptom", V),
            _c("observed_by", V),
            _c("temperature", D, True),
            BATCH,
        ),
        key=("report_id",),
        doc="A fever or respiratory symptom of a person (glossary.Symptom) as a health"
        " declaration, a temperature check or a clinic recorded it; temperature in °C.",
    ),
)


# Added by migration 12: the open quarantine schedules a run started from, phase by phase, so
# that the next run reads them and the orders of the runs since, not every order of history
# (`fangkong.engine.schedule`).
TABLES_V12: tuple[Table, ...] = (
    Table(
        "engine_schedule",
        (
            SCENARIO,
            _c("run_day", DATE),
            _c("person_id", B),
            _c("issued_day", DATE),
            _c("order_type", V),
            _c("start_at", TS),
            _c("end_at", TS, True),
            _c("place", V, True),
            _c("detail", V, True),
            _c("rule", V),
            _c("policy_id", V),
            _c("reason", V),
            _c("population", V, True),
            _c("waiting_for", V, True),
            _c("released", BOOL),
        ),
        key=("scenario", "run_day", "person_id", "issued_day", "start_at"),
        doc="The phases of every open quarantine at the start of a run's day, as the run read"
        " them (`issued_day`: the run day of the phase's order; `released`: the phase released"
        " since). The next run starts from these and the orders of the runs after this one.",
        batched=False,
    ),
)


# Added by migration 13: each person's latest negative test, kept by the runs (issue 6).
TABLES_V13: tuple[Table, ...] = (
    Table(
        "engine_negative",
        (
            SCENARIO,
            _c("run_day", DATE),
            _c("person_id", B),
            _c("sampled_at", TS, True),
            _c("reported_at", TS, True),
            _c("whole", BOOL),
        ),
        key=("scenario", "run_day", "person_id"),
        doc="The latest negative tests a run of a day found (fangkong.engine.negatives): per"
        " person, the latest sampling and report of a tube negative as of the end of the day,"
        " among the tubes new to the run (`whole` false), or among all of the person's tests"
        " (`whole` true: the first run, a result corrected away, a state not kept). A person's"
        " latest negative as of day D is the latest of their rows up to D, from their latest"
        " whole row on. A run of a day replaces its own rows.",
        batched=False,
    ),
)
# migration 13 drops the test validity window from health_code: it is derived when read
_WINDOW_COLUMNS = frozenset({"tested_at", "venue_valid_until", "leave_city_valid_until"})


def _current(t: Table) -> Table:
    """A table as the migrations after its own leave it (columns in the order they add them)."""
    if t.name == "health_code":
        kept = tuple(c for c in t.columns if c.name not in _WINDOW_COLUMNS)
        return Table(t.name, kept, t.key, t.doc, t.personal, t.batched)
    if t.name == "person":
        return Table(t.name, t.columns + PERSON_V6_COLUMNS, t.key, t.doc, t.personal, t.batched)
    if t.name in _SCENARIO_TABLES:
        t = _with_scenario(t)
    if t.name == "engine_order":
        return Table(t.name, (*t.columns, *ORDER_FACTS), t.key, t.doc, t.personal, t.batched)
    if t.name == "engine_run":
        columns = (*t.columns, RUN_STATE_KEPT, RUN_HELD_FROM)
        return Table(t.name, columns, t.key, t.doc, t.personal, t.batched)
    if t.name == "engine_state":
        return Table(t.name, (*t.columns, *STATE_ORDER), t.key, t.doc, t.personal, t.batched)
    if t.name == "trip":  # migration 5 adds the train carriage
        return Table(t.name, (*t.columns, CARRIAGE), t.key, t.doc, t.personal, t.batched)
    if t.name == "arrival":  # migration 9 adds the foreign certificate
        return Table(t.name, (*t.columns, CERTIFICATE), t.key, t.doc, t.personal, t.batched)
    return t


ALL_TABLES = (
    tuple(_current(t) for t in TABLES + TABLES_V3)
    + TABLES_V4
    + tuple(_current(t) for t in TABLES_V5)
    + TABLES_V6
    + tuple(_current(t) for t in TABLES_V7)
    + TABLES_V8
    + tuple(_current(t) for t in TABLES_V9)
    + TABLES_V10
    + TABLES_V11
    + TABLES_V12
    + TABLES_V13
)

_BY_NAME = {t.name: t for t in ALL_TABLES}


def table(name: str) -> Table:
    """The declaration of table `name`."""
    return _BY_NAME[name]
