"""The treatment rule over frames (`treatment.treatment_rule`), driven as a simulator drives it:
with case episodes, care orders, test results and beds it holds itself (`TreatmentFacts.of`),
and no store. Under the 9th edition (cn-2022-06-28): mild cases to a shelter hospital, moderate
and worse to a designated one; discharge after two single-tube results of Ct >= 35 at least
24 hours apart, then 7 days of home health monitoring with a test on day 7, and back to care on
a monitoring result of Ct < 35."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from fangkong.engine.treatment import TreatmentFacts, isolation_lifted, treatment_rule
from fangkong.policy import load_policy

from .rule_frames import at, episodes

NINTH = "cn-2022-06-28"
D = date(2022, 7, 10)
SHELTER, DESIGNATED = "shelter_hospital", "designated_hospital"


def _care(*rows: tuple[int, str, str | None, str | None, str, str | None]) -> pl.DataFrame:
    """Care orders: (person, order type, place, detail, start, end)."""
    return pl.DataFrame(
        {
            "person_id": [r[0] for r in rows],
            "order_type": [r[1] for r in rows],
            "place": [r[2] for r in rows],
            "detail": [r[3] for r in rows],
            "run_day": [at(r[4]).date() for r in rows],
            "start_at": [at(r[4]) for r in rows],
            "end_at": [at(r[5]) if r[5] else None for r in rows],
        }
    )


def _results(*rows: tuple[int, str, str, float | None]) -> pl.DataFrame:
    """Single-tube results: (person, sampled, result, Ct)."""
    return pl.DataFrame(
        {
            "person_id": [r[0] for r in rows],
            "sample_id": [f"S{k}" for k in range(len(rows))],
            "sampled_at": [at(r[1]) for r in rows],
            "result": [r[2] for r in rows],
            "ct_value": [r[3] for r in rows],
            "reported_at": [at(r[1]) + timedelta(hours=6) for r in rows],
            "members": [1] * len(rows),
        }
    )


def _beds(shelter: int, designated: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "facility_id": ["FC-1", "DH-1"],
            "kind": [SHELTER, DESIGNATED],
            "region_code": ["310101", "310101"],
            "capacity": [shelter, designated],
            "occupied": [0, 0],
        }
    )


def _orders(facts: TreatmentFacts) -> dict[int, list[tuple[str, str | None, str]]]:
    orders = treatment_rule(facts, D, load_policy(NINTH)).sort("person_id", "order_type")
    found: dict[int, list[tuple[str, str | None, str]]] = {}
    for r in orders.iter_rows(named=True):
        found.setdefault(r["person_id"], []).append((r["order_type"], r["place"], r["rule"]))
    return found


def test_admission_escalation_discharge_and_return() -> None:
    facts = TreatmentFacts.of(
        cases=episodes(
            (1, "confirmed", "mild", "2022-07-10 08:00"),  # new: the one shelter bed
            (2, "confirmed", None, "2022-07-10 09:00"),  # new, routed as mild: no bed left
            (3, "confirmed", "severe", "2022-07-05 08:00"),  # in a shelter, now severe
            (4, "asymptomatic", None, "2022-07-01 08:00"),  # in a shelter, two good results
            (5, "confirmed", "mild", "2022-06-20 08:00"),  # discharged, monitored
        ),
        care=_care(
            (3, "admit", "FC-0", SHELTER, "2022-07-05 00:00", None),
            (4, "admit", "FC-0", SHELTER, "2022-07-01 00:00", None),
            (5, "discharge", "FC-0", None, "2022-07-05 00:00", None),
            (
                5,
                "monitor",
                "home",
                "home_health_monitoring",
                "2022-07-06 00:00",
                "2022-07-13 00:00",
            ),
        ),
        results=_results(
            (4, "2022-07-08 08:00", "negative", 36.0),
            (4, "2022-07-09 09:00", "negative", 37.0),  # 25 hours after the first
            (5, "2022-07-09 08:00", "positive", 30.0),
        ),
        beds=_beds(shelter=1, designated=1),
    )
    found = _orders(facts)
    assert found[1] == [
        ("admit", "FC-1", "treatment.admit"),
        ("transfer", "FC-1", "treatment.transfer"),
    ]
    assert found[2] == [("admit", None, "treatment.admit")]  # waits for a bed: no transfer
    assert found[3] == [
        ("admit", "DH-1", "treatment.escalation"),
        ("transfer", "DH-1", "treatment.transfer"),
    ]
    assert [o[0] for o in found[4]] == ["discharge", "monitor", "test"]
    # 5 is back to care, but both beds went first (escalations, then first reported)
    assert found[5] == [("admit", None, "treatment.monitor_return")]


def test_results_too_close_or_too_weak_keep_a_case_in() -> None:
    facts = TreatmentFacts.of(
        cases=episodes((4, "confirmed", "mild", "2022-07-01 08:00")),
        care=_care((4, "admit", "FC-1", SHELTER, "2022-07-01 00:00", None)),
        results=_results(
            (4, "2022-07-08 08:00", "negative", 36.0),
            (4, "2022-07-09 07:00", "negative", 37.0),  # 23 hours after the first
        ),
        beds=_beds(shelter=1, designated=1),
    )
    assert _orders(facts) == {}
    weak = _results(
        (4, "2022-07-07 08:00", "positive", 34.0), (4, "2022-07-09 08:00", "negative", 36.0)
    )
    assert _orders(TreatmentFacts.of(cases=facts.cases, care=facts.care, results=weak)) == {}


def test_nothing_in_care_orders_nothing() -> None:
    assert treatment_rule(TreatmentFacts.of(), D, load_policy(NINTH)).height == 0
    # class-B management orders no isolation: not even for a new case
    class_b = TreatmentFacts.of(cases=episodes((1, "confirmed", "mild", "2022-07-10 08:00")))
    assert treatment_rule(class_b, D, load_policy("cn-2023-01-08")).height == 0


def test_class_b_discharges_the_cases_still_admitted() -> None:
    facts = TreatmentFacts.of(
        cases=episodes(
            (1, "confirmed", "mild", "2022-07-05 08:00"),
            (2, "confirmed", "mild", "2022-07-06 08:00"),
        ),
        care=_care((1, "admit", "FC-1", SHELTER, "2022-07-05 00:00", None)),  # 2 was never in
    )
    lifted = isolation_lifted(facts, D, load_policy("cn-2023-01-08"))
    assert lifted.select("person_id", "order_type", "place", "rule").rows() == [
        (1, "discharge", "FC-1", "treatment.isolation_lifted")
    ]
    assert isolation_lifted(facts, D, load_policy(NINTH)).height == 0  # it orders isolation
