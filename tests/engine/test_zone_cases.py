"""Risk-area cases as data: each `zone_cases/*.yaml` gives a small world, runs the whole daily
chain (`run_day`) day by day under one policy, and lists the risk areas each day must have and
the quarantine orders given to people who stayed in or left one. Written for an
epidemiologist to review against policies/sources/policy-facts.md (`reviewed_against`).

Format: `policy`; `given` (rows of the store's tables, Beijing times); `days`, each with `add`
(rows stored before that day's run: the events of the day, or late ones), `expect_areas`
(**all** the areas in force that day: `area` = unit:key, and any of level, unit, reason,
drawn_on, since (= level_since), next_level, next_change_on, awaiting_round) and
`expect_orders` (**all** the `quarantine` orders of the day for the populations
left_high_risk_area and left_medium_risk_area: person, population, detail, from, until),
`expect_measures` (**all** the areas' measures in force that day: area, subject = residents or a
venue category, restriction, measure, and any of level, from, until), `expect_confined` (every
resident confined that day by an area's measure: person → restriction) and `expect_venues`
(every venue under a measure that day: venue → restriction), `expect_rounds` (**all** the
`area_round` orders of the day: person → [area, day of the swab]).
A day without an expectation is run and not checked.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from fangkong.engine.day import run_day
from fangkong.engine.zones import areas_on
from fangkong.engine.zones_measures import (
    measures_on,
    residents_under_measures,
    venues_under_measures,
)
from fangkong.policy.terms import Population
from fangkong.store import Store

from .test_policy_cases import _when, open_case, put

CASES = Path(__file__).resolve().parent / "zone_cases"
DEPARTED = [Population.LEFT_HIGH_RISK_AREA.value, Population.LEFT_MEDIUM_RISK_AREA.value]
_FIELDS = {
    "level": "level",
    "unit": "unit",
    "reason": "reason",
    "drawn_on": "drawn_on",
    "since": "level_since",
    "next_level": "next_level",
    "next_change_on": "next_change_on",
    "awaiting_round": "awaiting_round",
}


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def check_areas(found: pl.DataFrame, expected: list[dict[str, Any]], where: str) -> None:
    by_id = {r["area_id"]: r for r in found.iter_rows(named=True)}
    assert sorted(by_id) == sorted(e["area"] for e in expected), f"{where}: areas"
    for e in expected:
        row = by_id[e["area"]]
        for key, column in _FIELDS.items():
            if key in e:
                assert _plain(row[column]) == _plain(e[key]), f"{where}: {e['area']}.{key}"


def departure_orders(orders: pl.DataFrame) -> list[tuple[object, ...]]:
    mine = orders.filter(
        (pl.col("order_type") == "quarantine") & pl.col("population").is_in(DEPARTED)
    )
    rows = [
        (r["person_id"], r["population"], r["detail"], _when(r["start_at"]), _when(r["end_at"]))
        for r in mine.iter_rows(named=True)
    ]
    return sorted(rows, key=repr)


def _expected_orders(rows: list[dict[str, Any]]) -> list[tuple[object, ...]]:
    out = [
        (r["person"], r["population"], r["detail"], str(r["from"]), str(r["until"])) for r in rows
    ]
    return sorted(out, key=repr)


_MEASURE_FIELDS = {
    "level": "level",
    "measure": "measure",
    "from": "in_force_from",
    "until": "in_force_until",
}


def check_measures(found: pl.DataFrame, expected: list[dict[str, Any]], where: str) -> None:
    by_key = {(r["area_id"], r["subject"]): r for r in found.iter_rows(named=True)}
    assert sorted(by_key) == sorted((e["area"], e["subject"]) for e in expected), where
    for e in expected:
        row = by_key[(e["area"], e["subject"])]
        assert row["restriction"] == e["restriction"], f"{where}: {e['area']} {e['subject']}"
        for key, column in _MEASURE_FIELDS.items():
            if key in e:
                assert _plain(row[column]) == _plain(e[key]), f"{where}: {e['area']}.{key}"


def _under(frame: pl.DataFrame, key: str) -> dict[int, str]:
    return dict(frame.select(key, "restriction").iter_rows())


def _cases() -> list[Path]:
    return sorted(CASES.glob("*.yaml"))


@pytest.mark.parametrize("path", _cases(), ids=lambda p: p.stem)
def test_zone_case(store: Store, path: Path) -> None:
    case, policy = open_case(store, path)
    checked = 0
    for step in case["days"]:
        day = date.fromisoformat(str(step["day"]))
        for name, rows in (step.get("add") or {}).items():
            put(store, name, rows)
        result = run_day(store, day, policy)
        where = f"{path.name}, {day}"
        if "expect_areas" in step:
            checked += 1
            check_areas(areas_on(store, day), step["expect_areas"] or [], where)
        if "expect_measures" in step:
            checked += 1
            check_measures(measures_on(store, day), step["expect_measures"] or [], where)
        if "expect_confined" in step:
            checked += 1
            confined = _under(residents_under_measures(store, day), "person_id")
            assert confined == (step["expect_confined"] or {}), f"{where}: confined"
        if "expect_venues" in step:
            checked += 1
            venues = _under(venues_under_measures(store, day), "venue_id")
            assert venues == (step["expect_venues"] or {}), f"{where}: venues"
        if "expect_rounds" in step:
            checked += 1
            rounds = result.orders.filter(pl.col("order_type") == "area_round")
            found = {
                r["person_id"]: [r["place"], _when(r["start_at"])]
                for r in rounds.iter_rows(named=True)
            }
            assert found == (step["expect_rounds"] or {}), f"{where}: rounds"
        if "expect_orders" in step:
            checked += 1
            want = _expected_orders(step["expect_orders"] or [])
            assert departure_orders(result.orders) == want, f"{where}: orders"
    assert checked, f"{path.name} checks no day"


def test_every_regime_has_zone_cases() -> None:
    """2020 county levels, the 9th edition, the twenty measures and class-B management."""
    used = {yaml.safe_load(p.read_text(encoding="utf-8"))["policy"] for p in _cases()}
    assert {"cn-2020-04-08", "cn-2022-06-28", "cn-2022-11-11", "cn-2023-01-08"} <= used
