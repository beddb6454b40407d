"""Who stayed in or left a high- or medium-risk area (7天内有中高风险区旅居史), for quarantine.

`area_departures(store, day, policy, areas)` finds, within the policy's
`risk_areas.departure_lookback_days` before the end of the run day, while each area was listed:

- **stays**: check-ins at a venue inside a listed area (the venue itself where it is the area,
  or a venue of a listed street or county); the stay ends at the checkout, else the check-in;
- **departures**: moves out of a listed residence area (building, compound, street or county:
  the residence the move left was in it, the new one is not), effective then.

An area is listed on a day as the latest run before that day drew it, at the level its schedule
gives for the day: the run of a day publishes the areas it draws, so a visit earlier that day,
before anyone knew, was not a stay in a risk area (whoever shared the place with the case is found
by tracing, by co-presence). The areas' `level_since` (the day of the report that drew them) is
not the day they were listed.

Only events new to this run count (dated on the run day or after the previous run's day, or
imported since the previous run: `fangkong.engine.scenario`), so that nobody is ordered into
quarantine twice for one stay. Residents of a high area of the run day are under its area rule
(足不出户: the area is the order) and are not quarantined for it. Each row is DEPARTURE_SCHEMA
(`fangkong.engine.quarantine`).
The level is the one the area had on the day of the stay or move (a low area, the rest of a
county, is listed but is no area to have stayed in or left: it orders nobody);
`fangkong.engine.quarantine.quarantine_orders` gives the policy's orders (none where the policy
has no regime for the population, as in 2020).

A loader and a rule: `load_departure_facts` reads the areas listed each day, the visits and moves
new to the run, and the homes of the people found (`DepartureFacts`; who is found is `_found`,
which the rule decides by too); `departure_rule` reads no store, so a simulator drives it with
frames of its own (`DepartureFacts.of`). Which events are new to the run is the loader's
(watermarks are the store's): a caller's frames hold the events it has not yet counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

import polars as pl

from fangkong.engine.facts import Facts
from fangkong.engine.frames import IDS, day_bounds, ids_of, read
from fangkong.engine.orders import TIME
from fangkong.engine.quarantine import DEPARTURE_SCHEMA
from fangkong.engine.scenario import Scenario, Watermarks
from fangkong.engine.zones import AREA_SCHEMA
from fangkong.policy import Policy
from fangkong.policy.terms import AreaUnit, RiskLevel
from fangkong.store import Store
from fangkong.store.person_view import current_person, residences_left

__all__ = ["DepartureFacts", "area_departures", "departure_rule", "load_departure_facts"]

log = logging.getLogger(__name__)

_NEW = (
    "({t} >= :day_start OR {t} >= :fresh_since OR ({b} > :w_prev AND {b} <= :w_cur))"  # new to run
)
_REGION_UNITS = {AreaUnit.STREET.value: 9, AreaUnit.COUNTY.value: 6}
_RESIDENCE_KEYS = {
    AreaUnit.BUILDING.value: pl.col("left_building_id"),
    AreaUnit.COMPOUND.value: pl.col("left_compound_id"),
}


# a stay or a move: who, when they left (at), when they were in the area (when), which area
_FOUND = {"person_id": pl.Int64(), "at": TIME, "when": TIME, "area_id": pl.String()}


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=DEPARTURE_SCHEMA)


def _region_key(column: str, unit: str) -> pl.Expr:
    code = pl.col(column)
    n = _REGION_UNITS[unit]
    return pl.when(code.str.len_chars() >= n).then(code.str.slice(0, n))


def _keyed(frame: pl.DataFrame, units: list[str], key_of: dict[str, pl.Expr]) -> pl.DataFrame:
    """`frame` once per unit of `units`, with `area_id` = unit:key (rows with no key dropped)."""
    parts = [
        frame.with_columns((pl.lit(f"{u}:") + key_of[u]).alias("area_id"))
        for u in units
        if u in key_of
    ]
    if not parts:
        return frame.clear().with_columns(pl.lit(None, pl.String).alias("area_id"))
    return pl.concat(parts).filter(pl.col("area_id").is_not_null())


_VISIT_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "at": TIME,  # when the stay ended: the checkout, else the check-in
    "checkin_at": TIME,
    "venue_id": pl.Int64(),
    "region_code": pl.String(),  # the venue's
}


def _read_stays(
    store: Store, listed: pl.DataFrame, since: object, params: dict[str, object]
) -> pl.DataFrame:
    """The check-ins new to the run since `since` at a venue of the `listed` areas (a venue
    area, or a venue of a listed street or county: _VISIT_SCHEMA)."""
    venues = listed.filter(pl.col("unit") == AreaUnit.VENUE.value)["venue_id"].to_list()
    regions = listed.filter(pl.col("unit").is_in(list(_REGION_UNITS)))["area_id"]
    prefixes = [a.split(":", 1)[1] for a in regions.to_list()]
    if not venues and not prefixes:
        return pl.DataFrame(schema=_VISIT_SCHEMA)
    sql = f"""
