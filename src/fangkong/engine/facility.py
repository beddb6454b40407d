"""Facilities (集中隔离点 rooms, 定点医院 and 方舱 beds): who occupies them, how many are free, and
the assignment of the day's orders to rooms, nearest first.

What the store says, as of a day D (only orders of earlier days count: a run of D replaces D's):

- a person's **placement** is the place of their latest placing order (an `admit` anywhere, a
  `transfer` to a facility, or a centralized phase — `quarantine`, `extend`, `monitor` with detail
  `centralized_quarantine` — at a facility); they occupy it until a later `release` of the
  centralized phase, a `discharge`, an outcome in the case registry (cured, released, died), or
  the end of a centralized monitoring phase. A quarantine whose release is held (a missing test)
  keeps its room; a person converted to a case keeps their room until admitted elsewhere.
- an **open quarantine** is as `fangkong.engine.schedule` reads it (`open_schedules`): its
  centralized phases still without a room wait for one.

`assign_facilities` fills the `place` of the day's orders that need a quarantine-site room
(centralized phases, centralized-isolation admissions), nearest first: same community, street,
county, prefecture, province, then anywhere, in passes over the whole frame (never a loop over
people). When no room is left (every site full, or none registered), the order keeps `place`
null, its reason says `no room free` and its `waiting_for` is `room`; such orders are retried on
later days (a `transfer` when a room frees). Orders of people without an address (`waiting_for` =
`address`) are not given a room. Decisions read those typed columns, never the reasons' words.

Call it once per day over all the day's orders (quarantine, border, treatment together), so that
they draw on the same rooms. It is a loader and a rule: `load_facility_facts` reads the open
quarantines, who is placed, the beds at the start of the day and of the occupancy trend, and
where the people wanting a room may go (`FacilityFacts`; who wants one is `_demand`, which the
rule decides by too); `facility_rule` reads no store, so a simulator drives it with frames of its
own (`FacilityFacts.of`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

import polars as pl

from fangkong.engine.episode import episode_ctes
from fangkong.engine.facts import Facts
from fangkong.engine.frames import IDS, among_ids, collect, day_bounds, day_start, ids_of, read
from fangkong.engine.orders import ORDER_SCHEMA, TIME, check_orders, empty_orders, orders_from
from fangkong.engine.scenario import LIVE, Scenario
from fangkong.engine.schedule import CENTRALIZED, SCHEDULE_SCHEMA, open_schedules
from fangkong.engine.state import keep_rows, kept_day, kept_run, read_once, run_kept
from fangkong.model.glossary import FacilityKind, OrderType, Waiting
from fangkong.policy.schema import Facilities
from fangkong.policy.terms import CareSetting, Population
from fangkong.store import Store
from fangkong.store.person_view import current_person

__all__ = [
    "NO_BED",
    "NO_ROOM",
    "OCCUPANCY_SCHEMA",
    "OCCUPIED_SCHEMA",
    "PLACED",
    "REGION_SCHEMA",
    "FacilityFacts",
    "allocate",
    "assign_facilities",
    "empty_occupancy",
    "facility_rule",
    "keep_placements",
    "load_facility_facts",
    "occupancy",
    "placements",
]

log = logging.getLogger(__name__)

NO_ROOM = "no room free"
PLACED = "placed"  # the state of being in a facility (`engine_state`)
NO_BED = "no bed free"

OCCUPANCY_SCHEMA: dict[str, pl.DataType] = {
    "facility_id": pl.String(),  # null on a kind's totals row
    "kind": pl.String(),  # FacilityKind
    "region_code": pl.String(),
    "capacity": pl.Int64(),
    "occupied": pl.Int64(),  # at the start of the day, from stored orders
    "admitted_today": pl.Int64(),  # placed by the day's orders
    "leaving_today": pl.Int64(),  # released or discharged by the day's orders
    "free": pl.Int64(),  # capacity - occupied - admitted + leaving (negative: over capacity)
    "rate_per_day": pl.Float64(),  # net growth of occupancy per day, over the policy's trend days
    "full_on": pl.Date(),  # the day free reaches 0 at that rate; null when not filling up
    "alert": pl.String(),
}

_PLACEMENT_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "place": pl.String(),
    "order_type": pl.String(),
    "detail": pl.String(),
    "run_day": pl.Date(),
    "start_at": TIME,
    "end_at": TIME,
}
# the orders that place people and end placements, as `_placements_since` reads them
_ORDER_ROWS: dict[str, pl.DataType] = {**_PLACEMENT_SCHEMA, "at_facility": pl.Boolean()}

_FACILITY_SCHEMA: dict[str, pl.DataType] = {
    "facility_id": pl.String(),
    "kind": pl.String(),
    "region_code": pl.String(),
    "capacity": pl.Int64(),
}
# a facility and the people in it at the start of a day (`occupancy`)
OCCUPIED_SCHEMA: dict[str, pl.DataType] = {**_FACILITY_SCHEMA, "occupied": pl.Int64()}


def _placements_sql(scenario: Scenario, kept: date | None) -> str:
    return f"""
