"""Risk areas kept between runs (`zones_kept`): a run whose day brings nothing that can change
the previous run's areas keeps them instead of drawing them again; every run stores the areas
drawn from scratch (`draw_areas` from the whole history) — day by day, with a late report, a late
check-in, a rerun, a what-if beside live, and an area waiting for its round; the low areas (the
rest of each county with a high or medium area) with them. Both backends."""

from __future__ import annotations

import itertools
import logging
from datetime import date, timedelta

import polars as pl
import pytest

from fangkong.engine.day import run_day
from fangkong.engine.scenario import LIVE, Scenario, open_scenario
from fangkong.engine.zones import AREA_SCHEMA, areas_on, draw_areas
from fangkong.policy import Policy, load_policy
from fangkong.store import Store

from .test_tracing import Events, at

NINTH = load_policy("cn-2022-06-28")  # stays: medium, 7 days; residences: high, round on day 7
WHATIF = load_policy("whatif-2022-06-28-close-contacts-5-3")
FIRST = date(2022, 7, 1)
KEPT = "fangkong.engine.zones_kept"

_SCANS = itertools.count(1)  # scan ids unique across the days' imports
# venue -> the days (from FIRST) a case who stayed there the day before is reported
VENUE_CASES = {1: [0, 5, 10], 2: [2, 12], 3: [3, 9], 4: [16]}


class Runs:
    """Runs days and checks each run's areas against the areas drawn from scratch."""

    def __init__(self, store: Store, caplog: pytest.LogCaptureFixture) -> None:
        self.store, self.caplog = store, caplog
        self.kept: set[tuple[str, date]] = set()
        caplog.set_level(logging.DEBUG, logger=KEPT)

    def run(self, day: date, policy: Policy = NINTH, scenario: Scenario = LIVE) -> pl.DataFrame:
        self.caplog.clear()
        self.kept.discard((scenario.name, day))  # a rerun says again
        run_day(self.store, day, policy, scenario=scenario)
        if any(r.name == KEPT for r in self.caplog.records):
            self.kept.add((scenario.name, day))
        stored = areas_on(self.store, day, scenario).select(list(AREA_SCHEMA))
        drawn = draw_areas(self.store, day, policy, scenario=scenario, whole_history=True)
        assert stored.equals(drawn), (scenario.name, day)
        # the low areas are the rest of the counties with a high or medium area, kept or drawn
        low = stored.filter(pl.col("level") == "low")
        higher = stored.filter(pl.col("level") != "low").get_column("region_code").str.slice(0, 6)
        assert sorted(low.get_column("region_code")) == sorted(set(higher)), (scenario.name, day)
        return stored


def _venues() -> Events:
    """The venues and the residents who are not cases, registered before the first run (a new
    venue or registration is new to a run, and draws its areas)."""
    e = Events()
    for venue in (*VENUE_CASES, 5, 6, 50):
        e.add("venue", venue_id=venue, region_code="310101", category="enclosed_entertainment")
    for pid in range(1000, 1030):
        e.person(pid, pid)
    return e


def _checkin(e: Events, pid: int, venue: int, start: str) -> Events:
    return e.add("checkin", scan_id=next(_SCANS), person_id=pid, venue_id=venue,
                 checkin_at=at(start), checkout_at=None)  # fmt: skip


def _day_events(k: int, pid: int) -> tuple[Events, int]:
    """The cases reported on day `k` (and their check-ins of the day before)."""
    e = Events()
    day = FIRST + timedelta(days=k)
    for venue, days in VENUE_CASES.items():
        if k in days:
            pid += 1
            e.person(pid, pid)
            _checkin(e, pid, venue, f"{day - timedelta(days=1)} 19:00")
            e.case(pid, f"{day} 10:00")
    # everyone's day: a check-in at an unlisted venue, which changes no area
    _checkin(e, 1000 + k, 50, f"{day} 12:00")
    return e, pid


