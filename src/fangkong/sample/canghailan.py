"""Reading the canghailan/Wuhan-2019-nCoV daily files (shared/data/canghailan-2020/Data): per
day, cumulative confirmed, suspected, cured and dead per country, province and city. China's rows
include Hong Kong, Macao and Taiwan; a province's imported cases are in a pseudo-city row named
境外输入 (from March 2020); the cured column stalls after March 2020.

The sample registry needs only a small part of them: the province series from 2019-12-01 to
2020-04-07 and the city counts of 2020-04-07. That part ships with fangkong in `data/`
(`write_bundle` makes it; the data are MIT-licensed, © 2020 胡昊, canghailan/Wuhan-2019-nCoV
@0dfcac45), so the demo runs without the raw files; `data_dir=None` reads the bundle.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl

__all__ = ["BUNDLE", "city_counts", "province_series", "write_bundle"]

BUNDLE = Path(__file__).resolve().parent / "data"
_BUNDLE_FIRST, _BUNDLE_LAST = date(2019, 12, 1), date(2020, 4, 7)

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


def province_series(data_dir: Path | None, first: date, last: date) -> pl.DataFrame:
    """One row per province and day from `first` to `last`: cumulative `confirmed`, `cured`,
    `dead`, and `imported` (the 境外输入 row, 0 when absent). A day without a file repeats the
    day before."""
    if data_dir is None:
        _in_bundle(first, last)
        bundled = pl.read_csv(
            BUNDLE / "canghailan-provinces.csv",
            schema_overrides={"province": pl.String, "date": pl.Date},
        )
        return bundled.filter(pl.col("date").is_between(first, last))
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


def city_counts(data_dir: Path | None, day: date) -> pl.DataFrame:
    """The city rows of one day that carry a 6-digit division code: `province`, `city_code`,
    `confirmed`."""
    if data_dir is None:
        _in_bundle(day, day)
        return pl.read_csv(
            BUNDLE / f"canghailan-cities-{day.isoformat()}.csv",
            schema_overrides={"province": pl.String, "city_code": pl.String},
        )
    rows = _read_day(data_dir, day)
    return (
        rows.filter(
            pl.col("city_code").is_not_null() & pl.col("city_code").str.contains(r"^[0-9]{6}$")
        )
        .group_by("province", "city_code")
        .agg(pl.col("confirmed").max())
        .sort("province", "city_code")
    )


def _in_bundle(first: date, last: date) -> None:
    if first < _BUNDLE_FIRST or last > _BUNDLE_LAST:
        raise ValueError(
            f"the bundled canghailan data cover {_BUNDLE_FIRST}..{_BUNDLE_LAST},"
            f" not {first}..{last}: give the raw data folder"
        )


def write_bundle(data_dir: Path, out_dir: Path = BUNDLE) -> None:
    """Write the bundled extract from the raw files (`shared/data/canghailan-2020`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    province_series(data_dir, _BUNDLE_FIRST, _BUNDLE_LAST).write_csv(
        out_dir / "canghailan-provinces.csv"
    )
    city_counts(data_dir, _BUNDLE_LAST).write_csv(
        out_dir / f"canghailan-cities-{_BUNDLE_LAST.isoformat()}.csv"
    )
