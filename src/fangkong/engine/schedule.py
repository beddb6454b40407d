"""Quarantine schedules: the phases and test days of a regime counted from an exposure
(`schedule_orders`), and the schedules the store holds (`open_schedules`, `stored_tests`).
Quarantine issues and releases by them, the facilities step gives their centralized phases a
room; both read them here.

**Counting days.** Day 1 of a regime is the calendar day (Beijing time) *after* the last exposure
— for an inbound traveller, after the arrival; the exposure day itself is day 0 and does not
count. Phases follow one another: under 7 + 3, centralized days 1-7, then home days 8-10 (the
home phase's own day 1 is day 8). A phase's `end_at` is 00:00 after its last day. Orders never
start before the day they are issued: the first phase still running starts at 00:00 of the run
day (a contact found on the day of exposure is held from that day, day 0); phases already over
when the contact is found are not ordered, and a contact whose whole period is over gets none.

**Orders of a schedule**: `quarantine` (or `extend`), one per phase (detail = the
QuarantineKind; place = `home` for phases at home, null for centralized phases until
`facility.assign_facilities` gives a room); `test`, one per test day of each phase (detail
`day N` of the phase; a test day already past when the person is found becomes one catch-up test
on the run day); `transfer` (closed-loop transfer, 隔离转运) when the first phase is centralized.
A person with no address still gets all of these, with place null, `waiting_for` = `address`
and the reason starting `no address: locate` (NO_ADDRESS, for people to read); no room is
reserved until they are found. Every order of a schedule carries its `population`.

**An open quarantine**, as of a day D (only orders of earlier days count: a run of D replaces
D's), is a person's latest schedule (the `quarantine`/`extend` rows of the latest run day that
issued any), not ended by a `convert`, whose last phase is not released. Each run keeps the
open quarantines it started from (`engine_schedule`, `keep_schedules`); the next run derives
its own from them and the orders of the runs since (`fangkong.engine.state`), and from every
order only when no earlier run kept them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl

from fangkong.engine.frames import IDS, among_ids, collect, day_bounds, midnight, read
from fangkong.engine.orders import TIME, orders_from
from fangkong.engine.scenario import LIVE, Scenario
from fangkong.engine.state import keep_rows, kept_day, kept_run, orders_of_run, read_once
from fangkong.model.glossary import OrderType, Waiting
from fangkong.policy.schema import Policy
from fangkong.policy.terms import ExtensionRule, Population, QuarantineKind
from fangkong.store import Store

__all__ = [
    "CENTRALIZED",
    "ISSUES",
    "NO_ADDRESS",
    "SCHEDULE_SCHEMA",
    "TEST_ORDER_SCHEMA",
    "keep_schedules",
    "open_schedules",
    "phase_table",
    "released_after",
    "schedule_orders",
    "stored_tests",
]

NO_ADDRESS = "no address: locate"
CENTRALIZED = QuarantineKind.CENTRALIZED_QUARANTINE.value

_PHASE_SCHEMA: dict[str, pl.DataType] = {
    "population": pl.String(),
    "phase": pl.Int64(),
    "kind": pl.String(),
    "days": pl.Int64(),
    "offset": pl.Int64(),
    "test_days": pl.List(pl.Int64()),
    "restart": pl.Boolean(),
}

# a phase of a person's open quarantine (`open_schedules`)
SCHEDULE_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "run_day": pl.Date(),
    "order_type": pl.String(),
    "start_at": TIME,
    "end_at": TIME,
    "place": pl.String(),
    "detail": pl.String(),
    "rule": pl.String(),
    "policy_id": pl.String(),
    "reason": pl.String(),
    "population": pl.String(),
    "waiting_for": pl.String(),
    "released": pl.Boolean(),
}
# the orders that open and end a schedule, as `_fold` reads them
_ORDER_SCHEMA = {k: t for k, t in SCHEDULE_SCHEMA.items() if k != "released"}
# the order types that issue a schedule: a person's schedule is the rows of the latest run that
# issued any (`_fold`)
ISSUES = (OrderType.QUARANTINE.value, OrderType.EXTEND.value)
_FOLDED = (*ISSUES, OrderType.RELEASE.value, OrderType.CONVERT.value)
# a kept phase's columns besides who and the day its order was issued (`engine_schedule`)
_PHASE_FACTS = [c for c in SCHEDULE_SCHEMA if c not in ("person_id", "run_day")]


def phase_table(policy: Policy) -> pl.DataFrame:
    """The phases of every population the policy manages: population, phase, kind, days, offset
    (days before the phase within the regime), test_days, restart."""
    rows = []
    for population in Population:  # the policy's handful of regimes, not people
        regime = policy.regime(population)
        if regime is None:
            continue
        restart = regime.extension_on_new_exposure is ExtensionRule.RESTART
        offset = 0
        for i, phase in enumerate(regime.phases()):
            test_days = list(phase.test_days)
            rows.append(
                (population.value, i, phase.kind.value, phase.days, offset, test_days, restart)
            )
            offset += phase.days
    return pl.DataFrame(rows, schema=_PHASE_SCHEMA, orient="row")


def _plus(date_expr: pl.Expr, days: pl.Expr | int) -> pl.Expr:
    return date_expr + pl.duration(days=days)


def schedule_orders(
    people: pl.DataFrame, day: date, policy: Policy, order_type: OrderType = OrderType.QUARANTINE
) -> pl.DataFrame:
    """The phase, test and transfer orders of `people` (quarantine.PEOPLE_SCHEMA with `address`
    filled, plus `room`: a facility to keep) counted from their exposure (see the module
    docstring)."""
    today = pl.lit(day)
    # one lazy plan (as in `_fold`): a run calls this for a few hundred people at a time
    p = (
        people.lazy()
        .join(phase_table(policy).lazy(), on="population")
        .with_columns(_plus(pl.col("exposed_at").dt.date().fill_null(day), 1).alias("day1"))
        .with_columns(_plus(pl.col("day1"), pl.col("offset")).alias("first"))
        .with_columns(_plus(pl.col("first"), pl.col("days") - 1).alias("last"))
        .filter(pl.col("last") >= today)
        .with_columns((pl.col("phase") == pl.col("phase").min().over("person_id")).alias("running"))
    )
    # a contact (to be fetched) with no address must be found first; an inbound traveller is
    # at the port already: only their phases at home lack an address
    unknown = pl.col("address").is_null() & ((pl.col("kind") != CENTRALIZED) | pl.col("transfer"))
    arrived = pl.col("population") == Population.INBOUND_TRAVELLER.value
    p = p.with_columns(
        pl.when(pl.col("running")).then(today).otherwise(pl.col("first")).alias("start"),
        pl.when(pl.col("kind") == CENTRALIZED)
        .then(pl.col("room"))
        .when(pl.col("address").is_not_null())
        .then(pl.lit("home"))
        .alias("place"),
        pl.when(unknown).then(pl.lit(f"{NO_ADDRESS}; ")).otherwise(pl.lit("")).alias("lead"),
        pl.when(unknown).then(pl.lit(Waiting.ADDRESS.value)).alias("waiting_for"),
        pl.col("note").fill_null(""),
    ).with_columns(
        pl.format(
            "{}{} ({} {}): {} days of {}, regime day 1 = {}{}",
            "lead",
            pl.col("population").str.replace_all("_", " "),
            pl.when(arrived).then(pl.lit("arrived")).otherwise(pl.lit("last exposure")),
            pl.col("exposed_at").dt.strftime("%Y-%m-%d %H:%M").fill_null("not recorded"),
            "days",
            "kind",
            "day1",
            "note",
        ).alias("reason")
    )
    suffix = ".extension" if order_type is OrderType.EXTEND else ""
    phases = orders_from(
        p,
        order_type,
        start_at=midnight(pl.col("start")),
        end_at=midnight(_plus(pl.col("last"), 1)),
        place="place",
        detail="kind",
        rule=pl.col("rule") + suffix,
        policy_id=policy.id,
        reason="reason",
        population="population",
        waiting_for="waiting_for",
    )
    tests = (
        p.explode("test_days")
        .filter(pl.col("test_days").is_not_null())
        .with_columns(
            _plus(pl.col("first"), pl.col("test_days") - 1).alias("on"), pl.lit("").alias("tag")
        )
    )
    # test days already past when the person is found: one catch-up test today instead
    late = tests.filter(pl.col("on") < today).select("person_id", "phase").unique()
    catch_up = (
        p.join(late, on=["person_id", "phase"])
        .join(tests.filter(pl.col("on") == today), on=["person_id", "phase"], how="anti")
        .with_columns(
            today.alias("on"),
            ((today - pl.col("first")).dt.total_days() + 1).alias("test_days"),
            pl.lit(" (catch-up)").alias("tag"),
        )
    )
    tests = pl.concat(
        [tests.filter(pl.col("on") >= today), catch_up.select(tests.collect_schema().names())]
    )
    test_rows = orders_from(
        tests,
        OrderType.TEST,
        start_at=midnight(pl.col("on")),
        end_at=midnight(_plus(pl.col("on"), 1)),
        place="place",
        detail=pl.format("day {}{}", "test_days", "tag"),
        rule=pl.col("rule") + ".test",
        policy_id=policy.id,
        reason=pl.format("{}test day {} of {}{}", "lead", "test_days", "kind", "note"),
        population="population",
        waiting_for="waiting_for",
    )
    moving = pl.col("running") & (pl.col("kind") == CENTRALIZED) & pl.col("transfer")
    transfer = orders_from(
        p.filter(moving & pl.col("room").is_null()),
        OrderType.TRANSFER,
        start_at=midnight(pl.col("start")),
        detail=pl.lit(f"closed-loop transfer to {CENTRALIZED}"),
        rule=pl.col("rule") + ".transfer",
        policy_id=policy.id,
        reason="reason",
        population="population",
        waiting_for="waiting_for",
    )
    return collect(pl.concat([phases, test_rows, transfer]))


def open_schedules(
    store: Store, day: date, ids: list[int] | None = None, *, scenario: Scenario = LIVE
) -> pl.DataFrame:
    """The phases of every open quarantine as of `day` (of the people `ids`, or everyone): one
    row per phase of the person's latest schedule, with `released` per phase. In a run of
    `day`, everyone's are read once (`fangkong.engine.state`) and `ids` picked from them; in a
    run of the day before, once it stored its orders, they are those at the start of its day
    folded with its orders."""
    run = kept_day(store, scenario)
    if run == day:
        every = read_once(
            store, scenario, day, "open_schedules", lambda: _open(store, day, None, scenario)
        )
        return every if ids is None else every.filter(pl.col("person_id").is_in(ids))
    stored = orders_of_run(store, scenario)
    if run is not None and stored is not None and day == run + timedelta(days=1):
        start = open_schedules(store, run, ids, scenario=scenario)
        mine = pl.col("order_type").is_in(_FOLDED) & pl.col("person_id").is_not_null()
        if ids is not None:
            mine &= pl.col("person_id").is_in(ids)
        return _fold(start, stored.filter(mine).select(*_ORDER_SCHEMA))
    return _open(store, day, ids, scenario)


def released_after(
    store: Store, day: date, ids: list[int] | None = None, *, scenario: Scenario = LIVE
) -> pl.DataFrame:
    """The phases (person_id, detail) the run of `day` released from an instant after the day:
    a phase whose last day is `day` is released on it from the next midnight, so the person is
    under it all day though the phase is `released` in the schedules as of the next day. Only
    the run of the day can release a phase from after its day (a release starts at the phase's
    end, which has come by the end of the run's day, or at the run's day)."""
    until = day_bounds(day)[1]
    orders = orders_of_run(store, scenario) if kept_day(store, scenario) == day else None
    if orders is None:
        params: dict[str, Any] = {"day": day, "until": until, **scenario.params()}
        only = ""
        if ids is not None:
            only, params["ids"] = f" AND {among_ids(store, 'o.person_id')}", ids
        orders = read(
            store,
            "SELECT person_id, order_type, detail, start_at FROM engine_order o"
            " WHERE order_type = 'release' AND run_day = :day AND start_at >= :until"
            f" AND {scenario.visible('o')}{only}",
            params,
            {
                "person_id": pl.Int64(),
                "order_type": pl.String(),
                "detail": pl.String(),
                "start_at": TIME,
            },
        )
    mine = (
        (pl.col("order_type") == OrderType.RELEASE.value)
        & (pl.col("start_at") >= until)
        & pl.col("person_id").is_not_null()
    )
    if ids is not None:
        mine &= pl.col("person_id").is_in(ids)
    return orders.filter(mine).select("person_id", "detail").unique()


def _open(store: Store, day: date, ids: list[int] | None, scenario: Scenario) -> pl.DataFrame:
    """The open schedules of `ids` (or everyone) as of `day`: from the schedules the latest
    run before `day` that kept them started from, and the orders of the runs since (for
    everyone, when a run kept them), else from every order before `day`."""
    if ids is not None and not ids:
        return pl.DataFrame(schema=SCHEDULE_SCHEMA)
    kept_on = kept_run(store, scenario, day) if ids is None else None
    params: dict[str, Any] = {"day": day, **scenario.params()}
    where = ""
    if kept_on is not None:
        where, params["p_day"] = "AND run_day >= :p_day", kept_on
    elif ids is not None:
        where, params["ids"] = f"AND {among_ids(store, 'person_id')}", ids
    orders = read(
        store,
        f"SELECT {', '.join(_ORDER_SCHEMA)} FROM engine_order o"
        " WHERE order_type IN ('quarantine', 'extend', 'release', 'convert')"
        f" AND person_id IS NOT NULL AND run_day < :day AND {scenario.visible('o')} {where}",
        params,
        _ORDER_SCHEMA,
    )
    kept = (
        pl.DataFrame(schema=SCHEDULE_SCHEMA)
        if kept_on is None
        else read(
            store,
            f"SELECT person_id, issued_day AS run_day, {', '.join(_PHASE_FACTS)}"
            f" FROM engine_schedule k WHERE {scenario.visible('k')} AND k.run_day = :p_day",
            {"p_day": kept_on, **scenario.params()},
            SCHEDULE_SCHEMA,
        )
    )
    return _fold(kept, orders)


def _fold(kept: pl.DataFrame, orders: pl.DataFrame) -> pl.DataFrame:
    """The open schedules after `orders` (ORDER_SCHEMA rows of quarantine, extend, release and
    convert orders, of the runs after those that left `kept` open): each person's latest
    schedule (the quarantine/extend rows of the latest run day that issued any), its phases
    released by a release of the same phase (detail) issued on that day or later, unless a
    convert on that day or later ended it, and kept only while a phase is not released."""
    if kept.height == 0 and orders.height == 0:
        return pl.DataFrame(schema=SCHEDULE_SCHEMA)
    # one lazy plan: the fold runs on every run (and again for the state at its end), mostly
    # over a few thousand rows, where each eager step would cost more than its work
    given = orders.lazy()
    issued = given.filter(pl.col("order_type").is_in(ISSUES)).with_columns(
        pl.lit(False).alias("released")
    )
    phases = pl.concat([kept.lazy(), issued.select(*SCHEDULE_SCHEMA)])
    latest = phases.filter(pl.col("run_day") == pl.col("run_day").max().over("person_id"))
    since = latest.group_by("person_id").agg(pl.col("run_day").first().alias("latest"))
    ends = (
        given.filter(~pl.col("order_type").is_in(ISSUES))
        .join(since, on="person_id")
        .filter(pl.col("run_day") >= pl.col("latest"))
    )
    released = (
        ends.filter(pl.col("order_type") == OrderType.RELEASE.value)
        .select("person_id", "detail", pl.lit(True).alias("hit"))
        .unique()
    )
    converted = ends.filter(pl.col("order_type") == OrderType.CONVERT.value).select("person_id")
    return collect(
        latest.join(released, on=["person_id", "detail"], how="left")
        .with_columns(pl.col("released") | pl.col("hit").fill_null(False))
        .join(converted.unique(), on="person_id", how="anti")
        .filter(~pl.col("released").all().over("person_id"))
        .sort("person_id", "start_at", maintain_order=True)
        .select(*SCHEDULE_SCHEMA)
    )


def keep_schedules(store: Store, scenario: Scenario, day: date, schedules: pl.DataFrame) -> None:
    """Record the phases of the open quarantines at the start of `day` (`open_schedules`), as
    the run of `day` read them: the next run starts from them."""
    keep_rows(
        store,
        "engine_schedule",
        scenario,
        day,
        schedules.select("person_id", "run_day", *_PHASE_FACTS),
    )


def stored_tests(
    store: Store, day: date, ids: list[int], since: object, *, scenario: Scenario = LIVE
) -> pl.DataFrame:
    """The `test` orders of the people `ids` stored by runs before `day`, starting at `since` or
    later (TEST_ORDER_SCHEMA)."""
    return read(
        store,
        f"SELECT person_id, run_day, start_at, detail FROM engine_order o"
        f" WHERE order_type = 'test' AND run_day < :day AND start_at >= :since"
        f" AND {scenario.visible('o')} AND person_id IN ({IDS})",
        {"day": day, "since": since, "ids": ids, **scenario.params()},
        TEST_ORDER_SCHEMA,
    )


TEST_ORDER_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "run_day": pl.Date(),
    "start_at": TIME,
    "detail": pl.String(),
}
