"""What the health-code rules read (`fangkong.engine.colours`), as frames: the loader's half of
the colours step (issue 6, item 5: each step a loader, store → frames, and a rule, frames →
rows).

`ColourFacts` holds one frame per kind of fact (`CodeSource`), as of the end of a run day D.
`load_colour_facts` reads them from a store, with the SQL pushed down: only the facts of the
reasons the policy lists, of the people asked for, and (for the events that give a reason for
a number of days) only the events of the lookback. `colours.colour_reasons` and
`colours.colours_rule` are the rules over them and read no store, so a caller that holds its own
frames (a simulator, a test) drives the same rules with `ColourFacts.of(...)`; every frame a
caller leaves out is empty.

Each frame holds a fact as its source gives it; which of them count on D is the rule's to say
(an episode still open, the phase in force, an event within the lookback), so a frame may hold
more than the loader's bounds would read. Where the loader bounds a read by the same window
(the lookback), both take it from one function (`lookback_bounds`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import polars as pl

from fangkong.engine.episode import CASE_SCHEMA, any_suspect_sql, suspect_ctes
from fangkong.engine.facts import Facts
from fangkong.engine.frames import IDS, among_ids, day_bounds, ids_of, named, read
from fangkong.engine.orders import TIME
from fangkong.engine.scenario import LIVE, Scenario
from fangkong.engine.schedule import open_schedules, released_after
from fangkong.engine.testing import under_temporary_control, validity_column
from fangkong.engine.testing_sql import LATEST_NEGATIVE_SQL
from fangkong.engine.treatment import case_state
from fangkong.engine.zones import area_residents, areas_on
from fangkong.model.glossary import CodeReason, CodeSource
from fangkong.policy import Policy, RiskLevel
from fangkong.store.base import Store

__all__ = [
    "LOOKBACKS",
    "ColourFacts",
    "Lookback",
    "lapse_after",
    "last_instant",
    "listed_reasons",
    "load_colour_facts",
    "lookback_bounds",
    "risk_area_residents",
]

# the columns of each frame a rule reads (a caller's frames are cast to them)
PHASE_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "detail": pl.String(),  # the phase's kind: centralized, home, health monitoring, ...
    "population": pl.String(),  # whom the schedule is for (close_contact, inbound, ...)
    "rule": pl.String(),  # the rule that issued it
    "start_at": TIME,
}
CONTROL_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "tube_id": pl.String(),
    "since": TIME,
}
SUSPECT_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "case_id": pl.String(),
    "since": TIME,
}
EVENT_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),  # the CodeSource of a `Lookback`
    "person_id": pl.Int64(),
    "ref": pl.String(),
    "at": TIME,
}
RESIDENT_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "area_id": pl.String(),
    "level_since": pl.Date(),
}
TEST_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "tested_at": TIME,  # the latest negative, counted as the policy says (`validity_column`)
    "resident": pl.Boolean(),  # registered (owes a test when the policy asks one of everyone)
}


@dataclass(frozen=True)
class ColourFacts(Facts):
    """The facts the colours of a day are derived from, one frame per kind (module docstring).

    - `cases`: each person's latest case episode (CASE_SCHEMA: `treatment.case_state`);
    - `phases`: the quarantine phases that may hold on the day: those not released by its end,
      and those released from the next midnight (PHASE_SCHEMA);
    - `controls`: the temporary controls of positive pools open at the day's end;
    - `suspects`: the suspected cases by the registry, since their first such report;
    - `events`: the fever-clinic visits and symptom reports (EVENT_SCHEMA: `source` names the
      kind, as `LOOKBACKS` do);
    - `residents`: the residents of the medium- and high-risk areas drawn by residence in force
      at the day's end, with the day the area got its level;
    - `tests`: per person, the latest negative test and whether they are registered; the
      colours of the many are decided on it (`colours.colours_rule`).
    """

    cases: pl.DataFrame
    phases: pl.DataFrame
    controls: pl.DataFrame
    suspects: pl.DataFrame
    events: pl.DataFrame
    residents: pl.DataFrame
    tests: pl.DataFrame

    SCHEMAS: ClassVar[dict[str, dict[str, pl.DataType]]] = {
        "cases": CASE_SCHEMA,
        "phases": PHASE_SCHEMA,
        "controls": CONTROL_SCHEMA,
        "suspects": SUSPECT_SCHEMA,
        "events": EVENT_SCHEMA,
        "residents": RESIDENT_SCHEMA,
        "tests": TEST_SCHEMA,
    }


def last_instant(day: date) -> datetime:
    """The instant the colours of `day` are derived at: the last microsecond of the day (the
    facts of the day, none of the next)."""
    return day_bounds(day)[1] - timedelta(microseconds=1)


def lapse_after(policy: Policy) -> int | None:
    """The days after which a registered person's latest negative lapses (应检未检), when the
    policy asks a test of everyone and lists the reason; else None."""
    code = policy.health_code
    return (
        code.missing_test_after_days
        if CodeReason.NO_RECENT_TEST.value in listed_reasons(policy)
        else None
    )


def listed_reasons(policy: Policy) -> set[str]:
    """The reasons the policy gives a colour (red or yellow): no other is looked for."""
    code = policy.health_code
    return {r.value for r in (*code.red_reasons, *code.yellow_reasons)}


@dataclass(frozen=True)
class Lookback:
    """A kind of event that gives a reason for the policy's `yellow_lookback_days` after it."""

    table: str
    id_column: str
    time_column: str
    reason: CodeReason
    source: CodeSource

    def sql(self) -> str:
        return (
            f"SELECT '{self.source.value}' AS source, person_id, {self.id_column} AS ref,"
            f" {self.time_column} AS at FROM {self.table}"
            f" WHERE {self.time_column} > :since AND {self.time_column} <= :until"
        )


