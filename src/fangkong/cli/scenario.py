"""`fangkong scenario ...`: the what-if scenarios beside live (`fangkong.engine.scenario`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from fangkong.cli.common import StoreOption, console, fail, opened_store, print_rows
from fangkong.engine.scenario import scenario_diff, scenario_of
from fangkong.errors import FangkongError, InputError

__all__ = ["app"]

app = typer.Typer(help="What-if scenarios run beside live operations.", no_args_is_help=True)


@app.command("list")
def list_command(store: StoreOption = "fangkong.duckdb") -> None:
    """The scenarios of the store, with their policy, fork day and the days run."""
    with opened_store(store, existing=True) as st:
        rows = st.fetch(
            "SELECT s.scenario, s.policy_id, s.fork_day, count(r.run_day) AS days,"
            " max(r.run_day) AS last_day FROM scenario s"
            " LEFT JOIN engine_run r ON r.scenario = s.scenario"
            " GROUP BY s.scenario, s.policy_id, s.fork_day ORDER BY s.scenario"
        )
    print_rows(
        ("scenario", "policy", "forked from live on", "days run", "last day"),
        [["" if v is None else str(v) for v in row] for row in rows.iter_rows()],
        title="scenarios (live is the operational line)",
    )


@app.command("diff")
def diff_command(
    name: Annotated[str, typer.Argument(help="The what-if scenario.")],
    day: Annotated[str, typer.Option("--date", "-d", help="The run day (YYYY-MM-DD).")],
    store: StoreOption = "fangkong.duckdb",
    rows: Annotated[int, typer.Option(help="Orders to list in full.")] = 20,
) -> None:
    """The orders of a day in which the scenario differs from live, by type, then in full."""
    try:
        the_day = date.fromisoformat(day)
    except ValueError:
        raise fail(InputError(f"not a date (YYYY-MM-DD): {day!r}")) from None
    with opened_store(store, existing=True) as st:
        try:
            diff = scenario_diff(st, scenario_of(st, name), the_day)
        except FangkongError as exc:
            raise fail(exc) from exc
    if diff.height == 0:
        console.print(f"{the_day}: scenario {name} orders exactly what live orders")
        return
    counts = Table(title=f"{the_day}: orders only in {name} or only in live")
    for col in ("order", name, "live"):
        counts.add_column(col)
    by = diff.group_by("order_type", "side").len().sort("order_type")
    for (order_type,), part in by.group_by("order_type", maintain_order=True):
        mine = part.filter(part["side"] == name)["len"].sum()
        live = part.filter(part["side"] == "live")["len"].sum()
        counts.add_row(str(order_type), str(mine), str(live))
    console.print(counts)
    for side, person, kind, detail, reason in (
        diff.select("side", "person_id", "order_type", "detail", "reason").head(rows).iter_rows()
    ):
        console.print(f"  [{side}] person {person}: {kind} {detail or ''} — {reason}", markup=False)
