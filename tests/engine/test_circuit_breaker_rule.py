"""The flight circuit breaker (熔断) over frames (`border.circuit_breaker_rule`), driven as a
simulator drives it: flight arrivals, their results and case episodes, and the routes rewarded
before, all frames of its own (`CircuitFacts.of`), and no store. Under the June 2020 regime: 5
positive passengers of one arrival suspend the route for a week, 10 for four weeks, counted
within the inbound regime's 14 days of the arrival; a route that flew every week for three
weeks with no positive passenger may fly one more flight a week, once a streak."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from fangkong.engine.border import CircuitFacts, circuit_breaker_rule
from fangkong.policy import load_policy

from .rule_frames import at

JUNE_2020 = load_policy("cn-2020-06-08")
BREAKER = JUNE_2020.inbound.circuit_breaker


def _arrivals(flight: str, people: range, arrived: str) -> list[dict[str, object]]:
    return [
        {
            "arrival_id": f"A{p}",
            "person_id": p,
            "arrived_at": at(arrived),
            "port_region_code": "310115",
            "flight": flight,
            "destination_region_code": None,
            "certificate": None,
        }
        for p in people
    ]


def _positives(people: range, sampled: str) -> list[dict[str, object]]:
    return [
        {
            "person_id": p,
            "sample_id": f"S{p}",
            "sampled_at": at(sampled),
            "result": "positive",
            "ct_value": 25.0,
            "reported_at": at(sampled) + timedelta(hours=6),
            "members": 1,
        }
        for p in people
    ]


def _orders(facts: CircuitFacts, day: date) -> list[tuple[object, ...]]:
    assert BREAKER is not None
    orders = circuit_breaker_rule(facts, day, JUNE_2020, BREAKER)
    return orders.select(
        "order_type", "place", "rule", pl.col("start_at").dt.date(), pl.col("end_at").dt.date()
    ).rows()


def test_positive_passengers_suspend_a_route_by_their_number() -> None:
    facts = CircuitFacts.of(
        arrivals=pl.DataFrame(
            [
                *_arrivals("CA934", range(1, 11), "2020-06-10 07:00"),
                *_arrivals("MU220", range(11, 16), "2020-06-10 07:00"),
                *_arrivals("SQ830", range(21, 31), "2020-06-10 07:00"),
            ]
        ),
        # SQ830's passengers were found 15 days after arriving: outside the 14 days
        results=pl.DataFrame(
            [
                *_positives(range(1, 11), "2020-06-10 12:00"),
                *_positives(range(11, 16), "2020-06-10 12:00"),
                *_positives(range(21, 31), "2020-06-25 08:00"),
            ]
        ),
    )
    assert sorted(_orders(facts, date(2020, 6, 10))) == [
        (
            "suspend_route",
            "CA934",
            "border.circuit_breaker.long",
            date(2020, 6, 11),
            date(2020, 7, 9),
        ),
        (
            "suspend_route",
            "MU220",
            "border.circuit_breaker.short",
            date(2020, 6, 11),
            date(2020, 6, 18),
        ),
    ]
    # the next day the counts were already reached at its start: nothing new
    assert _orders(facts, date(2020, 6, 11)) == []
    assert _orders(facts, date(2020, 6, 25)) == []


def test_three_clean_weeks_reward_a_route_once() -> None:
    weekly = [
        row
        for k, arrived in enumerate(("2020-06-11 07:00", "2020-06-18 07:00", "2020-06-25 07:00"))
        for row in _arrivals("CA934", range(100 * k + 1, 100 * k + 4), arrived)
    ]
    facts = CircuitFacts.of(arrivals=pl.DataFrame(weekly))
    day = date(2020, 6, 26)  # weeks: 06-19..06-25, 06-12..06-18, 06-05..06-11
    assert _orders(facts, day) == [
        ("reward_route", "CA934", "border.circuit_breaker.reward", date(2020, 6, 27), None)
    ]

    def rewarded_on(run_day: date) -> CircuitFacts:
        done = pl.DataFrame({"flight": ["CA934"], "run_day": [run_day]})
        return CircuitFacts.of(arrivals=facts.arrivals, rewarded=done)

    assert _orders(rewarded_on(date(2020, 6, 20)), day) == []
    # a reward before the streak's first day (06-05) is an earlier streak's: rewarded again
    assert len(_orders(rewarded_on(date(2020, 6, 4)), day)) == 1
    # arrivals older than the window the breaker reads count for nothing
    assert _orders(facts, date(2020, 8, 1)) == []
