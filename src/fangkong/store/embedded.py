"""The embedded store: one DuckDB file, no server. The default for a new user and for analysts."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import polars as pl

from fangkong.errors import StoreError
from fangkong.model.tables import Table
from fangkong.store.base import Params, Store, column_list
from fangkong.store.sql import named_params

__all__ = ["EmbeddedStore", "duckdb_connect"]

LOCAL_TIMEZONE = "Asia/Shanghai"
# rows of a frame appended per statement (`EmbeddedStore.insert_frame`): a bound on memory
_ROWS_PER_INSERT = 1_000_000


def duckdb_connect(path: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection set up the way fangkong needs it: local time is Asia/Shanghai (naive
    times in input files mean Beijing time), and memory is capped by FANGKONG_MEMORY_LIMIT
    when set (DuckDB spills to disk beyond it)."""
    try:
        con = duckdb.connect(path)
    except duckdb.Error as exc:
        raise StoreError(f"cannot open the embedded store {path!r}: {exc}") from exc
    con.execute(f"SET TimeZone = '{LOCAL_TIMEZONE}'").fetchall()
    limit = os.environ.get("FANGKONG_MEMORY_LIMIT")
    if limit:
        con.execute(f"SET memory_limit = '{limit}'").fetchall()
    return con


class EmbeddedStore(Store):
    dialect = "duckdb"

    def __init__(self, path: str) -> None:
        self.url = path
        self.connection = duckdb_connect(path)
        self._depth = 0

    def execute(self, sql: str, params: Params | None = None) -> None:
        # fetch to the end: DuckDB refuses other work on a connection with a pending result
        self.connection.execute(named_params(sql, "duckdb"), dict(params or {})).fetchall()

    def fetch(self, sql: str, params: Params | None = None) -> pl.DataFrame:
        rel = self.connection.sql(named_params(sql, "duckdb"), params=dict(params or {}))
        frame: pl.DataFrame = rel.pl() if rel is not None else pl.DataFrame()
        return frame

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:  # joins the enclosing transaction
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.connection.execute("BEGIN TRANSACTION").fetchall()
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self.connection.execute("ROLLBACK").fetchall()
            raise
        self._depth = 0
        self.connection.execute("COMMIT").fetchall()

    def missing_keys(self, table: Table, column: str, values: pl.Series) -> pl.Series:
        self.connection.register("_probe", pl.DataFrame({"v": values}))
        try:
            rel = self.connection.sql(
                f'SELECT v FROM _probe ANTI JOIN "{table.name}" t ON t."{column}" = _probe.v'
            )
            missing: pl.Series = rel.pl().get_column("v").alias(values.name)
            return missing
        finally:
            self.connection.unregister("_probe")

    def insert_frame(self, table: str, rows: pl.DataFrame) -> None:
        # A slice at a time, each read through a relation of its own rather than a registered
        # view: DuckDB reads a frame as Arrow made whole first (about 100 bytes a row for text
        # columns, a literal column included), and a view registered inside a transaction keeps
        # its frame alive until the transaction ends, unregistered or not. The twin's first
        # day at 25 million people (every resident's health code and its reason, in the run's
        # transaction) held about 3 GB that way.
        sql = f'INSERT INTO "{table}" ({column_list(rows.columns)}) SELECT * FROM _frame'
        with self.transaction():
            for part in rows.iter_slices(_ROWS_PER_INSERT):  # `query` runs the statement
                self.connection.from_arrow(part.to_arrow()).query("_frame", sql)

    def has_rows(self, table: Table) -> bool:
        (exists,) = self.connection.execute(f'SELECT EXISTS (FROM "{table.name}")').fetchall()[0]
        return bool(exists)

    def insert_from(
        self,
        table: Table,
        source_sql: str,
        columns: Sequence[str],
        *,
        skip_existing: bool,
        params: dict[str, Any] | None = None,
    ) -> int:
        """INSERT the rows of `source_sql` (a query on this connection) into `table`. With
        `skip_existing`, rows whose key is already
        stored are left out. Returns the number of rows inserted."""
        cols = column_list(columns)
        select = f"SELECT {cols} FROM ({source_sql}) s"
        if skip_existing:
            cond = " AND ".join(f's."{k}" IS NOT DISTINCT FROM t."{k}"' for k in table.key)
            select = (
                f"SELECT * FROM ({select}) s WHERE NOT EXISTS "
                f'(SELECT 1 FROM "{table.name}" t WHERE {cond})'
            )
        row = self.connection.execute(
            f'INSERT INTO "{table.name}" ({cols}) {select}', params or {}
        ).fetchall()
        return int(row[0][0]) if row else 0

    def close(self) -> None:
        self.connection.close()