WITH {episode_ctes(scenario, until="< :day", kept=kept)},
p AS (
    SELECT o.person_id, o.place, o.order_type, o.detail, o.run_day, o.start_at, o.end_at,
           row_number() OVER (
               PARTITION BY o.person_id
               ORDER BY o.start_at DESC, o.run_day DESC, o.order_type DESC) AS rn
    FROM engine_order o LEFT JOIN facility f ON f.facility_id = o.place
    WHERE o.run_day < :day AND o.person_id IS NOT NULL AND o.place IS NOT NULL
      AND {scenario.visible("o")}
      AND o.start_at < :day_end
      AND (o.order_type = 'admit'
           OR (f.facility_id IS NOT NULL AND (o.order_type = 'transfer'
               OR (o.order_type IN ('quarantine', 'extend', 'monitor')
                   AND o.detail = '{CENTRALIZED}'))))
),
c AS (SELECT * FROM p WHERE rn = 1)
SELECT c.person_id, c.place, c.order_type, c.detail, c.run_day, c.start_at, c.end_at
FROM c JOIN facility f ON f.facility_id = c.place
WHERE NOT (c.order_type = 'monitor' AND c.end_at <= :day)
  AND NOT EXISTS (
    SELECT 1 FROM engine_order o
    WHERE o.person_id = c.person_id AND o.run_day < :day AND o.run_day >= c.run_day
      AND {scenario.visible("o")}
      AND (o.order_type = 'discharge'
           OR (o.order_type = 'release' AND o.detail = '{CENTRALIZED}')))
  AND NOT EXISTS (
    SELECT 1 FROM episode e
    WHERE e.person_id = c.person_id AND e.closed_at >= c.start_at)
"""


def placements(store: Store, day: date, *, scenario: Scenario = LIVE) -> pl.DataFrame:
    """Who occupies a facility at the start of `day`: person, place and the placing order
    (read once per run of `day`: `fangkong.engine.state`)."""
    return read_once(store, scenario, day, "placements", lambda: _placements(store, day, scenario))


def _placements(store: Store, day: date, scenario: Scenario) -> pl.DataFrame:
    """The placements at the start of `day`: from those the latest run before it kept and the
    orders since (`_placements_since`), else from every order (the definition above)."""
    kept_on = kept_run(store, scenario, day)
    if kept_on is not None:
        return _placements_since(store, day, kept_on, scenario)
    start, end = day_bounds(day)
    params: dict[str, object] = {"day": start, "day_end": end, **scenario.params()}
    sql = _placements_sql(scenario, kept_day(store, scenario))
    return read(store, sql, params, _PLACEMENT_SCHEMA)


# The orders since the run of :p_day that may place a person or end a placement: those of the
# runs from :p_day on, and those of earlier runs that start from the end of :p_day's day (they
# were not placing anyone yet when that run read the placements). Two parts, so that each is
# read through the zone maps of its own column.
_SINCE_SQL = """
SELECT o.person_id, o.place, o.order_type, o.detail, o.run_day, o.start_at, o.end_at,
       f.facility_id IS NOT NULL AS at_facility
