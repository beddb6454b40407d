"""`fangkong demo`: the main job on the embedded store, no server needed.

1. The daily bulletin of 7 April 2020, from the bundled sample registry whose totals are those of
   the National Health Commission's bulletin of that day (its own store, `<store>-2020.duckdb`).
2. A small city's outbreak in April 2022 (the bundled sample: residents, venue check-ins,
   arrivals, a district testing round, cases), imported with full validation and run through the
   daily engine day by day under the dynamic-zero regime (cn-2022-06-28): each day's orders and
   bulletin are printed.
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from fangkong.bulletin.regions import scope_of_jurisdiction
from fangkong.bulletin.registry import bulletin_from_registry
from fangkong.bulletin.render import render_zh
from fangkong.bulletin.render_en import render_en
from fangkong.cli.common import console, opened_store, shown_store
from fangkong.engine.day import run_day
from fangkong.ingest import ImportResult, import_file
from fangkong.policy import load_policy
from fangkong.sample.bulletin_20200407 import write_bulletin_20200407
from fangkong.sample.outbreak import write_outbreak
from fangkong.store import Store

__all__ = ["demo_command"]

BULLETIN_DAY = date(2020, 4, 7)
CITY_REGIME = "cn-2022-06-28"
CITY_JURISDICTION = "31"  # Shanghai: contacts living elsewhere get assistance requests
CITY_SCOPE = scope_of_jurisdiction(
    CITY_JURISDICTION
)  # its bulletin is Shanghai's, not the nation's


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )


def _report(results: list[ImportResult], store: str) -> None:
    for result in results:
        if result.already_imported_as is not None:
            batch = result.already_imported_as
            console.print(f"  {result.kind}: already in {shown_store(str(store))} (batch {batch})")
        else:
            stored = ", ".join(f"{n:,} {t}" for t, n in result.rows_stored.items())
            console.print(f"  {result.kind}: {result.rows_read:,} rows checked, stored {stored}")


def _bulletin_2020(store: str, tmp: Path) -> None:
    console.rule(f"[bold]1. The daily bulletin of {BULLETIN_DAY}")
    with opened_store(store) as st:
        with _progress() as bar:
            task = bar.add_task("writing the sample registry", total=3)
            fixture = write_bulletin_20200407(tmp / "registry-2020")
            bar.update(task, advance=1, description=f"importing {fixture.persons_count:,} persons")
            persons = import_file(st, "persons", fixture.persons)
            bar.update(task, advance=1, description=f"importing {fixture.events_count:,} events")
            cases = import_file(st, "cases", fixture.cases)
            bar.update(task, advance=1, description="imported")
        _report([persons, cases], store)
        bulletin = bulletin_from_registry(st, BULLETIN_DAY)
    console.print(Panel(render_zh(bulletin), title="国家卫生健康委 每日疫情通报", expand=False))
    console.print(Panel(render_en(bulletin), title="Daily bulletin (English)", expand=False))


def _city(st: Store, store: str, tmp: Path) -> None:
    policy = load_policy(CITY_REGIME)
    outbreak = write_outbreak(tmp / "city")
    console.rule(
        f"[bold]2. A city's outbreak, {outbreak.first_day} + {outbreak.days} days, "
        f"under {policy.id}"
    )
    with _progress() as bar:
        task = bar.add_task("importing", total=len(outbreak.files))
        results = []
        for kind, path in outbreak.files.items():
            bar.update(task, description=f"importing {kind}")
            results.append(import_file(st, kind, path))
            bar.advance(task)
    _report(results, store)
    days = [outbreak.first_day + timedelta(days=i) for i in range(outbreak.days)]
    summary = Table(title=f"orders by day under {policy.id} ({policy.title})")
    columns = {
        "new cases": None,  # the bulletin's: reported to the registry
        "traced": None,  # case episodes traced by the run (lab positives the engine reported too)
        "contacts": None,
        "quarantine": "quarantine",
        "tests": "test",
        "extend": "extend",
        "transfer": "transfer",
        "admit": "admit",
        "release": "release",
        "convert": "convert",
        "协查": "assist",
        "pools": "temporary_control",
        "current": None,
    }
    summary.add_column("day")
    for name in columns:
        summary.add_column(name, justify="right")
    with _progress() as bar:
        task = bar.add_task("running the days", total=len(days))
        for day in days:
            bar.update(task, description=f"running {day}")
            result = run_day(st, day, policy, jurisdiction=CITY_JURISDICTION)
            counts = dict(result.orders.group_by("order_type").len().iter_rows())
            figures = bulletin_from_registry(st, day, region=CITY_SCOPE).figures
            new = (figures.new_confirmed or 0) + (figures.asymptomatic_new or 0)
            cells = [f"{day:%m-%d}", str(new), str(result.cases), str(result.contacts.height)]
            cells += [str(counts.get(kind, 0)) for kind in columns.values() if kind]
            cells.append(str(figures.current_confirmed or 0))
            summary.add_row(*cells)
            bar.advance(task)
    console.print(summary)
    last = days[-1]
    bulletin = bulletin_from_registry(st, last, region=CITY_SCOPE)  # the city's own bulletin
    console.print(Panel(render_zh(bulletin), title=f"{last} 通报"))
    console.print(
        f"Try: fangkong day --date {last} --store {shown_store(str(store))};"
        f" fangkong explain PERSON --store {shown_store(str(store))}"
    )


def demo_command(
    store: Annotated[
        str, typer.Option("--store", "-s", help="The demo's store (a DuckDB file).")
    ] = "demo.duckdb",
) -> None:
    """Run the demo: the 2020-04-07 bulletin, then a city's outbreak through the daily engine."""
    stem = Path(store)
    store_2020 = str(stem.with_name(f"{stem.stem}-2020{stem.suffix or '.duckdb'}"))
    with tempfile.TemporaryDirectory(prefix="fangkong-demo-") as tmp:
        _bulletin_2020(store_2020, Path(tmp))
        with opened_store(store) as st:
            _city(st, store, Path(tmp))
