"""Scenarios: the operational line of runs (`live`) and named what-ifs beside it.

Everything the engine writes (orders, traced contacts, derived case events, run records) carries
the scenario it was written for. A what-if scenario is created with a policy and a *fork day*:
it sees live's derived rows of the days before its fork day as its own history (the quarantines,
rooms and admissions the command centre really ordered), and from the fork day on only its own
rows. A scenario never writes, deletes or changes a live row, and never writes order documents
or assistance files (those reach people; a what-if must not).

The one predicate every query over derived rows uses is `Scenario.visible`; its parameters are
`Scenario.params`.

**Runs and what is new.** Each run of a day records the newest import batch it saw (its
watermark). An event is *new* to the run of day D when its batch came after the watermark of the
latest earlier run of the scenario (for a what-if with no run of its own yet: live's latest run
before the fork day), whatever the event's own time — a case reported on D-1 but imported after
D-1 was run is traced by the run of D, with the exposure window of its own dates — or when it is
dated after the latest earlier run's day (days that were not run are not skipped). The first run
of a store has no earlier run: events before its day are history the engine did not run on, and
are not treated as new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from fangkong.errors import InputError, NotFoundError
from fangkong.store.base import Store

__all__ = [
    "LIVE",
    "LIVE_NAME",
    "Scenario",
    "Watermarks",
    "open_scenario",
    "record_run",
    "scenario_diff",
    "scenario_of",
    "watermarks",
]

LIVE_NAME = "live"
_ZONE = ZoneInfo("Asia/Shanghai")  # the run day's zone (fangkong.engine.frames.ZONE)
_NO_FORK = date(1, 1, 1)  # live has no fork: `run_day < :fork_day` is never true


@dataclass(frozen=True, slots=True)
class Scenario:
    """A line of runs: `live`, or a what-if forked from live on `fork_day`."""

    name: str = LIVE_NAME
    fork_day: date | None = None

    @property
    def is_live(self) -> bool:
        return self.name == LIVE_NAME

    def visible(self, alias: str = "") -> str:
        """SQL: the derived rows of table `alias` this scenario sees (binds :scenario and
        :fork_day, see `params`)."""
        a = f"{alias}." if alias else ""
        return f"({a}scenario = :scenario OR ({a}scenario = 'live' AND {a}run_day < :fork_day))"

    def params(self) -> dict[str, Any]:
        return {"scenario": self.name, "fork_day": self.fork_day or _NO_FORK}


LIVE = Scenario()


def _check_name(name: str) -> None:
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise InputError(f"a scenario name is letters, digits, '-', '_' and '.', not {name!r}")


def scenario_of(store: Store, name: str) -> Scenario:
    """The stored scenario `name` (live needs no record). NotFoundError if none."""
    if name == LIVE_NAME:
        return LIVE
    row = store.fetch("SELECT fork_day FROM scenario WHERE scenario = :s", {"s": name})
    if row.height == 0:
        raise NotFoundError(f"no scenario named {name!r}")
    return Scenario(name, row.item(0, 0))


def open_scenario(store: Store, name: str, policy_id: str, fork_day: date) -> Scenario:
    """The what-if scenario `name` under `policy_id`, created (forked from live on `fork_day`)
    if it does not exist. A scenario keeps the policy it was created with: running it under
    another is an InputError (create a scenario of its own for that policy)."""
    _check_name(name)
    if name == LIVE_NAME:
        raise InputError("'live' is the operational scenario, not a what-if")
    row = store.fetch("SELECT policy_id, fork_day FROM scenario WHERE scenario = :s", {"s": name})
    if row.height:
        stored_policy, stored_fork = row.row(0)
        if stored_policy != policy_id:
            raise InputError(
                f"scenario {name!r} runs policy {stored_policy}, not {policy_id}: give the"
                " what-if a scenario name of its own"
            )
        return Scenario(name, stored_fork)
    store.insert_frame(
        "scenario",
        pl.DataFrame(
            {
                "scenario": [name],
                "policy_id": [policy_id],
                "fork_day": [fork_day],
                "created_at": [datetime.now(UTC)],
                "note": [None],
            },
            schema={
                "scenario": pl.String(),
                "policy_id": pl.String(),
                "fork_day": pl.Date(),
                "created_at": pl.Datetime("us", "UTC"),
                "note": pl.String(),
            },
        ),
    )
    return Scenario(name, fork_day)


# no earlier run: no event is new for being dated after it
_NEVER = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Watermarks:
    """What is new to a run of a day: events of the import batches after `previous` (the
    watermark of the latest earlier run) up to `current` (the newest batch now), and events
    dated at or after `since` (the end of the latest earlier run's day: a day that was not run
    is not skipped), whatever their batch."""

    previous: int
    current: int
    since: datetime | None = None
    state_kept: bool = False  # the latest earlier run kept the engine's state (migration 7)
    policy_id: str | None = None  # the policy of the latest earlier run
    # the day was run before in the scenario: its derived rows are to be replaced (none are
    # stored for a day with no run recorded: every one is written inside the run)
    rerun: bool = True
    # the earliest run day of a latest health-code row that may hold a reason the run asks
    # again (`fangkong.engine.colours`), as the latest earlier run left them; None: any day
    held_from: date | None = None
    # the day of the latest earlier run (`since` is the end of it); None: no earlier run
    previous_day: date | None = None
    # the scenario has runs of days after the day (a run of it changes what they started from:
    # `fangkong.engine.state.forget_later`)
    later: bool = True

    def params(self) -> dict[str, object]:
        return {"w_prev": self.previous, "w_cur": self.current, "fresh_since": self.since or _NEVER}


# the newest batch, whether the day, and a later one, was run in the scenario
_NOW = (
    "(SELECT coalesce(max(batch_id), 0) FROM import_batch) AS current,"
    " EXISTS (SELECT 1 FROM engine_run WHERE scenario = :scenario AND run_day = :day) AS rerun,"
    " EXISTS (SELECT 1 FROM engine_run WHERE scenario = :scenario AND run_day > :day) AS later"
)
# and the latest earlier run the scenario sees, in one statement (in DuckDB a statement costs
# more to plan than these read; a join to a row of nulls for "no earlier run" costs as much as
# a second statement, so that case, a store's or a what-if's first run, asks `_NOW` alone)
_WATERMARKS_SQL = f"""
SELECT {_NOW}, r.batch_watermark, r.run_day, r.state_kept, r.policy_id, r.held_from
FROM engine_run r WHERE {{visible}} AND r.run_day < :day
ORDER BY r.run_day DESC, (r.scenario = :scenario) DESC LIMIT 1"""


def watermarks(store: Store, scenario: Scenario, day: date) -> Watermarks:
    """The watermarks of a run of `day` in `scenario` (see the module docstring)."""
    params = {**scenario.params(), "day": day}
    found = store.fetch(_WATERMARKS_SQL.format(visible=scenario.visible("r")), params)
    if found.height == 0:  # no earlier run
        now = store.fetch(f"SELECT {_NOW}", {"scenario": scenario.name, "day": day})
        current, rerun, later = now.row(0)
        return Watermarks(int(current), int(current), rerun=bool(rerun), later=bool(later))
    current, rerun, later, mark, prev_day, kept, policy_id, held_from = found.row(0)
    since = datetime.combine(prev_day + timedelta(days=1), time(0), tzinfo=_ZONE)
    return Watermarks(
        int(mark),
        int(current),
        since,
        bool(kept),
        str(policy_id),
        bool(rerun),
        held_from,
        prev_day,
        bool(later),
    )


def record_run(
    store: Store,
    scenario: Scenario,
    day: date,
    policy_id: str,
    marks: Watermarks,
    held_from: date | None = None,
) -> None:
    """Record the run of `day` (replacing an earlier run's record of the same day, when
    `marks` say there is one), with the bound it leaves the next run's colours
    (`Watermarks.held_from`; None: none)."""
    if marks.rerun:
        store.execute(
            "DELETE FROM engine_run WHERE scenario = :s AND run_day = :d",
            {"s": scenario.name, "d": day},
        )
    # one row: a statement with its values (a frame through `insert_frame` took 3.1 ms a run
    # against 0.5 ms, on every run, idle days included)
    store.execute(
        "INSERT INTO engine_run (scenario, run_day, policy_id, batch_watermark, ran_at,"
        " state_kept, held_from) VALUES (:s, :d, :p, :w, :t, true, :h)",
        {
            "s": scenario.name,
            "d": day,
            "p": policy_id,
            "w": marks.current,
            "t": datetime.now(UTC),
            "h": held_from,
        },
    )


_DIFF_KEY = ("person_id", "order_type", "start_at", "end_at", "place", "detail")


def scenario_diff(store: Store, scenario: Scenario, day: date) -> pl.DataFrame:
    """The orders of `day` in which `scenario` differs from live: one row per order that only
    one of them has (`side` = the scenario's name or 'live'), compared by person, type, times,
    place and detail (not by rule or policy, which differ by construction)."""
    if scenario.is_live:
        raise InputError("compare a what-if scenario with live, not live with itself")
    cols = ", ".join(_DIFF_KEY)
    rows = store.fetch(
        f"SELECT scenario AS side, {cols}, rule, reason FROM engine_order"
        " WHERE run_day = :d AND scenario IN (:s, 'live')",
        {"d": day, "s": scenario.name},
    )
    if rows.height == 0:
        return rows
    mine = rows.filter(pl.col("side") == scenario.name)
    live = rows.filter(pl.col("side") == LIVE_NAME)
    key = list(_DIFF_KEY)
    return pl.concat(
        [
            mine.join(live, on=key, how="anti", nulls_equal=True),
            live.join(mine, on=key, how="anti", nulls_equal=True),
        ]
    ).sort("order_type", "person_id", "side", nulls_last=True)