FROM engine_order o LEFT JOIN facility f ON f.facility_id = o.place
WHERE o.person_id IS NOT NULL AND o.run_day < :day AND {visible}
  AND o.order_type IN ('admit', 'transfer', 'quarantine', 'extend', 'monitor', 'discharge',
                       'release')
  AND {part}"""
_SINCE_PARTS = (
    "o.run_day >= :p_day",
    "o.run_day < :p_day AND o.start_at >= :p_end AND o.start_at < :day_end AND o.place IS NOT NULL",
)


def _stored_placing() -> pl.Expr:
    """Orders that put a person in a facility (`placements`' definition): an `admit`
    anywhere, or at a facility a `transfer` or a centralized phase."""
    centralized = pl.col("order_type").is_in(["quarantine", "extend", "monitor"]) & (
        pl.col("detail") == CENTRALIZED
    )
    return pl.col("place").is_not_null() & (
        (pl.col("order_type") == OrderType.ADMIT.value)
        | (
            pl.col("at_facility")
            & ((pl.col("order_type") == OrderType.TRANSFER.value) | centralized)
        )
    )


def _placements_since(store: Store, day: date, kept_on: date, scenario: Scenario) -> pl.DataFrame:
    """The placements at the start of `day` from those kept by the run of `kept_on` and the
    orders since, by the definition of `_placements_sql`: each person's latest placing order
    (by start, then run day, then order type), at a facility, not a monitoring phase over,
    not ended by a discharge or a release of the centralized phase issued on its run day or
    later, nor by a case episode closed at or after its start."""
    start, end = day_bounds(day)
    params: dict[str, object] = {
        "day": day,
        "p_day": kept_on,
        "p_end": day_bounds(kept_on)[1],
        "day_end": end,
        **scenario.params(),
    }
    kept = _kept(store, scenario, kept_on).with_columns(pl.lit(True).alias("at_facility"))
    sql = " UNION ALL ".join(
        _SINCE_SQL.format(visible=scenario.visible("o"), part=part) for part in _SINCE_PARTS
    )
    orders = read(store, sql, params, _ORDER_ROWS)
    latest = (
        pl.concat(
            [
                kept.with_columns(pl.lit(True).alias("kept")),
                orders.filter(_stored_placing() & (pl.col("start_at") < end)).with_columns(
                    pl.lit(False).alias("kept")
                ),
            ]
        )
        .sort(["start_at", "run_day", "order_type"], descending=True, maintain_order=True)
        .unique("person_id", keep="first", maintain_order=True)
        .filter(
            pl.col("at_facility")
            & ~((pl.col("order_type") == OrderType.MONITOR.value) & (pl.col("end_at") <= start))
        )
    )
    if latest.height == 0:
        return pl.DataFrame(schema=_PLACEMENT_SCHEMA)
    ends = orders.filter(_leaving()).select("person_id", "run_day")
    # a placing order issued before the kept run and not kept by it (it starts later): the
    # ends issued between it and that run count too
    early = latest.filter(~pl.col("kept") & (pl.col("run_day") < kept_on))
    if early.height:
        earlier = read(
            store,
            "SELECT person_id, run_day FROM engine_order o"
            f" WHERE {scenario.visible('o')} AND {among_ids(store, 'person_id')}"
            " AND run_day >= :since AND run_day < :p_day AND (order_type = 'discharge'"
            f" OR (order_type = 'release' AND detail = '{CENTRALIZED}'))",
            {
                "ids": ids_of(early.get_column("person_id")),
                "since": early.get_column("run_day").min(),
                "p_day": kept_on,
                **scenario.params(),
            },
            {"person_id": pl.Int64(), "run_day": pl.Date()},
        )
        ends = pl.concat([ends, earlier])
    ended = (
        latest.select("person_id", "run_day")
        .join(ends, on="person_id", suffix="_end")
        .filter(pl.col("run_day_end") >= pl.col("run_day"))
        .select("person_id")
    )
    episodes = episode_ctes(scenario, persons=IDS, until="< :day", kept=kept_day(store, scenario))
    closed_episodes = read(
        store,
        f"WITH {episodes} SELECT person_id, closed_at FROM episode WHERE closed_at IS NOT NULL",
        {"day": start, "ids": ids_of(latest.get_column("person_id")), **scenario.params()},
        {"person_id": pl.Int64(), "closed_at": TIME},
    )
    closed = (
        latest.select("person_id", "start_at")
        .join(closed_episodes, on="person_id")
        .filter(pl.col("closed_at") >= pl.col("start_at"))
        .select("person_id")
    )
    return (
        latest.join(pl.concat([ended, closed]).unique(), on="person_id", how="anti")
        .sort("person_id")
        .select(*_PLACEMENT_SCHEMA)
    )


def keep_placements(store: Store, scenario: Scenario, day: date, placed: pl.DataFrame) -> None:
    """Record the placements at the start of `day` (`placements`), as the run of `day` read
    them: the next run starts from them."""
    keep_rows(
        store,
        "engine_state",
        scenario,
        day,
        placed.select(pl.lit(PLACED).alias("state"), *_PLACEMENT_SCHEMA),
    )


def _kept_rows(scenario: Scenario) -> str:
    """FROM and WHERE of the placements the run of :day kept (`s`; params `_kept_params`)."""
    return (
        f"FROM engine_state s WHERE {scenario.visible('s')}"
        " AND s.run_day = :day AND s.state = :state"
    )


def _kept_params(scenario: Scenario, day: date) -> dict[str, object]:
    return {**scenario.params(), "day": day, "state": PLACED}


def _kept(store: Store, scenario: Scenario, day: date) -> pl.DataFrame:
    """The placements (_PLACEMENT_SCHEMA) the run of `day` kept, as it read them."""
    return read(
        store,
        "SELECT person_id, place, order_type, detail, issued_day AS run_day, start_at, end_at "
        + _kept_rows(scenario),
        _kept_params(scenario, day),
        _PLACEMENT_SCHEMA,
    )


def _kept_counts(store: Store, scenario: Scenario, day: date) -> pl.DataFrame | None:
    """The people per facility at the start of `day` (`place`, `n`) as the run of that day
    kept them, when it did (and it is not the run going on); else None. One statement asks
    both (`kept`: one row of it, with no count when the run kept none or nobody was placed)."""
    if kept_day(store, scenario) == day:
        return None
    rows = read(
        store,
        f"SELECT k.kept, c.place, c.n FROM (SELECT {run_kept(scenario)} AS kept) AS k"
        f" LEFT JOIN (SELECT place, count(*) AS n {_kept_rows(scenario)} GROUP BY place) AS c"
        " ON k.kept",
        _kept_params(scenario, day),
        {"kept": pl.Boolean(), "place": pl.String(), "n": pl.Int64()},
    )
    if not rows.item(0, "kept"):
        return None
    return rows.filter(pl.col("n").is_not_null()).select("place", "n")


def _facility_rows(store: Store) -> pl.DataFrame:
    return read(
        store,
        "SELECT facility_id, kind, region_code, capacity FROM facility ORDER BY facility_id",
        {},
        _FACILITY_SCHEMA,
    )


def occupancy(
    store: Store,
    day: date,
    *,
    scenario: Scenario = LIVE,
    facilities: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every facility with its capacity and the people in it at the start of `day`
    (OCCUPIED_SCHEMA; `facilities`: the facilities, _FACILITY_SCHEMA, when the caller read them
    already). In a run of `day`, read once (treatment and the facilities step both ask)."""
    if facilities is None:
        return read_once(
            store,
            scenario,
            day,
            "occupancy",
            lambda: _occupancy(store, day, scenario, _facility_rows(store)),
        )
    return _occupancy(store, day, scenario, facilities)


def _occupancy(
    store: Store, day: date, scenario: Scenario, facilities: pl.DataFrame
) -> pl.DataFrame:
    # an earlier day's, as its run kept it (the rate over the last days reads it)
    counts = _kept_counts(store, scenario, day)
    if counts is None:
        counts = (
            placements(store, day, scenario=scenario)
            .group_by("place")
            .agg(pl.len().cast(pl.Int64).alias("n"))
        )
    return facilities.join(counts, left_on="facility_id", right_on="place", how="left").select(
        *_FACILITY_SCHEMA, pl.col("n").fill_null(0).alias("occupied")
    )


def allocate(demand: pl.DataFrame, supply: pl.DataFrame) -> pl.DataFrame:
    """Rooms or beds for `demand` (columns `row`, `kind`, `region_code`; served in row order)
    from `supply` (`facility_id`, `kind`, `region_code`, `free`): nearest first by the region
    code's prefix (12, 9, 6, 4, 2 digits, then anywhere). Returns `row`, `facility_id` for the
    rows served; each pass fills facilities in id order with whole-frame joins."""
    served: list[pl.DataFrame] = []
    stock = supply.select("facility_id", "kind", "region_code", pl.col("free").clip(0))
    todo = demand.select("row", "kind", "region_code")
    for width in (12, 9, 6, 4, 2, 0):
        if todo.height == 0:
            break
        key = pl.col("region_code").str.slice(0, width) if width else pl.lit("")
        want = (
            todo.with_columns(key.alias("key"))
            .filter(pl.col("key").is_not_null())
            .sort("row")
            .with_columns(pl.int_range(pl.len()).over("kind", "key").alias("rank"))
            .sort("rank")
        )
        have = (
            stock.filter(pl.col("free") > 0)
            .with_columns(key.alias("key"))
            .filter(pl.col("key").is_not_null())
            .sort("kind", "key", "facility_id")
            .with_columns(pl.col("free").cum_sum().over("kind", "key").alias("end"))
            .with_columns((pl.col("end") - pl.col("free")).alias("begin"))
            .sort("begin")
        )
        got = (
            want.join_asof(
                have.select("kind", "key", "facility_id", "begin", "end"),
                left_on="rank",
                right_on="begin",
                by=["kind", "key"],
                check_sortedness=False,
            )
            .filter(pl.col("facility_id").is_not_null() & (pl.col("rank") < pl.col("end")))
            .select("row", "facility_id")
        )
        if got.height == 0:
            continue
        served.append(got)
        used = got.group_by("facility_id").agg(pl.len().alias("used"))
        stock = stock.join(used, on="facility_id", how="left").select(
            "facility_id",
            "kind",
            "region_code",
            pl.col("free") - pl.col("used").fill_null(0),
        )
        todo = todo.join(got, on="row", how="anti")
    return pl.concat(
        [pl.DataFrame(schema={"row": pl.UInt32(), "facility_id": pl.String()}), *served]
    )


_ROOM_DETAILS = {
    (OrderType.QUARANTINE.value, CENTRALIZED),
    (OrderType.EXTEND.value, CENTRALIZED),
    (OrderType.MONITOR.value, CENTRALIZED),
    (OrderType.ADMIT.value, CareSetting.CENTRALIZED_ISOLATION.value),
}


def _needs_room() -> pl.Expr:
    pairs = pl.concat_str("order_type", "detail", separator="|")
    return (
        pairs.is_in([f"{t}|{d}" for t, d in sorted(_ROOM_DETAILS)])
        & pl.col("place").is_null()
        & pl.col("person_id").is_not_null()
        & (pl.col("waiting_for").fill_null("") != Waiting.ADDRESS.value)
    )


# the day's orders after which a stored schedule is no longer the person's: an `extend`
# replaces it from the run day on (its own centralized phase asks for a room), a `convert` ends
# it (the person is a case)
_SUPERSEDING = (OrderType.EXTEND.value, OrderType.CONVERT.value)


def _waiting(
    day: date, schedules: pl.DataFrame, placed: pl.DataFrame, orders: pl.DataFrame
) -> pl.DataFrame:
    """The open centralized phases (of `schedules`) still without a room and of nobody `placed`:
    a `transfer` each, to be placed; none for a schedule the day's `orders` supersede (a
    transfer ending with the replaced phase would stand beside the extension's own)."""
    phases = schedules.filter(
        (pl.col("detail") == CENTRALIZED)
        & pl.col("place").is_null()
        & ~pl.col("released")
        & (pl.col("waiting_for") == Waiting.ROOM.value)
    )
    if phases.height == 0:
        return empty_orders()
    superseded = orders.filter(pl.col("order_type").is_in(_SUPERSEDING)).select("person_id")
    return orders_from(
        phases.join(placed, on="person_id", how="anti").join(
            superseded, on="person_id", how="anti"
        ),
        OrderType.TRANSFER,
        start_at=day_start(day),
        end_at="end_at",
        detail=pl.lit(CENTRALIZED),
        rule="facility.room_after_wait",
        policy_id=pl.col("policy_id"),
        reason=pl.lit("waited for a room: closed-loop transfer when one frees"),
        population="population",
    )


_REGIONS_SQL = f"""
SELECT person_id, 'home' AS src, region_code FROM {current_person(":end", person_ids=IDS)} p
UNION ALL
SELECT person_id, 'port', port_region_code FROM (
    SELECT person_id, port_region_code, row_number() OVER (
        PARTITION BY person_id ORDER BY arrived_at DESC, arrival_id DESC) AS rn
    FROM arrival WHERE arrived_at < :end AND person_id IN ({IDS})) a WHERE rn = 1
UNION ALL
SELECT person_id, 'case', region_code FROM (
    SELECT person_id, region_code, row_number() OVER (
        PARTITION BY person_id ORDER BY reported_at DESC, report_id DESC) AS rn
    FROM case_report WHERE reported_at < :end AND person_id IN ({IDS})) c WHERE rn = 1
"""


REGION_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "src": pl.String(),  # home (residence), port (latest arrival), case (latest case report)
    "region_code": pl.String(),
}


