"""The daily bulletin assembled from aggregated per-province daily reports, the way the NHC
assembled it: provinces report their figures, the nation is their sum unless it is reported
itself. The CSV format is documented in docs/reports-format.md; in short:

- one row per `date` × `region_code`; `region_code` is 000000 (the nation: 31 provinces and the
  XPCC, for numbers reported without a province breakdown), a province (xx0000, 660000 for the
  XPCC), a city (a prefecture xxxx00, or a county-level city directly under its province xx90xx),
  or Hong Kong 810000, Macao 820000, Taiwan 710000 (outside the national figures);
- the figure columns are the field names of `fangkong.bulletin.bulletin.FIELDS`, each optional;
  an empty cell is "not reported";
- `name` (informational, not read) and `source` (free text, kept with the bulletin) are optional.

A figure of a region is its own row's value when reported, else the sum of its children's values
(cities for a province, provinces for the nation) when any child reports it, else None. A
reported parent smaller than the sum of its children is an error, as is a row whose parts do not
add up (new confirmed = imported + local, ...). When one of total, imported, local is missing it
is the difference of the other two. `severe_change`, when not reported, is the region's current
severe cases minus those of the day before, if the file has both days.

Every error names the file, the row (1-based, header not counted), its line and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from fangkong.bulletin.bulletin import FIELD_NAMES, Bulletin, bulletin_from_frame
from fangkong.bulletin.regions import (
    HMT_CODES,
    NATION_CODE,
    check_scope,
    province_expr,
    region_name,
)
from fangkong.bulletin.reports_file import (
    REPORT_COLUMNS,
    SIGNED,
    ReportsFile,
    checked_rows,
    first_row,
)
from fangkong.errors import NotFoundError

__all__ = [
    "REPORT_COLUMNS",
    "Reports",
    "bulletin_from_reports",
    "read_reports",
]

_ADDITIVE = tuple(n for n in FIELD_NAMES if n not in SIGNED)


@dataclass(frozen=True)
class Reports:
    """A validated reports file: `frame` holds one row per region and date after resolution
    (cities summed into provinces, provinces into the nation, derived figures filled in), with
    `date`, `region_code`, `source` and every figure."""

    path: str
    frame: pl.DataFrame

    @property
    def days(self) -> list[date]:
        days: list[date] = self.frame.get_column("date").unique().sort().to_list()
        return days


def _sum_if_any(name: str) -> pl.Expr:
    return pl.when(pl.col(name).is_not_null().any()).then(pl.col(name).sum()).alias(name)


def _roll_up(
    file: ReportsFile, parents: pl.DataFrame, children: pl.DataFrame, parent_key: pl.Expr, what: str
) -> pl.DataFrame:
    """Parents' figures: their own where reported, else the sum of their children's. A parent
    smaller than its children's sum is an error on the parent's row."""
    sums = (
        children.with_columns(parent_key.alias("_parent"))
        .group_by("date", "_parent")
        .agg(*[_sum_if_any(n) for n in FIELD_NAMES])
        .rename({"_parent": "region_code"})
    )
    joined = parents.join(
        sums, on=["date", "region_code"], how="full", coalesce=True, suffix="_sum"
    )
    checks = [
        (n, pl.col(n) < pl.col(f"{n}_sum"), f"less than the sum of its {what}") for n in _ADDITIVE
    ]
    bad = joined.filter(pl.col("_row").is_not_null())
    if bad.height:
        found = []
        for i, (_, expr, _) in enumerate(checks):
            row = first_row(bad, expr.fill_null(False))
            if row is not None:
                found.append((row, i))
        if found:
            row, i = min(found)
            name, _, message = checks[i]
            parent, children_sum = (
                bad.filter(pl.col("_row") == row).select(name, f"{name}_sum").row(0)
            )
            raise file.error(f"{parent} is {message} ({children_sum})", row=row, field=name)
    return joined.select(
        "date",
        "region_code",
        "_row",
        "source",
        *[pl.coalesce(n, f"{n}_sum").alias(n) for n in FIELD_NAMES],
    )


def _with_severe_change(frame: pl.DataFrame) -> pl.DataFrame:
    before = frame.select(
        (pl.col("date") + timedelta(days=1)).alias("date"),
        "region_code",
        pl.col("current_severe").alias("_severe_before"),
    )
    return (
        frame.join(before, on=["date", "region_code"], how="left")
        .with_columns(
            pl.coalesce("severe_change", pl.col("current_severe") - pl.col("_severe_before")).alias(
                "severe_change"
            )
        )
        .drop("_severe_before")
    )


def read_reports(path: str | Path) -> Reports:
    """Read and validate a reports file (docs/reports-format.md). Raises ImportFileError naming
    the file, row, line and field of the first problem."""
    file = ReportsFile(Path(path))
    rows = checked_rows(file)
    level = (
        pl.when(pl.col("region_code") == NATION_CODE)
        .then(pl.lit("nation"))
        .when(pl.col("region_code").is_in(HMT_CODES))
        .then(pl.lit("hmt"))
        .when(pl.col("region_code").str.ends_with("0000"))
        .then(pl.lit("province"))
        .otherwise(pl.lit("city"))
    )
    rows = rows.with_columns(level.alias("_level"))
    keep = ["date", "region_code", "_row", "source", *FIELD_NAMES]
    cities = rows.filter(pl.col("_level") == "city").select(keep)
    provinces = _roll_up(
        file,
        rows.filter(pl.col("_level") == "province").select(keep),
        cities,
        province_expr(pl.col("region_code")),
        "cities",
    )
    nation = _roll_up(
        file,
        rows.filter(pl.col("_level") == "nation").select(keep),
        provinces,
        pl.lit(NATION_CODE),
        "provinces",
    )
    hmt = rows.filter(pl.col("_level") == "hmt").select(keep)
    frame = pl.concat([nation, provinces, cities, hmt]).drop("_row")
    return Reports(str(path), _with_severe_change(frame).sort("date", "region_code"))


def bulletin_from_reports(
    reports: Reports | str | Path, day: date, *, region: str | None = None
) -> Bulletin:
    """The bulletin of `day` assembled from a reports file, for the nation or, with `region`,
    one province or city."""
    rep = reports if isinstance(reports, Reports) else read_reports(reports)
    scope = check_scope(region or NATION_CODE)
    frame = rep.frame.filter(pl.col("date") == day)
    if scope not in frame.get_column("region_code").to_list():
        raise NotFoundError(
            f"{rep.path} has no figures for {scope} ({region_name(scope)}) on {day.isoformat()}"
        )
    sources = [s for s in frame.get_column("source").unique(maintain_order=True).to_list() if s]
    return bulletin_from_frame(day, frame, scope=scope, sources=(rep.path, *sources))
