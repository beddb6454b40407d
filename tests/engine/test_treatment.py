"""Treatment beyond the policy cases: discharge thresholds by policy, severe cases, no bed
(a clear state, retried), the bed freed on discharge, back to care from monitoring."""

from __future__ import annotations

from datetime import date

import polars as pl

from fangkong.engine.day import run_day
from fangkong.engine.facility import NO_BED, occupancy
from fangkong.engine.tracing import cases_to_trace
from fangkong.engine.treatment import case_state, treatment_orders
from fangkong.policy import load_policy
from fangkong.store import Store

from .test_policy_cases import at, put, run_steps

NINTH = load_policy("cn-2022-06-28")
APRIL_2020 = load_policy("cn-2020-04-08")
SHELTER = {"facility_id": "FC-1", "kind": "shelter_hospital", "region_code": "310115"}


def report(
    person: int, when: str, severity: str | None = "mild", **more: object
) -> dict[str, object]:
    return {
        "report_id": f"R{person}-{when}",
        "case_id": f"C{person}",
        "person_id": person,
        "region_code": "310104",
        "reported_at": when,
        "event_type": "report",
        "diagnosis": "confirmed",
        "origin": "local",
        "severity": severity,
        **more,
    }


def results(store: Store, person: int, *rows: tuple[str, str, float | None]) -> None:
    """Single-tube samples of `person` (sampled at, result, Ct), reported 10 h later."""
    put(
        store,
        "sample",
        [
            {
                "sample_id": f"S{person}-{when}",
                "person_id": person,
                "tube_id": f"T{person}-{when}",
                "sampled_at": when,
            }
            for when, _r, _ct in rows
        ],
    )
    put(
        store,
        "tube_result",
        [
            {
                "tube_id": f"T{person}-{when}",
                "result": r,
                "ct_value": ct,
                "reported_at": f"{when[:10]} 20:00",
            }
            for when, r, ct in rows
        ],
    )


def admitted(store: Store, day: date, capacity: int = 10) -> None:
    put(store, "facility", [{**SHELTER, "capacity": capacity}])
    run_steps(store, day, NINTH, ["treatment_orders"])


def test_discharge_ct_threshold_depends_on_the_policy(store: Store) -> None:
    put(store, "case_report", [report(1, "2022-07-01 09:00")])
    admitted(store, date(2022, 7, 1))
    results(
        store, 1, ("2022-07-08 08:00", "positive", 36.0), ("2022-07-09 09:00", "positive", 37.0)
    )
    day = date(2022, 7, 9)
    # Ct 36 and 37 meet the 9th plan's Ct >= 35, not the 2020 plan's two negatives (Ct >= 40)
    assert "discharge" in treatment_orders(store, day, NINTH).get_column("order_type").to_list()
    assert (
        treatment_orders(store, day, APRIL_2020).filter(pl.col("order_type") == "discharge").height
        == 0
    )


def test_a_low_ct_after_the_good_ones_restarts_the_count(store: Store) -> None:
    put(store, "case_report", [report(1, "2022-07-01 09:00")])
    admitted(store, date(2022, 7, 1))
    results(
        store,
        1,
        ("2022-07-06 08:00", "positive", 36.0),
        ("2022-07-07 09:00", "positive", 30.0),
        ("2022-07-08 10:00", "negative", None),
    )
    assert treatment_orders(store, date(2022, 7, 8), NINTH).height == 0
    results(store, 2, ("2022-07-09 11:00", "negative", None))  # another person's: no effect
    assert treatment_orders(store, date(2022, 7, 9), NINTH).height == 0


def test_a_severe_case_is_not_discharged_on_ct_alone(store: Store) -> None:
    put(
        store,
        "facility",
        [
            {
                "facility_id": "DH-1",
                "kind": "designated_hospital",
                "region_code": "310115",
                "capacity": 10,
            }
        ],
    )
    put(store, "case_report", [report(1, "2022-07-01 09:00", "severe")])
    admitted(store, date(2022, 7, 1))
    results(
        store, 1, ("2022-07-08 08:00", "negative", None), ("2022-07-09 09:00", "negative", None)
    )
    assert treatment_orders(store, date(2022, 7, 9), NINTH).height == 0