def _read_regions(store: Store, day: date, ids: list[int]) -> pl.DataFrame:
    """The places the people `ids` may be placed near (REGION_SCHEMA), at the end of `day`."""
    if not ids:
        return pl.DataFrame(schema=REGION_SCHEMA)
    return read(store, _REGIONS_SQL, {"ids": ids, "end": day_bounds(day)[1]}, REGION_SCHEMA)


def _regions(frame: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """Where each person of `frame` should be placed near, of the places `found`
    (REGION_SCHEMA): the port of their latest arrival for border orders, their case's region
    for treatment orders, else their residence."""
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, pl.String).alias("region_code"))
    wide = frame.select("person_id").unique()
    for src in ("home", "port", "case"):  # three sources, not people
        got = found.filter(pl.col("src") == src).select(
            "person_id", pl.col("region_code").alias(src)
        )
        wide = wide.join(got, on="person_id", how="left")
    inbound = pl.col("population") == Population.INBOUND_TRAVELLER.value
    return frame.join(wide, on="person_id", how="left").with_columns(
        pl.when(inbound)
        .then(pl.coalesce("port", "home"))
        .when(pl.col("order_type") == OrderType.ADMIT.value)
        .then(pl.coalesce("case", "home"))
        .otherwise(pl.coalesce("home", "port", "case"))
        .alias("region_code")
    )


