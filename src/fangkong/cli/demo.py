"""`fangkong demo`: the main job on the embedded store, no server needed.

1. The daily bulletin of 7 April 2020, from the bundled sample registry whose totals are those of
   the National Health Commission's bulletin of that day (its own store, `<store>-2020.duckdb`).
2. The digital twin (`fangkong.sim.twin`): a synthetic city of a million people, an Omicron
   outbreak seeded by a case who arrived from abroad, 60 days under the dynamic-zero regime
   (cn-2022-06-28). Each day the residents obey the orders the daily engine derived, the day's
   events are produced and the engine runs on them; the city's bulletin is printed day by day, a
   summary at the end, and the twin's store is written to the demo's store file.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from fangkong.bulletin.bulletin import Figures
from fangkong.bulletin.regions import scope_of_jurisdiction
from fangkong.bulletin.registry import bulletin_from_registry
from fangkong.bulletin.render import render_zh
from fangkong.bulletin.render_en import render_en
from fangkong.cli.common import console, fail, opened_store, quiet_engine, shown_store
from fangkong.errors import FangkongError
from fangkong.ingest import ImportResult, import_file
from fangkong.policy import load_policy
from fangkong.sample.bulletin_20200407 import write_bulletin_20200407
from fangkong.sim.population import MIN_POPULATION
from fangkong.sim.twin import HOSPITALS, TWIN_SCENARIO, Twin, TwinDay

__all__ = ["demo_command"]

BULLETIN_DAY = date(2020, 4, 7)
CITY_REGIME = "cn-2022-06-28"
# the city and outbreak of the demo: with this seed the imported case's chains grow before the
# engine finds them (132 infections in 60 days at a million people; with seed 1 they die out
# after 2), so the demo shows a contained outbreak rather than none
DEMO_SEED = 6


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


def _twin(store: str, population: int, days: int) -> None:
    """The twin's outbreak under the dynamic-zero regime, day by day, then saved to `store`."""
    policy = load_policy(CITY_REGIME)
    console.rule(f"[bold]2. A city of {population:,}: an imported case, {days} days")
    console.print(
        f"A synthetic city (2020 census) with an Omicron BA.2 case who arrived from abroad;"
        f" each day its residents obey the orders of the daily engine under {policy.id}"
        f" ({policy.title}), run in the twin's own store.",
        highlight=False,
    )
    with _progress() as bar:
        task = bar.add_task("building the city", total=days)
        twin = Twin(population, DEMO_SEED, policy)
        assert twin.store is not None
        scope = scope_of_jurisdiction(twin.jurisdiction)
        bar.console.print(_DAY_HEADER, highlight=False)
        for figures in twin.run(days):
            bar.update(task, description=f"{figures.day}")
            b = bulletin_from_registry(
                twin.store, figures.day, region=scope, scenario=TWIN_SCENARIO
            )
            bar.console.print(_day_line(figures, b.figures), highlight=False)
            bar.advance(task)
    last = twin.days[-1].day
    bulletin = bulletin_from_registry(twin.store, last, region=scope, scenario=TWIN_SCENARIO)
    console.print(Panel(render_zh(bulletin), title=f"{last} 通报", width=min(console.width, 80)))
    console.print(_summary(twin))
    path = Path(store)
    path.unlink(missing_ok=True)  # the demo's own store: written afresh each run
    twin.save(str(path))
    twin.close()
    shown_path = shown_store(store)
    console.print(
        f"The twin's store: {shown_path} (scenario {TWIN_SCENARIO}). Try:", highlight=False
    )
    for command in (
        f"fangkong scenario list -s {shown_path}",
        f"fangkong bulletin --date {last} --region {scope} --scenario {TWIN_SCENARIO}"
        f" -s {shown_path}",
    ):
        console.print(f"  {command}", highlight=False, soft_wrap=True)


# the columns of `_day_line` (80 in all)
_DAY_HEADER = (
    f"{'day':<5} {'new confirmed':>14} {'asymptomatic':>13} {'current':>8}"
    f" {'contacts observed':>17} {'swabs':>7} {'infected*':>10}"
)


def _day_line(t: TwinDay, f: Figures) -> str:
    return (
        f"{t.day:%m-%d} {f.new_confirmed or 0:>14,} {f.asymptomatic_new or 0:>13,}"
        f" {f.current_confirmed or 0:>8,} {f.contacts_under_observation or 0:>17,}"
        f" {t.samples:>7,} {t.infected:>10,}"
    )


def _summary(twin: Twin) -> Table:
    """What happened (the model's truth) and what the control chain cost."""
    o = twin.outcomes()
    beds = twin.capacity(*HOSPITALS)
    table = Table(title="summary (* the model's truth: the engine never sees it)")
    table.add_column("after the last day")
    table.add_column("", justify="right")
    rows = [
        ("infections*", f"{o['infections']:,}"),
        ("symptomatic*", f"{o['symptomatic']:,}"),
        ("severe* / deaths*", f"{o['severe']:,} / {o['deaths']:,}"),
        ("cases found by the engine", f"{o['cases_found']:,}"),
        ("close contacts traced (people)", f"{o['close_contacts']:,}"),
        ("traced-contact records (all tiers)", f"{o['contacts']:,}"),
        ("quarantine person-days", f"{o['quarantine_person_days']:,}"),
        ("person-days confined by risk areas", f"{o['area_person_days']:,}"),
        ("venue-days closed by risk areas", f"{o['venue_days_closed']:,}"),
        ("peak in hospital beds / beds", f"{o['peak_in_beds']:,} / {beds:,}"),
        ("swabs (single tubes)", f"{o['tests']:,}"),
        ("orders", f"{o['orders']:,}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def demo_command(
    store: Annotated[
        str,
        typer.Option("--store", "-s", help="The demo's store (a DuckDB file, written afresh)."),
    ] = "demo.duckdb",
    population: Annotated[int, typer.Option(help="people in the synthetic city")] = 1_000_000,
    days: Annotated[int, typer.Option(help="days to simulate")] = 60,
) -> None:
    """Run the demo: the 2020-04-07 bulletin, then a city's outbreak through the daily engine."""
    if population < MIN_POPULATION or days < 1:
        raise fail(f"--population is at least {MIN_POPULATION:,} and --days at least 1")
    stem = Path(store)
    store_2020 = str(stem.with_name(f"{stem.stem}-2020{stem.suffix or '.duckdb'}"))
    with tempfile.TemporaryDirectory(prefix="fangkong-demo-") as tmp:
        _bulletin_2020(store_2020, Path(tmp))
    quiet_engine()
    try:
        _twin(store, population, days)
    except FangkongError as exc:
        raise fail(exc) from exc
