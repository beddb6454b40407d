"""Testing (早发现 · 应检尽检 · 核酸检测): single-tube tests and whole-area rounds (区域核酸筛查)
with N-in-1 pooled tubes (混检, N = `policy.testing.pool_size`), turned into orders; each
person's latest negative test, for health codes; the progress of a round.

Everything is one set-based SQL statement over whole tables (`testing_sql`), the same on DuckDB
and PostgreSQL, holding only the groups of rules whose necessary condition a cheap first query
finds on the day (most days, none: no statement at all); Python only formats the reasons of the
few rows that become orders.

How events make results
-----------------------
- A tube holds the samples (`sample`) whose `tube_id` it is: one sample makes a single-tube
  test (单采单检), more make a pooled tube (混采). A tube's result is its latest `tube_result`
  as of the instant considered: a later report supersedes an earlier one (a correction or a
  re-run is a new event, never an edit). `testing.pool_size` is the sampling plan: the engine
  takes a tube's members as registered, however many there are.
- Ct cut-off. A reported 'positive' is a positive when its Ct is below the cut-off or the lab
  gave no Ct. The cut-off is `testing.positive_ct_below`, or `testing.inbound_positive_ct_below`
  for a sample of a person who arrived from abroad (an `arrival`) within the inbound quarantine
  length before sampling (`quarantine.inbound_traveller.total_days`; none if the policy has no
  inbound regime). A pooled tube takes the highest cut-off of its members: it is positive if it
  would be for any of them. A 'positive' at or above its cut-off is a *weak positive*: not a
  positive (no case report, no temporary control) but a retest; for an inbound person whose Ct
  is also below `testing.inbound_release_assessment_ct_below` a risk assessment is ordered too
  (twenty measures, item 9: Ct 35-40 at release from inbound quarantine).

The orders of a day D (`pooled_testing_orders`)
----------------------------------------
D is [D 00:00, D+1 00:00) Asia/Shanghai; results are read as of D+1 00:00 and an order belongs
to D when the report that makes it was reported on D. Each order records its rule and policy;
`detail` is the tube id the order is about; reasons carry no personal data.

Rules (each "when" is about a report on D):

- `testing.pool_positive`: a pooled tube is positive → `temporary_control` (临时管控) and
  `retest` (单采单检复核) for each member, from the report.
- `testing.single_positive`: a single tube is positive → `report_case` (the lab positive
  becomes a case report).
- `testing.retest_positive`: the same, when the tube is a member's retest after a positive
  pool → `report_case`.
- `testing.retest_negative`: a member's first definitive retest is negative →
  `release_control` (detail: the pool's tube).
- `testing.pool_not_confirmed`: that retest is the last of a pool whose members' retests are
  all negative → `release_control`, the reason naming the contradiction.
- `testing.pool_corrected`: a pool positive at D's start has a later, non-positive report →
  `release_control` for each member.
- `testing.weak_positive`: 'positive' at or above the cut-off → `retest` for each member.
- `testing.inbound_assessment`: that weak positive, for an inbound person, with a Ct below
  `testing.inbound_release_assessment_ct_below` → `assess` (an epidemiologist's risk
  assessment), beside the retest.
- `testing.invalid`: 'invalid' (无效) → `retest` for each member (re-sample).
- `testing.tube_not_returned`: a tube's result is overdue — `testing.result_deadline_hours`
  after its last sample falls on D and no result came by D's end → `retest` for each member,
  from the deadline.
- `testing.unknown_tube`: a result other than negative for a tube with no registered sample →
  one `retest` with no person (the sampling records must be found).

Decisions behind the rules:
- *Temporary control* of a member of a positive pool begins at the pool's report and ends with
  the member's first *definitive retest*: a single-tube sample of that person taken at or after
  the pool's report whose result is negative or positive (an invalid or weak retest, or one not
  yet back, leaves the control open; a lost retest tube gets its own `tube_not_returned`
  retest). `under_temporary_control` lists the controls open at an instant, so nobody is left in
  an unclear state.
- *A retest that contradicts its pool*: when every member's definitive retest is negative, the
  pool's positive is not confirmed. Each member is released on the day their own negative comes
  back; the releases of the day the last one comes back carry `testing.pool_not_confirmed`, whose
  reason says all members were negative and the pool goes to laboratory review — so by that day
  every member is released and the contradiction is on record against the pool's tube id.
- *A sample whose tube never returns*: when `testing.result_deadline_hours` (24 h, an
  engineering value: the 2022 regional testing guide asks for a delimited area to be finished
  within 24 h, and no
  policy parameter bounds the time from swab to result) has passed since the tube's last sample
  with no result, each member gets a retest on the day the deadline falls, once. A result that
  comes later still makes its own orders on the day it is reported. The round's progress counts
  the tube as outstanding and overdue until then.
- A single-tube positive is not reported again when the person had a single-tube positive in
  the previous `testing.repeat_positive_window_days` (14: one case report per infection while
  the registry catches up) or has a case episode active at the report
  (`fangkong.engine.episode`; the tests
  of cases, 复阳 included, belong to treatment and discharge). A person whose earlier episode
  closed (cured in 2020) is reported again: a reinfection is a new episode.
- Results imported after the previous run, whatever their report time, are acted on by the
  next run (`fangkong.engine.scenario`): a late lab result is not lost.
- A pooled positive that a later report replaces (a laboratory correction) releases the members
  controlled by it; all of them are named, including any released already by a negative retest.
  A correction of a single-tube positive is the case registry's business (an `excluded`
  reclassification): testing does not withdraw case reports.
- Results are read as they stand at D's end: re-running a past day after later events arrived
  gives the orders that those events imply for D (a result imported late for a tube whose samples
  arrive later still is flagged by `testing.unknown_tube` on its day).

State as of an instant
----------------------
- `latest_negative`: per person, the latest sampling time and the latest report time of a
  negative tube (a negative pooled tube counts for each member). The two may come from different
  tests (an older swab reported later); health codes count validity from the column that
  `validity_column(policy)` names (`health_code.test_validity_counted_from`).
- `round_progress`: counts for a round (`sample.round_id`), for the residents of a region or for
  everyone; see `RoundProgress`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Literal

import duckdb
import polars as pl

from fangkong.engine.facts import Facts
from fangkong.engine.frames import LOCAL_ZONE, day_bounds, named, read, typed
from fangkong.engine.orders import ORDER_SCHEMA, TIME, check_orders, empty_orders
from fangkong.engine.scenario import LIVE, Scenario, Watermarks, watermarks
from fangkong.engine.state import kept_day, run_memo
from fangkong.engine.testing_reason import order_reason
from fangkong.engine.testing_sql import (
    LATEST_NEGATIVE_SQL,
    MAY_ORDER_SQL,
    POOLS,
    UNDER_CONTROL_SQL,
    orders_sql,
    round_progress_sql,
)
from fangkong.errors import InputError, NotFoundError
from fangkong.model.glossary import OrderType
from fangkong.policy import Policy, Population, ValidityStart, policy_in_force
from fangkong.store.base import Store
from fangkong.store.embedded import duckdb_connect, fetch_over_frames

__all__ = [
    "RULES",
    "PooledTestingFacts",
    "RoundProgress",
    "latest_negative",
    "pooled_testing_orders",
    "pooled_testing_rule",
    "result_deadline_of",
    "round_progress",
    "under_temporary_control",
    "validity_column",
]

log = logging.getLogger(__name__)


def result_deadline_of(policy: Policy) -> timedelta:
    """How long after its last sample a tube without a result counts as lost."""
    return timedelta(hours=policy.testing.result_deadline_hours)


RULES: tuple[str, ...] = (
    "testing.pool_positive",
    "testing.single_positive",
    "testing.retest_positive",
    "testing.retest_negative",
    "testing.pool_not_confirmed",
    "testing.pool_corrected",
    "testing.weak_positive",
    "testing.inbound_assessment",
    "testing.invalid",
    "testing.tube_not_returned",
    "testing.unknown_tube",
)

# what ORDERS_SQL returns, before reasons are written
_FACTS_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "order_type": pl.String(),
    "start_at": TIME,
    "detail": pl.String(),
    "rule": pl.String(),
    "ct": pl.Float64(),
    "cut": pl.Float64(),
    "n": pl.Int64(),
    "inbound": pl.Boolean(),
    "note": pl.String(),
}


def _aware(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError(f"{name} must be timezone-aware (got {at.isoformat()})")
    return at


def _cutoff_params(policy: Policy) -> dict[str, Any]:
    regime = policy.regime(Population.INBOUND_TRAVELLER)
    return {
        "ct": float(policy.testing.positive_ct_below),
        "inbound_ct": float(policy.testing.inbound_positive_ct_below),
        "inbound_window": timedelta(days=regime.total_days if regime else 0),
    }


# -- orders -------------------------------------------------------------------------------------


def pooled_testing_orders(
    store: Store,
    day: date,
    policy: Policy,
    *,
    scenario: Scenario = LIVE,
    marks: Watermarks | None = None,
) -> pl.DataFrame:
    """The orders that the tests reported on `day` (Asia/Shanghai), and the results reported
    earlier but new to this run (imported late), make under `policy`, in ORDER_SCHEMA; the
    module docstring gives the rules."""
    facts = _facts(store, day, policy, scenario, marks or watermarks(store, scenario, day))
    return _orders(facts, day, policy)


@dataclass(frozen=True)
class PooledTestingFacts(Facts):
    """What the testing rule reads over frames (`pooled_testing_rule`), a relation per kind,
    with the store's columns of the same name:

    - `sample`: the swabs, each in its tube (several in a pooled tube);
    - `tube_result`: the laboratories' reports of the tubes (`batch_id`: the import batch a
      run's watermarks compare; a caller with none leaves it out);
    - `arrival`: arrivals from abroad (a sample after one, within the inbound quarantine's
      length, is an inbound person's);
    - `episode`: the case episodes (a positive of someone with one open is not reported
      again).
    """

    sample: pl.DataFrame
    tube_result: pl.DataFrame
    arrival: pl.DataFrame
    episode: pl.DataFrame

    SCHEMAS: ClassVar[dict[str, dict[str, pl.DataType]]] = {
        "sample": {"person_id": pl.Int64(), "tube_id": pl.String(), "sampled_at": TIME},
        "tube_result": {
            "tube_id": pl.String(),
            "result": pl.String(),
            "ct_value": pl.Float64(),
            "reported_at": TIME,
            "batch_id": pl.Int32(),
        },
        "arrival": {"person_id": pl.Int64(), "arrived_at": TIME},
        "episode": {"person_id": pl.Int64(), "opened_at": TIME, "closed_at": TIME},
    }
    OPTIONAL: ClassVar[dict[str, frozenset[str]]] = {
        "tube_result": frozenset({"ct_value", "batch_id"}),
        "episode": frozenset({"closed_at"}),
    }


def pooled_testing_rule(
    facts: PooledTestingFacts,
    day: date,
    policy: Policy,
    *,
    marks: Watermarks | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> pl.DataFrame:
    """`pooled_testing_orders` over a caller's frames, with no store: the same SQL, run by
    DuckDB on `facts` (each kind registered as the relation of its name). `marks`: what is new
    to the run besides the results reported on `day` (default: nothing else); `connection`: a
    DuckDB connection to reuse."""
    params = _params(day, policy, (marks or Watermarks(0, 0)).params())
    # the two statements on one connection (a new one costs its set-up each)
    con = connection if connection is not None else duckdb_connect()

    def fetch(sql: str) -> pl.DataFrame:
        return fetch_over_frames(sql, named(sql, params), facts.relations(), con)

    try:
        parts = _parts(fetch(MAY_ORDER_SQL))
        if not parts - {POOLS}:  # a positive pool alone orders nothing
            return empty_orders()
        return _orders(typed(fetch(orders_sql(None, None, parts)), _FACTS_SCHEMA), day, policy)
    finally:
        if connection is None:
            con.close()


def _orders(facts: pl.DataFrame, day: date, policy: Policy) -> pl.DataFrame:
    """The day's orders from the facts `orders_sql` gives: with the inbound assessments their
    weak positives imply, a reason each, in ORDER_SCHEMA."""
    if facts.height == 0:
        return empty_orders()
    facts = pl.concat([facts, _inbound_assessments(facts, policy)])
    unknown = facts.filter(pl.col("rule") == "testing.unknown_tube").height
    if unknown:
        log.warning("%d results on %s for tubes with no registered sample", unknown, day)
    orders = facts.with_columns(
        pl.lit(None, dtype=TIME).alias("end_at"),
        pl.lit(None, dtype=pl.String).alias("place"),
        pl.lit(policy.id).alias("policy_id"),
        order_reason(policy, result_deadline_of(policy)).alias("reason"),
    )
    return check_orders(orders.select(c for c in ORDER_SCHEMA if c in orders.columns))


def _params(day: date, policy: Policy, marks: dict[str, object]) -> dict[str, Any]:
    """The parameters of the day's queries (`MAY_ORDER_SQL`, `orders_sql`); `marks`: the
    watermarks' and the scenario's."""
    start, end = day_bounds(day)
    result_deadline = result_deadline_of(policy)
    return {
        **_cutoff_params(policy),
        **marks,
        "day_start": start,
        "until": end,
        "repeat_window": timedelta(days=policy.testing.repeat_positive_window_days),
        "deadline": result_deadline,
        "lost_from": start - result_deadline,
        "lost_to": end - result_deadline,
    }


def _parts(may: pl.DataFrame) -> frozenset[str]:
    """The groups of rules whose necessary condition holds (a row of `MAY_ORDER_SQL`)."""
    return frozenset(part for part, found in may.row(0, named=True).items() if found)


def _facts(
    store: Store,
    day: date,
    policy: Policy,
    scenario: Scenario,
    marks: Watermarks,
    parts: frozenset[str] | None = None,
) -> pl.DataFrame:
    """The facts of the day's orders (`orders_sql`) of the groups of rules `parts`; by default
    those whose necessary condition holds on the day (`MAY_ORDER_SQL`): none, most days."""
    params = _params(day, policy, {**marks.params(), **scenario.params()})
    if parts is None:
        parts = _parts(store.fetch(MAY_ORDER_SQL, named(MAY_ORDER_SQL, params)))
        memo = run_memo(store, day)
        if memo is not None:  # the run's colours ask it again (`under_temporary_control`)
            memo[_pool_key(day_bounds(day)[1])] = POOLS in parts
    if not parts - {POOLS}:  # a positive pool alone orders nothing
        return pl.DataFrame(schema=_FACTS_SCHEMA)
    sql = orders_sql(scenario, kept_day(store, scenario), parts)
    return read(store, sql, named(sql, params), _FACTS_SCHEMA)


def _inbound_assessments(facts: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """The facts of an `assess` for each inbound person's weak positive whose Ct is below
    `testing.inbound_release_assessment_ct_below` (twenty measures, item 9)."""
    below = policy.testing.inbound_release_assessment_ct_below
    if below is None:
        return facts.clear()
    return facts.filter(
        (pl.col("rule") == "testing.weak_positive")
        & (pl.col("order_type") == OrderType.RETEST.value)
        & pl.col("inbound")
        & pl.col("person_id").is_not_null()
        & (pl.col("ct") < below)
    ).with_columns(
        pl.lit(OrderType.ASSESS.value).alias("order_type"),
        pl.lit("testing.inbound_assessment").alias("rule"),
    )


# -- state as of an instant ----------------------------------------------------------------------

_LATEST_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "sampled_at": TIME,
    "reported_at": TIME,
}
_CONTROL_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "tube_id": pl.String(),
    "since": TIME,
}


def latest_negative(store: Store, as_of: datetime) -> pl.DataFrame:
    """Per person, the latest negative test as of `as_of` (a negative pooled tube counts for all
    its members): `person_id`, `sampled_at` (the latest sampling of a negative tube) and
    `reported_at` (the latest report of one). A tube counts by its result as of `as_of`."""
    until = _aware(as_of, "as_of")
    sql = f"{LATEST_NEGATIVE_SQL} ORDER BY person_id"
    return read(store, sql, {"until": until}, _LATEST_SCHEMA)


def validity_column(policy: Policy) -> Literal["sampled_at", "reported_at"] | None:
    """The column of `latest_negative` from which `policy` counts a test's validity; None when
    the policy has no test-validity rule."""
    start = policy.health_code.test_validity_counted_from
    if start is None:
        return None
    return "reported_at" if start is ValidityStart.REPORT else "sampled_at"


def under_temporary_control(store: Store, as_of: datetime, policy: Policy) -> pl.DataFrame:
    """The temporary controls open at `as_of`: `person_id`, the positive pool's `tube_id`, and
    `since` (the pool's report). One row per person and pool."""
    until = _aware(as_of, "as_of")
    # a control needs a pool (a tube of two or more samples) with a positive result: where
    # none was ever reported, the query below (every tube's latest result) has nothing to find;
    # in a run, the testing step found whether one was by the day's end
    memo = run_memo(store, until.astimezone(LOCAL_ZONE).date())
    known = memo.get(_pool_key(until + _INSTANT)) if memo is not None else None
    if known is False or (
        known is None and not store.scalar(_ANY_POSITIVE_POOL_SQL, {"until": until})
    ):
        return pl.DataFrame(schema=_CONTROL_SCHEMA)
    params = {**_cutoff_params(policy), "until": until}
    return read(store, UNDER_CONTROL_SQL, params, _CONTROL_SCHEMA)


# a pool positive by an instant: a positive report, and two samples or more, by then (as the
# `pools` of `MAY_ORDER_SQL`, there before an instant)
_ANY_POSITIVE_POOL_SQL = """
SELECT EXISTS (
    SELECT 1 FROM sample s
    WHERE s.sampled_at <= :until AND s.tube_id IN (
        SELECT tube_id FROM tube_result WHERE "result" = 'positive' AND reported_at <= :until)
    GROUP BY s.tube_id
    HAVING count(*) > 1
)"""
_INSTANT = timedelta(microseconds=1)  # the resolution of the stored times


def _pool_key(before: datetime) -> str:
    """The run memo's name for whether a positive pool existed before `before`."""
    return f"testing.positive_pool_before.{before.isoformat()}"


@dataclass(frozen=True, slots=True)
class RoundProgress:
    """The progress of a testing round (区域核酸筛查) at `as_of`.

    Scope: with `region`, the residents of the regions whose code starts with it (`person.
    region_code`), their samples and the tubes holding at least one of them; without, every
    registered person and every sample of the round (visitors included).
    """

    round_id: str
    region: str | None
    as_of: datetime
    persons_to_test: int  # registered persons in scope
    sampled: int  # distinct persons in scope with a sample of the round
    not_yet_sampled: int  # registered persons in scope with none
    tubes: int  # tubes holding a sample in scope
    tubes_tested: int  # ... with a result
    tubes_outstanding: int  # ... without a result yet
    tubes_overdue: int  # outstanding past the policy's result deadline
    tubes_invalid: int  # tested, result invalid (members re-sampled)
    positive_tubes: int  # result positive (below the Ct cut-off)
    positives_confirmed: int  # persons positive by a single tube of the round or a retest
    awaiting_retest: int  # members of positive pools with no definitive retest yet

    def as_dict(self) -> dict[str, object]:
        return {
            "round_id": self.round_id,
            "region": self.region,
            "as_of": self.as_of.isoformat(),
            **{k: getattr(self, k) for k in _COUNTS},
        }


_COUNTS = (
    "persons_to_test",
    "sampled",
    "not_yet_sampled",
    "tubes",
    "tubes_tested",
    "tubes_outstanding",
    "tubes_overdue",
    "tubes_invalid",
    "positive_tubes",
    "positives_confirmed",
    "awaiting_retest",
)


def round_progress(
    store: Store,
    round_id: str,
    as_of: datetime,
    *,
    region: str | None = None,
    policy: Policy | None = None,
) -> RoundProgress:
    """The progress of round `round_id` at `as_of`, for the residents of `region` (a division
    code, matched as a prefix) or for everyone. Positives use the Ct cut-offs of `policy`, by
    default the policy in force on `as_of`'s local date. NotFoundError if no sample carries the
    round id."""
    until = _aware(as_of, "as_of")
    if region is not None and not region.isdigit():
        raise InputError(f"a region is a division code of digits, not {region!r}")
    found = store.scalar("SELECT 1 FROM sample WHERE round_id = :r LIMIT 1", {"r": round_id})
    if found is None:
        raise NotFoundError(f"no sample belongs to round {round_id!r}")
    pol = policy or policy_in_force(until.astimezone(LOCAL_ZONE).date())
    params: dict[str, Any] = {
        **_cutoff_params(pol),
        "until": until,
        "round_id": round_id,
        "overdue_before": until - result_deadline_of(pol),
    }
    if region is not None:
        params["region_prefix"] = region + "%"
    row = store.fetch(round_progress_sql(by_region=region is not None), params).row(0, named=True)
    return RoundProgress(
        round_id=round_id,
        region=region,
        as_of=until,
        **{k: int(row[k] or 0) for k in _COUNTS},
    )