def _placing() -> pl.Expr:
    """Rows of the day's orders that put a person in a facility (place already set)."""
    centralized = pl.col("order_type").is_in(["quarantine", "extend", "monitor"]) & (
        pl.col("detail") == CENTRALIZED
    )
    return pl.col("place").is_not_null() & (
        pl.col("order_type").is_in(["admit", "transfer"]) | centralized
    )


def _leaving() -> pl.Expr:
    return (pl.col("order_type") == OrderType.DISCHARGE.value) | (
        (pl.col("order_type") == OrderType.RELEASE.value) & (pl.col("detail") == CENTRALIZED)
    )


@dataclass(frozen=True)
class FacilityFacts(Facts):
    """What the facilities rule reads (`facility_rule`), one frame per kind:

    - `orders`: the day's orders (ORDER_SCHEMA), some of which need a room;
    - `schedules`: the open quarantines at the start of the day (SCHEDULE_SCHEMA: a
      centralized phase waiting for a room gets one when a room frees);
    - `placed`: the people in a facility at the start of the day;
    - `beds`: every facility with the people in it at the start of the day (OCCUPIED_SCHEMA);
    - `regions`: the places the people wanting a room may be placed near (REGION_SCHEMA);
    - `before`: the same as `beds` at the start of the first day of the occupancy trend.
    """

    orders: pl.DataFrame
    schedules: pl.DataFrame
    placed: pl.DataFrame
    beds: pl.DataFrame
    regions: pl.DataFrame
    before: pl.DataFrame

    SCHEMAS: ClassVar[dict[str, dict[str, pl.DataType]]] = {
        "orders": ORDER_SCHEMA,
        "schedules": SCHEDULE_SCHEMA,
        "placed": {"person_id": pl.Int64()},
        "beds": OCCUPIED_SCHEMA,
        "regions": REGION_SCHEMA,
        "before": OCCUPIED_SCHEMA,
    }