def test_no_bed_is_a_clear_state_retried_the_next_day(store: Store) -> None:
    put(store, "case_report", [report(p, "2022-07-01 09:00") for p in (1, 2)])
    put(store, "facility", [{**SHELTER, "capacity": 1}])
    day = date(2022, 7, 1)
    orders, _ = run_steps(store, day, NINTH, ["treatment_orders"])
    admits = orders.filter(pl.col("order_type") == "admit").sort("person_id")
    assert admits.get_column("place").to_list() == ["FC-1", None]
    assert admits.item(1, "reason").startswith(NO_BED)
    assert (
        orders.filter((pl.col("person_id") == 2) & (pl.col("order_type") == "transfer")).height == 0
    )
    # person 1 is discharged on 07-09; on 07-10 the bed is free and person 2 gets it
    results(
        store, 1, ("2022-07-08 08:00", "negative", None), ("2022-07-09 09:00", "negative", None)
    )
    for d in range(2, 10):  # the days in between: person 2 still waits, no duplicate orders
        orders, _ = run_steps(store, date(2022, 7, d), NINTH, ["treatment_orders"])
    assert set(orders.get_column("order_type")) >= {"discharge", "monitor", "admit"}
    assert occupancy(store, date(2022, 7, 10)).item(0, "occupied") == 0
    orders, _ = run_steps(store, date(2022, 7, 10), NINTH, ["treatment_orders"])
    assert orders.filter(pl.col("order_type") == "admit").select("person_id", "place").rows() == [
        (2, "FC-1")
    ]


def discharged_on_07_09(store: Store) -> None:
    """Case 1, reported on 07-01, admitted, and discharged on 07-09 (monitoring from 07-10)."""
    put(store, "case_report", [report(1, "2022-07-01 09:00")])
    admitted(store, date(2022, 7, 1))
    results(
        store, 1, ("2022-07-08 08:00", "negative", None), ("2022-07-09 09:00", "negative", None)
    )
    run_steps(store, date(2022, 7, 9), NINTH, ["treatment_orders"])


def low_ct_on_07_16(store: Store) -> None:
    """Case 1's monitoring test of day 7 (07-16): Ct 30, below the return cut-off (35)."""
    put(
        store,
        "sample",
        [{"sample_id": "M1", "person_id": 1, "tube_id": "TM1", "sampled_at": "2022-07-16 08:00"}],
    )
    put(
        store,
        "tube_result",
        [
            {
                "tube_id": "TM1",
                "result": "positive",
                "ct_value": 30.0,
                "reported_at": "2022-07-16 18:00",
            }
        ],
    )


def test_monitoring_test_with_a_low_ct_sends_back(store: Store) -> None:
    discharged_on_07_09(store)
    # monitoring day 7 = 07-16: Ct 30 < 35 → back to a 方舱
    results(store, 3, ("2022-07-16 08:00", "positive", 30.0))
    low_ct_on_07_16(store)
    orders = treatment_orders(store, date(2022, 7, 16), NINTH)
    assert orders.select("order_type", "place", "rule").sort("order_type").rows() == [
        ("admit", "FC-1", "treatment.monitor_return"),
        ("transfer", "FC-1", "treatment.transfer"),
    ]


