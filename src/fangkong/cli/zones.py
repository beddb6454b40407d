"""`fangkong zones --date D` (the published risk-area list) and `fangkong zones audit --date D
--policy LOCAL` (the areas a local rule set draws beyond the national regime)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from fangkong.cli.common import StoreOption, console, fail, opened_store, shown
from fangkong.cli.day import _parse_day
from fangkong.cli.policy import _load
from fangkong.engine.scenario import scenario_of
from fangkong.engine.zones_audit import audit_areas
from fangkong.engine.zones_measures import MEASURE_SCHEMA, measures_on
from fangkong.errors import FangkongError
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


def _emit(frame: pl.DataFrame, fmt: Format, title: str, empty: str) -> None:
    if fmt is Format.JSON:
        typer.echo(json.dumps(frame.to_dicts(), ensure_ascii=False, indent=2, default=str))
        return
    if fmt is Format.CSV:
        typer.echo(frame.write_csv(), nl=False)
        return
    if frame.height == 0:
        console.print(empty)
        return
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(column, overflow="fold")
    for row in frame.iter_rows():
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
    with opened_store(store) as st:
        try:
            seen = scenario_of(st, scenario)
            if measures:
                found = measures_on(st, the_day, seen).select(list(MEASURE_SCHEMA))
            else:
                frame = published_list(st, the_day, seen)
        except FangkongError as exc:
            raise fail(exc) from exc
    if measures:
        if fmt is Format.TEXT:  # the policy's measure, rule and policy: in json and csv
            found = found.select(
                "area_id",
                "level",
                "subject",
                "restriction",
                pl.col("in_force_from").alias("from"),
                pl.col("in_force_until").alias("until"),
            )
        _emit(
            found,
            fmt,
            f"{the_day}: measures of the risk areas ({scenario})",
            f"{the_day}: no area measure in force ({scenario})",
        )
        return
    _emit(
        frame,
        fmt,
        f"{the_day}: risk areas ({scenario})",
        f"{the_day}: no risk area in force ({scenario}; none drawn, or no day run)",
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
    with opened_store(store) as st:
        try:
            found = audit_areas(st, the_day, local, scenario=scenario_of(st, scenario))
        except FangkongError as exc:
            raise fail(exc) from exc
    _emit(
        found,
        fmt,
        f"{the_day}: areas of {local.id} beyond the national regime",
        f"{the_day}: the areas of {local.id} are within the national regime",
    )