LOOKBACKS = (
    Lookback(
        "fever_clinic_visit",
        "visit_id",
        "visited_at",
        CodeReason.FEVER_CLINIC_VISIT,
        CodeSource.FEVER_CLINIC,
    ),
    Lookback(
        "symptom_report",
        "report_id",
        "observed_at",
        CodeReason.FEVER_OR_RESPIRATORY_SYMPTOMS,
        CodeSource.SYMPTOM_REPORT,
    ),
)


def lookback_bounds(day: date, policy: Policy) -> tuple[datetime, datetime]:
    """The events that give a reason on `day`: after the first instant, up to the second (the
    end of the day) — the policy's lookback. The loader reads only these; the rule keeps only
    these of any frame it is given."""
    until = last_instant(day)
    return until - timedelta(days=policy.health_code.yellow_lookback_days), until


# -- the loader ---------------------------------------------------------------------------------


def load_colour_facts(
    store: Store,
    day: date,
    policy: Policy,
    *,
    scenario: Scenario = LIVE,
    read_for: pl.Series | None = None,
    areas: pl.DataFrame | None = None,
    residents: pl.DataFrame | None = None,
    tests: bool = False,
) -> ColourFacts:
    """The facts of the people `read_for` (or of everyone) at the end of `day`, as `scenario`
    sees the store, each kind read only where the policy lists a reason it gives. `areas`: the
    risk areas of the day (default: those stored, `zones.areas_on`); `residents`: their
    residents when the caller read them (`risk_area_residents`). With `tests`, the latest
    negatives (and, when the policy asks a test of everyone, every registered person): a run
    that keeps them (`store_colours`) reads none."""
    listed = listed_reasons(policy)
    frames: dict[str, pl.DataFrame] = {}
    people = None if read_for is None else read_for.to_list()
    if listed & {CodeReason.CONFIRMED.value, CodeReason.ASYMPTOMATIC.value}:
        frames["cases"] = case_state(store, day, people, scenario=scenario)
    if listed & {
        CodeReason.CLOSE_CONTACT_CENTRALIZED.value,
        CodeReason.CENTRALIZED_QUARANTINE.value,
        CodeReason.HOME_QUARANTINE.value,
    }:
        frames["phases"] = _phases(store, day, people, scenario)
    if CodeReason.POOL_POSITIVE.value in listed:
        frames["controls"] = _only(
            under_temporary_control(store, last_instant(day), policy), read_for
        )
    if CodeReason.SUSPECTED.value in listed:
        frames["suspects"] = _suspects(store, day, read_for, scenario)
    kinds = [kind for kind in LOOKBACKS if kind.reason.value in listed]
    if kinds:
        frames["events"] = _events(store, day, policy, read_for, kinds)
    if CodeReason.FROM_RISK_AREA.value in listed:
        if residents is None:
            drawn = areas if areas is not None else areas_on(store, day, scenario)
            residents = risk_area_residents(store, day, drawn)
        frames["residents"] = _only(residents, read_for)
    if tests:
        asks = lapse_after(policy) is not None
        frames["tests"] = _tests(store, day, policy, read_for, residents=asks)
    return ColourFacts.of(**frames)