def _demand(
    orders: pl.DataFrame, day: date, schedules: pl.DataFrame, placed: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The day's orders with the transfers of those who waited for a room (`frame`, with a
    `row`), and the people who want a room, once each, from their first such order
    (`wanting`): the rule places them, and the loader reads where they may go (one definition
    for both)."""
    frame = pl.concat([orders, _waiting(day, schedules, placed, orders)]).with_row_index("row")
    wait = pl.col("rule") == "facility.room_after_wait"
    need = frame.filter(_needs_room() | (wait & pl.col("place").is_null()))
    wanting = (
        need.sort("start_at", "person_id", "row")
        .unique("person_id", keep="first", maintain_order=True)
        .select(
            "person_id",
            "order_type",
            "population",
            pl.col("start_at").alias("from"),
            pl.col("end_at").alias("to"),
        )
    )
    return frame, wanting


def load_facility_facts(
    store: Store,
    orders: pl.DataFrame,
    day: date,
    facilities: Facilities,
    *,
    scenario: Scenario = LIVE,
) -> FacilityFacts:
    """The facts of the day's rooms and occupancy from the store (`FacilityFacts`), for the
    day's `orders`."""
    orders = check_orders(orders)
    schedules = open_schedules(store, day, scenario=scenario)
    placed = placements(store, day, scenario=scenario).select("person_id")
    beds = occupancy(store, day, scenario=scenario)
    wanting = _demand(orders, day, schedules, placed)[1]
    return FacilityFacts.of(
        orders=orders,
        schedules=schedules,
        placed=placed,
        beds=beds,
        regions=_read_regions(store, day, ids_of(wanting.get_column("person_id"))),
        before=_trend_start(store, day, beds, facilities, scenario),
    )


