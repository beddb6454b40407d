"""`fangkong demo`: the main job on the embedded store, no server needed.

For now: create a store, write the bundled sample registry (the line list whose totals are those
of the National Health Commission's bulletin of 7 April 2020), import it with full validation,
and print that day's bulletin in Chinese and English, with the policy in force that day.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from fangkong.cli.common import console, opened_store
from fangkong.engine.bulletin_registry import bulletin_from_registry
from fangkong.engine.bulletin_render import render_zh
from fangkong.engine.bulletin_render_en import render_en
from fangkong.ingest import import_file
from fangkong.policy import Population, policy_in_force
from fangkong.sample.bulletin_20200407 import write_bulletin_20200407

__all__ = ["demo_command"]

DEMO_DAY = date(2020, 4, 7)


def demo_command(
    store: Annotated[
        str, typer.Option("--store", "-s", help="The demo's store (a DuckDB file).")
    ] = "demo.duckdb",
) -> None:
    """Run the demo: sample registry → validated import → the daily bulletin."""
    console.print(f"[bold]fangkong demo[/]: the daily bulletin of {DEMO_DAY}")
    with opened_store(store) as st, tempfile.TemporaryDirectory(prefix="fangkong-demo-") as tmp:
        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("writing the sample registry", total=3)
            fixture = write_bulletin_20200407(Path(tmp))
            bar.update(task, advance=1, description=f"importing {fixture.persons_count} persons")
            persons = import_file(st, "persons", fixture.persons)
            bar.update(task, advance=1, description=f"importing {fixture.events_count} case events")
            cases = import_file(st, "cases", fixture.cases)
            bar.update(task, advance=1, description="imported")
        for result in (persons, cases):
            if result.already_imported_as is not None:
                console.print(
                    f"{result.kind}: already in {store} (batch {result.already_imported_as})"
                )
            else:
                stored = ", ".join(f"{n:,} {t}" for t, n in result.rows_stored.items())
                console.print(f"{result.kind}: {result.rows_read:,} rows checked, stored {stored}")
        bulletin = bulletin_from_registry(st, DEMO_DAY)
    console.print(Panel(render_zh(bulletin), title="国家卫生健康委 每日疫情通报", expand=False))
    console.print(Panel(render_en(bulletin), title="Daily bulletin (English)", expand=False))
    regime = policy_in_force(DEMO_DAY + timedelta(days=1))
    console.print(
        f"The next day the regime [cyan]{regime.id}[/] ({regime.title}) took effect: "
        f"close contacts {regime.quarantine[Population.CLOSE_CONTACT].centralized_days} days "
        "centralized (fangkong policy show " + regime.id + ")."
    )
    console.print(
        f"The store is {store}. Try: fangkong bulletin --date {DEMO_DAY} --store {store} "
        "--format json"
    )
