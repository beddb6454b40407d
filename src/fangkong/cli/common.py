"""What the CLI's commands share: the console, the store option, error handling."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from fangkong.errors import FangkongError
from fangkong.store import Store, open_store
from fangkong.store.base import redact_url

__all__ = [
    "DEFAULT_STORE",
    "StoreOption",
    "console",
    "err_console",
    "fail",
    "opened_store",
    "quiet_engine",
    "shown",
    "shown_store",
]

console = Console()
err_console = Console(stderr=True)

DEFAULT_STORE = "fangkong.duckdb"

StoreOption = Annotated[
    str,
    typer.Option(
        "--store",
        "-s",
        envvar="FANGKONG_STORE",
        help="Store: a DuckDB file (created if missing) or a postgresql:// URL.",
    ),
]


def shown(text: object) -> str:
    """`text` (a path, a message) as Rich prints it literally: a `[` in a file name is not
    markup."""
    return escape(str(text))


def shown_store(url: str) -> str:
    """A store URL as it may be printed: without its password, not markup."""
    return shown(redact_url(url))


def fail(exc: FangkongError | str) -> typer.Exit:
    """Print the error and return the exit (code 2) to raise."""
    err_console.print(
        f"[bold red]error:[/] {shown(exc)}", highlight=False, markup=True, soft_wrap=True
    )
    return typer.Exit(code=2)


@contextmanager
def opened_store(url: str) -> Iterator[Store]:
    """Open the store for one command; FangkongErrors become exit code 2."""
    try:
        with open_store(url) as store:
            yield store
    except FangkongError as exc:
        raise fail(exc) from exc


def configure_logging() -> None:
    level = os.environ.get("FANGKONG_LOG", "WARNING").upper()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def quiet_engine() -> None:
    """The twin's runs: the engine's shortfall warnings (no room, no bed) are the twin's
    figures, not news to print on every day; FANGKONG_LOG still sets the level."""
    if "FANGKONG_LOG" not in os.environ:
        logging.getLogger("fangkong.engine").setLevel(logging.ERROR)


def default_store_path() -> Path:
    return Path(os.environ.get("FANGKONG_STORE", DEFAULT_STORE))
