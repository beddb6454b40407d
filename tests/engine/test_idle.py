"""A day with nothing to do (`fangkong.engine.idle`): its run records itself without running the
steps, and every derived row is what running every step gives. Each history runs twice in one
store, in live with every step run (`skip_idle=False`) and in a scenario of the same policy
forked at its first day that skips idle days, and the two scenarios' rows are compared whole.
Every test runs on both backends."""

from __future__ import annotations

from collections.abc import Callable
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


def _both_ways(
    store: Store,
    days: int,
    policy: str = POLICY,
    before: Callable[[int, date], None] | None = None,
) -> dict[date, bool]:
    """Run `days` days from FIRST in live (every step) and in scenario `idle` (idle days
    skipped), `before` called with each day's index and date first (an import); whether each
    day was idle in `idle`."""
    p = load_policy(policy)
    scenario = open_scenario(store, "idle", p.id, FIRST)
    idle = {}
    for k in range(days):
        day = FIRST + timedelta(days=k)
        if before is not None:
            before(k, day)
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


def _checkins(store: Store, batch: int, when: str, *, new_venue: bool = True) -> None:
    """Persons 1 and 2 at one venue at `when`, imported as batch `batch` (with the venue's
    registration when `new_venue`)."""
    e = Events()
    if new_venue:
        e.add("venue", venue_id=500, region_code="310101", category="enclosed_entertainment")
    for pid, minute in ((1, "00"), (2, "05")):
        e.add(
            "checkin",
            scan_id=10 * batch + pid,
            person_id=pid,
            venue_id=500,
            checkin_at=at(f"{when} 10:{minute}"),
            checkout_at=None,
        )
    e.load(store, batch=batch)


def test_check_ins_alone_leave_days_idle_while_no_case_was_ever_reported(store: Store) -> None:
    """The rules read a check-in only through a case: batches of check-ins alone, or of no row,
    leave the days idle while no case was ever reported, with the rows of every step; a batch
    of any other row (a registration) runs the steps, and so does the first report, which
    traces the check-ins imported on the idle days before it."""
    _registry().load(store, batch=1)

    def imports(k: int, day: date) -> None:
        if k in (1, 2):
            _checkins(store, 1 + k, day.isoformat(), new_venue=k == 1)
        elif k == 3:
            Events().load(store, batch=4)  # an import that stored nothing
        elif k == 4:
            Events().person(9, 9).load(store, batch=5)
        elif k == 5:  # persons 1 and 2 met on the 11th, within the exposure window
            Events().case(1, "2022-07-15 10:00", onset=date(2022, 7, 13)).load(store, batch=6)

    idle = _both_ways(store, 6, before=imports)
    _assert_same_rows(store)
    assert {d.day: v for d, v in idle.items()} == {
        10: False,
        11: True,
        12: True,
        13: True,
        14: False,
        15: False,
    }
    traced = store.fetch(
        "SELECT DISTINCT contact_person_id FROM traced_contact WHERE scenario = 'idle'"
    )
    assert 2 in set(traced.get_column("contact_person_id"))


def test_check_ins_alone_run_the_steps_once_a_case_was_reported(store: Store) -> None:
    """A case reported and cured before the first run: a batch of check-ins alone runs the
    steps (a check-in imported late may place the case somewhere and draw a risk area)."""
    e = _registry()
    e.case(1, "2022-06-01 10:00", onset=date(2022, 5, 30))
    e.case(1, "2022-06-20 10:00", event="outcome", outcome="cured")
    e.load(store, batch=1)

    def imports(k: int, day: date) -> None:
        if k == 1:
            _checkins(store, 2, day.isoformat())

    idle = _both_ways(store, 3, before=imports)
    _assert_same_rows(store)
    assert not idle[date(2022, 7, 11)]


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