SELECT k.person_id, coalesce(k.checkout_at, k.checkin_at) AS at, k.checkin_at, v.venue_id,
       v.region_code
FROM checkin k JOIN venue v ON v.venue_id = k.venue_id
WHERE k.checkin_at >= :since AND k.checkin_at < :until
  AND {_NEW.format(t="k.checkin_at", b="k.batch_id")}
  AND (v.venue_id IN (SELECT unnest(CAST(:venues AS BIGINT[])))
       OR substr(v.region_code, 1, 9) IN (SELECT unnest(CAST(:prefixes AS VARCHAR[])))
       OR substr(v.region_code, 1, 6) IN (SELECT unnest(CAST(:prefixes AS VARCHAR[]))))"""
    return read(
        store,
        sql,
        {**params, "since": since, "venues": venues, "prefixes": prefixes},
        _VISIT_SCHEMA,
    )


def _stays(visits: pl.DataFrame, units: list[str]) -> pl.DataFrame:
    """The `visits` (_VISIT_SCHEMA) once per area of `units` they were in (_FOUND)."""
    keys = {
        AreaUnit.VENUE.value: pl.col("venue_id").cast(pl.String),
        **{u: _region_key("region_code", u) for u in _REGION_UNITS},
    }
    rows = visits.with_columns(pl.col("checkin_at").alias("when"))
    return _keyed(rows, units, keys).select(*_FOUND)


_TEXT = pl.String()
_MOVE_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "effective_at": TIME,
    "region_code": _TEXT,  # the residence moved to
    "compound_id": _TEXT,
    "building_id": _TEXT,
    "left_region_code": _TEXT,  # the residence left
    "left_compound_id": _TEXT,
    "left_building_id": _TEXT,
}


def _read_moves(
    store: Store, listed: pl.DataFrame, since: object, params: dict[str, object]
) -> pl.DataFrame:
    """The moves of residence new to the run since `since` (_MOVE_SCHEMA), when an area of
    `listed` is one people live in."""
    units = listed.get_column("unit").unique().to_list()
    if not set(units) & {*_RESIDENCE_KEYS, *_REGION_UNITS}:  # only venues: nobody lives there
        return pl.DataFrame(schema=_MOVE_SCHEMA)
    moved = f"""
