"""Border: arrivals imported through the real import path, rooms near the port, an arrival
without a flight, and the circuit breaker's thresholds, counting window and policies."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from fangkong.engine.border import NO_FLIGHT, border_orders
from fangkong.engine.day import run_day
from fangkong.engine.facility import assign_facilities
from fangkong.ingest import import_file
from fangkong.policy import load_policy
from fangkong.store import Store

from .test_policy_cases import as_rows, put

CARE = Path(__file__).resolve().parents[1] / "data" / "care"
NINTH = load_policy("cn-2022-06-28")
JUNE_2020 = load_policy("cn-2020-06-08")


def test_imported_arrivals_get_rooms_near_the_port(store: Store) -> None:
    for kind in ("persons", "facilities", "arrivals"):
        import_file(store, kind, CARE / f"{kind}.csv")
    day = date(2022, 7, 2)
    orders, occ = assign_facilities(store, border_orders(store, day, NINTH), day, NINTH.facilities)
    rooms = dict(
        orders.filter(pl.col("detail") == "centralized_quarantine")
        .select("person_id", "place")
        .iter_rows()
    )
    # two rooms at the port's site (Pudong), then the nearest other site in the city (Xuhui)
    assert rooms == {1: "QS-PD-01", 2: "QS-PD-01", 3: "QS-XH-01", 5: "QS-XH-01"}
    homes = orders.filter(pl.col("detail") == "home_health_monitoring").sort("person_id")
    # person 2 has no destination: home is their residence; person 3 neither: still at home,
    # their residence (Pudong)
    assert homes.get_column("place").to_list() == ["home", "home", "home", "home"]
    no_flight = orders.filter(pl.col("person_id") == 3)
    assert all(NO_FLIGHT in r for r in no_flight.get_column("reason"))
    assert not any(
        NO_FLIGHT in r for r in orders.filter(pl.col("person_id") != 3).get_column("reason")
    )
    assert occ.filter(pl.col("facility_id") == "QS-PD-01").item(0, "free") == 0


def _arrive(store: Store, flight: str | None, people: range, arrived: str) -> None:
    put(
        store,
        "arrival",
        [
            {
                "arrival_id": f"A{p}",
                "person_id": p,
                "arrived_at": arrived,
                "port_region_code": "310115",
                "origin_country": "SG",
                "flight": flight,
            }
            for p in people
        ],
    )


def _flight(
    store: Store, flight: str | None, people: range, arrived: str, positive_on: str
) -> None:
    _arrive(store, flight, people, arrived)
    put(
        store,
        "sample",
        [
            {
                "sample_id": f"S{p}",
                "person_id": p,
                "tube_id": f"T{p}",
                "sampled_at": f"{positive_on} 08:00",
            }
            for p in people
        ],
    )
    put(
        store,
        "tube_result",
        [
            {
                "tube_id": f"T{p}",
                "result": "positive",
                "ct_value": 25.0,
                "reported_at": f"{positive_on} 20:00",
            }
            for p in people
        ],
    )


def _suspensions(
    store: Store, day: date, policy_id: str = "cn-2020-06-08"
) -> list[tuple[object, ...]]:
    orders = border_orders(store, day, load_policy(policy_id))
    return as_rows(orders.filter(pl.col("order_type") == "suspend_route"))


def test_ten_positives_suspend_for_four_weeks(store: Store) -> None:
    _flight(store, "CA934", range(1, 11), "2020-06-10 07:00", "2020-06-11")
    _flight(store, "MU220", range(11, 15), "2020-06-10 07:00", "2020-06-11")  # 4: below
    assert _suspensions(store, date(2020, 6, 11)) == [
        (None, "suspend_route", "10 positive passengers", "2020-06-12", "2020-07-10", "CA934")
    ]


def test_short_then_long_as_positives_come_in(store: Store) -> None:
    _flight(store, "CA934", range(1, 6), "2020-06-10 07:00", "2020-06-11")
    _flight(store, None, range(20, 30), "2020-06-10 07:00", "2020-06-11")  # no flight: no route
    assert _suspensions(store, date(2020, 6, 11)) == [
        (None, "suspend_route", "5 positive passengers", "2020-06-12", "2020-06-19", "CA934")
    ]
    # five more passengers of the same arrival positive two days later
    _arrive(store, "CA934", range(6, 11), "2020-06-10 07:00")
    put(
        store,
        "case_report",
        [
            {
                "report_id": f"R{p}",
                "case_id": f"C{p}",
                "person_id": p,
                "region_code": "310115",
                "reported_at": "2020-06-13 09:00",
                "event_type": "report",
                "diagnosis": "confirmed",
                "origin": "imported",
            }
            for p in range(6, 11)
        ],
    )
    assert _suspensions(store, date(2020, 6, 12)) == []
    assert _suspensions(store, date(2020, 6, 13)) == [
        (None, "suspend_route", "10 positive passengers", "2020-06-14", "2020-07-12", "CA934")
    ]


def test_positives_after_the_inbound_period_do_not_count(store: Store) -> None:
    # 14 days (2020 inbound regime) after arriving on 06-10: a positive on 06-25 is not the flight's
    _flight(store, "CA934", range(1, 6), "2020-06-10 07:00", "2020-06-25")
    assert _suspensions(store, date(2020, 6, 25)) == []


@pytest.mark.parametrize(
    ("policy_id", "expected"), [("cn-2022-06-28", 1), ("cn-2022-11-11", 0), ("cn-2020-04-08", 0)]
)
def test_the_breaker_exists_while_a_policy_has_one(
    store: Store, policy_id: str, expected: int
) -> None:
    _flight(store, "CA934", range(1, 6), "2022-11-20 07:00", "2022-11-21")
    assert len(_suspensions(store, date(2022, 11, 21), policy_id)) == expected
    assert (load_policy(policy_id).inbound.circuit_breaker is not None) == bool(expected)


def _rewards(store: Store, day: date) -> list[tuple[object, ...]]:
    orders = border_orders(store, day, JUNE_2020)
    return as_rows(orders.filter(pl.col("order_type") == "reward_route"))


def test_three_weeks_without_a_positive_reward_the_route_once(store: Store) -> None:
    # CA934 once a week for three weeks; MU220 skips the middle week; SQ830 carried a positive
    for week, arrived in enumerate(("2020-06-11 07:00", "2020-06-18 07:00", "2020-06-25 07:00")):
        _arrive(store, "CA934", range(100 * week + 1, 100 * week + 4), arrived)
        if week != 1:
            _arrive(store, "MU220", range(100 * week + 10, 100 * week + 12), arrived)
        if week != 0:
            _arrive(store, "SQ830", range(100 * week + 20, 100 * week + 22), arrived)
    _flight(store, "SQ830", range(1000, 1001), "2020-06-11 07:00", "2020-06-12")
    # on the third flight's day, its passengers are not tested yet: weeks end the day before
    assert _rewards(store, date(2020, 6, 25)) == []
    day = date(2020, 6, 26)  # weeks: 06-19..06-25, 06-12..06-18, 06-05..06-11
    reward = (None, "reward_route", "1 more weekly flight(s), at most 2", "2020-06-27", None)
    assert _rewards(store, day) == [(*reward, "CA934")]
    # stored by the run of the day, it is not given again within the streak's days, even when
    # the route flies on
    run_day(store, day, JUNE_2020)
    _arrive(store, "CA934", range(401, 403), "2020-07-02 07:00")
    assert _rewards(store, date(2020, 7, 3)) == []
    # MU220 flying every week, but already at the cap of 2 in the last week: no reward
    _arrive(store, "MU220", range(501, 503), "2020-06-18 07:00")
    _arrive(store, "MU220", range(503, 505), "2020-06-22 07:00")
    assert _rewards(store, day) == [(*reward, "CA934")]
    # under the twenty measures there is no circuit breaker, and no reward
    twenty = load_policy("cn-2022-11-11")
    assert twenty.inbound.circuit_breaker is None
