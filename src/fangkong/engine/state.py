"""The run of a day and the state it keeps: which run keeps the engine's state now, and the
frames of the state at the start of its day, read once per run.

While `run_day` runs day D in a scenario (`kept_state`), the steps read the case episodes from
`engine_episode`, which the run keeps (`fangkong.engine.episode`), and the state that only the
runs of earlier days make — open quarantine schedules (`fangkong.engine.schedule`), who is in
which facility (`fangkong.engine.facility`) — is read from the store once (`read_once`) and
shared by the steps that need it, instead of each step reading it again: nothing the run writes
before its end changes it. Outside a run (a report, a test calling a step alone) every read goes
to the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from fangkong.engine.scenario import Scenario
from fangkong.store.base import Store

__all__ = ["kept_day", "kept_state", "read_once"]


@dataclass
class _Run:
    store_id: int
    scenario: str
    day: date
    frames: dict[str, pl.DataFrame] = field(default_factory=dict)


# the runs keeping their state now (a run inside another's, e.g. a twin's, is on a store of its
# own; the innermost run of a store and scenario is the one that counts)
_RUNS: ContextVar[tuple[_Run, ...]] = ContextVar("_RUNS", default=())


@contextmanager
def kept_state(store: Store, scenario: Scenario, day: date) -> Iterator[None]:
    """While inside: the run of `day` in `scenario` keeps the engine's state in `store`."""
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
