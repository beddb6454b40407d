"""Who stayed in or left a high- or medium-risk area (7天内有中高风险区旅居史), for quarantine.

`area_departures(store, day, policy, areas)` finds, within the policy's
`risk_areas.departure_lookback_days` before the end of the run day, while each area held its
level (from its `level_since`):

- **stays**: check-ins at a venue inside a listed area (the venue itself where it is the area,
  or a venue of a listed street or county); the stay ends at the checkout, else the check-in;
- **departures**: moves out of a listed residence area (building, compound, street or county:
  the residence the move left was in it, the new one is not), effective then.

Only events new to this run count (dated on the run day or after the previous run's day, or
imported since the previous run: `fangkong.engine.scenario`), so that nobody is ordered into
quarantine twice for one stay. Residents of a high area are under its area rule (足不出户: the
area is the order) and are not quarantined for it. Each row is DEPARTURE_SCHEMA
(`fangkong.engine.quarantine`), with the level of the area as it is listed on the run day;
`departure_quarantine_orders` gives the policy's orders (none where the policy has no regime for
the population, as in 2020).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import polars as pl

from fangkong.engine.frames import IDS, day_bounds, ids_of, read
from fangkong.engine.orders import TIME
from fangkong.engine.quarantine import DEPARTURE_SCHEMA
from fangkong.engine.scenario import Watermarks
from fangkong.policy import Policy
from fangkong.policy.terms import AreaUnit, RiskLevel
from fangkong.store import Store
from fangkong.store.person_view import current_person, residences_left

__all__ = ["area_departures"]

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


def _stays(
    store: Store, listed: pl.DataFrame, since: object, params: dict[str, object]
) -> pl.DataFrame:
    venues = listed.filter(pl.col("unit") == AreaUnit.VENUE.value)["venue_id"].to_list()
    regions = listed.filter(pl.col("unit").is_in(list(_REGION_UNITS)))["area_id"]
    prefixes = [a.split(":", 1)[1] for a in regions.to_list()]
    if not venues and not prefixes:
        return pl.DataFrame(schema=_FOUND)
    sql = f"""
SELECT k.person_id, coalesce(k.checkout_at, k.checkin_at) AS at, k.checkin_at, v.venue_id,
       v.region_code
FROM checkin k JOIN venue v ON v.venue_id = k.venue_id
WHERE k.checkin_at >= :since AND k.checkin_at < :until
  AND {_NEW.format(t="k.checkin_at", b="k.batch_id")}
  AND (v.venue_id IN (SELECT unnest(CAST(:venues AS BIGINT[])))
       OR substr(v.region_code, 1, 9) IN (SELECT unnest(CAST(:prefixes AS VARCHAR[])))
       OR substr(v.region_code, 1, 6) IN (SELECT unnest(CAST(:prefixes AS VARCHAR[]))))"""
    rows = read(
        store,
        sql,
        {**params, "since": since, "venues": venues, "prefixes": prefixes},
        {
            "person_id": pl.Int64(),
            "at": TIME,
            "checkin_at": TIME,
            "venue_id": pl.Int64(),
            "region_code": pl.String(),
        },
    ).with_columns(pl.col("checkin_at").alias("when"))
    keys = {
        AreaUnit.VENUE.value: pl.col("venue_id").cast(pl.String),
        **{u: _region_key("region_code", u) for u in _REGION_UNITS},
    }
    units = listed.get_column("unit").unique().to_list()
    return _keyed(rows, units, keys).select(*_FOUND)


def _moves(
    store: Store, listed: pl.DataFrame, since: object, params: dict[str, object]
) -> pl.DataFrame:
    moved = f"""
SELECT * FROM {residences_left(":since", ":until")} m
WHERE {_NEW.format(t="m.effective_at", b="m.batch_id")}"""
    text = pl.String()
    rows = read(
        store,
        moved,
        {**params, "since": since},
        {
            "person_id": pl.Int64(),
            "effective_at": TIME,
            "region_code": text,
            "compound_id": text,
            "building_id": text,
            "left_region_code": text,
            "left_compound_id": text,
            "left_building_id": text,
        },
    )
    keys = {**_RESIDENCE_KEYS, **{u: _region_key("left_region_code", u) for u in _REGION_UNITS}}
    now = {
        AreaUnit.BUILDING.value: pl.col("building_id"),
        AreaUnit.COMPOUND.value: pl.col("compound_id"),
        **{u: _region_key("region_code", u) for u in _REGION_UNITS},
    }
    units = listed.get_column("unit").unique().to_list()
    left = _keyed(rows, units, keys)
    stayed = _keyed(rows, units, now).select("person_id", "effective_at", "area_id")
    return left.join(stayed, on=["person_id", "effective_at", "area_id"], how="anti").select(
        "person_id",
        pl.col("effective_at").alias("at"),
        pl.col("effective_at").alias("when"),
        "area_id",
    )


def _in_high_areas(store: Store, day: date, people: pl.Series, high: pl.DataFrame) -> pl.Series:
    """Those of `people` who live in a high area on `day` (they are under its area rule)."""
    if high.height == 0 or people.len() == 0:
        return pl.Series("person_id", [], pl.Int64)
    home = read(
        store,
        f"SELECT person_id, region_code, compound_id, building_id"
        f" FROM {current_person(':until', person_ids=IDS)} p",
        {"ids": ids_of(people), "until": day_bounds(day)[1]},
        {
            "person_id": pl.Int64(),
            "region_code": pl.String(),
            "compound_id": pl.String(),
            "building_id": pl.String(),
        },
    )
    keys = {
        AreaUnit.BUILDING.value: pl.col("building_id"),
        AreaUnit.COMPOUND.value: pl.col("compound_id"),
        **{u: _region_key("region_code", u) for u in _REGION_UNITS},
    }
    units = high.get_column("unit").unique().to_list()
    inside = _keyed(home, units, keys).join(high.select("area_id"), on="area_id")
    return inside.get_column("person_id").unique()


def area_departures(
    store: Store, day: date, policy: Policy, areas: pl.DataFrame, *, marks: Watermarks
) -> pl.DataFrame:
    """DEPARTURE_SCHEMA rows: people who stayed in or left a listed high- or medium-risk area
    within the policy's lookback (see the module docstring)."""
    rules = policy.risk_areas
    if rules is None or rules.departure_lookback_days is None:
        return _empty()
    listed = areas.filter(pl.col("level").is_in([RiskLevel.HIGH.value, RiskLevel.MEDIUM.value]))
    if listed.height == 0:
        return _empty()
    start, end = day_bounds(day)
    since = start - timedelta(days=rules.departure_lookback_days)
    params: dict[str, object] = {"day_start": start, "until": end, **marks.params()}
    found = pl.concat(
        [_stays(store, listed, since, params), _moves(store, listed, since, params)]
    ).join(listed.select("area_id", "level", "level_since"), on="area_id")
    found = found.filter(pl.col("when").dt.date() >= pl.col("level_since"))
    high = listed.filter(pl.col("level") == RiskLevel.HIGH.value)
    residents = _in_high_areas(store, day, found.get_column("person_id"), high)
    if residents.len():
        log.info("%d people in a high area's rule are not quarantined for it", residents.len())
    return found.filter(~pl.col("person_id").is_in(residents.implode())).select(
        "person_id", pl.col("at").alias("left_at"), pl.col("level").alias("risk_level")
    )