def _trend_start(
    store: Store, day: date, beds: pl.DataFrame, facilities: Facilities, scenario: Scenario
) -> pl.DataFrame:
    """The occupancy at the start of the first day of the trend (`beds`: the facilities)."""
    first = day - timedelta(days=facilities.occupancy_trend_days - 1)
    return occupancy(store, first, scenario=scenario, facilities=beds.select(*_FACILITY_SCHEMA))


def assign_facilities(
    store: Store,
    orders: pl.DataFrame,
    day: date,
    facilities: Facilities,
    *,
    scenario: Scenario = LIVE,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rooms for the day's orders that need one, and the occupancy of every facility
    (`facility_rule` over `load_facility_facts`)."""
    facts = load_facility_facts(store, orders, day, facilities, scenario=scenario)
    return facility_rule(facts, day, facilities)


def facility_rule(
    facts: FacilityFacts, day: date, facilities: Facilities
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rooms for the day's orders that need one, and the occupancy of every facility, from
    `facts`. Reads no store.

    Returns the orders (plus a `transfer` for each stored quarantine that waited for a room
    and now has one) and one row per facility (OCCUPANCY_SCHEMA), then a totals row per
    facility kind (`facility_id` null) whose `alert` says how many people got no room."""
    frame, wanting = _demand(facts.orders, day, facts.schedules, facts.placed)
    wait = pl.col("rule") == "facility.room_after_wait"
    occupied = facts.beds
    rooms = occupied.filter(pl.col("kind") == FacilityKind.QUARANTINE_SITE.value)
    demand = (
        _regions(wanting, facts.regions)
        .with_row_index("row")
        .with_columns(pl.lit(FacilityKind.QUARANTINE_SITE.value).alias("kind"))
    )
    got = allocate(
        demand, rooms.with_columns((pl.col("capacity") - pl.col("occupied")).alias("free"))
    )
    room = demand.join(got, on="row", how="left").select("person_id", "facility_id", "from", "to")
    frame = frame.join(room, on="person_id", how="left")
    within = (pl.col("start_at") >= pl.col("from")) & (
        pl.col("to").is_null() | (pl.col("start_at") < pl.col("to"))
    )  # a test of the centralized phase, not of a later phase at home
    fillable = pl.col("place").is_null() & (
        _needs_room()
        | wait
        | (pl.col("order_type") == "transfer")
        | ((pl.col("order_type") == "test") & within)
    )
    unplaced = pl.col("facility_id").is_null() & pl.col("person_id").is_in(
        wanting.get_column("person_id").implode()
    )
    out = (
        frame.filter(~(wait & pl.col("facility_id").is_null()))  # still waiting: nothing new
        .with_columns(
            pl.when(fillable).then(pl.coalesce("place", "facility_id")).otherwise("place"),
            pl.when(unplaced & (_needs_room() | (pl.col("order_type") == "transfer")))
            .then(pl.lit(f"{NO_ROOM}; ") + pl.col("reason"))
            .otherwise("reason")
            .alias("reason"),
            pl.when(unplaced & (_needs_room() | (pl.col("order_type") == "transfer")))
            .then(pl.lit(Waiting.ROOM.value))
            .otherwise("waiting_for")
            .alias("waiting_for"),
        )
        .sort("row")
        .select(*ORDER_SCHEMA)
    )
    n_unplaced = demand.height - got.height
    if n_unplaced:
        log.warning("%d people need a quarantine room and none is free", n_unplaced)
    report = _occupancy_report(
        day, occupied, facts.before, out, n_unplaced, facilities.occupancy_trend_days
    )
    return check_orders(out), report


def empty_occupancy(
    store: Store, day: date, facilities: Facilities, *, scenario: Scenario = LIVE
) -> pl.DataFrame:
    """The occupancy report of `assign_facilities` for a day that starts with nobody in a
    facility and nobody waiting, and places nobody (a day with nothing to do:
    `fangkong.engine.idle`), without reading the placements it knows are none."""
    empty = _facility_rows(store).with_columns(pl.lit(0, pl.Int64).alias("occupied"))
    before = _trend_start(store, day, empty, facilities, scenario)
    return _occupancy_report(day, empty, before, empty_orders(), 0, facilities.occupancy_trend_days)


def _occupancy_report(
    day: date,
    facilities: pl.DataFrame,
    trend_start: pl.DataFrame,
    orders: pl.DataFrame,
    unplaced: int,
    trend_days: int,
) -> pl.DataFrame:
    # `trend_start`: the occupancy at the start of the first day of the trend; `now` is at the
    # end of `day`
    before = trend_start.select("facility_id", pl.col("occupied").alias("before"))
    # the people each facility takes in and lets go by the day's orders, each counted once,
    # in one grouping; the report is one plan
    moves = (
        orders.lazy()
        .filter(pl.col("place").is_not_null())
        .group_by("place")
        .agg(
            pl.col("person_id")
            .filter(_placing())
            .n_unique()
            .cast(pl.Int64)
            .alias("admitted_today"),
            pl.col("person_id").filter(_leaving()).n_unique().cast(pl.Int64).alias("leaving_today"),
        )
    )
    per = (
        facilities.lazy()
        .join(moves, left_on="facility_id", right_on="place", how="left")
        .join(before.lazy(), on="facility_id", how="left")
        .with_columns(pl.col("admitted_today", "leaving_today", "before").fill_null(0))
    )
    totals = per.group_by("kind").agg(
        pl.lit(None, pl.String).alias("facility_id"),
        pl.lit(None, pl.String).alias("region_code"),
        pl.col("capacity", "occupied", "admitted_today", "leaving_today", "before").sum(),
    )
    columns = [*facilities.columns, "admitted_today", "leaving_today", "before"]
    both = pl.concat(
        [
            per.select(columns).with_columns(pl.lit(False).alias("total")),
            totals.select(columns).with_columns(pl.lit(True).alias("total")),
        ],
        how="vertical_relaxed",
    )
    now = pl.col("occupied") + pl.col("admitted_today") - pl.col("leaving_today")
    free = pl.col("capacity") - now
    rate = (now - pl.col("before")) / trend_days
    days_left = (pl.col("free") / pl.col("rate_per_day")).ceil().cast(pl.Int64)
    room_kind = pl.col("kind") == FacilityKind.QUARANTINE_SITE.value
    return collect(
        both.with_columns(free.alias("free"), rate.alias("rate_per_day"))
        .with_columns(
            pl.when(pl.col("free") <= 0)
            .then(pl.lit(day))
            .when(pl.col("rate_per_day") > 0)
            .then(pl.lit(day) + pl.duration(days=days_left))
            .otherwise(None)
            .alias("full_on"),
            pl.when(pl.col("total") & room_kind & (unplaced > 0))
            .then(pl.lit(f"{NO_ROOM}: {unplaced} people without a room"))
            .when(~pl.col("total") & (pl.col("free") <= 0))
            .then(pl.lit("full"))
            .otherwise(None)
            .alias("alert"),
        )
        .sort("kind", "total", "facility_id")
        .select(pl.col(c).cast(t) for c, t in OCCUPANCY_SCHEMA.items())
    )
