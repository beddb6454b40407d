"""The published risk-area list (中高风险地区名单), in the national list's columns: province, city,
county, street, compound (the place: a compound, a building of a compound, a venue by its name;
empty where the whole street or county is the area, as for a low area, the rest of a county),
level, since. Beside them the area's id, unit, reason, and the day the rule lowers or lifts it
(a low area's: the day its county's last high or medium area is lifted, null while unknown).

Names come from the division table (`region`: GB/T 2260 built in, streets by import); a code
with no name there is shown as its code.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from fangkong.engine.frames import read
from fangkong.engine.scenario import LIVE, Scenario
from fangkong.engine.zones import areas_on
from fangkong.policy.terms import AreaUnit, RiskLevel
from fangkong.store import Store

__all__ = ["LIST_COLUMNS", "published_list"]

LIST_COLUMNS = (
    "province",
    "city",
    "county",
    "street",
    "compound",
    "level",
    "since",
    "area_id",
    "unit",
    "reason",
    "next_level",
    "next_change_on",
)

_LEVELS = {RiskLevel.HIGH.value: 0, RiskLevel.MEDIUM.value: 1, RiskLevel.LOW.value: 2}


def _codes(code: pl.Expr) -> dict[str, pl.Expr]:
    return {
        "province": code.str.slice(0, 2) + "0000",
        "city": code.str.slice(0, 4) + "00",
        "county": code.str.slice(0, 6),
        "street": pl.when(code.str.len_chars() >= 9).then(code.str.slice(0, 9)),
    }


def published_list(store: Store, day: date, scenario: Scenario = LIVE) -> pl.DataFrame:
    """The areas in force on `day` in `scenario` as the list publishes them (LIST_COLUMNS),
    high, then medium, then low, then by place."""
    areas = areas_on(store, day, scenario)
    if areas.height == 0:
        return pl.DataFrame(schema=dict.fromkeys(LIST_COLUMNS, pl.String()))
    codes = areas.with_columns(**{k: v for k, v in _codes(pl.col("region_code")).items()}).select(
        "area_id", "province", "city", "county", "street"
    )
    wanted = pl.concat([codes[c] for c in ("province", "city", "county", "street")])
    names = read(
        store,
        "SELECT region_code, name FROM region"
        " WHERE region_code IN (SELECT unnest(CAST(:codes AS VARCHAR[])))",
        {"codes": wanted.drop_nulls().unique().to_list()},
        {"region_code": pl.String(), "name": pl.String()},
    )
    venues = read(
        store,
        "SELECT venue_id, name FROM venue WHERE venue_id IN (SELECT unnest(CAST(:v AS BIGINT[])))",
        {"v": areas.get_column("venue_id").drop_nulls().unique().to_list()},
        {"venue_id": pl.Int64(), "name": pl.String()},
    ).rename({"name": "venue_name"})
    named = codes
    for column in ("province", "city", "county", "street"):
        named = (
            named.join(names, left_on=column, right_on="region_code", how="left")
            .with_columns(pl.coalesce("name", column).alias(column))
            .drop("name")
        )
    unit = pl.col("unit")
    place = (
        pl.when(unit == AreaUnit.VENUE.value)
        .then(pl.coalesce("venue_name", pl.format("venue {}", "venue_id")))
        .when(unit == AreaUnit.BUILDING.value)
        .then(pl.concat_str([pl.col("compound_id").fill_null("?"), "building_id"], separator=" "))
        .when(unit == AreaUnit.COMPOUND.value)
        .then(pl.col("compound_id"))
        .otherwise(pl.lit(""))
    )
    return (
        areas.join(named, on="area_id")
        .join(venues, on="venue_id", how="left")
        .with_columns(
            place.alias("compound"),
            pl.col("level_since").alias("since"),
            pl.col("level").replace_strict(_LEVELS).alias("_order"),
        )
        .sort("_order", "county", "street", "compound", nulls_last=True)
        .select(LIST_COLUMNS)
    )
