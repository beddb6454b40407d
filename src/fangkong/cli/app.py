"""The `fangkong` command."""

from __future__ import annotations

import duckdb
import psycopg
import typer

from fangkong.cli.bulletin import app as bulletin_app
from fangkong.cli.code import code_command
from fangkong.cli.common import (
    StoreOption,
    configure_logging,
    console,
    fail,
    opened_store,
    shown_store,
)
from fangkong.cli.compare import compare_command
from fangkong.cli.credential import keys_app, trust_app, verify_command
from fangkong.cli.day import day_command, explain_command
from fangkong.cli.demo import demo_command
from fangkong.cli.ingest import import_command
from fangkong.cli.policy import app as policy_app
from fangkong.cli.scenario import app as scenario_app
from fangkong.cli.simulate import simulate_command
from fangkong.cli.testing import app as round_app
from fangkong.cli.zones import app as zones_app
from fangkong.errors import FangkongError
from fangkong.store.base import redact_url
from fangkong.store.migrations import current_version

__all__ = ["app", "main"]

app = typer.Typer(
    help="fangkong (防控): epidemic prevention and control — registry, bulletin, policies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("import")(import_command)
app.command("demo")(demo_command)
app.command("day")(day_command)
app.command("explain")(explain_command)
app.command("code")(code_command)
app.command("simulate")(simulate_command)
app.command("compare")(compare_command)
app.command("verify")(verify_command)

# sub-apps
app.add_typer(round_app, name="round")
app.add_typer(bulletin_app, name="bulletin")
app.add_typer(policy_app, name="policy")
app.add_typer(scenario_app, name="scenario")
app.add_typer(keys_app, name="keys")
app.add_typer(trust_app, name="trust")
app.add_typer(zones_app, name="zones")


@app.command()
def init(store: StoreOption = "fangkong.duckdb") -> None:
    """Create the store (or bring its schema up to date)."""
    with opened_store(store) as st:
        version = current_version(st)
        regions = st.count("region")
    console.print(f"store {shown_store(store)}: schema version {version}, {regions} divisions")


def main() -> None:
    """The entry point. Every error a user can cause is a FangkongError, which the commands
    print with exit code 2; this is the net under them. A file-system or database problem that
    a command did not map (a disk full while writing, a store that goes away mid-run) is
    printed the same way, without a traceback and without the store's password; anything else
    is a bug and keeps its traceback."""
    configure_logging()
    try:
        app()
    except FangkongError as exc:  # anything a command let through
        raise SystemExit(fail(exc).exit_code) from exc
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        problem = exc.strerror or type(exc).__name__
        raise SystemExit(fail(f"{where}{problem}").exit_code) from None
    except (duckdb.Error, psycopg.Error) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SystemExit(fail(f"the store failed: {redact_url(first)}").exit_code) from None
