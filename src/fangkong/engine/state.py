"""The run of a day and the state it keeps: which run keeps the engine's state now, the frames
of the state at the start of its day, read once per run, and who is in each state.

While `run_day` runs day D in a scenario (`kept_state`), the steps read the case episodes from
`engine_episode`, which the run keeps (`fangkong.engine.episode`), and the state that only the
runs of earlier days make — open quarantine schedules (`fangkong.engine.schedule`), who is in
which facility (`fangkong.engine.facility`) — is read from the store once (`read_once`) and
shared by the steps that need it, instead of each step reading it again: nothing the run writes
before its end changes it. Each person's latest episode is read once too, and brought up to
date for the people whose episodes the run writes (`revise`). Outside a run (a report, a test
calling a step alone) every read goes to the store.

**The open quarantines** (`engine_schedule`): each run records the phases of every open
quarantine at the start of its day, as it read them (`schedule.keep_schedules`). The next run
derives the open quarantines from those of the latest run P that kept them and the orders of the
runs from P on (`schedule.open_schedules`): the read follows the open state and the days since P,
not the length of history.

**Who is in a facility** (`engine_state`, state `placed`): each run records the placements at
the start of its day with the orders that made them (`facility.keep_placements`); the next run
derives its own from them and the orders of the runs since (`facility.placements`).

A run of a day that has runs after it (a rerun after late events) changes what those runs
started from: their kept state no longer holds, and they are marked so (`forget_later`); the
next run starts from the latest state still kept, or derives it whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from fangkong.engine.scenario import Scenario, Watermarks
from fangkong.store.base import Store

__all__ = [
    "forget",
    "forget_later",
    "keep_rows",
    "kept_day",
    "kept_run",
    "kept_state",
    "note_orders",
    "note_watermarks",
    "orders_of_run",
    "read_once",
    "revise",
    "run_kept",
    "run_memo",
]


@dataclass
class _Run:
    store_id: int
    scenario: str
    day: date
    frames: dict[str, pl.DataFrame] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)  # reads asked once per run (by name)


# the runs keeping their state now (a run inside another's, e.g. a twin's, is on a store of its
# own; the innermost run of a store and scenario is the one that counts)
_RUNS: ContextVar[tuple[_Run, ...]] = ContextVar("_RUNS", default=())


@contextmanager
def kept_state(store: Store, scenario: Scenario, day: date) -> Iterator[None]:
    """While inside: the run of `day` in `scenario` keeps the engine's state in `store`.
    Inside another for the same store, scenario and day, it is that one: a caller that reads
    the state at the start of the day (the twin, obeying the orders in force) and then runs
    the day shares the frames it read with the run, instead of the run reading them again."""
    run = _run(store, scenario)
    if run is not None and run.day == day:
        yield
        return
    token = _RUNS.set((*_RUNS.get(), _Run(id(store), scenario.name, day)))
    try:
        yield
    finally:
        _RUNS.reset(token)


def _run(store: Store, scenario: Scenario) -> _Run | None:
    for run in reversed(_RUNS.get()):
        if run.store_id == id(store) and run.scenario == scenario.name:
            return run
    return None


def kept_day(store: Store, scenario: Scenario) -> date | None:
    """The day whose run keeps the state of `scenario` in `store` now, if one does."""
    run = _run(store, scenario)
    return run.day if run else None


def read_once(
    store: Store, scenario: Scenario, day: date, name: str, load: Callable[[], pl.DataFrame]
) -> pl.DataFrame:
    """The frame `name` of the state at the start of `day`: read by `load` once per run of
    `day` (every time outside a run, or for another day)."""
    run = _run(store, scenario)
    if run is None or run.day != day:
        return load()
    if name not in run.frames:
        run.frames[name] = load()
    return run.frames[name]


_RUN_ORDERS = "orders of the run"


def note_orders(store: Store, scenario: Scenario, orders: pl.DataFrame) -> None:
    """The run of `scenario` in `store` stored `orders` (engine_order rows): the steps after it
    that read the state at the end of its day fold them into the state at its start instead of
    reading them back."""
    run = _run(store, scenario)
    if run is not None:
        run.frames[_RUN_ORDERS] = orders


def orders_of_run(store: Store, scenario: Scenario) -> pl.DataFrame | None:
    """The orders the run of `scenario` in `store` stored (`note_orders`); None outside a run
    or before it stored them."""
    run = _run(store, scenario)
    return None if run is None else run.frames.get(_RUN_ORDERS)


def run_memo(store: Store, day: date) -> dict[str, Any] | None:
    """A memo shared by the steps of the innermost run of `day` on `store`, whatever its
    scenario, for reads that do not depend on the scenario (the registry as of the day);
    None outside a run of `day`."""
    for run in reversed(_RUNS.get()):
        if run.store_id == id(store) and run.day == day:
            return run.memo
    return None


def forget(store: Store, scenario: Scenario, name: str) -> None:
    """The run of `scenario` in `store` changed what frame `name` holds: read it again."""
    run = _run(store, scenario)
    if run is not None:
        run.frames.pop(name, None)


def revise(
    store: Store,
    scenario: Scenario,
    name: str,
    change: Callable[[pl.DataFrame], pl.DataFrame],
) -> None:
    """The run of `scenario` in `store` changed part of what frame `name` holds, and `change`
    brings the frame up to date (when it was read), instead of the next step reading it all
    again."""
    run = _run(store, scenario)
    if run is not None and name in run.frames:
        run.frames[name] = change(run.frames[name])


def keep_rows(store: Store, table: str, scenario: Scenario, day: date, rows: pl.DataFrame) -> None:
    """Record `rows`, the state at the start of `day` as the run of `day` read it, in `table`
    (`engine_schedule`, `engine_state`) under the scenario and the run's day: the next run starts
    from them. Each row's `run_day` (the run that issued the order it comes from) is stored as
    `issued_day`."""
    if rows.height == 0:
        return
    store.insert_frame(
        table,
        rows.rename({"run_day": "issued_day"}).select(
            pl.lit(scenario.name).alias("scenario"), pl.lit(day).alias("run_day"), pl.all()
        ),
    )


_KEPT_RUN = "kept_run"


def kept_run(store: Store, scenario: Scenario, day: date) -> date | None:
    """The day of the latest run <= `day` (< `day` for the day being run) that kept its state
    (for the day being run, asked once: the runs before it do not change while it runs; not at
    all where its watermarks tell it, `note_watermarks`)."""
    run = _run(store, scenario)
    if run is not None and run.day == day:
        if _KEPT_RUN not in run.memo:
            run.memo[_KEPT_RUN] = _latest_kept(store, scenario, day, "<")
        found: date | None = run.memo[_KEPT_RUN]
        return found
    return _latest_kept(store, scenario, day, "<=")


def note_watermarks(store: Store, scenario: Scenario, day: date, marks: Watermarks) -> None:
    """The run of `day` read its watermarks `marks` (`scenario.watermarks`): where they tell
    the latest earlier run that kept its state (`kept_run`), it is not asked. With no earlier
    run, none kept it; when the latest earlier run the scenario sees kept it, it is that run
    (no run it sees lies between that run's day and `day`). Otherwise an earlier run may have:
    `kept_run` asks."""
    run = _run(store, scenario)
    if run is None or run.day != day or _KEPT_RUN in run.memo:
        return
    if marks.previous_day is None:
        run.memo[_KEPT_RUN] = None
    elif marks.state_kept:
        run.memo[_KEPT_RUN] = marks.previous_day


def run_kept(scenario: Scenario) -> str:
    """SQL: the run of :day (as `scenario` sees it) kept its state, i.e. `kept_run` of :day
    outside its run is :day (binds `scenario.params`); for a query that reads what that run
    kept in the same statement."""
    return (
        f"EXISTS (SELECT 1 FROM engine_run r WHERE {scenario.visible('r')}"
        " AND r.run_day = :day AND r.state_kept)"
    )


def _latest_kept(store: Store, scenario: Scenario, day: date, op: str) -> date | None:
    found = store.scalar(
        f"SELECT max(run_day) FROM engine_run r WHERE {scenario.visible('r')}"
        f" AND r.run_day {op} :day AND r.state_kept",
        {"day": day, **scenario.params()},
    )
    return found if isinstance(found, date) else None


def forget_later(store: Store, scenario: Scenario, day: date, marks: Watermarks) -> None:
    """The runs of `scenario` after `day` no longer hold a kept state (a run of `day` changed
    what they started from); nothing to change when the run's watermarks `marks` say the
    scenario has no run after `day` (the run adds only its own day's)."""
    if not marks.later:
        return
    store.execute(
        "UPDATE engine_run SET state_kept = false WHERE scenario = :s AND run_day > :d"
        " AND state_kept",
        {"s": scenario.name, "d": day},
    )
