"""`fangkong bulletin`: the daily bulletin (每日疫情通报), from the case registry or from
per-province daily reports; and its helpers (`convert-nhc-2020`, `sample-2020-04-07`)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fangkong.bulletin.bulletin import Bulletin, bulletin_csv, bulletin_json
from fangkong.bulletin.nhc2020 import convert_nhc_2020
from fangkong.bulletin.regions import scope_of_jurisdiction
from fangkong.bulletin.registry import bulletin_from_registry
from fangkong.bulletin.render import render_zh
from fangkong.bulletin.render_en import render_en
from fangkong.bulletin.reports import bulletin_from_reports
from fangkong.cli.common import (
    DEFAULT_STORE,
    StoreOption,
    console,
    fail,
    opened_store,
    shown,
    shown_store,
)
from fangkong.engine.day import JURISDICTION_ENV
from fangkong.engine.scenario import LIVE_NAME, scenario_of
from fangkong.engine.timeliness import daily_timeliness
from fangkong.errors import FangkongError

__all__ = ["app"]


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    CSV = "csv"


class Language(StrEnum):
    ZH = "zh"
    EN = "en"


app = typer.Typer(
    help="The daily bulletin (每日疫情通报) in the National Health Commission's format.",
    no_args_is_help=False,
    pretty_exceptions_enable=False,
)


def _day(text: str | None) -> date:
    if text is None:
        raise typer.BadParameter(
            "give the bulletin day, e.g. --date 2020-04-07", param_hint="--date"
        )
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"not a date (YYYY-MM-DD): {text!r}", param_hint="--date"
        ) from None


def render(
    bulletin: Bulletin,
    output: OutputFormat,
    lang: Language,
    timeliness: Mapping[str, float | int | None] | None = None,
) -> str:
    """The bulletin in one of the CLI's output forms."""
    if output is OutputFormat.JSON:
        return bulletin_json(bulletin, timeliness=timeliness) + "\n"
    if output is OutputFormat.CSV:
        return bulletin_csv(bulletin)
    return (render_zh(bulletin) if lang is Language.ZH else render_en(bulletin)) + "\n"


@app.callback(invoke_without_command=True)
def bulletin(
    ctx: typer.Context,
    *,
    day: Annotated[
        str | None, typer.Option("--date", "-d", help="The bulletin day (0-24h), YYYY-MM-DD.")
    ] = None,
    store: StoreOption = DEFAULT_STORE,
    reports: Annotated[
        Path | None,
        typer.Option(
            "--reports",
            "-r",
            help="Assemble from a per-province daily reports CSV (docs/reports-format.md)"
            " instead of the case registry in the store.",
        ),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output form.")] = (
        OutputFormat.TEXT
    ),
    lang: Annotated[Language, typer.Option("--lang", help="Language of the text.")] = Language.ZH,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            envvar=JURISDICTION_ENV,
            help="One province (xx0000, or its prefix xx) or city (xxxx00, or xxxx) instead of"
            " the nation: a province's or city's store gets its own bulletin, in its own wording."
            f" Default: the jurisdiction in {JURISDICTION_ENV}, as for `fangkong day`.",
        ),
    ] = None,
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario",
            help="The scenario whose engine facts are counted (the case events it derived, its"
            " close contacts): a what-if, or the twin of `fangkong demo`. Default: live.",
        ),
    ] = LIVE_NAME,
) -> None:
    """Print the bulletin of --date: national by default, or of one --region."""
    if ctx.invoked_subcommand is not None:
        return
    when = _day(day)
    timeliness = None
    try:
        region = scope_of_jurisdiction(region) if region else None
        if reports is not None:
            result = bulletin_from_reports(reports, when, region=region)
        else:
            with opened_store(store, existing=True) as st:
                line = scenario_of(st, scenario)
                result = bulletin_from_registry(st, when, region=region, scenario=line.name)
                if output is OutputFormat.JSON and region is None:
                    timeliness = daily_timeliness(st, when, scenario=line)
    except FangkongError as exc:
        raise fail(exc) from exc
    typer.echo(render(result, output, lang, timeliness), nl=False)


