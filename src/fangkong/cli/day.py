"""`fangkong day --date D`: run the control chain for a day and show what it ordered;
`fangkong explain PERSON`: the chain of events and rules behind a person's status."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from fangkong.cli.common import StoreOption, console, fail, opened_store, shown
from fangkong.engine.assistance import write_assistance_file
from fangkong.engine.day import DayResult, run_day
from fangkong.engine.explain import explain_person
from fangkong.engine.orders import ORDER_SCHEMA
from fangkong.errors import FangkongError, InputError
from fangkong.policy import load_policy, policy_in_force
from fangkong.private_files import private_directory
from fangkong.store import Store

__all__ = ["day_command", "explain_command", "print_day"]


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def print_day(result: DayResult, *, sample: int = 8) -> None:
    """The day's orders by type and rule, the facilities, and a few orders in full."""
    table = Table(title=f"{result.day}: {result.cases} new cases traced, policy {result.policy_id}")
    for col in ("order", "rule", "orders"):
        table.add_column(col, justify="right" if col == "orders" else "left")
    for order_type, rule, n in result.counts().iter_rows():
        table.add_row(order_type, rule, f"{n:,}")
    if result.orders.height == 0:
        table.add_row("(none)", "", "0")
    console.print(table)
    if result.contacts.height:
        by = result.contacts.group_by("tier", "via").len().sort("tier", "via")
        console.print(
            "contacts traced: "
            + ", ".join(f"{n} {tier} by {via}" for tier, via, n in by.iter_rows())
        )
    if result.unmatched_requests.height:
        console.print(
            f"{result.unmatched_requests.height} assistance requests received for no resident"
            " known here: to locate (request ids: "
            + ", ".join(result.unmatched_requests.get_column("request_id").head(5).to_list())
            + (", ..." if result.unmatched_requests.height > 5 else "")
            + ")"
        )
    if result.occupancy.height:
        occ = Table(title="facilities")
        for col in result.occupancy.columns:
            occ.add_column(col)
        for row in result.occupancy.iter_rows():
            occ.add_row(*("" if v is None else str(v) for v in row))
        console.print(occ)
    if sample and result.orders.height:
        shown = result.orders.sort("start_at").head(sample)
        for row in shown.select("person_id", "order_type", "detail", "place", "reason").iter_rows():
            person, kind, detail, place, reason = row
            console.print(
                f"  person {person}: {kind}{f' {detail}' if detail else ''}"
                f"{f' at {place}' if place else ''} — {reason}",
                highlight=False,
            )


def day_command(
    day: Annotated[str, typer.Option("--date", "-d", help="The day to run (YYYY-MM-DD).")],
    store: StoreOption = "fangkong.duckdb",
    policy: Annotated[
        str | None, typer.Option(help="A policy id or what-if; default: the one in force.")
    ] = None,
    jurisdiction: Annotated[
        str | None,
        typer.Option(help="Region-code prefix governed here (e.g. 31); others get 协查."),
    ] = None,
    documents: Annotated[
        Path | None, typer.Option(help="Write one order document (HTML) per person here.")
    ] = None,
    assistance: Annotated[
        Path | None,
        typer.Option(
            help="Write the day's assistance requests (协查) here, one exchange file per"
            " receiving province (needs --jurisdiction)."
        ),
    ] = None,
) -> None:
    """Run the control chain for a day: every order it derives, with its rule and policy."""
    try:
        the_day = _parse_day(day)
        chosen = load_policy(policy) if policy else policy_in_force(the_day)
    except FangkongError as exc:
        raise fail(exc) from exc
    with opened_store(store) as st:
        try:
            result = run_day(st, the_day, chosen, jurisdiction=jurisdiction)
            if documents is not None:
                from fangkong.engine.documents import order_documents

                written = order_documents(st, result.orders.select(list(ORDER_SCHEMA)), documents)
                console.print(f"{written} order documents in {shown(documents)}")
            if assistance is not None:
                _write_assistance(st, result, assistance, jurisdiction)
        except FangkongError as exc:
            raise fail(exc) from exc
    print_day(result)


def _write_assistance(st: Store, result: DayResult, out: Path, jurisdiction: str | None) -> None:
    if not jurisdiction:
        raise InputError("--assistance needs --jurisdiction (the region-code prefix governed here)")
    requests = result.orders.filter(pl.col("order_type") == "assist").select(list(ORDER_SCHEMA))
    private_directory(out)
    home = jurisdiction.ljust(6, "0")
    for province in sorted(requests.get_column("place").drop_nulls().unique().to_list()):
        path = out / f"assistance-{result.day}-{home}-to-{province}.csv"
        n = write_assistance_file(st, requests, path, from_region=home, to_region=province)
        console.print(f"{n} assistance requests to {province}: {shown(path)}", soft_wrap=True)


def explain_command(
    person: Annotated[int, typer.Argument(help="The person id.")],
    store: StoreOption = "fangkong.duckdb",
) -> None:
    """The chain of events and rules behind a person's status, in time order."""
    with opened_store(store) as st:
        try:
            steps = explain_person(st, person)
        except FangkongError as exc:
            raise fail(exc) from exc
    table = Table(title=f"person {person}")
    for col in ("when", "what", "", "rule", "policy"):
        table.add_column(col)
    for at, what, summary, rule, policy_id in steps.iter_rows():
        when = at.strftime("%Y-%m-%d %H:%M") if at else ""
        table.add_row(when, what, summary or "", rule or "", policy_id or "")
    console.print(table)
