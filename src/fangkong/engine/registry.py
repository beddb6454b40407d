"""The case-registry events the engine's orders imply, written beside the registry's own
(`engine_case_event`, per scenario), so that the case episodes, the registry and the bulletin
move with the engine's decisions without a second implementation of them:

- a `report_case` order (a lab-positive single test, `testing.single_positive` or
  `testing.retest_positive`) becomes a `report`: an asymptomatic infection (无症状感染者) until a
  clinician's report says otherwise, imported when the person arrived from abroad within the
  policy's inbound regime before the report, else local; the person's residence (as the
  current view of the person has it at the report) as its region;
- a `discharge` order becomes an `outcome`: `cured` (治愈出院) for a confirmed case, `released`
  (解除医学观察) for an asymptomatic infection.

Each event names the rule of the order it comes from and has a stable id made from it (the same
order gives the same event), so a run of a day replaces its own events exactly.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from fangkong.engine.frames import IDS, ids_of, read
from fangkong.engine.orders import TIME
from fangkong.engine.scenario import Scenario
from fangkong.engine.treatment import case_state
from fangkong.model.glossary import CaseEventType, Diagnosis, OrderType, Origin, Outcome
from fangkong.policy.schema import Policy
from fangkong.policy.terms import Population
from fangkong.store import Store
from fangkong.store.person_view import current_person

__all__ = ["EVENT_SCHEMA", "derived_outcomes", "derived_reports", "store_events"]

EVENT_SCHEMA: dict[str, pl.DataType] = {
    "scenario": pl.String(),
    "run_day": pl.Date(),
    "report_id": pl.String(),
    "case_id": pl.String(),
    "person_id": pl.Int64(),
    "region_code": pl.String(),
    "reported_at": TIME,
    "event_type": pl.String(),
    "diagnosis": pl.String(),
    "origin": pl.String(),
    "severity": pl.String(),
    "outcome": pl.String(),
    "onset_date": pl.Date(),
    "rule": pl.String(),
}

_HOME_SQL = f"""
SELECT i.person_id, p.region_code, a.arrived_at
FROM (SELECT unnest(CAST(:ids AS BIGINT[])) AS person_id) i
LEFT JOIN {current_person(":until", person_ids=IDS)} p ON p.person_id = i.person_id
LEFT JOIN (
    SELECT person_id, max(arrived_at) AS arrived_at FROM arrival
    WHERE person_id IN ({IDS}) AND arrived_at < :until GROUP BY person_id
) a ON a.person_id = i.person_id
"""


def _event_id(kind: str) -> pl.Expr:
    return pl.format("engine-{}-{}-{}", pl.lit(kind), "person_id", "detail")


def derived_reports(
    store: Store, orders: pl.DataFrame, policy: Policy, scenario: Scenario, day: date
) -> pl.DataFrame:
    """`report` events for the day's `report_case` orders (EVENT_SCHEMA)."""
    rc = orders.filter(pl.col("order_type") == OrderType.REPORT_CASE.value).filter(
        pl.col("person_id").is_not_null()
    )
    if rc.height == 0:
        return pl.DataFrame(schema=EVENT_SCHEMA)
    until = rc.get_column("start_at").max()
    home = read(
        store,
        _HOME_SQL,
        {"ids": ids_of(rc.get_column("person_id")), "until": until},
        {"person_id": pl.Int64(), "region_code": pl.String(), "arrived_at": TIME},
    )
    regime = policy.regime(Population.INBOUND_TRAVELLER)
    inbound_days = timedelta(days=regime.total_days if regime else 0)
    imported = pl.col("arrived_at").is_not_null() & (
        pl.col("arrived_at") > pl.col("start_at") - inbound_days
    )
    return rc.join(home, on="person_id", how="left").select(
        pl.lit(scenario.name).alias("scenario"),
        pl.lit(day).alias("run_day"),
        _event_id("report").alias("report_id"),
        _event_id("case").alias("case_id"),
        "person_id",
        "region_code",
        pl.col("start_at").alias("reported_at"),
        pl.lit(CaseEventType.REPORT.value).alias("event_type"),
        pl.lit(Diagnosis.ASYMPTOMATIC.value).alias("diagnosis"),
        pl.when(imported)
        .then(pl.lit(Origin.IMPORTED.value))
        .otherwise(pl.lit(Origin.LOCAL.value))
        .alias("origin"),
        pl.lit(None, pl.String).alias("severity"),
        pl.lit(None, pl.String).alias("outcome"),
        pl.lit(None, pl.Date).alias("onset_date"),
        "rule",
    )


def derived_outcomes(
    store: Store, orders: pl.DataFrame, scenario: Scenario, day: date
) -> pl.DataFrame:
    """`outcome` events for the day's `discharge` orders (EVENT_SCHEMA)."""
    out = orders.filter(pl.col("order_type") == OrderType.DISCHARGE.value)
    if out.height == 0:
        return pl.DataFrame(schema=EVENT_SCHEMA)
    cases = case_state(store, day, ids_of(out.get_column("person_id")), scenario=scenario)
    confirmed = pl.col("diagnosis") == Diagnosis.CONFIRMED.value
    return (
        out.join(cases.drop("region_code"), on="person_id")
        .join(cases.select("person_id", "region_code"), on="person_id")
        .select(
            pl.lit(scenario.name).alias("scenario"),
            pl.lit(day).alias("run_day"),
            _event_id("outcome").alias("report_id"),
            "case_id",
            "person_id",
            "region_code",
            pl.col("start_at").alias("reported_at"),
            pl.lit(CaseEventType.OUTCOME.value).alias("event_type"),
            pl.lit(None, pl.String).alias("diagnosis"),
            pl.lit(None, pl.String).alias("origin"),
            pl.lit(None, pl.String).alias("severity"),
            pl.when(confirmed)
            .then(pl.lit(Outcome.CURED.value))
            .otherwise(pl.lit(Outcome.RELEASED.value))
            .alias("outcome"),
            pl.lit(None, pl.Date).alias("onset_date"),
            "rule",
        )
    )


def store_events(store: Store, events: pl.DataFrame) -> None:
    """Append derived events (inside the run's transaction)."""
    if events.height:
        rows = events.select(pl.col(c).cast(t) for c, t in EVENT_SCHEMA.items())
        store.insert_frame("engine_case_event", rows.unique("report_id", maintain_order=True))
