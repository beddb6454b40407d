"""The latest negative tests the runs keep (`fangkong.engine.negatives`): equal, after each run,
to the rule over every test stored (`testing.latest_negative`), through late results, a result
dated after the day run, a pooled negative corrected to positive, a rerun of an earlier day with
runs after it, and a what-if; and a run writes rows only for the tests new to it. Both
backends."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from fangkong.engine.colours import code_of
from fangkong.engine.day import run_day
from fangkong.engine.frames import day_bounds
from fangkong.engine.negatives import kept_negatives
from fangkong.engine.scenario import LIVE, Scenario, open_scenario
from fangkong.engine.testing import latest_negative
from fangkong.policy import load_policy
from fangkong.store import Store

from .test_tracing import Events, at

NINTH = load_policy("cn-2022-06-28")
D0 = date(2022, 7, 10)


def _day(n: int) -> date:
    return D0 + timedelta(days=n)


def _tube(
    e: Events, tube: str, pids: list[int], sampled: str, result: str, reported: str
) -> Events:
    for pid in pids:
        e.add(
            "sample", sample_id=f"{tube}-{pid}", person_id=pid, tube_id=tube, sampled_at=at(sampled)
        )
    return e.add("tube_result", tube_id=tube, result=result, reported_at=at(reported))


def _rule(store: Store, day: date) -> pl.DataFrame:
    return latest_negative(store, day_bounds(day)[1] - timedelta(microseconds=1))


def _kept_is_the_rule(store: Store, day: date, scenario: Scenario = LIVE) -> None:
    kept = kept_negatives(store, day, scenario).sort("person_id")
    assert kept.equals(_rule(store, day)), (day, scenario, kept, _rule(store, day))


def _rows(store: Store, day: date, scenario: Scenario = LIVE) -> pl.DataFrame:
    return store.fetch(
        "SELECT person_id, whole FROM engine_negative WHERE scenario = :s AND run_day = :d"
        " ORDER BY person_id",
        {"s": scenario.name, "d": day},
    )


def test_the_kept_latest_negatives_follow_late_corrected_and_rerun_results(store: Store) -> None:
    e = Events()
    for pid in range(1, 8):
        e.person(pid, pid)
    _tube(e, "A1", [1], "2022-07-09 08:00", "negative", "2022-07-09 20:00")
    _tube(e, "P1", [2, 3], "2022-07-10 08:00", "negative", "2022-07-10 20:00")
    # 5's swab of day 3, imported now: not a test of days 0-2
    _tube(e, "F5", [5], "2022-07-13 08:00", "negative", "2022-07-13 20:00")
    e.load(store, batch=1)
    run_day(store, _day(0), NINTH)
    _kept_is_the_rule(store, _day(0))
    assert _rows(store, _day(0)).get_column("whole").all()  # the first run: everyone whole

    # day 1: 1 tested again; 4's swab of day -1 reported late; the pool P1 is corrected to
    # positive (2 and 3 had no other negative: none now)
    late = Events()
    _tube(late, "A2", [1], "2022-07-11 08:00", "negative", "2022-07-11 20:00")
    _tube(late, "L4", [4], "2022-07-09 09:00", "negative", "2022-07-09 21:00")
    late.add("tube_result", tube_id="P1", result="positive", ct_value=30.0,
             reported_at=at("2022-07-11 09:00"))  # fmt: skip
    late.load(store, batch=2)
    run_day(store, _day(1), NINTH)
    _kept_is_the_rule(store, _day(1))
    rows = _rows(store, _day(1))
    assert rows.filter(pl.col("whole")).get_column("person_id").to_list() == [2, 3]
    assert rows.filter(~pl.col("whole")).get_column("person_id").to_list() == [1, 4]
    assert 2 not in kept_negatives(store, _day(1), LIVE).get_column("person_id").to_list()
    # what day 0's run kept is still read for day 0
    assert kept_negatives(store, _day(0), LIVE).get_column("person_id").to_list() == [1, 2, 3]

    run_day(store, _day(2), NINTH)  # a quiet day: nothing new, no row
    _kept_is_the_rule(store, _day(2))
    assert _rows(store, _day(2)).height == 0

    # day 1 again after a late negative of 6 dated day 1: the rerun replaces its rows, and
    # the run of day 2 after it no longer holds: day 3 derives everyone whole
    _tube(Events(), "L6", [6], "2022-07-11 10:00", "negative", "2022-07-11 22:00").load(
        store, batch=3
    )
    run_day(store, _day(1), NINTH)
    _kept_is_the_rule(store, _day(1))
    assert 6 in _rows(store, _day(1)).get_column("person_id").to_list()
    run_day(store, _day(3), NINTH)
    _kept_is_the_rule(store, _day(3))
    assert _rows(store, _day(3)).get_column("whole").all()
    assert 5 in kept_negatives(store, _day(3), LIVE).get_column("person_id").to_list()

    # a what-if forked on day 4 starts from live's rows before it
    whatif = load_policy("whatif-2022-06-28-close-contacts-5-3")
    scenario = open_scenario(store, "close-5-3", whatif.id, _day(4))
    _tube(Events(), "W7", [7], "2022-07-14 09:00", "negative", "2022-07-14 21:00").load(
        store, batch=4
    )
    run_day(store, _day(4), whatif, scenario=scenario)
    _kept_is_the_rule(store, _day(4), scenario)
    assert _rows(store, _day(4), scenario).get_column("person_id").to_list() == [7]
    run_day(store, _day(5), whatif, scenario=scenario)
    _kept_is_the_rule(store, _day(5), scenario)
    # live's rows are its own: 7's test is new to live's next run too
    run_day(store, _day(4), NINTH)
    _kept_is_the_rule(store, _day(4))
    assert _rows(store, _day(4)).get_column("person_id").to_list() == [7]


def test_a_day_run_before_the_negatives_were_kept_reads_the_rule(store: Store) -> None:
    """A store migrated from before migration 13 has runs that kept no latest negative: the
    colour of their days is read with the rule over the tests, and the next run keeps them
    all (its previous run's state no longer holds)."""
    e = Events().person(1, 1).person(2, 2)
    _tube(e, "A1", [1], "2022-07-09 08:00", "negative", "2022-07-09 20:00")
    e.load(store, batch=1)
    run_day(store, _day(0), NINTH)
    kept = code_of(store, 1, _day(0))
    store.execute("DELETE FROM engine_negative")  # as a store migrated from version 12
    store.execute("UPDATE engine_run SET state_kept = false")
    read = code_of(store, 1, _day(0))
    assert (read.colour, read.tested_at, read.venue_valid_until) == (
        kept.colour,
        at("2022-07-09 08:00"),
        kept.venue_valid_until,
    )
    assert read.reasons.equals(kept.reasons)
    run_day(store, _day(1), NINTH)
    assert _rows(store, _day(1)).get_column("whole").all()
    _kept_is_the_rule(store, _day(1))
