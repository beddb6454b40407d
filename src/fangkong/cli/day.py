"""`fangkong day --date D`: run the control chain for a day and show what it ordered;
`fangkong explain PERSON`: the chain of events and rules behind a person's status."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from fangkong.cli.common import StoreOption, console, fail, opened_store, print_rows, shown
from fangkong.credential.verify import Verifier
from fangkong.engine.day import DayResult, run_day, run_lock
from fangkong.engine.frames import day_bounds
from fangkong.engine.orders import ORDER_SCHEMA
from fangkong.engine.scenario import LIVE, Scenario, open_scenario, scenario_of
from fangkong.errors import FangkongError, InputError
from fangkong.output.exchange import write_assistance_file
from fangkong.output.explain import explain_person
from fangkong.policy import Policy, PolicyStatus, load_policy, policy_in_force
from fangkong.private_files import private_directory
from fangkong.store import Store

__all__ = ["day_command", "explain_command", "print_day"]


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def live_policy_check(chosen: Policy, day: date) -> None:
    """Live runs only under the policy in force on `day`, or a local overlay of it (a released
    policy of a sub-jurisdiction, e.g. `cn-31`, extending it): anything else is a what-if and
    needs a scenario. InputError otherwise."""
    in_force = policy_in_force(day)
    local = (
        chosen.status is PolicyStatus.RELEASED
        and chosen.jurisdiction.startswith(f"{in_force.jurisdiction}-")
        and in_force.id in chosen.lineage
    )
    if chosen.id != in_force.id and not local:
        raise InputError(
            f"policy {chosen.id} is not the one in force on {day} ({in_force.id}): a what-if"
            f" runs in a scenario of its own: add --scenario NAME"
        )


def print_day(result: DayResult, *, sample: int = 8, scenario: Scenario = LIVE) -> None:
    """The day's orders by type and rule, the facilities, and a few orders in full."""
    if not scenario.is_live:
        console.print(
            f"scenario {scenario.name} (a what-if, forked from live on {scenario.fork_day}):"
            " live orders untouched",
            markup=False,
        )
    table = Table(title=f"{result.day}: {result.cases} new cases traced, policy {result.policy_id}")
    for col in ("order", "rule", "orders"):
        table.add_column(col, justify="right" if col == "orders" else "left")
    for order_type, rule, n in result.counts().iter_rows():
        table.add_row(order_type, rule, f"{n:,}")
    if result.orders.height == 0:
        table.add_row("(none)", "", "0")
    console.print(table)
    if result.idle:
        console.print(
            "nothing to do: no import since the day before, nobody in quarantine or a facility,"
            " no open case, no risk area, no event falling due"
        )
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
        print_rows(
            result.occupancy.columns,
            [
                ["" if v is None else str(v) for v in row]
                # a kind's totals row has no facility
                for row in result.occupancy.with_columns(
                    pl.col("facility_id").fill_null("total")
                ).iter_rows()
            ],
            title="facilities",
            heading=2,
        )
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
    scenario: Annotated[
        str | None,
        typer.Option(
            help="Run as the what-if scenario NAME (created, forked from live, on its first"
            " day): never touches live orders, writes no documents or assistance files."
        ),
    ] = None,
    keys: Annotated[
        Path | None,
        typer.Option(
            help="Trust folder (see `fangkong trust`): check arrivals' foreign certificates."
        ),
    ] = None,
) -> None:
    """Run the control chain for a day: every order it derives, with its rule and policy."""
    try:
        the_day = _parse_day(day)
        verifier = Verifier.from_folder(keys) if keys is not None else None
        chosen = load_policy(policy) if policy else policy_in_force(the_day)
        if scenario is None:
            live_policy_check(chosen, the_day)
        elif documents is not None or assistance is not None:
            raise InputError(
                "a what-if scenario writes no order documents or assistance files: they reach"
                " people (drop --documents / --assistance, or run live)"
            )
    except FangkongError as exc:
        raise fail(exc) from exc
    with opened_store(store) as st:
        try:
            # a new scenario is recorded with its first run, or not at all; another run of the
            # same scenario in the store goes first (`run_lock`)
            with st.exclusive(run_lock(scenario or LIVE.name)):
                line = LIVE if scenario is None else open_scenario(st, scenario, chosen.id, the_day)
                result = run_day(
                    st, the_day, chosen, jurisdiction=jurisdiction, scenario=line, verifier=verifier
                )
            if documents is not None:
                from fangkong.output.documents import order_documents

                written = order_documents(st, result.orders.select(list(ORDER_SCHEMA)), documents)
                console.print(f"{written} order documents in {shown(documents)}")
            if assistance is not None:
                _write_assistance(st, result, assistance, jurisdiction)
        except FangkongError as exc:
            raise fail(exc) from exc
    print_day(result, scenario=line)


def _write_assistance(st: Store, result: DayResult, out: Path, jurisdiction: str | None) -> None:
    if not jurisdiction:
        raise InputError("--assistance needs --jurisdiction (the region-code prefix governed here)")
    requests = result.orders.filter(pl.col("order_type") == "assist").select(list(ORDER_SCHEMA))
    private_directory(out)
    home = jurisdiction.ljust(6, "0")
    # stamped with the run day (its last second), not the moment of writing: a day run again
    # writes the same request ids, and the receiving region takes the file as of that day
    stamp = day_bounds(result.day)[1] - timedelta(seconds=1)
    for province in sorted(requests.get_column("place").drop_nulls().unique().to_list()):
        path = out / f"assistance-{result.day}-{home}-to-{province}.csv"
        n = write_assistance_file(
            st, requests, path, from_region=home, to_region=province, requested_at=stamp
        )
        console.print(f"{n} assistance requests to {province}: {shown(path)}", soft_wrap=True)


def explain_command(
    person: Annotated[int, typer.Argument(help="The person id.")],
    store: StoreOption = "fangkong.duckdb",
    scenario: Annotated[
        str, typer.Option(help="The scenario whose orders to explain (default: live).")
    ] = "live",
) -> None:
    """The chain of events and rules behind a person's status, in time order."""
    with opened_store(store, existing=True) as st:
        try:
            steps = explain_person(st, person, scenario=scenario_of(st, scenario))
        except FangkongError as exc:
            raise fail(exc) from exc
    if steps.height == 0:
        console.print(
            f"person {person}: no event, order or contact on record (scenario {scenario})",
            markup=False,
        )
        return
    rows = [
        (at.strftime("%Y-%m-%d %H:%M") if at else "", what, rule or "", policy_id or "", summary)
        for at, what, summary, rule, policy_id in steps.iter_rows()
    ]
    # the summary last: in a narrow terminal it is the indented line below each step's heading
    print_rows(("when", "what", "rule", "policy", ""), rows, title=f"person {person}", heading=4)