def test_kept_areas_are_the_areas_drawn_whatever_comes_late(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    runs = Runs(store, caplog)
    _venues().load(store)
    pid = 0
    for k in range(22):
        events, pid = _day_events(k, pid)
        events.load(store, batch=k + 1)
        runs.run(FIRST + timedelta(days=k))
    kept = {d for _, d in runs.kept}
    # a day with a new case draws; the others keep, lifting the places' areas by their rules
    assert FIRST + timedelta(days=1) in kept and FIRST + timedelta(days=5) not in kept
    assert FIRST + timedelta(days=10) not in kept  # venue 1 raised again
    assert FIRST + timedelta(days=19) in kept  # venue 2's area lifted (day 12 + 7)
    assert "venue:2" in areas_on(store, FIRST + timedelta(days=18))["area_id"]
    assert "venue:2" not in areas_on(store, FIRST + timedelta(days=19))["area_id"]
    assert kept == {FIRST + timedelta(days=k) for k in range(22)} - {
        FIRST + timedelta(days=k) for k in (0, 2, 3, 5, 9, 10, 12, 16)
    }

    # a report of day 20 imported after that day was run, with its check-in at venue 5
    late = _checkin(Events().person(900, 900), 900, 5, "2022-07-20 18:00")
    late.case(900, "2022-07-21 08:00").load(store, batch=30)
    day22 = runs.run(FIRST + timedelta(days=22))
    assert ("live", FIRST + timedelta(days=22)) not in runs.kept
    assert "venue:5" in day22.get_column("area_id").to_list()
    day23 = runs.run(FIRST + timedelta(days=23))  # venue 4's area lifted (day 16 + 7)
    assert ("live", FIRST + timedelta(days=23)) in runs.kept
    assert "venue:4" not in day23["area_id"] and "venue:5" in day23["area_id"]

    # a check-in of case 900 in its window, imported late: a place where it stayed
    _checkin(Events(), 900, 6, "2022-07-19 11:00").load(store, batch=31)
    day24 = runs.run(FIRST + timedelta(days=24))
    assert ("live", FIRST + timedelta(days=24)) not in runs.kept
    assert "venue:6" in day24.get_column("area_id").to_list()

    # a rerun of day 20 (the late report is new to it): the runs after it no longer hold, and
    # day 25 draws
    runs.run(FIRST + timedelta(days=20))
    assert ("live", FIRST + timedelta(days=20)) not in runs.kept
    runs.run(FIRST + timedelta(days=25))
    assert ("live", FIRST + timedelta(days=25)) not in runs.kept
    day26 = runs.run(FIRST + timedelta(days=26))
    assert ("live", FIRST + timedelta(days=26)) in runs.kept
    assert {"venue:5", "venue:6"} <= set(day26.get_column("area_id"))  # the late case's, kept

    # what-ifs beside live: one under live's policy keeps live's areas of the day before its
    # fork; one under another policy draws its own; live's rows are untouched and live keeps
    # its own areas the next day
    live_rows = store.fetch(
        "SELECT * FROM risk_area WHERE scenario = 'live' ORDER BY run_day, area_id"
    )
    fork = FIRST + timedelta(days=26)
    same = open_scenario(store, "same", NINTH.id, fork)
    other = open_scenario(store, "close-5-3", WHATIF.id, fork)
    runs.run(fork, NINTH, same)
    runs.run(fork, WHATIF, other)
    assert ("same", fork) in runs.kept and ("close-5-3", fork) not in runs.kept
    assert store.fetch(
        "SELECT * FROM risk_area WHERE scenario = 'live' ORDER BY run_day, area_id"
    ).equals(live_rows)
    runs.run(fork + timedelta(days=1))
    runs.run(fork + timedelta(days=1), NINTH, same)


def test_an_area_waiting_for_its_round_is_drawn_when_the_round_can_count(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A compound's high area waits for the negative round of its day 7 (8 July); the swabs
    are taken that day and their results come the day after."""
    runs = Runs(store, caplog)
    world = Events()
    for pid in (1, 2, 3):
        world.person(pid, 10 * pid)
        world.rows["person"][-1] |= {"compound_id": "C1", "building_id": f"B{pid}"}
    world.case(1, "2022-07-01 10:00")
    world.load(store, batch=1)
    for k in range(16):
        day = FIRST + timedelta(days=k)
        if day == date(2022, 7, 8):
            swabs = Events()
            for pid in (2, 3):
                swabs.add("sample", sample_id=f"S{pid}", person_id=pid, tube_id=f"T{pid}",
                          sampled_at=at(f"{day} 08:00"), round_id=None)  # fmt: skip
            swabs.load(store, batch=k + 2)
        if day == date(2022, 7, 9):
            results = Events()
            for pid in (2, 3):
                results.add("tube_result", tube_id=f"T{pid}", result="negative",
                            reported_at=at(f"{day} 09:00"), ct_value=None, lab_id=None)  # fmt: skip
            results.load(store, batch=k + 2)
        runs.run(day)
    levels = {
        d: areas_on(store, d).select("level", "awaiting_round").rows()
        for d in (date(2022, 7, 7), date(2022, 7, 8), date(2022, 7, 9))
    }
    # the compound, and the rest of its county (low, waiting for no round of its own)
    assert levels[date(2022, 7, 7)] == [("high", True), ("low", False)]
    assert levels[date(2022, 7, 8)] == [("high", True), ("low", False)]  # swabbed, no result yet
    # lowered on the day of the round
    assert levels[date(2022, 7, 9)] == [("low", False), ("medium", False)]
    # the rest of the county ends with the compound: 3 days after it was lowered (on 8 July,
    # the day of the round)
    by_level = {r["level"]: r for r in areas_on(store, date(2022, 7, 9)).iter_rows(named=True)}
    assert by_level["medium"]["level_since"] == date(2022, 7, 8)
    low = by_level["low"]
    assert (low["area_id"], low["next_change_on"]) == ("county:310101", date(2022, 7, 11))
    assert areas_on(store, date(2022, 7, 10)).height == 2
    assert areas_on(store, date(2022, 7, 11)).height == 0
    kept = {d for _, d in runs.kept}
    assert date(2022, 7, 3) in kept  # waiting, its round not due yet
    assert not kept & {date(2022, 7, 8), date(2022, 7, 9)}  # the round can count: drawn
