"""A day with nothing to do (`fangkong.engine.idle`): its run records itself without running the
steps, and every derived row is what running every step gives. Each history runs twice in one
store, in live with every step run (`skip_idle=False`) and in a scenario of the same policy
forked at its first day that skips idle days, and the two scenarios' rows are compared whole.
Every test runs on both backends."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from fangkong.cli.app import app
from fangkong.engine.day import DERIVED_TABLES, run_day
from fangkong.engine.scenario import open_scenario
from fangkong.policy import load_policy
from fangkong.store import Store, open_store

from .test_kept_state import _city as kept_city
from .test_tracing import Events, at

POLICY = "cn-2022-06-28"
FIRST = date(2022, 7, 10)

# every table a run writes
_WRITTEN = (*DERIVED_TABLES, "health_code", "health_code_reason", "engine_run")


def _both_ways(store: Store, days: int, policy: str = POLICY) -> dict[date, bool]:
    """Run `days` days from FIRST in live (every step) and in scenario `idle` (idle days
    skipped); whether each day was idle in `idle`."""
    p = load_policy(policy)
    scenario = open_scenario(store, "idle", p.id, FIRST)
    idle = {}
    for k in range(days):
        day = FIRST + timedelta(days=k)
        full = run_day(store, day, p, skip_idle=False)
        skipping = run_day(store, day, p, scenario=scenario)
        assert not full.idle
        # what the run returns too: the facilities' occupancy and its forecast, the orders (in
        # no set row order: compared sorted)
        assert _sorted(skipping.occupancy).equals(_sorted(full.occupancy)), day
        assert _sorted(skipping.orders.drop("scenario")).equals(
            _sorted(full.orders.drop("scenario"))
        ), day
        idle[day] = skipping.idle
    return idle


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(pl.all(), nulls_last=True)


def _assert_same_rows(store: Store, other: str = "idle") -> None:
    """Live's rows and scenario `other`'s are the same, but for their scenario and when they
    ran."""
    for table in _WRITTEN:
        rows = store.fetch(f"SELECT * FROM {table}")
        rows = rows.drop(c for c in ("ran_at",) if c in rows.columns)
        live, idle = (
            _sorted(rows.filter(pl.col("scenario") == s).drop("scenario")) for s in ("live", other)
        )
        assert live.height == idle.height, table
        assert live.equals(idle), table


def _city() -> Events:
    """`test_kept_state`'s city (three cases, their household contacts in centralized
    quarantine), the cases cured and every contact testing negative daily for two weeks: three
    weeks of orders, then quiet."""
    e = kept_city()
    for pid, cured in ((1, "2022-07-21"), (4, "2022-07-23"), (3, "2022-07-25")):
        e.case(pid, f"{cured} 10:00", event="outcome", outcome="cured")
    for k in range(14):
        e.sample(5, f"2022-07-{11 + k} 08:00", "negative")
    return e


def test_an_outbreak_ends_in_idle_days_with_the_rows_of_every_step(store: Store) -> None:
    _city().load(store, batch=1)
    idle = _both_ways(store, 23)
    _assert_same_rows(store)
    assert not any(idle[FIRST + timedelta(days=k)] for k in range(15))  # the outbreak
    assert sum(idle.values()) >= 5  # and the quiet after it


def test_a_caller_that_reads_no_occupancy_gets_none_on_an_idle_day(store: Store) -> None:
    # the twin reads who is placed, not the report: an idle day then reads no occupancy, and
    # a day with something to do returns it as ever; the rows are the same either way
    _city().load(store, batch=1)
    p = load_policy(POLICY)
    quiet = open_scenario(store, "quiet", p.id, FIRST)
    idle = 0
    for k in range(23):
        day = FIRST + timedelta(days=k)
        full = run_day(store, day, p)
        unreported = run_day(store, day, p, scenario=quiet, report_occupancy=False)
        assert unreported.idle == full.idle
        if full.idle:
            idle += 1
            assert full.occupancy.height > 0 and unreported.occupancy.height == 0
        else:
            assert _sorted(unreported.occupancy).equals(_sorted(full.occupancy)), day
    assert idle >= 5
    _assert_same_rows(store, "quiet")


def _registry() -> Events:
    """Eight people, each a household, and a quarantine site."""
    e = Events()
    for pid in range(1, 9):
        e.person(pid, pid)
    e.add("facility", facility_id="QS-1", kind="quarantine_site", region_code="310101", capacity=9)
    return e


def test_events_dated_ahead_end_the_quiet_on_their_days(store: Store) -> None:
    """Events imported before the first run, each dated on a quiet stretch: the run of the day
    each one falls due runs the steps (a tube's result is due the day after its sample), the
    quiet returns once it is dealt with, and the rows are those of every step."""
    e = _registry()
    e.add(
        "person_move",
        move_id="M1",
        person_id=4,
        effective_at=at("2022-07-13 12:00"),
        reason="moved",
        region_code="310104",
    )
    e.sample(3, "2022-07-15 08:00", "negative")
    e.sample(6, "2022-07-19 08:00")  # never returned: a retest is ordered when it is due
    e.case(5, "2022-07-25 10:00")  # a report dated ahead of its import
    e.arrival(1, "MU552", "2022-07-25 15:00", 12)  # an inbound traveller
    e.load(store, batch=1)
    idle = _both_ways(store, 17)
    _assert_same_rows(store)
    quiet = [d.day for d in idle if idle[d]]
    assert {11, 12, 14, 18, 24} <= set(quiet)
    assert not {13, 15, 19, 20, 25} & set(quiet)


def test_a_fever_clinic_visit_keeps_days_busy_until_it_leaves_the_lookback(store: Store) -> None:
    """A visit gives a yellow code for the health code's lookback (14 days), then green: the
    day it leaves the lookback is not idle; the days after it are."""
    e = _registry()
    e.add("fever_clinic_visit", visit_id="F1", person_id=2, visited_at=at("2022-07-11 09:00"))
    e.load(store, batch=1)
    idle = _both_ways(store, 19)
    _assert_same_rows(store)
    codes = store.fetch(
        "SELECT run_day, colour FROM health_code WHERE scenario = 'idle' ORDER BY run_day"
    )
    assert codes.get_column("colour").to_list() == ["yellow", "green"]
    green_on = codes.item(1, "run_day")
    assert not any(idle[d] for d in idle if date(2022, 7, 11) <= d <= green_on)
    assert idle[date(2022, 7, 28)]


def test_a_late_import_on_a_quiet_day_is_acted_on(store: Store) -> None:
    e = Events()
    for pid, household in ((1, 10), (2, 10), (3, 30)):
        e.person(pid, household)
    e.add("facility", facility_id="QS-1", kind="quarantine_site", region_code="310101", capacity=9)
    e.load(store, batch=1)
    p = load_policy(POLICY)
    scenario = open_scenario(store, "idle", p.id, FIRST)
    idle = {}
    for k in range(8):
        day = FIRST + timedelta(days=k)
        if k == 5:  # a case reported on the 12th, imported on the 15th
            late = Events().case(1, "2022-07-12 10:00")
            late.checkin(1, 500, "2022-07-11 10:00")
            late.checkin(3, 500, "2022-07-11 10:05")
            late.load(store, batch=2)
        run_day(store, day, p, skip_idle=False)
        idle[day] = run_day(store, day, p, scenario=scenario).idle
    _assert_same_rows(store)
    assert idle[date(2022, 7, 14)] and not idle[date(2022, 7, 15)]
    traced = store.fetch(
        "SELECT DISTINCT contact_person_id FROM traced_contact WHERE scenario = 'idle'"
    )
    assert set(traced.get_column("contact_person_id")) >= {2}  # the household member


def test_a_batch_of_no_rows_is_an_import(store: Store) -> None:
    """An import that stored nothing still makes the next run run its steps (nothing is
    assumed of a batch by its count)."""
    e = Events()
    e.person(1, 1)
    e.load(store, batch=1)
    p = load_policy(POLICY)
    for k in range(3):
        assert run_day(store, FIRST + timedelta(days=k), p).idle == (k > 0)
    Events().load(store, batch=2)
    assert not run_day(store, FIRST + timedelta(days=3), p).idle
    assert run_day(store, FIRST + timedelta(days=4), p).idle


def test_the_cli_says_a_day_had_nothing_to_do(tmp_path: Path) -> None:
    path = str(tmp_path / "s.duckdb")
    with open_store(path) as st:
        Events().person(1, 1).load(st, batch=1)
    runner = CliRunner()
    said = []
    for day in ("2022-07-10", "2022-07-11"):
        res = runner.invoke(app, ["day", "--date", day, "--store", path], terminal_width=100)
        assert res.exit_code == 0, res.output
        said.append("nothing to do" in res.output)
    assert said == [False, True]  # a first run has no day before it
