"""What every engine step needs to read the store into frames: the engine's day in Beijing time,
and typed reads.

**The day.** A run day D is [D 00:00, D+1 00:00) Beijing time (`ZONE`); `day_start` and
`day_bounds` give its bounds as aware datetimes (for query parameters), `midnight` turns a Date
column into 00:00 of that day (the orders' `TIME` type).

**Reads.** `read` runs a query and returns its rows with the declared column types: an empty
result comes back with those columns too (PostgreSQL returns untyped empties). `ids_of` makes
the distinct person ids a `CAST(:ids AS BIGINT[])` parameter takes; `IDS` is that subquery;
`named` keeps the parameters a query names; `collect` runs a lazy plan the way the steps do.

Kept apart from the steps so that one implementation of each serves them all.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from fangkong.store import Store

__all__ = [
    "IDS",
    "LOCAL_ZONE",
    "ZONE",
    "among_ids",
    "cast_to",
    "collect",
    "day_bounds",
    "day_start",
    "ids_of",
    "midnight",
    "named",
    "read",
    "typed",
    "with_optional",
]

ZONE = "Asia/Shanghai"
LOCAL_ZONE = ZoneInfo(ZONE)

# the person ids of an `ids` parameter (see `ids_of`), for `person_id IN (...)`
IDS = "SELECT unnest(CAST(:ids AS BIGINT[]))"


def collect(plan: pl.LazyFrame) -> pl.DataFrame:
    """The rows of `plan`, by Polars' in-memory engine. The engine's plans run over frames
    already in memory (a store's reads, a simulator's state), most of a few thousand rows, and
    Polars 2 picks its streaming engine by default: on such frames its set-up costs about twice
    the in-memory engine's (a filter over 1,000 rows: 0.24 against 0.12 ms). Over a twin's 120
    days at 1 million people the gain was 2%, about the size of the noise (README)."""
    return plan.collect(engine="in-memory")


def among_ids(store: Store, column: str) -> str:
    """SQL: `column` is one of the `ids` parameter's values. DuckDB joins `IN (unnest)` as a
    hash semi-join; PostgreSQL, on a table whose statistics are not fresh yet (rows just
    written by the run), may plan it as a nested loop over the unnested list, |rows| x |ids|,
    while `= ANY(array)` is one hashed probe per row there."""
    if store.dialect == "postgres":
        return f"{column} = ANY(CAST(:ids AS BIGINT[]))"
    return f"{column} IN ({IDS})"


def day_start(day: date) -> datetime:
    """00:00 of `day`, Beijing time."""
    return datetime.combine(day, time(0), tzinfo=LOCAL_ZONE)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The day [D 00:00, D+1 00:00) in Asia/Shanghai, as aware datetimes."""
    return day_start(day), day_start(day + timedelta(days=1))


def midnight(expr: pl.Expr) -> pl.Expr:
    """A Date expression as 00:00 of that day, Beijing time (the orders' TIME type)."""
    return expr.cast(pl.Datetime("us")).dt.replace_time_zone(ZONE)


def read(
    store: Store, sql: str, params: Mapping[str, Any], schema: Mapping[str, pl.DataType]
) -> pl.DataFrame:
    """A query's rows with declared column types (an empty result too, on either backend)."""
    return typed(store.fetch(sql, params), schema)


def typed(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """A query's rows with declared column types (`read`; rows from elsewhere too)."""
    if frame.height == 0:
        return pl.DataFrame(schema=dict(schema))
    return cast_to(frame, schema)


def cast_to(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """`frame`'s columns of `schema`, in its order, cast to its types. A time without a zone
    is Beijing time, as in the files the importer reads (a cast alone would read it as UTC,
    eight hours off); an aware one is converted. A frame that has exactly the schema is taken
    as it is: each cast is a Polars query, and the frames a run passes between its steps
    mostly have their schema already (some 40 queries a quiet day)."""
    if frame.schema == pl.Schema(schema):
        return frame
    return frame.select(_cast(c, frame.schema.get(c), t) for c, t in schema.items())


def with_optional(
    frame: pl.DataFrame, schema: Mapping[str, pl.DataType], optional: Collection[str]
) -> tuple[pl.DataFrame, list[str]]:
    """`frame` with each column of `schema` it lacks that is `optional` added as nulls of its
    type (a fact that may be unknown), and the columns it lacks that are not."""
    absent = [c for c in schema if c not in frame.columns]
    filled = [c for c in absent if c in optional]
    if filled:
        frame = frame.with_columns(pl.lit(None, schema[c]).alias(c) for c in filled)
    return frame, [c for c in absent if c not in optional]


def _cast(column: str, have: pl.DataType | None, want: pl.DataType) -> pl.Expr:
    expr = pl.col(column)
    naive = isinstance(have, pl.Datetime) and have.time_zone is None
    if naive and isinstance(want, pl.Datetime) and want.time_zone is not None:
        expr = expr.dt.replace_time_zone(ZONE).dt.convert_time_zone(want.time_zone)
    return expr.cast(want)


def named(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of `params` that `sql` names (DuckDB refuses others)."""
    return {k: v for k, v in params.items() if re.search(rf":{k}\b", sql)}


def ids_of(values: pl.Series | Iterable[int]) -> list[int]:
    """Distinct person ids, for a `CAST(:ids AS BIGINT[])` parameter."""
    series = values if isinstance(values, pl.Series) else pl.Series(list(values), dtype=pl.Int64)
    if series.len() == 0:  # most calls of a quiet day: no query to run
        return []
    ids: list[int] = series.drop_nulls().unique().sort().cast(pl.Int64).to_list()
    return ids
