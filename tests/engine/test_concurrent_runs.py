"""Runs of the engine beside each other, on both backends, each through a connection of its own
(as two operators, or an operator and an analyst running a what-if, would): runs of one
scenario take turns, a what-if runs beside live operations, and an import committed while a run
goes on is the next run's, wholly. The small outbreak of tests/data/bulletin/contacts (its
README), imported through the real import path.

A second run (or import) is started from inside the first run, after the first has read its
watermarks: a hook on the run's own `watermarks` step, the first run going on once the second
has finished or waits for it (the store logs the wait)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import fangkong.engine.day as engine_day
from fangkong.engine.day import run_day
from fangkong.engine.scenario import LIVE, open_scenario, watermarks
from fangkong.ingest import import_file
from fangkong.policy import load_policy
from fangkong.store import Store, open_store

DATA = Path(__file__).resolve().parents[1] / "data" / "bulletin" / "contacts"
POLICY = load_policy("cn-2022-06-28")
FIRST = date(2022, 7, 1)
THIRD = FIRST + timedelta(days=2)
# a late report: person 1 (a close contact of 9, in quarantine) confirmed on 07-03
LATE = (
    "report_id,case_id,person_id,region_code,reported_at,event_type,diagnosis,origin,severity,"
    "outcome,onset_date\n"
    "C1-1,C1,1,310104,2022-07-03 09:00:00,report,confirmed,local,mild,,2022-07-02\n"
)


def _outbreak(store: Store) -> Store:
    for kind in ("persons", "facilities", "cases", "contacts", "samples", "results"):
        import_file(store, kind, DATA / f"{kind}.csv")
    return store


@pytest.fixture
def outbreak(store: Store) -> Store:
    return _outbreak(store)


@pytest.fixture
def reference(tmp_path: Path) -> Iterator[Store]:
    """The same outbreak in an embedded store of its own, for runs one after another."""
    with open_store(tmp_path / "reference.duckdb") as st:
        yield _outbreak(st)


def _run(store: Store, day: date, scenario: str = LIVE.name) -> pl.DataFrame:
    line = LIVE if scenario == LIVE.name else open_scenario(store, scenario, POLICY.id, THIRD)
    return run_day(store, day, POLICY, jurisdiction="31", scenario=line).orders


def _rows(store: Store, scenario: str = LIVE.name) -> tuple[list[Any], list[Any], list[Any]]:
    """The scenario's orders, traced contacts and run records."""
    s = {"s": scenario}
    orders = store.fetch(
        "SELECT run_day, person_id, order_type, detail, start_at, rule FROM engine_order"
        " WHERE scenario = :s ORDER BY 1, 2, 3, 4, 5, 6",
        s,
    )
    traced = store.fetch(
        "SELECT run_day, case_person_id, contact_person_id, tier FROM traced_contact"
        " WHERE scenario = :s ORDER BY 1, 2, 3, 4",
        s,
    )
    runs = store.fetch("SELECT run_day FROM engine_run WHERE scenario = :s ORDER BY 1", s)
    return orders.rows(), traced.rows(), runs.rows()


def _during_run(
    monkeypatch: pytest.MonkeyPatch, waits: threading.Event, work: Callable[[], None]
) -> Callable[[], None]:
    """Make `work` start in a thread of its own inside the next run of the engine, once the run
    has read its watermarks; the run goes on when `work` has finished or waits for it. Returns
    what joins the thread and raises what `work` raised."""
    errors: list[BaseException] = []
    threads: list[threading.Thread] = []
    real = watermarks

    def guarded() -> None:
        try:
            work()
        except BaseException as exc:  # raised again by `join`
            errors.append(exc)

    def hooked(*args: Any, **kwargs: Any) -> Any:
        marks = real(*args, **kwargs)
        if not threads:  # the first run only: a run `work` starts reads its own
            thread = threading.Thread(target=guarded)
            threads.append(thread)
            thread.start()
            while thread.is_alive() and not waits.wait(0.05):
                pass
        return marks

    def join() -> None:
        for thread in threads:
            thread.join()
        assert threads, "no run of the engine started the work"
        if errors:
            raise errors[0]

    monkeypatch.setattr(engine_day, "watermarks", hooked)
    return join


def _first_two_days(*stores: Store) -> None:
    for store in stores:
        for day in (FIRST, FIRST + timedelta(days=1)):
            _run(store, day)


def test_two_runs_of_the_same_day_take_turns(
    outbreak: Store,
    reference: Store,
    monkeypatch: pytest.MonkeyPatch,
    lock_waits: threading.Event,
) -> None:
    _first_two_days(outbreak, reference)
    expected = _run(reference, THIRD)
    second: list[pl.DataFrame] = []

    def again() -> None:
        with open_store(outbreak.url) as other:
            second.append(_run(other, THIRD))

    join = _during_run(monkeypatch, lock_waits, again)
    first = _run(outbreak, THIRD)
    join()
    # the second waited for the first, then ran the day again on what it wrote: the same
    # orders, stored once (two runs at once wrote them twice, or failed on a key)
    assert lock_waits.is_set()
    assert first.equals(expected) and second[0].equals(expected)
    assert _rows(outbreak) == _rows(reference)


def test_a_what_if_runs_beside_live_operations(
    outbreak: Store,
    reference: Store,
    monkeypatch: pytest.MonkeyPatch,
    lock_waits: threading.Event,
) -> None:
    _first_two_days(outbreak, reference)
    _run(reference, THIRD)
    _run(reference, THIRD, "beside")

    def what_if() -> None:
        with open_store(outbreak.url) as other, other.exclusive(engine_day.run_lock("beside")):
            _run(other, THIRD, "beside")

    join = _during_run(monkeypatch, lock_waits, what_if)
    _run(outbreak, THIRD)
    join()
    assert not lock_waits.is_set()  # the what-if ran to its end inside live's run
    assert _rows(outbreak) == _rows(reference)
    assert _rows(outbreak, "beside") == _rows(reference, "beside")


def test_an_import_during_a_run_is_the_next_runs(
    outbreak: Store,
    reference: Store,
    monkeypatch: pytest.MonkeyPatch,
    lock_waits: threading.Event,
    tmp_path: Path,
) -> None:
    late = tmp_path / "late.csv"
    late.write_text(LATE, encoding="utf-8")
    # one after another: the report imported between the runs of 07-03 and 07-04
    _first_two_days(reference, outbreak)
    _run(reference, THIRD)
    import_file(reference, "cases", late)
    _run(reference, THIRD + timedelta(days=1))
    # the same report imported by another connection while the run of 07-03 goes on

    def load() -> None:
        with open_store(outbreak.url) as other:
            import_file(other, "cases", late)

    join = _during_run(monkeypatch, lock_waits, load)
    _run(outbreak, THIRD)
    join()
    _run(outbreak, THIRD + timedelta(days=1))
    # on PostgreSQL each statement used to see what was committed before it: the steps after
    # the watermarks saw the report, the watermarks did not, and 07-04 traced it again
    assert _rows(outbreak) == _rows(reference)