SELECT * FROM {residences_left(":since", ":until")} m
WHERE {_NEW.format(t="m.effective_at", b="m.batch_id")}"""
    return read(store, moved, {**params, "since": since}, _MOVE_SCHEMA)


def _moves(rows: pl.DataFrame, units: list[str]) -> pl.DataFrame:
    """The moves (`rows`, _MOVE_SCHEMA) out of an area of `units`: the residence left was in
    it, the new one is not (_FOUND)."""
    keys = {**_RESIDENCE_KEYS, **{u: _region_key("left_region_code", u) for u in _REGION_UNITS}}
    now = {
        AreaUnit.BUILDING.value: pl.col("building_id"),
        AreaUnit.COMPOUND.value: pl.col("compound_id"),
        **{u: _region_key("region_code", u) for u in _REGION_UNITS},
    }
    left = _keyed(rows, units, keys)
    stayed = _keyed(rows, units, now).select("person_id", "effective_at", "area_id")
    return left.join(stayed, on=["person_id", "effective_at", "area_id"], how="anti").select(
        "person_id",
        pl.col("effective_at").alias("at"),
        pl.col("effective_at").alias("when"),
        "area_id",
    )


_HOME_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "region_code": pl.String(),
    "compound_id": pl.String(),
    "building_id": pl.String(),
}


def _read_homes(store: Store, day: date, people: pl.Series) -> pl.DataFrame:
    """The residence of `people` at the end of `day` (_HOME_SCHEMA)."""
    if people.len() == 0:
        return pl.DataFrame(schema=_HOME_SCHEMA)
    return read(
        store,
        f"SELECT person_id, region_code, compound_id, building_id"
        f" FROM {current_person(':until', person_ids=IDS)} p",
        {"ids": ids_of(people), "until": day_bounds(day)[1]},
        _HOME_SCHEMA,
    )


def _in_high_areas(homes: pl.DataFrame, high: pl.DataFrame) -> pl.Series:
    """The people of `homes` (_HOME_SCHEMA) who live in a `high` area (they are under its area
    rule)."""
    if high.height == 0 or homes.height == 0:
        return pl.Series("person_id", [], pl.Int64)
    keys = {
        AreaUnit.BUILDING.value: pl.col("building_id"),
        AreaUnit.COMPOUND.value: pl.col("compound_id"),
        **{u: _region_key("region_code", u) for u in _REGION_UNITS},
    }
    units = high.get_column("unit").unique().to_list()
    inside = _keyed(homes, units, keys).join(high.select("area_id"), on="area_id")
    return inside.get_column("person_id").unique()


_LISTED = {"on": pl.Date(), "area_id": pl.String(), "level": pl.String()}
_LISTED_AREA = {
    "run_day": pl.Date(),
    "area_id": pl.String(),
    "level": pl.String(),
    "unit": pl.String(),
    "venue_id": pl.Int64(),
    "next_level": pl.String(),
    "next_change_on": pl.Date(),
    "awaiting_round": pl.Boolean(),
}


def _listed(store: Store, scenario: Scenario, first: date, last: date) -> pl.DataFrame:
    """The high and medium areas listed on each day from `first` to `last` (see the module
    docstring): `on`, `area_id`, `level` (that day's), with `unit` and `venue_id`."""
    params = {**scenario.params(), "first": first, "last": last}
    # the runs from the latest before `first` (its list holds on `first`) to the day before
    # `last`, each with the areas it stored (one row with none when it stored none)
    window = (
        "run_day < :last AND run_day >= coalesce((SELECT max(q.run_day) FROM engine_run q"
        f" WHERE {scenario.visible('q')} AND q.run_day < :first), :first)"
    )
    rows = read(
        store,
        f"SELECT r.run_day, {', '.join(f'a.{c}' for c in _LISTED_AREA if c != 'run_day')}"
        f" FROM (SELECT DISTINCT run_day FROM engine_run r"
        f" WHERE {scenario.visible('r')} AND r.{window}) r"
        f" LEFT JOIN risk_area a ON a.run_day = r.run_day AND {scenario.visible('a')}",
        params,
        _LISTED_AREA,
    )
    areas = rows.filter(pl.col("area_id").is_not_null())
    if areas.height == 0:  # no area listed in the window
        return pl.DataFrame(schema={**_LISTED, "unit": pl.String(), "venue_id": pl.Int64()})
    days = pl.DataFrame({"on": pl.date_range(first, last, eager=True)})
    # the run each day's list comes from: the latest before the day
    by_day = days.join_asof(
        rows.select("run_day")
        .unique()
        .sort("run_day")
        .with_columns((pl.col("run_day") + timedelta(days=1)).alias("on")),
        on="on",
        strategy="backward",
    )
    changed = (
        pl.col("next_change_on").is_not_null()
        & (pl.col("next_change_on") <= pl.col("on"))
        & ~pl.col("awaiting_round")
    )
    level = pl.when(changed).then(pl.col("next_level")).otherwise(pl.col("level"))
    return (
        by_day.join(areas, on="run_day")
        .with_columns(level.alias("level"))
        .filter(pl.col("level").is_in([RiskLevel.HIGH.value, RiskLevel.MEDIUM.value]))
        .select(*_LISTED, "unit", "venue_id")
    )


_LISTED_SCHEMA: dict[str, pl.DataType] = {**_LISTED, "unit": pl.String(), "venue_id": pl.Int64()}


@dataclass(frozen=True)
class DepartureFacts(Facts):
    """What the departures rule reads (`departure_rule`), one frame per kind:

    - `listed`: the high and medium areas listed on each day of the lookback (`on`, `area_id`,
      that day's `level`, `unit`, `venue_id`: as the runs before each day drew them);
    - `visits`: the check-ins new to the run within the lookback at a venue of those areas;
    - `moves`: the moves of residence new to the run within the lookback;
    - `homes`: the residence at the end of the day of the people who stayed or moved;
    - `areas`: the run day's own areas (AREA_SCHEMA: whose high areas' residents are under the
      area's rule).
    """

    listed: pl.DataFrame
    visits: pl.DataFrame
    moves: pl.DataFrame
    homes: pl.DataFrame
    areas: pl.DataFrame

    SCHEMAS: ClassVar[dict[str, dict[str, pl.DataType]]] = {
        "listed": _LISTED_SCHEMA,
        "visits": _VISIT_SCHEMA,
        "moves": _MOVE_SCHEMA,
        "homes": _HOME_SCHEMA,
        "areas": AREA_SCHEMA,
    }


def _found(listed: pl.DataFrame, visits: pl.DataFrame, moves: pl.DataFrame) -> pl.DataFrame:
    """The stays in and moves out of the `listed` areas while each was listed, at its level of
    that day: the rule orders them, and the loader reads the homes of their people (one
    definition for both)."""
    units = listed.get_column("unit").unique().to_list()
    found = pl.concat([_stays(visits, units), _moves(moves, units)]).with_columns(
        pl.col("when").dt.date().alias("on")
    )
    return found.join(listed.select(*_LISTED), on=["on", "area_id"])


def load_departure_facts(
    store: Store,
    day: date,
    policy: Policy,
    areas: pl.DataFrame,
    *,
    scenario: Scenario,
    marks: Watermarks,
) -> DepartureFacts:
    """The facts of the day's departures from the store (`DepartureFacts`): none under a policy
    with no departure lookback, or with no area listed within it."""
    rules = policy.risk_areas
    if rules is None or rules.departure_lookback_days is None:
        return DepartureFacts.of(areas=areas)
    start, end = day_bounds(day)
    since = start - timedelta(days=rules.departure_lookback_days)
    listed = _listed(store, scenario, since.date(), day)
    if listed.height == 0:
        return DepartureFacts.of(areas=areas)
    params: dict[str, object] = {"day_start": start, "until": end, **marks.params()}
    places = listed.unique("area_id")
    visits = _read_stays(store, places, since, params)
    moves = _read_moves(store, places, since, params)
    # the homes are asked only where a high area of the day may hold someone found
    high = areas.filter(pl.col("level") == RiskLevel.HIGH.value)
    homes = (
        _read_homes(store, day, _found(listed, visits, moves).get_column("person_id"))
        if high.height
        else None
    )
    return DepartureFacts.of(
        listed=listed,
        visits=visits,
        moves=moves,
        areas=areas,
        **({} if homes is None else {"homes": homes}),
    )


def area_departures(
    store: Store,
    day: date,
    policy: Policy,
    areas: pl.DataFrame,
    *,
    scenario: Scenario,
    marks: Watermarks,
) -> pl.DataFrame:
    """DEPARTURE_SCHEMA rows: people who stayed in or left a high- or medium-risk area while it
    was listed, within the policy's lookback (see the module docstring); `areas`: the run day's
    own, whose high areas' residents are under the area's rule (`departure_rule` over
    `load_departure_facts`)."""
    facts = load_departure_facts(store, day, policy, areas, scenario=scenario, marks=marks)
    return departure_rule(facts)


def departure_rule(facts: DepartureFacts) -> pl.DataFrame:
    """DEPARTURE_SCHEMA rows from `facts`: the stays and moves of the listed areas, but for the
    residents of the day's high areas. Reads no store."""
    if facts.listed.height == 0:
        return _empty()
    found = _found(facts.listed, facts.visits, facts.moves)
    high = facts.areas.filter(pl.col("level") == RiskLevel.HIGH.value)
    residents = _in_high_areas(facts.homes, high)
    if residents.len():
        log.info("%d people in a high area's rule are not quarantined for it", residents.len())
    return found.filter(~pl.col("person_id").is_in(residents.implode())).select(
        "person_id", pl.col("at").alias("left_at"), pl.col("level").alias("risk_level")
    )
