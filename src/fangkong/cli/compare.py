"""`fangkong compare`: policies side by side on the same synthetic city and imported case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fangkong.cli.common import console, fail, quiet_engine, shown
from fangkong.errors import FangkongError, InputError
from fangkong.sim.compare import OUTCOMES, Comparison, compare, dask_mapper, local_mapper
from fangkong.sim.plot import svg_lines
from fangkong.sim.variant import VARIANTS

__all__ = ["compare_command"]


def compare_command(
    policies: Annotated[
        str, typer.Option(help="comma-separated: policy ids, overlays, or none (no control)")
    ] = "none,cn-2022-06-28,cn-2022-11-11",
    population: Annotated[int, typer.Option(help="people in the synthetic city")] = 100_000,
    days: Annotated[int, typer.Option(help="days to simulate")] = 60,
    seeds: Annotated[int, typer.Option(help="seeds per policy (1..K)")] = 3,
    variant: Annotated[str, typer.Option(help=f"one of {', '.join(VARIANTS)}")] = "omicron-ba2",
    output: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    plot: Annotated[
        Path | None, typer.Option(help="write the daily infections per policy (SVG)")
    ] = None,
    cluster: Annotated[
        str | None, typer.Option(help="a Dask distributed scheduler (tcp://host:8786)")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="local processes (default: one per core)")
    ] = None,
) -> None:
    """Run the twin under each policy with the same city and seeding; outcomes over the seeds."""
    try:
        if output not in ("text", "json"):
            raise InputError("--format is text or json")
        if plot is not None and plot.suffix.lower() != ".svg":
            raise InputError(f"--plot writes an SVG file, not {plot.name!r}")
        quiet_engine()
        mapper = dask_mapper(cluster) if cluster else local_mapper(workers)
        result = compare(
            population, days, policies.split(","), seeds, variant=variant, mapper=mapper
        )
    except FangkongError as exc:
        raise fail(exc) from exc
    if output == "json":
        typer.echo(json.dumps(result.as_dict(), indent=2))
    else:
        console.print(_table(result))
    if plot is not None:
        curves = {p: result.median_curve(p) for p in result.policies}
        plot.write_text(
            svg_lines(
                f"{variant}, {population:,} people: new infections a day (median of"
                f" {len(result.seeds)} seeds)",
                "day",
                "new infections (log scale)",
                curves,
            ),
            encoding="utf-8",
        )
        if output == "text":
            console.print(f"plot written to {shown(plot)}")


def _table(result: Comparison) -> Table:
    first = result.runs[0]
    table = Table(
        title=f"{result.variant}, {result.population:,} people, {result.days} days, one"
        f" imported case; median \\[lowest-highest] of {len(result.seeds)} seeds",
        caption=f"hospital beds {first.beds:,}, of which designated (severe) {first.severe_beds:,}",
    )
    table.add_column("")
    for p in result.policies:
        table.add_column(p, justify="right")
    for key, label in OUTCOMES:
        cells = []
        for p in result.policies:
            median, low, high = result.summary(p, key)
            span = f" [{low:,}-{high:,}]" if low != high else ""
            cells.append(f"{median:,.0f}{span}")
        table.add_row(label, *cells)
    return table
