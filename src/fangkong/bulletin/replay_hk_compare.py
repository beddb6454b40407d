"""Hong Kong's figures from the registry compared with CHP's daily situation, day by day, and
each day that differs classified by a reason computed from the two files (never typed in).

Compared, for every day the situation gives up to the line list's last report date: the
cumulative confirmed cases (the bulletin's `cumulative_confirmed` against CHP's confirmed +
probable) and the new cases of the day (the bulletin's `new_confirmed` against the day's increase
of CHP's count). The line list has no date of death or discharge, so deaths and discharges are
compared once, on the line list's last report date, taking its outcome column to stand on that
day (the day it was published; a line list cut short of that day gives outcomes of later).

**Reasons**, for a day whose cumulative figures differ (registry R, CHP S). From the line list:
`deleted` = the cases CHP withdrew (status Deleted; not in the registry) reported up to the day
and still counted by CHP — all of them until CHP's revision day, the first day from which CHP's
count no longer includes those reported before it (found in the series: from that day on, for
two days, S < R + deleted - late); `late` = the cases numbered out of sequence (after a jump in
case numbers larger than the whole line list: CHP numbered them when its count had passed that
number, so after its situation of their report date) reported up to the day. The expected
CHP figure is E = R + deleted - late. The reason names the parts that are not 0 —
`deleted_cases_counted`, `cases_numbered_later` — and, when S differs from E, the first of the
following that holds (all joined by `+`):

- `situation_dip`: S is below CHP's own count of the day before (its cumulative fell for a day);
- `situation_published_midday`: S < E and the situation was taken before the end of the day
  (`As of time` before 23:59): the day's later cases are in the next day's situation;
- `situation_behind`: E of the day before <= S < E, and S = E again on a later day: some of
  the day's cases in the line list are not yet in the day's situation (reported after it was
  published, or their report date moved earlier);
- `not_in_situation`: S < E otherwise: cases of the line list up to the day that CHP's count
  does not include, up to the last day compared;
- `line_list_dates_later`: E < S <= E of the next day, and S = E again on a later day: the
  situation counts cases that the line list reports on a later day (report date moved later);
- `unexplained`: none of these holds.

A day whose new cases differ is explained by what changed the cumulative difference S - R
from the day before: more deleted cases counted (`deleted_cases_counted`), CHP's revision
removing them (`deleted_cases_removed`), more late-numbered cases (`cases_numbered_later`),
and a change of the rest S - E, named by the reason of the day where it is not 0 (`(day before)`
appended when that is the day before).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from fangkong.bulletin.replay_hk import (
    DELETED,
    import_line_list,
    read_line_list,
    read_situation,
    registry_figures,
    situation_days,
)
from fangkong.store.base import Store

__all__ = ["Comparison", "compare_with_situation", "differing_runs", "replay_hong_kong"]

_END_OF_DAY = "23:59"


@dataclass(frozen=True)
class Comparison:
    """`days`: one row per day compared (`date`, `registry_cumulative`, `chp_cumulative`,
    `registry_new`, `chp_new`, `as_of_time`, `expected`, `reason`, `new_reason`: null when
    equal); `revision_day`: CHP's revision of its deleted cases (None if not found); the
    snapshot of outcomes on `last_day`: `deaths` and `discharged` as (line list, CHP)."""

    days: pl.DataFrame
    revision_day: date | None
    last_day: date
    deaths: tuple[int, int | None]
    discharged: tuple[int, int | None]

    def differing(self, what: str = "reason") -> pl.DataFrame:
        return self.days.filter(pl.col(what).is_not_null())


def _per_day(frame: pl.DataFrame, days: pl.DataFrame, name: str) -> pl.DataFrame:
    """The number of rows of `frame` with report_date up to each day (cumulative)."""
    counts = frame.group_by("report_date").len(name).rename({"report_date": "date"})
    return (
        days.join(counts, on="date", how="left")
        .with_columns(pl.col(name).fill_null(0).cum_sum().cast(pl.Int64))
        .select("date", name)
    )


def _late_cases(lines: pl.DataFrame) -> pl.DataFrame:
    """The cases numbered after a jump in case numbers larger than the line list itself."""
    numbers = lines.select("case_no").sort("case_no")
    jumps = numbers.with_columns((pl.col("case_no") - pl.col("case_no").shift(1)).alias("jump"))
    big = jumps.filter(pl.col("jump") > lines.height)
    if big.height == 0:
        return lines.clear()
    first = int(big.get_column("case_no").min())  # type: ignore[arg-type]
    return lines.filter(pl.col("case_no") >= first)


def compare_with_situation(
    lines: pl.DataFrame, situation: pl.DataFrame, registry: pl.DataFrame
) -> Comparison:
    """Compare `registry` (`replay_hk.registry_figures`) with `situation`
    (`replay_hk.read_situation`) over their common days, with the reasons computed from
    `lines` (`replay_hk.read_line_list`). See the module docstring."""
    last = min(lines.get_column("report_date").max(), situation.get_column("date").max())  # type: ignore[type-var]
    assert isinstance(last, date)
    days = (
        situation.filter(pl.col("date") <= last)
        .select("date", "as_of_time", "chp_cumulative")
        .join(registry, on="date", how="inner")
        .sort("date")
    )
    live = lines.filter(pl.col("status") != DELETED)
    deleted = lines.filter(pl.col("status") == DELETED)
    f = (
        days.join(_per_day(deleted, days, "deleted_all"), on="date")
        .join(_per_day(_late_cases(live), days, "late"), on="date")
        .with_columns(
            (pl.col("registry_cumulative") + pl.col("deleted_all") - pl.col("late")).alias("_e")
        )
    )
    # CHP's revision: the first day from which (two days running) its count is below E
    below = (pl.col("deleted_all") > 0) & (pl.col("chp_cumulative") < pl.col("_e"))
    revision = f.filter(below & below.shift(-1).fill_null(False)).get_column("date").min()
    revision_day = revision if isinstance(revision, date) else None
    if revision_day is not None:
        before = deleted.filter(pl.col("report_date") < revision_day).height
        removed = pl.when(pl.col("date") >= revision_day).then(before).otherwise(0)
    else:
        removed = pl.lit(0)
    f = f.with_columns((pl.col("deleted_all") - removed).alias("deleted")).with_columns(
        (pl.col("registry_cumulative") + pl.col("deleted") - pl.col("late")).alias("expected")
    )
    s, e = pl.col("chp_cumulative"), pl.col("expected")
    parts = pl.concat_str(
        pl.when(pl.col("deleted") > 0).then(pl.lit("deleted_cases_counted")),
        pl.when(pl.col("late") > 0).then(pl.lit("cases_numbered_later")),
        separator="+",
        ignore_nulls=True,
    )
    parts = pl.when(parts != "").then(parts)  # null when neither part counts
    # the rest S - E comes back to 0 on a later day: the two files agree again
    settles = (s == e).cast(pl.Int8).reverse().cum_max().reverse().shift(-1).fill_null(0) == 1
    midday = pl.col("as_of_time").is_not_null() & (pl.col("as_of_time") < _END_OF_DAY)
    rest = (
        pl.when(s < s.shift(1))
        .then(pl.lit("situation_dip"))
        .when((s < e) & midday)
        .then(pl.lit("situation_published_midday"))
        .when((s < e) & (s >= e.shift(1)) & settles)
        .then(pl.lit("situation_behind"))
        .when(s < e)
        .then(pl.lit("not_in_situation"))
        .when((s > e) & (s <= e.shift(-1)) & settles)
        .then(pl.lit("line_list_dates_later"))
        .otherwise(pl.lit("unexplained"))
    )
    f = f.with_columns(pl.when(s != e).then(rest).alias("rest_reason"))
    reason = pl.when(s != pl.col("registry_cumulative")).then(
        pl.concat_str(parts, "rest_reason", separator="+", ignore_nulls=True)
    )
    f = f.with_columns(reason.alias("reason"), (s - s.shift(1)).alias("chp_new"))
    f = f.with_columns(_new_reason().alias("new_reason"))
    outcome = lines.filter(pl.col("status") != DELETED).get_column("outcome")
    final = situation.filter(pl.col("date") == last)
    chp = final.row(0, named=True) if final.height else {"deaths": None, "discharged": None}
    return Comparison(
        days=f.select(
            "date",
            "registry_cumulative",
            "chp_cumulative",
            "registry_new",
            "chp_new",
            "as_of_time",
            "expected",
            "reason",
            "new_reason",
        ),
        revision_day=revision_day,
        last_day=last,
        deaths=(int((outcome == "Deceased").sum()), chp["deaths"]),
        discharged=(int((outcome == "Discharged").sum()), chp["discharged"]),
    )


def _new_reason() -> pl.Expr:
    """Why a day's new cases differ: the difference of the day's increase is the change of the
    cumulative difference S - R, made of the change of the counted deleted and late cases and
    the change of the rest (S - E), each named by its reason."""
    rest = pl.col("chp_cumulative") - pl.col("expected")
    moved_rest = pl.when((rest - rest.shift(1)) != 0).then(
        pl.when(rest != 0)
        .then(pl.col("rest_reason"))
        .otherwise(pl.col("rest_reason").shift(1) + " (day before)")
    )
    deleted = pl.col("deleted") - pl.col("deleted").shift(1)
    moved = pl.concat_str(
        pl.when(deleted > 0).then(pl.lit("deleted_cases_counted")),
        pl.when(deleted < 0).then(pl.lit("deleted_cases_removed")),
        pl.when((pl.col("late") - pl.col("late").shift(1)) != 0).then(
            pl.lit("cases_numbered_later")
        ),
        moved_rest,
        separator="+",
        ignore_nulls=True,
    )
    same = pl.col("chp_new").is_null() | (pl.col("chp_new") == pl.col("registry_new"))
    return pl.when(same).then(None).otherwise(moved)


def differing_runs(days: pl.DataFrame, what: str = "reason") -> list[tuple[date, date, str]]:
    """The differing days as runs of consecutive days with the same reason:
    (first, last, reason)."""
    rows = days.filter(pl.col(what).is_not_null()).select("date", what).rows()
    runs: list[tuple[date, date, str]] = []
    for day, why in rows:  # a few hundred days at most, once per comparison
        if runs and runs[-1][2] == why and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day, why)
        else:
            runs.append((day, day, why))
    return runs


def replay_hong_kong(
    store: Store, line_list: str | Path, situation: str | Path, work_dir: str | Path
) -> Comparison:
    """The whole replay: read and check both files, import the line list into `store` (its
    import files written in `work_dir`), compute Hong Kong's bulletin of every day the
    situation gives, and compare."""
    lines = read_line_list(line_list)
    chp = read_situation(situation)
    import_line_list(store, lines, work_dir)
    registry = registry_figures(store, situation_days(lines, chp))
    return compare_with_situation(lines, chp, registry)
