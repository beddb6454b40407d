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

from fangkong.errors import FangkongError
from fangkong.store import Store, open_store

__all__ = ["DEFAULT_STORE", "StoreOption", "console", "err_console", "fail", "opened_store"]

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


def fail(exc: FangkongError) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
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


def default_store_path() -> Path:
    return Path(os.environ.get("FANGKONG_STORE", DEFAULT_STORE))