def test_a_monitoring_older_than_the_open_cases_still_sends_back(store: Store) -> None:
    """The orders a day's decisions read reach back to the earliest open episode, and further
    to the discharge of a monitoring in force: case 1 is discharged on 07-09, case 2 opens on
    07-14, and case 1's low Ct on 07-16 still sends them back to care."""
    discharged_on_07_09(store)
    # the registry's outcome of the discharge closes case 1's episode (as a run derives it)
    cured = {"event_type": "outcome", "outcome": "cured", "diagnosis": None, "severity": None}
    put(store, "case_report", [report(1, "2022-07-09 12:00", **cured)])
    put(store, "case_report", [report(2, "2022-07-14 09:00")])
    first, _ = run_steps(store, date(2022, 7, 14), NINTH, ["treatment_orders"])
    assert first.filter(pl.col("order_type") == "admit").get_column("person_id").to_list() == [2]
    low_ct_on_07_16(store)
    orders = treatment_orders(store, date(2022, 7, 16), NINTH)
    assert orders.select("person_id", "order_type", "rule").sort("order_type").rows() == [
        (1, "admit", "treatment.monitor_return"),
        (1, "transfer", "treatment.transfer"),
    ]


def test_a_return_from_monitoring_gets_a_bed_with_no_case_open(store: Store) -> None:
    """As a run leaves it: the discharge's outcome closes case 1's episode, so on 07-16 nobody
    has an open episode; the monitoring test's low Ct still finds case 1 a bed."""
    discharged_on_07_09(store)
    cured = {"event_type": "outcome", "outcome": "cured", "diagnosis": None, "severity": None}
    put(store, "case_report", [report(1, "2022-07-09 12:00", **cured)])
    low_ct_on_07_16(store)
    orders = treatment_orders(store, date(2022, 7, 16), NINTH)
    assert orders.select("person_id", "order_type", "place", "rule").sort("order_type").rows() == [
        (1, "admit", "FC-1", "treatment.monitor_return"),
        (1, "transfer", "FC-1", "treatment.transfer"),
    ]


def test_an_outcome_in_the_registry_ends_the_case_and_frees_the_bed(store: Store) -> None:
    put(store, "case_report", [report(1, "2022-07-01 09:00")])
    admitted(store, date(2022, 7, 1))
    put(
        store,
        "case_report",
        [
            {
                **report(1, "2022-07-05 09:00"),
                "event_type": "outcome",
                "diagnosis": None,
                "severity": None,
                "outcome": "cured",
            }
        ],
    )
    assert occupancy(store, date(2022, 7, 6)).item(0, "occupied") == 0
    state = case_state(store, date(2022, 7, 6)).row(0, named=True)
    assert state["outcome_at"] is not None
    assert treatment_orders(store, date(2022, 7, 6), NINTH).height == 0


def test_a_discharge_is_dated_when_its_criteria_are_met(store: Store) -> None:
    """A case whose second result meeting the discharge criteria is reported at 20:00 is
    discharged then, not from the day's start: a report of the same infection made earlier that
    day (the clinicians' own, at 18:00) belongs to the episode, and opens no new one that
    tracing would trace again (a twin outbreak showed it: the derived outcome, dated 00:00,
    preceded the report)."""
    put(store, "facility", [{**SHELTER, "capacity": 10}])
    first = report(1, "2022-07-08 09:00", diagnosis="asymptomatic")
    clinic = report(1, "2022-07-09 18:00", diagnosis="asymptomatic", case_id="C1-clinic")
    put(store, "case_report", [first, clinic])
    results(
        store, 1, ("2022-07-08 08:00", "positive", 38.0), ("2022-07-09 08:00", "negative", None)
    )
    run_day(store, date(2022, 7, 8), NINTH)
    day = date(2022, 7, 9)
    orders = run_day(store, day, NINTH).orders
    discharge = orders.filter(pl.col("order_type") == "discharge")
    assert discharge.get_column("start_at").to_list() == [at("2022-07-09 20:00")]
    episode = case_state(store, day).row(0, named=True)
    assert (episode["case_since"], episode["outcome_at"]) == (
        at("2022-07-08 09:00"),
        at("2022-07-09 20:00"),
    )
    assert cases_to_trace(store, day, NINTH).height == 0  # no episode opened on the day