def _only(frame: pl.DataFrame, ids: pl.Series | None) -> pl.DataFrame:
    return frame if ids is None else frame.filter(pl.col("person_id").is_in(ids.implode()))


def _phases(store: Store, day: date, people: list[int] | None, scenario: Scenario) -> pl.DataFrame:
    """The phases of the open quarantines not released by the end of `day`, and the phases
    released from the next midnight (their last day is the day: they hold all day, though as of
    the next day they are released, their schedule closed when it was the last phase)."""
    phases = open_schedules(store, day + timedelta(days=1), people, scenario=scenario).filter(
        ~pl.col("released")
    )
    ending = released_after(store, day, people, scenario=scenario)
    if ending.height:
        held = open_schedules(
            store, day, ending.get_column("person_id").unique().to_list(), scenario=scenario
        )
        phases = pl.concat([phases, held.join(ending, on=["person_id", "detail"], how="semi")])
    return phases.select(list(PHASE_SCHEMA))


def _suspects(store: Store, day: date, ids: pl.Series | None, scenario: Scenario) -> pl.DataFrame:
    persons = None if ids is None else IDS
    params: dict[str, Any] = {"until": day_bounds(day)[1], **scenario.params()}
    if ids is not None:
        params["ids"] = ids_of(ids)
    first = any_suspect_sql(scenario, persons=persons)
    if not store.scalar(first, named(first, params)):
        return pl.DataFrame(schema=SUSPECT_SCHEMA)
    return read(
        store,
        f"WITH {suspect_ctes(scenario, persons=persons)} SELECT * FROM suspect",
        params,
        SUSPECT_SCHEMA,
    )


def _events(
    store: Store, day: date, policy: Policy, ids: pl.Series | None, kinds: list[Lookback]
) -> pl.DataFrame:
    """The events of `kinds` within the policy's lookback (one query)."""
    since, until = lookback_bounds(day, policy)
    sql = " UNION ALL ".join(f"SELECT * FROM ({kind.sql()}) e{k}" for k, kind in enumerate(kinds))
    return _only(read(store, sql, {"since": since, "until": until}, EVENT_SCHEMA), ids)


def risk_area_residents(store: Store, day: date, areas: pl.DataFrame) -> pl.DataFrame:
    """The residents of the medium- and high-risk areas drawn by residence in `areas`
    (zones.AREA_SCHEMA): person_id, area_id, level_since (RESIDENT_SCHEMA)."""
    drawn = areas.filter(pl.col("level").is_in([RiskLevel.HIGH.value, RiskLevel.MEDIUM.value]))
    return (
        area_residents(store, day, drawn)
        .join(drawn.select("area_id", "level_since"), on="area_id")
        .select(list(RESIDENT_SCHEMA))
    )


def _tests(
    store: Store, day: date, policy: Policy, ids: pl.Series | None, *, residents: bool
) -> pl.DataFrame:
    """Per person with a negative test (`testing.latest_negative`): `tested_at` (counted the
    policy's way); with `residents`, every registered person too (with no test: null), marked
    `resident`. One query: for a whole city, joining the registry to the tests in the store
    costs less than carrying both out and joining them here."""
    column = validity_column(policy) or "sampled_at"
    only = f" WHERE {among_ids(store, 'person_id')}" if ids is not None else ""
    latest = f"SELECT person_id, {column} AS tested_at FROM ({LATEST_NEGATIVE_SQL}) n{only}"
    if residents:
        sql = (
            "SELECT coalesce(n.person_id, p.person_id) AS person_id, n.tested_at,"
            " p.person_id IS NOT NULL AS resident"
            f" FROM ({latest}) n FULL JOIN (SELECT person_id FROM person{only}) p"
            " ON p.person_id = n.person_id"
        )
    else:
        sql = f"SELECT person_id, tested_at, false AS resident FROM ({latest}) n"
    params: dict[str, Any] = {"until": last_instant(day)}
    if ids is not None:
        params["ids"] = ids_of(ids)
    return read(store, sql, params, TEST_SCHEMA)
