"""The release and conversion rule over frames (`quarantine.release_rule`), driven as a simulator
drives it: open quarantines, case episodes, results and test orders it holds itself
(`ReleaseFacts.of`), and no store. A phase whose last day has come is released when each of
its test days has a negative result; a missing one holds it and orders a make-up test (unless a
sample awaits its result); a positive single tube or a case report converts the quarantine; a
regime that no longer quarantines a population ends its quarantines."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from fangkong.engine.quarantine import ReleaseFacts, release_rule
from fangkong.policy import Population, QuarantineKind, load_policy

from .rule_frames import at, episodes

NINTH, TWENTY = "cn-2022-06-28", "cn-2022-11-11"
D = date(2022, 7, 10)
CENTRALIZED = QuarantineKind.CENTRALIZED_QUARANTINE.value
HOME = QuarantineKind.HOME_HEALTH_MONITORING.value
CONTACT, SECONDARY = Population.CLOSE_CONTACT.value, Population.SECONDARY_CONTACT.value


def _schedule(pid: int, population: str = CONTACT) -> list[dict[str, object]]:
    """A centralized phase from July 5 ending at the end of July 10 (the run day), then a
    home phase to July 13."""
    common = {
        "person_id": pid,
        "run_day": date(2022, 7, 4),
        "order_type": "quarantine",
        "rule": "quarantine.close_contact",
        "policy_id": NINTH,
        "reason": None,
        "population": population,
        "waiting_for": None,
        "released": False,
    }
    return [
        {
            **common,
            "start_at": at("2022-07-05 00:00"),
            "end_at": at("2022-07-11 00:00"),
            "place": "QS-1",
            "detail": CENTRALIZED,
        },
        {
            **common,
            "start_at": at("2022-07-11 00:00"),
            "end_at": at("2022-07-14 00:00"),
            "place": "home",
            "detail": HOME,
        },
    ]


def _tests(pid: int) -> list[dict[str, object]]:
    """Test orders on days 1 and 5 of the centralized phase (July 5 and July 9)."""
    return [
        {"person_id": pid, "run_day": date(2022, 7, 4), "start_at": at(day), "detail": name}
        for day, name in (("2022-07-05 00:00", "day 1"), ("2022-07-09 00:00", "day 5"))
    ]


def _result(pid: int, sampled: str, result: str | None, ct: float | None) -> dict[str, object]:
    return {
        "person_id": pid,
        "sample_id": f"S{pid}-{sampled}",
        "sampled_at": at(sampled),
        "result": result,
        "ct_value": ct,
        "reported_at": at(sampled) + timedelta(hours=6) if result else None,
        "members": 1,
    }


def _facts(results: list[dict[str, object]], population: str = CONTACT) -> ReleaseFacts:
    return ReleaseFacts.of(
        schedules=pl.DataFrame([*_schedule(1, population), *_schedule(2), *_schedule(3)]),
        results=pl.DataFrame(results),
        tests=pl.DataFrame([*_tests(1), *_tests(2), *_tests(3)]),
    )


def _orders(facts: ReleaseFacts, policy: str = NINTH) -> dict[int, list[tuple[str, str]]]:
    orders = release_rule(facts, D, load_policy(policy)).sort("person_id", "order_type")
    found: dict[int, list[tuple[str, str]]] = {}
    for r in orders.iter_rows(named=True):
        found.setdefault(r["person_id"], []).append((r["order_type"], r["rule"]))
    return found


def test_release_hold_and_conversion() -> None:
    # a negative result counts by its Ct against the positive cut-off (40 in the 9th edition)
    facts = _facts(
        [
            _result(1, "2022-07-05 09:00", "negative", None),
            _result(1, "2022-07-09 09:00", "negative", 41.0),
            _result(2, "2022-07-05 09:00", "negative", None),  # day 5 not taken
            _result(3, "2022-07-05 09:00", "negative", None),
            _result(3, "2022-07-08 09:00", "positive", 28.0),
        ]
    )
    found = _orders(facts)
    assert found[1] == [("release", "quarantine.release")]
    assert found[2] == [("test", "quarantine.release_held")]
    assert found[3] == [("convert", "quarantine.convert")]
    # a sample of day 5 awaiting its result: the release waits, no make-up test
    waiting = _facts([_result(2, "2022-07-05 09:00", "negative", None)])
    waiting = ReleaseFacts.of(
        schedules=waiting.schedules,
        results=pl.concat(
            [waiting.results, pl.DataFrame([_result(2, "2022-07-09 09:00", None, None)])],
            how="vertical_relaxed",
        ),
        tests=waiting.tests,
    )
    assert 2 not in _orders(waiting)
    # a test already ordered for the day: no make-up beside it
    today = {"person_id": 2, "run_day": D, "start_at": at("2022-07-10 00:00"), "detail": "x"}
    ordered = ReleaseFacts.of(
        schedules=facts.schedules,
        results=facts.results,
        tests=pl.concat([facts.tests, pl.DataFrame([today])], how="vertical_relaxed"),
    )
    assert 2 not in _orders(ordered)
    # a "negative" of Ct 38 is below the cut-off: it does not count, the release is held
    weak = facts.results.with_columns(
        pl.when(pl.col("person_id") == 1).then(38.0).otherwise(pl.col("ct_value")).alias("ct_value")
    )
    held = ReleaseFacts.of(schedules=facts.schedules, results=weak, tests=facts.tests)
    assert _orders(held)[1] == [("test", "quarantine.release_held")]


def test_a_case_report_converts_and_a_lifted_regime_releases() -> None:
    results = [_result(p, d, "negative", None) for p in (1, 2, 3) for d in ("2022-07-05 09:00",)]
    cases = episodes((3, "confirmed", "mild", "2022-07-09 10:00"))
    facts = _facts(results, population=SECONDARY)
    facts = ReleaseFacts.of(
        schedules=facts.schedules, cases=cases, results=facts.results, tests=facts.tests
    )
    found = _orders(facts)
    assert found[3] == [("convert", "quarantine.convert")]
    assert found[1] == [("test", "quarantine.release_held")]  # day 5 missing: held
    # the twenty measures quarantine no secondary contact: 1's phases end today, both of them
    lifted = _orders(facts, TWENTY)
    assert lifted[1] == [("release", "quarantine.regime_lifted")] * 2
    assert release_rule(ReleaseFacts.of(), D, load_policy(NINTH)).height == 0
