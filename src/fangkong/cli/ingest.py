"""`fangkong import KIND FILE`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from fangkong.cli.common import StoreOption, console, opened_store, shown
from fangkong.ingest import KINDS, import_file

__all__ = ["import_command"]


def import_command(
    kind: Annotated[str, typer.Argument(help="What the file holds: " + ", ".join(KINDS))],
    files: Annotated[list[Path], typer.Argument(help="CSV (.csv, .csv.gz, .tsv) or Parquet")],
    store: StoreOption = "fangkong.duckdb",
    timezone: Annotated[
        str, typer.Option(help="Time zone of times written without an offset.")
    ] = "Asia/Shanghai",
) -> None:
    """Import event files, each all or nothing. A file imported before changes nothing."""
    if kind not in KINDS:
        raise typer.BadParameter(f"unknown kind {kind!r}; one of: {', '.join(KINDS)}")
    with opened_store(store) as st:
        for path in files:
            with Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
                # outside a terminal a transient display leaves a blank line before the report
                disable=not console.is_terminal,
            ) as bar:
                task = bar.add_task(f"{shown(path.name)}: reading")

                def show(step: str, task: TaskID = task, name: str = shown(path.name)) -> None:
                    bar.update(task, description=f"{name}: {step}")

                result = import_file(st, kind, path, timezone=timezone, progress=show)
            if result.already_imported_as is not None:
                console.print(
                    f"{shown(path)}: already imported (batch {result.already_imported_as});"
                    " nothing new",
                    soft_wrap=True,
                )
            else:
                stored = ", ".join(f"{n} {t}" for t, n in result.rows_stored.items())
                console.print(
                    f"{shown(path)}: {result.rows_read} rows read, stored {stored} "
                    f"(batch {result.batch_id})",
                    soft_wrap=True,
                )
