"""The areas of the places where cases stayed are drawn from the check-ins of the areas that can
still be in force (`zones._stay_checkins`: the latest reports first, further back only while an
area's chain of infections may reach further): over a long history with areas lifted, raised
again and kept for weeks, with a late report and a rerun, and in a what-if, they are the areas
drawn from every case's check-ins. Both backends."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from fangkong.engine.day import run_day
from fangkong.engine.scenario import open_scenario
from fangkong.engine.zones import AREA_SCHEMA, areas_on, draw_areas
from fangkong.policy import load_policy
from fangkong.store import Store

from .test_tracing import Events

NINTH = load_policy("cn-2022-06-28")  # medium areas where cases stayed, lifted after 7 days
WHATIF = load_policy("whatif-2022-06-28-close-contacts-5-3")
FIRST = date(2022, 7, 1)

# venue -> the days (from FIRST) a case who stayed there the day before is reported
VENUE_CASES = {
    1: list(range(0, 36, 5)),  # one chain for five weeks: read back window by window
    2: [2, 12],  # lifted after the first (10 days > 7), a new area with the second
    3: [3, 9],  # raised again before it is lifted
    4: [20],
    5: [6, 13],  # exactly 7 days apart: a new area
    6: [30, 31, 32, 39],
}


def _world() -> tuple[Events, Events]:
    """The cases and their check-ins; the second set is a report imported late (its case's
    check-ins came in time)."""
    e, late = Events(), Events()
    pid = 0
    for venue, days in VENUE_CASES.items():
        for k in days:
            pid += 1
            day = FIRST + timedelta(days=k)
            before = day - timedelta(days=1)
            e.person(pid, pid)
            e.checkin(pid, venue, f"{before} 19:00", f"{before} 20:00")
            e.case(pid, f"{day} 10:00")
    # reported on day 16 at venue 1's and venue 2's, imported after that day was run
    pid += 1
    e.person(pid, pid)
    day = FIRST + timedelta(days=16)
    stayed = day - timedelta(days=2)
    for venue in (1, 2):
        e.checkin(pid, venue, f"{stayed} 12:00", f"{stayed} 13:00")
    late.case(pid, f"{day} 09:00")
    return e, late


def _same(store: Store, day: date, **kw: object) -> pl.DataFrame:
    bounded = draw_areas(store, day, NINTH, **kw)  # type: ignore[arg-type]
    whole = draw_areas(store, day, NINTH, whole_history=True, **kw)  # type: ignore[arg-type]
    assert bounded.equals(whole), day
    return bounded


def test_stay_areas_read_back_only_as_far_as_they_reach_are_the_whole_history_s(
    store: Store,
) -> None:
    events, late = _world()
    events.load(store, batch=1)
    drawn_on_days = 0
    for k in range(48):
        areas = _same(store, FIRST + timedelta(days=k))
        drawn_on_days += areas.height > 0
    assert drawn_on_days > 40
    # venue 1's chain never breaks: on day 36 its area was drawn on day 0 with 8 infections
    venue1 = _same(store, FIRST + timedelta(days=36)).filter(pl.col("area_id") == "venue:1")
    assert venue1.select("drawn_on", "infections").row(0) == (FIRST, 8)
    # venue 2: the second case's area is a new one; venue 5: 7 days apart is a new area too
    day = FIRST + timedelta(days=14)
    areas = _same(store, day)
    assert areas.filter(pl.col("area_id") == "venue:2")["drawn_on"].to_list() == [
        FIRST + timedelta(days=12)
    ]
    assert areas.filter(pl.col("area_id") == "venue:5")["drawn_on"].to_list() == [
        FIRST + timedelta(days=13)
    ]

    # the runs store the same areas; a late report and a rerun of its day, then the days after
    run_days = [FIRST + timedelta(days=k) for k in range(14, 20)]
    for day in run_days:
        run_day(store, day, NINTH)
    late.load(store, batch=2)
    run_day(store, FIRST + timedelta(days=16), NINTH)
    for day in run_days[2:]:
        run_day(store, day, NINTH)
        stored = areas_on(store, day).select(list(AREA_SCHEMA))
        assert stored.equals(draw_areas(store, day, NINTH, whole_history=True)), day
    # the late case raises venue 2 again (its area of day 12 had 4 days to run)
    areas = _same(store, FIRST + timedelta(days=19))
    assert areas.filter(pl.col("area_id") == "venue:2")["infections"].to_list() == [2]

    # a what-if sees live's history before its fork day and draws the same as from scratch
    scenario = open_scenario(store, "close-5-3", WHATIF.id, FIRST + timedelta(days=18))
    for day in (FIRST + timedelta(days=18), FIRST + timedelta(days=30)):
        run_day(store, day, WHATIF, scenario=scenario)
        _same(store, day, scenario=scenario)
