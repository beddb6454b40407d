"""Health-code colours (健康码赋码): red, yellow or green per person, with every reason.

A person's **reasons** are found by the rules below, each from one kind of fact (`CodeSource`),
as of the last instant of the run day D (Beijing time); the policy says which reasons exist and
which colour each gives (`health_code.red_reasons`, `yellow_reasons`: a reason the policy lists
in neither is not looked for). The colour is red when any reason is red, else yellow when any is
yellow, else green.

- `confirmed`, `asymptomatic`: an active case episode (`fangkong.engine.episode`, through
  `treatment.case_state`), since it opened. A cured, released or withdrawn (excluded) episode
  gives none: a reinfection opens a new one.
- `close_contact_centralized`, `centralized_quarantine`, `home_quarantine`: the phase of an open
  quarantine (`schedule.open_schedules`) the person is in: the latest phase that has started and
  is not released by the day's end (a person whose phase ended while a test result is awaited is
  still held; a phase released on its last day holds to its end, the next midnight). A
  centralized phase gives `close_contact_centralized` for a close contact and
  `centralized_quarantine` for everyone else (secondary contacts, inbound travellers); a phase at
  home gives `home_quarantine`.
- `pool_positive_awaiting_retest`: an open temporary control (`testing.under_temporary_control`).
- `suspected`: a suspected case (疑似病例) by the case registry: the person's latest case event
  that names what they are is a report or reclassification to `suspected` (`episode.
  suspect_ctes`; excluded, confirmed or an outcome ends it), since the first such report.
- `fever_clinic_visit`: a visit to a fever clinic (`fever_clinic_visit`) within the policy's
  `health_code.yellow_lookback_days` (14 days: Jiangsu), since the visit.
- `fever_or_respiratory_symptoms`: a symptom report (`symptom_report`: fever, cough, sore
  throat, shortness of breath, from a health declaration, a temperature check or a clinic)
  observed within the same lookback, since the observation.
- `no_recent_test` (应检未检), when the policy sets `health_code.missing_test_after_days`: a
  registered person whose latest negative test (`testing.latest_negative`, counted from sampling
  or the report as the policy says) is older than that many days, or who has none.
- `from_risk_area` (来自中高风险地区): the person lives (`person_view.current_person`) in a
  medium- or high-risk area drawn by residence — a building, a compound, a street or a county
  (`fangkong.engine.zones`) — in force at the end of D, since the area got its level. Who stayed
  at a venue area, or left an area, has the orders the policy gives them (their quarantine is
  a reason above), not this one.
Jiangsu's "abnormal record in the provincial database" is no reason here: no source says which
records those are (the policies' `yellow_reasons` note).

**A loader and rules.** The facts above are frames (`colour_facts.ColourFacts`), read from a store
by `colour_facts.load_colour_facts`; the rules over them, `colour_reasons` (the reasons) and
`colours_rule` (the colours, the lapse and the window), read no store, so a simulator drives them
with frames of its own (`ColourFacts.of`). `derive_colours` is the loader then the rules;
`store_colours` (below) loads the facts of the people whose facts changed and applies the same
reasons' rule.

**The test validity window.** `tested_at` is the person's latest negative test counted from the
column `testing.validity_column(policy)` names; `venue_valid_until` and `leave_city_valid_until`
add the policy's validity (`venue_entry_test_validity_hours`, `leave_city_test_validity_hours`),
in hours, or in calendar days (`test_validity_counted_in`: a "48 h" result of day 0 holds
through day 2, Beijing's way).

**Stored rows, recomputed incrementally.** The run of D writes a `health_code` row (and its
`health_code_reason` rows) for each person whose colour or reasons changed since the scenario's
previous run, found among the people whose facts changed; everybody else keeps their row, and a
person's colour on a day is their latest row up to that day (`code_of`). A person with no row is
green with no reason. The rows hold every reason but one: **the test's lapse** (`no_recent_test`)
and the validity window are functions of the person's latest negative test, the policy and the
day, so they are derived when a colour is read (`code_of`), from the latest negatives the runs
keep (`fangkong.engine.negatives`), under the policy of the run that covers the day. A testing
round that reaches every resident thus rewrites no row for the round's negatives: it adds to the
kept negatives only. The people recomputed are those with
- an event new to the run (`fangkong.engine.scenario` watermarks): a case report, a tube result
  that is not negative (for every member of the tube), a registration, a fever-clinic visit, a
  symptom report;
- a pooled-tube reason in their row (its retest, or a corrected result, may end it);
- an engine row of this run: a derived case event, an order (quarantine issued, extended,
  released, converted; temporary control; ...);
- a quarantine phase starting or ending since the previous run's day;
- a fever-clinic visit or a symptom report leaving the lookback window since the previous
  run's day;
- a row written by an earlier run of the same day (a rerun replaces it);
- risk-area reasons now (the residents of the medium- and high-risk areas in force on D) that
  differ from those of their row: an area drawn, raised, lowered or lifted, or a resident who
  moved in or out; the residents of an area unchanged since are not asked again.
Everybody is recomputed when the scenario has no earlier run, or the earlier run was under
another policy (a what-if's first run, a new regime in force): a colour depends on the policy.
A run of a day replaces what an earlier run of that day wrote, in its scenario only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from fangkong.engine.colour_facts import (
    LOOKBACKS,
    ColourFacts,
    lapse_after,
    last_instant,
    listed_reasons,
    load_colour_facts,
    lookback_bounds,
    risk_area_residents,
)
from fangkong.engine.frames import ZONE, among_ids, collect, day_bounds, ids_of, midnight, read
from fangkong.engine.negatives import NEGATIVE_SCHEMA, kept_negatives
from fangkong.engine.orders import TIME
from fangkong.engine.scenario import LIVE, Scenario, Watermarks
from fangkong.engine.schedule import CENTRALIZED
from fangkong.engine.testing import validity_column
from fangkong.engine.testing_sql import latest_negative_sql
from fangkong.engine.treatment import active_cases
from fangkong.engine.zones import areas_on
from fangkong.errors import NotFoundError
from fangkong.model.glossary import CodeColour, CodeReason, CodeSource
from fangkong.policy import Policy, Population, ValidityCount, load_policy
from fangkong.store.base import Store

__all__ = [
    "CODE_SCHEMA",
    "REASON_SCHEMA",
    "CodeOfPerson",
    "Colours",
    "code_of",
    "colour_reasons",
    "colours_rule",
    "derive_colours",
    "store_colours",
]

log = logging.getLogger(__name__)

CODE_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "colour": pl.String(),
    "tested_at": TIME,
    "venue_valid_until": TIME,
    "leave_city_valid_until": TIME,
}
REASON_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "reason": pl.String(),
    "source": pl.String(),
    "source_ref": pl.String(),
    "since": TIME,
}
_WINDOW = ["tested_at", "venue_valid_until", "leave_city_valid_until"]
_CONTACTS = (Population.CLOSE_CONTACT.value,)
_CASE_REASONS = {"confirmed": CodeReason.CONFIRMED, "asymptomatic": CodeReason.ASYMPTOMATIC}


@dataclass(frozen=True)
class Colours:
    """The colours derived for a set of people: one `codes` row per person (CODE_SCHEMA) and
    their `reasons` (REASON_SCHEMA)."""

    codes: pl.DataFrame
    reasons: pl.DataFrame


# -- the rules: facts (`colour_facts.ColourFacts`) → reasons and colours; no store is read --------


def _reasons(frame: pl.DataFrame | pl.LazyFrame, **columns: pl.Expr | str) -> pl.LazyFrame:
    """The reasons of `frame`'s rows, as a plan: `colour_reasons` collects every rule's reasons
    at once (a collect per rule, of a few rows each, cost more than the rules' Polars work)."""
    return frame.lazy().select(
        "person_id",
        *(
            (pl.lit(v) if isinstance(v, str) else v).cast(REASON_SCHEMA[k]).alias(k)
            for k, v in columns.items()
        ),
    )


def _case_reasons(cases: pl.DataFrame) -> pl.LazyFrame:
    """An open episode (not ended, not withdrawn), since it opened."""
    return _reasons(
        active_cases(cases).lazy().filter(pl.col("diagnosis").is_in(list(_CASE_REASONS))),
        reason=pl.col("diagnosis").replace_strict({k: v.value for k, v in _CASE_REASONS.items()}),
        source=CodeSource.CASE_EPISODE.value,
        source_ref=pl.col("case_id"),
        since=pl.col("case_since"),
    )


def _quarantine_reasons(phases: pl.DataFrame, day: date) -> pl.LazyFrame:
    """The phase a person is in at the end of `day`: the latest of their phases that has
    started by then (`phases`: those that may hold on the day, `ColourFacts`)."""
    current = (
        phases.lazy()
        .filter(pl.col("start_at") <= last_instant(day))
        .sort("person_id", "start_at")
        .unique("person_id", keep="last")
    )
    centralized = pl.col("detail") == CENTRALIZED
    reason = (
        pl.when(centralized & pl.col("population").is_in(_CONTACTS))
        .then(pl.lit(CodeReason.CLOSE_CONTACT_CENTRALIZED.value))
        .when(centralized)
        .then(pl.lit(CodeReason.CENTRALIZED_QUARANTINE.value))
        .otherwise(pl.lit(CodeReason.HOME_QUARANTINE.value))
    )
    return _reasons(
        current,
        reason=reason,
        source=CodeSource.QUARANTINE.value,
        source_ref=pl.col("rule"),
        since=pl.col("start_at"),
    )


def _event_reasons(events: pl.DataFrame, day: date, policy: Policy) -> pl.LazyFrame:
    """The events of the kinds the policy lists within its lookback, each since it happened."""
    since, until = lookback_bounds(day, policy)
    kinds = [k for k in LOOKBACKS if k.reason.value in listed_reasons(policy)]
    source = pl.col("source")
    return _reasons(
        events.lazy().filter(
            source.is_in([k.source.value for k in kinds])
            & (pl.col("at") > since)
            & (pl.col("at") <= until)
        ),
        reason=source.replace_strict({k.source.value: k.reason.value for k in kinds}),
        source=source,
        source_ref=pl.col("ref"),
        since=pl.col("at"),
    )


def colour_reasons(facts: ColourFacts, policy: Policy, day: date) -> pl.DataFrame:
    """Every reason but the lapse of a test (REASON_SCHEMA) that `facts` give at the end of
    `day`, of the reasons the policy lists (the module docstring). Reads no store."""
    listed = listed_reasons(policy)
    # each rule gives a person a reason once per fact (one episode, one current phase, one
    # control per tube, one visit each): no duplicates to remove
    parts = [
        pl.LazyFrame(schema=REASON_SCHEMA),
        _case_reasons(facts.cases),
        _quarantine_reasons(facts.phases, day),
        _reasons(
            facts.controls,
            reason=CodeReason.POOL_POSITIVE.value,
            source=CodeSource.POOLED_TUBE.value,
            source_ref=pl.col("tube_id"),
            since=pl.col("since"),
        ),
        _reasons(
            facts.suspects,
            reason=CodeReason.SUSPECTED.value,
            source=CodeSource.SUSPECTED_CASE.value,
            source_ref=pl.col("case_id"),
            since=pl.col("since"),
        ),
        _event_reasons(facts.events, day, policy),
        _reasons(
            facts.residents,
            reason=CodeReason.FROM_RISK_AREA.value,
            source=CodeSource.RISK_AREA.value,
            source_ref=pl.col("area_id"),
            since=midnight(pl.col("level_since")),
        ),
    ]
    return collect(pl.concat(parts).filter(pl.col("reason").is_in(list(listed))))


def _window(tested: pl.Expr, hours: int | None, counting: ValidityCount | None) -> pl.Expr:
    """The end of a test's validity of `hours`, counted the policy's way."""
    if hours is None:
        return pl.lit(None, dtype=TIME)
    if counting is ValidityCount.CALENDAR_DAYS:  # day 0 = the test's day; through day N
        days = -(-hours // 24)
        return midnight(tested.dt.convert_time_zone(ZONE).dt.date() + pl.duration(days=days + 1))
    return tested + pl.duration(hours=hours)


def _windows(found: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """`found` with the validity windows of its `tested_at` (the module docstring)."""
    code = policy.health_code
    counting, tested = code.test_validity_counted_in, pl.col("tested_at")
    return found.with_columns(
        _window(tested, code.venue_entry_test_validity_hours, counting).alias("venue_valid_until"),
        _window(tested, code.leave_city_test_validity_hours, counting).alias(
            "leave_city_valid_until"
        ),
    )


def _lapse(tested: pl.Expr, days: int) -> pl.Expr:
    # in hours: a duration in days is calendar-aware, converted element by element through the
    # time zone (slow for millions); Beijing time has had no daylight saving since 1991
    return tested + pl.duration(hours=24 * days)


def _lapses(known: pl.DataFrame, policy: Policy, day: date) -> pl.DataFrame:
    """`known` (person_id, tested_at, resident) with `_lapsed`: a resident whose latest negative
    is older than the policy's days at the end of `day`, or who has none."""
    after = lapse_after(policy)
    if after is None:
        return known.with_columns(pl.lit(False).alias("_lapsed"))
    tested = pl.col("tested_at")
    lapsed = pl.col("resident") & (tested.is_null() | (_lapse(tested, after) <= last_instant(day)))
    return known.with_columns(lapsed.fill_null(False).alias("_lapsed"))


def _lapse_reasons(known: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    after = lapse_after(policy) or 0
    lapsed = _reasons(
        known.filter(pl.col("_lapsed")),
        reason=CodeReason.NO_RECENT_TEST.value,
        source=CodeSource.LATEST_NEGATIVE.value,
        source_ref=pl.lit(None, pl.String),
        since=_lapse(pl.col("tested_at"), after),
    )
    return collect(lapsed)


def _colour(found: pl.DataFrame, policy: Policy) -> pl.Expr:
    """The colour of each row (person_id, `_lapsed`) given the reasons `found` (REASON_SCHEMA,
    without the lapse): red when a reason is red, else yellow when there is one, else green."""
    red = [r.value for r in policy.health_code.red_reasons]
    person, lapse = pl.col("person_id"), pl.col("_lapsed")
    red_ids = found.filter(pl.col("reason").is_in(red)).get_column("person_id")
    lapse_is_red = pl.lit(CodeReason.NO_RECENT_TEST.value in red)
    return (
        pl.when(person.is_in(red_ids.implode()) | (lapse & lapse_is_red))
        .then(pl.lit(CodeColour.RED.value))
        .when(person.is_in(found.get_column("person_id").implode()) | lapse)
        .then(pl.lit(CodeColour.YELLOW.value))
        .otherwise(pl.lit(CodeColour.GREEN.value))
        .alias("colour")
    )


def colours_rule(
    facts: ColourFacts, policy: Policy, day: date, ids: pl.Series | None = None
) -> Colours:
    """The colours at the end of `day` under `policy` of the people `ids` (or of everyone with a
    fact: a reason, a negative test, or a registration when the policy asks a test of everyone),
    every reason and the validity window included. Reads no store: `derive_colours` hands it
    the facts a store holds, a simulator its own."""
    found = colour_reasons(facts, policy, day)
    # `known`: everyone with a negative test, and every resident when the policy asks a test
    # of everyone; the people of the reasons above are few. The colour of the many is decided
    # on `known`'s own rows (a column for a lapsed test, membership in the few reasons' small
    # id sets), not by joining millions of reasons back to them.
    known = _windows(_lapses(facts.tests, policy, day), policy)
    asks = lapse_after(policy) is not None
    reasons = pl.concat([found, _lapse_reasons(known, policy)]) if asks else found
    # the people of a reason or asked for (`ids`) with no negative test and no registration
    few = found.get_column("person_id")
    others = (few if ids is None else pl.concat([few, ids.rename("person_id")])).unique()
    others = others.filter(~others.is_in(known.get_column("person_id").implode()))
    codes = pl.concat(
        [known, others.to_frame().with_columns(pl.lit(False).alias("_lapsed"))],
        how="diagonal",
    ).select("person_id", _colour(found, policy), *_WINDOW)
    if ids is not None:
        keep = pl.col("person_id").is_in(ids.implode())
        codes, reasons = codes.filter(keep), reasons.filter(keep)
    return Colours(codes.select(list(CODE_SCHEMA)), reasons)


def derive_colours(
    store: Store,
    day: date,
    policy: Policy,
    *,
    scenario: Scenario = LIVE,
    ids: pl.Series | None = None,
    areas: pl.DataFrame | None = None,
) -> Colours:
    """The colours of the people `ids` (or of everyone with a fact) at the end of `day`, under
    `policy`, as `scenario` sees the store (`colours_rule` over `load_colour_facts`), the
    latest negatives read from every test stored (the rule, which the kept rows and `code_of`
    must equal); `areas`: the risk areas of the day (default: those stored, `zones.areas_on`).
    Reads the store; writes nothing."""
    # whom the queries read: the people asked for, or everyone when they are most of them
    read_for = _narrowing(store, ids)
    facts = load_colour_facts(
        store, day, policy, scenario=scenario, read_for=read_for, areas=areas, tests=True
    )
    return colours_rule(facts, policy, day, ids)


# above this many people, whether to read everyone is asked (`_narrowing`)
_LONG_LIST = 100_000


def _narrowing(store: Store, ids: pl.Series | None) -> pl.Series | None:
    """The people the queries are to be restricted to: `ids`, unless they are half the registry
    or more (a testing round that reached everyone): a list of millions of ids bound into each
    query costs more than reading everyone (25 million: 206 s against 10 s), so then None."""
    if ids is None or ids.len() < _LONG_LIST:
        return ids
    return None if 2 * ids.len() >= store.count("person") else ids


# -- who changed --------------------------------------------------------------------------------

_NEW = "((batch_id > :w_prev AND batch_id <= :w_cur) OR {time} >= :fresh_since)"
# an event new to the run, or one leaving the lookback window since the previous run's day
_LOOKBACK_CHANGES = "".join(
    f"UNION SELECT person_id FROM {k.table}\n"
    f"      WHERE {_NEW.format(time=k.time_column)}\n"
    f"         OR ({k.time_column} >= :lapse_from AND {k.time_column} < :lapse_to)\n"
    for k in LOOKBACKS
)
# a negative result changes no stored reason (the lapse and the window are read from the kept
# negatives): only a result that is not negative can start a pooled-tube reason, and the people
# with one in their row are asked again (a retest or a corrected result ends it). The risk-area
# reasons of the rows come out apart (`area_id`, `since`; null for every other row): a person is
# asked again when they differ from the areas in force now (`_area_changes`)
_CHANGED_SQL = f"""
WITH held AS MATERIALIZED (
    SELECT r.person_id, r.reason, r.source_ref, r.since, r.run_day FROM health_code_reason r
    WHERE r.reason IN (:pool, :area) AND {{visible_r}} AND r.run_day < :day
      AND r.run_day >= :held_from
      AND NOT EXISTS (
          SELECT 1 FROM health_code h
          WHERE h.person_id = r.person_id AND {{visible_h}}
            AND h.run_day > r.run_day AND h.run_day < :day)
),
changed AS (
SELECT person_id FROM case_report WHERE {_NEW.format(time="reported_at")}
UNION SELECT s.person_id FROM sample s JOIN tube_result r ON r.tube_id = s.tube_id
      WHERE r."result" <> 'negative'
        AND {_NEW.format(time="r.reported_at").replace("batch_id", "r.batch_id")}
UNION SELECT person_id FROM held WHERE reason = :pool
UNION SELECT person_id FROM person WHERE batch_id > :w_prev AND batch_id <= :w_cur
{_LOOKBACK_CHANGES}\
UNION SELECT person_id FROM engine_case_event WHERE scenario = :scenario AND run_day = :day
UNION SELECT person_id FROM engine_order WHERE scenario = :scenario AND run_day = :day
UNION SELECT person_id FROM engine_order o
      WHERE order_type IN ('quarantine', 'extend') AND {{visible_o}} AND run_day <= :day
        AND ((start_at >= :fresh_since AND start_at < :until)
             OR (end_at >= :fresh_since AND end_at < :until))
)
SELECT person_id, CAST(NULL AS VARCHAR) AS area_id, CAST(NULL AS TIMESTAMPTZ) AS since,
       CAST(NULL AS DATE) AS held_day
FROM changed
UNION ALL
SELECT person_id, source_ref, since, run_day FROM held WHERE reason = :area
UNION ALL
SELECT person_id, NULL, NULL, run_day FROM held WHERE reason = :pool
"""


# the reasons a run asks again of the people whose latest row holds them (`_changed`): a
# positive pool (a retest or a corrected result ends it) and a risk area (lifted, or moved)
_ASKED_AGAIN = (CodeReason.POOL_POSITIVE.value, CodeReason.FROM_RISK_AREA.value)


def _changed(
    store: Store, day: date, policy: Policy, scenario: Scenario, marks: Watermarks
) -> tuple[pl.Series, pl.DataFrame, pl.DataFrame]:
    """The people whose colour facts changed since the scenario's previous run (module
    docstring) but for the risk areas; the risk-area reasons of the latest rows before the run
    (person_id, area_id, since); and the run day of each latest row holding a reason asked
    again (person_id, held_day). `marks.since` is set (there is a previous run). Rows are read
    from `marks.held_from` on: no earlier latest row holds such a reason."""
    until = day_bounds(day)[1]
    params: dict[str, Any] = {
        **marks.params(),
        **scenario.params(),
        "day": day,
        "until": until,
        "pool": CodeReason.POOL_POSITIVE.value,
        "area": CodeReason.FROM_RISK_AREA.value,
        "held_from": marks.held_from or date.min,
    }
    lookback = timedelta(days=policy.health_code.yellow_lookback_days)
    assert marks.since is not None
    params["lapse_from"] = marks.since - lookback
    params["lapse_to"] = until - lookback
    sql = _CHANGED_SQL.format(
        visible_o=scenario.visible("o"),
        visible_r=scenario.visible("r"),
        visible_h=scenario.visible("h"),
    )
    rows = read(
        store,
        sql,
        params,
        {"person_id": pl.Int64(), "area_id": pl.String(), "since": TIME, "held_day": pl.Date()},
    )
    area = pl.col("area_id").is_not_null()
    return (
        rows.filter(~area).get_column("person_id").drop_nulls(),
        rows.filter(area).drop("held_day"),
        rows.filter(pl.col("held_day").is_not_null()).select("person_id", "held_day"),
    )


def _held_from(day: date, written: Colours, held: pl.DataFrame) -> date:
    """The earliest run day of a latest row holding a reason the next run asks again, after the
    run of `day` wrote `written`: `day` when a row it wrote holds one, else that of the rows
    before it (`held`: person_id, held_day) of people it wrote no row for; the day after the
    run when none holds one."""
    kept = held.join(written.codes.select("person_id"), on="person_id", how="anti")
    days = kept.get_column("held_day").drop_nulls().to_list()
    if written.reasons.filter(pl.col("reason").is_in(_ASKED_AGAIN)).height:
        days.append(day)
    return min(days) if days else day + timedelta(days=1)


def _area_changes(residents: pl.DataFrame, held: pl.DataFrame, policy: Policy) -> pl.Series:
    """The people whose risk-area reasons now (of the `residents` of the areas in force:
    `colour_facts.risk_area_residents`; none when the policy lists no such reason) differ from
    those of their row (`held`: `_changed`): an area drawn, raised, lowered or lifted, or a
    resident moved in or out. The residents of an area unchanged since the previous run are not
    asked again."""
    listed = CodeReason.FROM_RISK_AREA in (
        *policy.health_code.red_reasons,
        *policy.health_code.yellow_reasons,
    )
    now = (residents if listed else residents.clear()).select(
        "person_id", "area_id", midnight(pl.col("level_since")).cast(TIME).alias("since")
    )
    was = held.select("person_id", "area_id", pl.col("since").cast(TIME))
    keys = ["person_id", "area_id", "since"]
    return pl.concat(
        [now.join(was, on=keys, how="anti"), was.join(now, on=keys, how="anti")]
    ).get_column("person_id")


_ROWS_SQL = """
WITH latest AS (
    SELECT person_id, colour, run_day, scenario FROM (
        SELECT h.person_id, h.colour, h.run_day, h.scenario, row_number() OVER (
            PARTITION BY h.person_id ORDER BY h.run_day DESC, (h.scenario = :scenario) DESC
        ) AS k
        FROM health_code h
        WHERE {visible} AND h.run_day {op} :day{only}
    ) x WHERE k = 1
)
SELECT l.person_id, l.colour, l.run_day, r.reason, r.source, r.source_ref, r.since
FROM latest l
LEFT JOIN health_code_reason r
  ON r.scenario = l.scenario AND r.run_day = l.run_day AND r.person_id = l.person_id
"""
_ROW_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "colour": pl.String(),
    "run_day": pl.Date(),
    **{k: v for k, v in REASON_SCHEMA.items() if k != "person_id"},
}


def _rows(
    store: Store, day: date, scenario: Scenario, ids: list[int] | None, *, before: bool
) -> pl.DataFrame:
    """Each person's latest stored row up to `day` (before it, with `before`), with one line
    per reason (none: a null reason), of the people `ids` or of everyone (_ROW_SCHEMA)."""
    params: dict[str, Any] = {**scenario.params(), "day": day}
    only = ""
    if ids is not None:
        params["ids"] = ids
        only = f" AND {among_ids(store, 'h.person_id')}"
    sql = _ROWS_SQL.format(visible=scenario.visible("h"), op="<" if before else "<=", only=only)
    return read(store, sql, params, _ROW_SCHEMA)


def _differ(codes: pl.LazyFrame, found: pl.LazyFrame, before: pl.LazyFrame) -> pl.LazyFrame:
    """The people whose colour (`codes`: person_id, colour) or reasons (`found`) differ from
    their stored row (`before`, `_rows`; a person with none: green, no reason). Reasons are
    compared as sets of rows by anti-joins (a rule gives each fact once): one string per person
    of all their reasons, sorted and joined, cost 50-200 ms for 30,000 people."""
    keys = list(REASON_SCHEMA)
    now = found.select(keys)
    was = before.filter(pl.col("reason").is_not_null()).select(keys)
    stored = before.select("person_id", pl.col("colour").alias("_was")).unique("person_id")
    recoloured = codes.join(stored, on="person_id", how="left").filter(
        pl.col("colour") != pl.col("_was").fill_null(CodeColour.GREEN.value)
    )
    return pl.concat(
        [
            recoloured.select("person_id"),
            now.join(was, on=keys, how="anti", nulls_equal=True).select("person_id"),
            was.join(now, on=keys, how="anti", nulls_equal=True).select("person_id"),
        ]
    ).unique()


def store_colours(
    store: Store,
    day: date,
    policy: Policy,
    *,
    scenario: Scenario,
    marks: Watermarks,
    areas: pl.DataFrame | None = None,
) -> tuple[Colours, date]:
    """Derive the colours of `day` in `scenario` for the people whose facts changed (everyone
    on a full recompute: see the module docstring) and store a row for each whose colour or
    reasons differ from their stored row, replacing an earlier run's rows of the day; returns
    the rows written and the bound they leave the next run (`Watermarks.held_from`). Called
    by `run_day` after the day's orders are stored, in its transaction, with the risk areas
    it drew (`areas`; default: those stored for the day)."""
    if areas is None:
        areas = areas_on(store, day, scenario)
    key = {"s": scenario.name, "d": day}
    rerun = (
        read(
            store,
            "SELECT person_id FROM health_code WHERE scenario = :s AND run_day = :d",
            key,
            {"person_id": pl.Int64()},
        )
        if marks.rerun
        else pl.DataFrame(schema={"person_id": pl.Int64()})
    )
    if rerun.height:
        for name in ("health_code", "health_code_reason"):
            store.execute(f"DELETE FROM {name} WHERE scenario = :s AND run_day = :d", key)
    full = marks.since is None or marks.policy_id != policy.id
    ids, residents = None, None
    held_days = pl.DataFrame(schema={"person_id": pl.Int64(), "held_day": pl.Date()})
    if not full:
        changed, held, held_days = _changed(store, day, policy, scenario, marks)
        residents = risk_area_residents(store, day, areas)
        ids = (
            pl.concat(
                [changed, rerun.get_column("person_id"), _area_changes(residents, held, policy)]
            )
            .unique()
            .sort()
        )
    written = Colours(pl.DataFrame(schema=CODE_SCHEMA), pl.DataFrame(schema=REASON_SCHEMA))
    if ids is not None and ids.len() == 0:  # a quiet day: nobody's facts changed
        log.info("%s: colours of nobody changed", day)
        return written, _held_from(day, written, held_days)
    read_for = _narrowing(store, ids)
    facts = load_colour_facts(
        store, day, policy, scenario=scenario, read_for=read_for, areas=areas, residents=residents
    )
    found = colour_reasons(facts, policy, day)
    if ids is not None and read_for is None:  # everyone was read: keep the people asked for
        found = found.filter(pl.col("person_id").is_in(ids.implode()))
    before = _rows(store, day, scenario, None if ids is None else ids_of(ids), before=True)
    if ids is None:  # everyone: the people of a reason, and those whose row has one
        ids = pl.concat(
            [
                found.get_column("person_id"),
                before.filter(pl.col("colour") != CodeColour.GREEN.value).get_column("person_id"),
            ]
        ).unique()
    codes = (
        ids.rename("person_id")
        .to_frame()
        .with_columns(pl.lit(False).alias("_lapsed"))
        .select("person_id", _colour(found, policy))
    )
    # the people who differ in one plan, then their rows picked (cheaper than joining the plan
    # back to both frames, from 2,000 to 30,000 people)
    differ = collect(_differ(codes.lazy(), found.lazy(), before.lazy()))
    keep = pl.col("person_id").is_in(differ.get_column("person_id").implode())
    written = Colours(codes.filter(keep).sort("person_id"), found.filter(keep))
    stamp = (pl.lit(scenario.name).alias("scenario"), pl.lit(day).alias("run_day"))
    if written.codes.height:
        store.insert_frame(
            "health_code",
            written.codes.select(
                *stamp, "person_id", pl.lit(policy.id).alias("policy_id"), "colour"
            ),
        )
    if written.reasons.height:
        store.insert_frame(
            "health_code_reason", written.reasons.select(*stamp, *list(REASON_SCHEMA))
        )
    log.info(
        "%s: colours of %d people recomputed (%s), %d changed",
        day,
        ids.len(),
        "full" if full else "changed since the last run",
        written.codes.height,
    )
    if full:  # no bound was read: the rows before are everyone's latest
        held_days = before.filter(pl.col("reason").is_in(_ASKED_AGAIN)).select(
            "person_id", pl.col("run_day").alias("held_day")
        )
    return written, _held_from(day, written, held_days)


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeOfPerson:
    """A person's colour on a day, as the latest run up to it (`run_day`, under `policy_id`)
    gives it: their latest stored row up to the day (none: green, no reason), with the lapse of
    their test and its validity window derived from their latest negative the runs kept."""

    person_id: int
    day: date
    run_day: date  # the run that covers the day: the latest run on or before it
    policy_id: str
    colour: CodeColour
    tested_at: datetime | None
    venue_valid_until: datetime | None
    leave_city_valid_until: datetime | None
    reasons: pl.DataFrame  # reason, source, source_ref, since
    on_record: bool  # a row, a negative test, or registered while every resident owes a test


_RUN_SQL = """
SELECT run_day, policy_id, batch_watermark FROM engine_run r
WHERE run_day <= :day AND {visible}
ORDER BY run_day DESC, (scenario = :scenario) DESC
LIMIT 1
"""


def code_of(
    store: Store,
    person_id: int,
    day: date,
    *,
    scenario: Scenario = LIVE,
    policy: Policy | None = None,
) -> CodeOfPerson:
    """Person `person_id`'s colour on `day` in `scenario`, under the policy of the run that
    covers the day (`policy`: that policy, when the caller has it; default: loaded by id).
    NotFoundError when no run of the scenario (or of live before its fork) covers the day."""
    params: dict[str, Any] = {**scenario.params(), "day": day}
    run = store.fetch(_RUN_SQL.format(visible=scenario.visible("r")), params)
    if run.height == 0:
        raise NotFoundError(f"no run on or before {day} in scenario {scenario.name!r}")
    run_day, policy_id, watermark = run.row(0)
    rules = policy if policy is not None else load_policy(str(policy_id))
    row = _rows(store, day, scenario, [person_id], before=False)
    found = row.filter(pl.col("reason").is_not_null()).select(list(REASON_SCHEMA))
    negative = kept_negatives(store, run_day, scenario, [person_id])
    if negative.height == 0:  # none kept: none, or a day run before they were kept (migration 13)
        negative = read(
            store,
            latest_negative_sql(persons="s.person_id = :p"),
            {"p": person_id, "until": last_instant(run_day)},
            NEGATIVE_SCHEMA,
        )
    column = validity_column(rules) or "sampled_at"
    registered = bool(
        store.scalar(
            "SELECT count(*) FROM person WHERE person_id = :p AND batch_id <= :w",
            {"p": person_id, "w": watermark},
        )
    )
    known = pl.DataFrame(
        {
            "person_id": [person_id],
            "tested_at": negative.get_column(column).to_list() or [None],
            "resident": [registered],
        },
        schema={"person_id": pl.Int64(), "tested_at": TIME, "resident": pl.Boolean()},
    )
    known = _windows(_lapses(known, rules, run_day), rules)
    reasons = pl.concat([found, _lapse_reasons(known, rules)]).sort(
        "reason", "source_ref", nulls_last=True
    )
    code = known.select(_colour(found, rules), *_WINDOW).row(0, named=True)
    return CodeOfPerson(
        person_id=person_id,
        day=day,
        run_day=run_day,
        policy_id=str(policy_id),
        colour=CodeColour(code["colour"]),
        tested_at=code["tested_at"],
        venue_valid_until=code["venue_valid_until"],
        leave_city_valid_until=code["leave_city_valid_until"],
        reasons=reasons.drop("person_id"),
        on_record=row.height > 0
        or negative.height > 0
        or (registered and lapse_after(rules) is not None),
    )