@app.command("convert-nhc-2020")
def convert_nhc_2020_command(
    report_dir: Annotated[
        Path, typer.Argument(help="The folder of transcriptions (canghailan-2020/Report).")
    ],
    out: Annotated[Path, typer.Argument(help="The reports CSV to write.")],
    other_sources: Annotated[
        bool,
        typer.Option(
            "--other-sources/--nhc-only",
            help="Keep the figures the transcriptions mark '# 其他来源' (not in the NHC bulletin).",
        ),
    ] = False,
    provinces: Annotated[
        bool,
        typer.Option(
            "--provinces/--national",
            help="Convert the provinces' own bulletins transcribed beside the NHC's (those with"
            " a key 省: a province row and its cities' rows) instead of the NHC's.",
        ),
    ] = False,
) -> None:
    """Convert the transcribed NHC bulletins of January 2020 (or the provinces' own) into a
    reports CSV."""
    try:
        converted = convert_nhc_2020(
            report_dir, out, other_sources=other_sources, provinces=provinces
        )
    except FangkongError as exc:
        raise fail(exc) from exc
    other = "the NHC's" if provinces else "provinces' own (convert them with --provinces)"
    left = (
        f"; {converted.left_out} transcriptions of {other} left out" if converted.left_out else ""
    )
    console.print(f"{shown(out)}: {converted.rows} rows{left}", highlight=False)


@app.command("sample-2020-04-07")
def sample_command(
    out_dir: Annotated[Path, typer.Argument(help="Where to write persons.csv and cases.csv.")],
    *,
    canghailan: Annotated[
        Path | None,
        typer.Option(
            help="The canghailan-2020 data folder (shared/data/canghailan-2020); by default the"
            " extract bundled with fangkong."
        ),
    ] = None,
    load: Annotated[
        bool, typer.Option("--load/--no-load", help="Also import both files into --store.")
    ] = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Write the 2020-04-07 fixture: a synthetic case registry built to give the NHC's figures
    of that day (a round trip: generator, registry, bulletin)."""
    from fangkong.ingest import import_file
    from fangkong.sample.bulletin_20200407 import write_bulletin_20200407

    try:
        fixture = write_bulletin_20200407(out_dir, canghailan)
    except (FangkongError, OSError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--canghailan") from exc
    console.print(
        f"{fixture.persons}: {fixture.persons_count} persons; {fixture.cases}:"
        f" {fixture.events_count} case events",
        highlight=False,
        soft_wrap=True,  # paths are long: let the terminal wrap, never split the words
    )
    if load:
        with opened_store(store) as st:
            import_file(st, "persons", fixture.persons)
            import_file(st, "cases", fixture.cases)
        console.print(f"imported into {shown_store(str(store))}", highlight=False)


@app.command("replay-hk")
def replay_hk_command(
    line_list: Annotated[
        Path, typer.Argument(help="CHP's line list (enhanced_sur_covid_19_eng.csv).")
    ],
    situation: Annotated[
        Path,
        typer.Argument(
            help="CHP's daily situation (latest_situation_of_reported_cases_covid_19_eng.csv)."
        ),
    ],
    *,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Replay Hong Kong's line list through the registry and compare the bulletin's figures with
    CHP's daily situation, day by day, each difference with its reason (docs/hongkong-replay.md).
    Use a store of its own: the line list's cases are imported into it."""
    from fangkong.bulletin.replay_hk_compare import differing_runs, replay_hong_kong

    with opened_store(store) as st, tempfile.TemporaryDirectory() as tmp:
        try:
            result = replay_hong_kong(st, line_list, situation, tmp)
        except FangkongError as exc:
            raise fail(exc) from exc
    days = result.days
    table = Table("figure", "days compared", "equal", "differing")
    for what, label, compared in (
        ("reason", "cumulative confirmed", days.height),
        ("new_reason", "new cases", days.get_column("chp_new").count()),
    ):
        differing = result.differing(what).height
        table.add_row(label, str(compared), str(compared - differing), str(differing))
    console.print(table)
    runs = Table("from", "to", "reason (cumulative confirmed)")
    for first, last, why in differing_runs(days):
        runs.add_row(first.isoformat(), last.isoformat(), why)
    console.print(runs)
    revision = result.revision_day.isoformat() if result.revision_day else "none found"
    console.print(
        f"CHP's revision of its deleted cases: {revision};"
        f" on {result.last_day}: deaths {result.deaths[0]:,} (line list) vs"
        f" {result.deaths[1]:,} (CHP), discharged {result.discharged[0]:,} vs"
        f" {result.discharged[1]:,}",
        highlight=False,
    )
