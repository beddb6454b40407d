"""`fangkong simulate`: the synthetic city's epidemic with no control, day by day."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fangkong.cli.common import console, fail
from fangkong.errors import FangkongError, InputError
from fangkong.sim.curve import CURVE_COLUMNS, run_curve
from fangkong.sim.population import MIN_POPULATION
from fangkong.sim.variant import VARIANTS

__all__ = ["simulate_command"]


def simulate_command(
    population: Annotated[int, typer.Option(help="people in the synthetic city")] = 100_000,
    days: Annotated[int, typer.Option(help="days to simulate")] = 120,
    variant: Annotated[str, typer.Option(help=f"one of {', '.join(VARIANTS)}")] = "omicron-ba2",
    seed: Annotated[int, typer.Option(help="random seed (the city and the epidemic)")] = 1,
    infections: Annotated[int, typer.Option(help="random infections on day 0")] = 20,
) -> None:
    """Simulate an outbreak with no control and print the daily epidemic curve."""
    try:
        if population < MIN_POPULATION:
            raise InputError(f"--population is at least {MIN_POPULATION:,}")
        if days < 1 or infections < 1:
            raise InputError("--days and --infections are at least 1")
        if infections > population:
            raise InputError("--infections is at most --population")
        result = run_curve(population, days, variant, seed, seeds=infections)
    except FangkongError as exc:
        raise fail(exc) from exc
    table = Table(title=f"{variant}, {population:,} people, seed {seed}, no control")
    table.add_column("day", justify="right")
    for name in CURVE_COLUMNS:
        table.add_column(name, justify="right")
    for d in range(days):
        table.add_row(str(d), *(f"{result['daily'][name][d]:,}" for name in CURVE_COLUMNS))
    console.print(table)
    layers = ", ".join(f"{k} {v:,}" for k, v in result["by_layer"].items())
    console.print(f"attack rate {result['attack_rate']:.1%}; infections by layer: {layers}")
