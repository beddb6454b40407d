"""The Store interface, shared by the embedded (DuckDB) and PostgreSQL backends.

A Store runs portable SQL (parameters named `:name`), owns transactions, and knows how to bulk
load a validated import (see `fangkong.ingest`). Services own transactions: helpers never commit.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from fangkong.errors import StoreError
from fangkong.model.tables import Table
from fangkong.store.sql import Dialect, column_list

__all__ = ["Params", "Store", "column_list", "open_store"]

Params = Mapping[str, Any]


class Store(abc.ABC):
    """A connection to one fangkong store."""

    dialect: Dialect
    url: str

    # -- queries -----------------------------------------------------------------------------
    @abc.abstractmethod
    def execute(self, sql: str, params: Params | None = None) -> None:
        """Run one statement (parameters named `:name`)."""

    @abc.abstractmethod
    def fetch(self, sql: str, params: Params | None = None) -> pl.DataFrame:
        """Run a query and return its rows as a DataFrame."""

    def scalar(self, sql: str, params: Params | None = None) -> Any:
        df = self.fetch(sql, params)
        return None if df.height == 0 else df.item(0, 0)

    # -- transactions -------------------------------------------------------------------------
    @abc.abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all."""

    # -- bulk load ----------------------------------------------------------------------------
    @abc.abstractmethod
    def missing_keys(self, table: Table, column: str, values: pl.Series) -> pl.Series:
        """The values of `values` that no row of `table.column` holds."""

    @abc.abstractmethod
    def insert_frame(self, table: str, rows: pl.DataFrame) -> None:
        """Append `rows` (columns named as the table's) to `table`, as they are."""

    @abc.abstractmethod
    def has_rows(self, table: Table) -> bool:
        """Whether `table` holds any row (cheap)."""

    @abc.abstractmethod
    def close(self) -> None: ...

    # -- helpers ------------------------------------------------------------------------------
    def count(self, table: str) -> int:
        return int(self.scalar(f'SELECT count(*) FROM "{table}"'))

    def next_batch_id(self) -> int:
        return int(self.scalar("SELECT coalesce(max(batch_id), 0) + 1 FROM import_batch"))

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(url: str | Path, *, migrate: bool = True) -> Store:
    """Open the store at `url`: a DuckDB file path (created if missing), `:memory:`, or a
    `postgresql://` URL. With `migrate`, brings the schema up to date first."""
    text = str(url)
    store: Store
    if text.startswith(("postgresql://", "postgres://")):
        from fangkong.store.postgres import PostgresStore

        store = PostgresStore(text)
    elif "://" in text:
        raise StoreError(f"unknown store URL scheme: {text!r} (use a file path or postgresql://)")
    else:
        from fangkong.store.embedded import EmbeddedStore

        store = EmbeddedStore(text)
    if migrate:
        from fangkong.store.migrations import migrate as run_migrations

        run_migrations(store)
    return store
