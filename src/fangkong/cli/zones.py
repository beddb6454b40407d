"""`fangkong zones --date D` (the published risk-area list) and `fangkong zones audit --date D
--policy LOCAL` (the areas a local rule set draws beyond the national regime)."""

from __future__ import annotations

import json
from enum import StrEnum
from itertools import pairwise
from typing import Annotated

import polars as pl
import typer
from rich import box
from rich.table import Table

from fangkong.cli.common import StoreOption, console, fail, opened_store, shown
from fangkong.cli.day import _parse_day
from fangkong.cli.policy import _load
from fangkong.engine.scenario import scenario_of
from fangkong.engine.zones_audit import audit_areas
from fangkong.engine.zones_measures import MEASURE_SCHEMA, measures_on
from fangkong.errors import FangkongError
from fangkong.model.glossary import AreaReason
from fangkong.output.zones import published_list

__all__ = ["app"]

app = typer.Typer(
    help="Risk areas (分区分级): the published list, and the audit of a local rule set's areas.",
    invoke_without_command=True,
)


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"
    CSV = "csv"


DateOption = Annotated[str, typer.Option("--date", "-d", help="The day (YYYY-MM-DD).")]
ScenarioOption = Annotated[
    str, typer.Option("--scenario", help="The scenario whose areas to read (default: live).")
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="text, json or csv")]


# The text table of each command: a few columns built from the frame's, so that it fits an
# 80-column terminal (the JSON and CSV outputs keep every column as it is). Each entry: header,
# expression over the frame, and whether it may wrap (Rich narrows those to fit; the others are
# short values, kept whole).
_Shown = tuple[str, pl.Expr, bool]


def _joined(*columns: str) -> pl.Expr:
    """Non-empty values of `columns`, in order, separated by a space; a value equal to the one
    before it is shown once (a municipality's province and city have the same name)."""
    parts = [pl.col(c).cast(pl.String).fill_null("") for c in columns]
    kept = [parts[0]] + [pl.when(p != q).then(p).otherwise(pl.lit("")) for q, p in pairwise(parts)]
    return pl.concat_list(kept).list.eval(pl.element().filter(pl.element() != "")).list.join(" ")


_LIST_SHOWN: tuple[_Shown, ...] = (
    ("place", _joined("province", "city", "county", "street", "compound"), True),
    ("level", pl.col("level"), False),
    ("since", pl.col("since").cast(pl.String), False),
    (
        "then",
        # a low area (the rest of a county) has no day of its own: it is lifted with the
        # county's last high or medium area
        pl.when(pl.col("reason") == AreaReason.REST_OF_COUNTY.value)
        .then(
            pl.when(pl.col("next_change_on").is_not_null())
            .then(pl.format("lifted on {}", "next_change_on"))
            .otherwise(pl.lit("lifted with the county's last high or medium area"))
        )
        .when(pl.col("next_change_on").is_not_null())
        .then(pl.format("{} on {}", pl.col("next_level").fill_null("low"), "next_change_on")),
        True,
    ),
    ("area", pl.format("{} ({})", "area_id", "unit"), True),
    ("reason", pl.col("reason"), False),  # one word: folded, it reads as two
)
# the policy's measure, rule and policy of each measure: in json and csv
_MEASURES_SHOWN: tuple[_Shown, ...] = (
    ("area", pl.format("{} ({})", "area_id", "level"), True),
    ("subject", pl.col("subject"), False),
    ("restriction", pl.col("restriction"), False),
    # one column, wrapped at its spaces: the restrictions' names leave no room for two
    (
        "in force",
        pl.when(pl.col("in_force_until").is_null())
        .then(pl.format("from {}", "in_force_from"))
        .otherwise(pl.format("{} to {}", "in_force_from", "in_force_until")),
        True,
    ),
)
_AUDIT_SHOWN: tuple[_Shown, ...] = (
    ("area", pl.format("{} ({})", "area_id", "level"), True),
    ("finding", pl.col("finding"), False),
    ("local", pl.col("local"), True),
    ("national", pl.format("{} ({})", "national", "national_key"), True),
    ("source", pl.col("national_source"), True),
)


def _emit(
    frame: pl.DataFrame, fmt: Format, title: str, empty: str, shown_as: tuple[_Shown, ...]
) -> None:
    if fmt is Format.JSON:
        typer.echo(json.dumps(frame.to_dicts(), ensure_ascii=False, indent=2, default=str))
        return
    if fmt is Format.CSV:
        typer.echo(frame.write_csv(), nl=False)
        return
    if frame.height == 0:
        console.print(empty)
        return
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for header, _, wraps in shown_as:
        table.add_column(header, overflow="fold", no_wrap=not wraps)
    text = frame.select(expr.alias(header) for header, expr, _ in shown_as)
    for row in text.iter_rows():
        table.add_row(*(shown("" if v is None else v) for v in row))
    console.print(table)


@app.callback()
def zones_command(
    ctx: typer.Context,
    day: Annotated[str | None, typer.Option("--date", "-d", help="The day (YYYY-MM-DD).")] = None,
    scenario: ScenarioOption = "live",
    store: StoreOption = "fangkong.duckdb",
    fmt: FormatOption = Format.TEXT,
    measures: Annotated[
        bool,
        typer.Option(
            "--measures",
            help="The areas' measures instead: residents confined, venues closed or restricted.",
        ),
    ] = False,
) -> None:
    """The risk areas in force on a day, as the national list publishes them (province, city,
    county, street, compound, level, since), from the areas the daily run drew; with
    `--measures`, what each area's level orders (the subject: its residents or a venue category,
    the restriction, the policy's measure and rule, from and until when)."""
    if ctx.invoked_subcommand is not None:
        return
    if day is None:
        raise fail("give the day: fangkong zones --date YYYY-MM-DD")
    the_day = _parse_day(day)
    with opened_store(store, existing=True) as st:
        try:
            seen = scenario_of(st, scenario)
            if measures:
                found = measures_on(st, the_day, seen).select(list(MEASURE_SCHEMA))
            else:
                frame = published_list(st, the_day, seen)
        except FangkongError as exc:
            raise fail(exc) from exc
    if measures:
        _emit(
            found,
            fmt,
            f"{the_day}: measures of the risk areas ({scenario})",
            f"{the_day}: no area measure in force ({scenario})",
            _MEASURES_SHOWN,
        )
        return
    _emit(
        frame,
        fmt,
        f"{the_day}: risk areas ({scenario})",
        f"{the_day}: no risk area in force ({scenario}; none drawn, or no day run)",
        _LIST_SHOWN,
    )


@app.command("audit")
def audit_command(
    day: DateOption,
    policy: Annotated[str, typer.Option("--policy", help="The local rule set (id or .yaml).")],
    scenario: ScenarioOption = "live",
    store: StoreOption = "fangkong.duckdb",
    fmt: FormatOption = Format.TEXT,
) -> None:
    """The areas a local rule set draws on a day beyond the national regime in force: levels the
    regime does not have, areas wider than its unit, areas not lifted on the day its rule
    allows; with both values and the national source."""
    the_day = _parse_day(day)
    try:
        local = _load(policy, None)
    except FangkongError as exc:
        raise fail(exc) from exc
    with opened_store(store, existing=True) as st:
        try:
            found = audit_areas(st, the_day, local, scenario=scenario_of(st, scenario))
        except FangkongError as exc:
            raise fail(exc) from exc
    _emit(
        found,
        fmt,
        f"{the_day}: areas of {local.id} beyond the national regime",
        f"{the_day}: the areas of {local.id} are within the national regime",
        _AUDIT_SHOWN,
    )
