"""What the CLI's commands share: the console, the store option, error handling."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from fangkong.errors import FangkongError, NotFoundError
from fangkong.store import Store, open_store
from fangkong.store.base import redact_url

__all__ = [
    "DEFAULT_STORE",
    "StoreOption",
    "console",
    "err_console",
    "fail",
    "opened_store",
    "print_rows",
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
        help="Store: a DuckDB file (created if missing by a command that writes: init, import,"
        " day) or a postgresql:// URL.",
    ),
]


def shown(text: object) -> str:
    """`text` (a path, a message) as Rich prints it literally: a `[` in a file name is not
    markup."""
    return escape(str(text))


def shown_store(url: str) -> str:
    """A store URL as it may be printed: without its password, not markup."""
    return shown(redact_url(url))


_INDENT = 4  # of the lines below a record's heading
# a column of `print_rows`: its header, or its header and Table.add_column's keyword arguments
ColumnSpec = str | tuple[str, Mapping[str, Any]]


def print_rows(
    columns: Sequence[ColumnSpec],
    rows: Iterable[Sequence[str | Text]],
    *,
    title: str | None = None,
    heading: int = 1,
    out: Console | None = None,
    **table: Any,
) -> None:
    """A table when the terminal is wide enough for it to wrap its cells at spaces only; else
    each row as a record, so that no value is cut or folded mid-word: the row's first `heading`
    values on a line, the rest below them, indented, each after its column's header (none for a
    column whose header is empty). Empty values are left out of a record."""
    out = out or console
    specs = [(c, {}) if isinstance(c, str) else c for c in columns]
    data = [[v if isinstance(v, Text) else Text(v) for v in row] for row in rows]
    grid = Table(title=title, **table)
    for header, options in specs:
        grid.add_column(header, **options)
    for row in data:
        grid.add_row(*row)
    # the narrowest the table can be with no word cut: its columns' longest words and rules
    narrowest = Measurement.get(out, out.options.update_width(1 << 16), grid).minimum
    if narrowest <= out.width:
        out.print(grid)
        return
    if title:
        out.print(Text(title, style="bold"))

    def labelled(pairs: Iterable[tuple[str, Text]]) -> list[Text]:
        return [
            Text.assemble((f"{header}: " if header else "", "dim"), value)
            for header, value in pairs
            if value.plain
        ]

    names = [header for header, _ in specs]
    for row in data:
        out.print(Text("  ").join(v for v in row[:heading] if v.plain))
        rest = labelled(zip(names[heading:], row[heading:], strict=True))
        for line in Text("  ").join(rest).wrap(out, max(out.width - _INDENT, 20)):
            line.rstrip()
            out.print(Text.assemble(" " * _INDENT, line), soft_wrap=True)


def fail(exc: FangkongError | str) -> typer.Exit:
    """Print the error and return the exit (code 2) to raise."""
    err_console.print(
        f"[bold red]error:[/] {shown(exc)}", highlight=False, markup=True, soft_wrap=True
    )
    return typer.Exit(code=2)


@contextmanager
def opened_store(url: str, *, existing: bool = False) -> Iterator[Store]:
    """Open the store for one command; FangkongErrors become exit code 2. A command that only
    reads (`existing`) refuses a store file that is not there: opening it would create an empty
    store, and a mistyped path would be answered 'nothing on record' instead of named."""
    if existing and "://" not in url and url != ":memory:" and not Path(url).exists():
        raise fail(NotFoundError(f"no store at {url} (`fangkong init --store {url}` creates one)"))
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
