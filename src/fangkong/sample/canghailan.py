"""Reading the canghailan/Wuhan-2019-nCoV daily files (shared/data/canghailan-2020/Data): per
day, cumulative confirmed, suspected, cured and dead per country, province and city. China's rows
include Hong Kong, Macao and Taiwan; a province's imported cases are in a pseudo-city row named
境外输入 (from March 2020); the cured column stalls after March 2020.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl

__all__ = ["city_counts", "province_series"]

_COUNTS = ("confirmed", "suspected", "cured", "dead")


def _read_day(data_dir: Path, day: date) -> pl.DataFrame:
    path = data_dir / "Data" / f"{day.isoformat()}.csv"
    frame = pl.read_csv(path, infer_schema=False)
    return frame.filter(
        (pl.col("country") == "中国") & pl.col("provinceCode").is_not_null()
    ).select(
        pl.lit(day).alias("date"),
        pl.col("provinceCode").alias("province"),
        "city",
        pl.col("cityCode").alias("city_code"),
        *[pl.col(c).cast(pl.Int64) for c in _COUNTS],
    )


def province_series(data_dir: Path, first: date, last: date) -> pl.DataFrame:
    """One row per province and day from `first` to `last`: cumulative `confirmed`, `cured`,
    `dead`, and `imported` (the 境外输入 row, 0 when absent). A day without a file repeats the
    day before."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    frames = [_read_day(data_dir, d) for d in days if (data_dir / "Data" / f"{d}.csv").is_file()]
    rows = pl.concat(frames)
    provinces = (
        rows.filter(pl.col("city").is_null())
        .group_by("date", "province")
        .agg(pl.col("confirmed", "cured", "dead").max())
    )
    imported = (
        rows.filter(pl.col("city") == "境外输入")
        .group_by("date", "province")
        .agg(pl.col("confirmed").max().alias("imported"))
    )
    grid = pl.DataFrame({"date": days}).join(
        provinces.select("province").unique().sort("province"), how="cross"
    )
    return (
        grid.join(provinces, on=["date", "province"], how="left")
        .join(imported, on=["date", "province"], how="left")
        .sort("province", "date")
        .with_columns(
            pl.col("confirmed", "cured", "dead", "imported")
            .forward_fill()
            .over("province")
            .fill_null(0)
        )
    )


def city_counts(data_dir: Path, day: date) -> pl.DataFrame:
    """The city rows of one day that carry a 6-digit division code: `province`, `city_code`,
    `confirmed`."""
    rows = _read_day(data_dir, day)
    return (
        rows.filter(
            pl.col("city_code").is_not_null() & pl.col("city_code").str.contains(r"^[0-9]{6}$")
        )
        .group_by("province", "city_code")
        .agg(pl.col("confirmed").max())
        .sort("province", "city_code")
    )
