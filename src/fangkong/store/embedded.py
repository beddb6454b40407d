"""The embedded store: one DuckDB file, no server. The default for a new user and for analysts."""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from fangkong.errors import StoreError
from fangkong.model.tables import Table
from fangkong.store.base import Params, Store, column_list, take_turn
from fangkong.store.sql import named_params

__all__ = ["EmbeddedStore", "duckdb_connect", "fetch_over_frames"]

log = logging.getLogger(__name__)

LOCAL_TIMEZONE = "Asia/Shanghai"
# rows of a frame appended per statement (`EmbeddedStore.insert_frame`): a bound on memory
_ROWS_PER_INSERT = 1_000_000

# a list parameter read as a set (`_lists_bound`), and how long a list is worth a frame
_LIST_IN = re.compile(
    r"IN \(SELECT unnest\(CAST\(:(?P<name>\w+) AS (?P<type>BIGINT|VARCHAR)\[\]\)\)\)"
)
_LONG_LIST = 64


# DuckDB 2.0's relation API (`connection.sql(text).pl()`) binds a statement once to describe the
# relation, and again when `.pl()` submits it. A read here is run once, so it is submitted as
# `.pl()` submits it, without the first bind: on the engine's statements (few rows, many CTEs)
# that bind was a third of each read (the idle-day check at 1 M people: 16 -> 11 ms).
# `duckdb._seam` is DuckDB's own seam between its relation layer and the engine, not a public
# API: the version is pinned (pyproject.toml), and without it the public path is taken.
_SUBMIT = getattr(getattr(duckdb, "_seam", None), "submit", None)


def _frame(con: duckdb.DuckDBPyConnection, text: str, values: dict[str, Any]) -> pl.DataFrame:
    """The rows of one statement as a frame (`.pl()`'s conversion)."""
    if _SUBMIT is None:
        rel = con.sql(text, params=values)
        described: pl.DataFrame = rel.pl() if rel is not None else pl.DataFrame()
        return described
    table = _SUBMIT(con, text, values, "arrow").arrow_table(to_polars=True)
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame


_EXCLUSIVE: dict[tuple[str, str], threading.Lock] = {}
_EXCLUSIVE_GUARD = threading.Lock()


def _exclusive_lock(database: str, name: str) -> threading.Lock:
    """The lock of `name` in `database` (`EmbeddedStore.exclusive`), one per process."""
    with _EXCLUSIVE_GUARD:
        return _EXCLUSIVE.setdefault((database, name), threading.Lock())


def _list_in(name: str) -> str:
    return rf"IN \(SELECT unnest\(CAST\(:{name} AS (?:BIGINT|VARCHAR)\[\]\)\)\)"


# the engine sends the same few hundred statement texts day after day: each is parsed once
@functools.lru_cache(maxsize=1024)
def _set_lists(sql: str) -> tuple[tuple[str, type[pl.DataType]], ...]:
    """The list parameters `sql` reads only as `IN (SELECT unnest(CAST(:name AS T[])))`, with
    their element type (`EmbeddedStore._lists_bound`)."""
    found = {}
    for m in _LIST_IN.finditer(sql):
        name = m["name"]
        if len(re.findall(rf":{name}\b", sql)) == len(re.findall(_list_in(name), sql)):
            found[name] = pl.Int64 if m["type"] == "BIGINT" else pl.String
    return tuple(found.items())


@functools.lru_cache(maxsize=1024)
def _with_frames(sql: str, names: tuple[str, ...]) -> str:
    """`sql` with each list parameter of `names` read from its registered frame."""
    for name in names:
        sql = re.sub(_list_in(name), f'IN (SELECT v FROM "_list_{name}")', sql)
    return sql


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


def fetch_over_frames(
    sql: str,
    params: Mapping[str, Any],
    relations: Mapping[str, pl.DataFrame],
    connection: duckdb.DuckDBPyConnection | None = None,
) -> pl.DataFrame:
    """The rows of `sql` (`:name` parameters, as the store's queries) run by DuckDB over a
    caller's frames, each registered under its name for the statement (read as Arrow, not
    copied into a table): the same SQL a step runs on the store, over relations of the caller's
    own (a simulator's day, a test's). `connection`: one to reuse (default: a new one in
    memory, set up as `duckdb_connect` sets it)."""
    con = connection if connection is not None else duckdb_connect()
    for name, frame in relations.items():
        con.register(name, frame)
    try:
        return _frame(con, named_params(sql, "duckdb"), dict(params))
    finally:
        for name in relations:
            con.unregister(name)
        if connection is None:
            con.close()


class EmbeddedStore(Store):
    dialect = "duckdb"

    def __init__(self, path: str) -> None:
        self.url = path
        self.connection = duckdb_connect(path)
        self._depth = 0
        # the database `exclusive` names its locks by: a file's, or this store's own in memory
        self._database = str(Path(path).resolve()) if path != ":memory:" else f"memory:{id(self)}"
        self._held: set[str] = set()
        self._at_end: list[Callable[[], None]] = []  # run when the outermost transaction ends

    def execute(self, sql: str, params: Params | None = None) -> None:
        with self._lists_bound(sql, params) as (text, values):
            # fetch to the end: DuckDB refuses other work on a connection with a pending result
            self.connection.execute(text, values).fetchall()

    def fetch(self, sql: str, params: Params | None = None) -> pl.DataFrame:
        with self._lists_bound(sql, params) as (text, values):
            return _frame(self.connection, text, values)

    @contextmanager
    def _lists_bound(self, sql: str, params: Params | None) -> Iterator[tuple[str, dict[str, Any]]]:
        """The statement in DuckDB's style and its values, with each long list parameter that
        the statement reads only as `IN (SELECT unnest(CAST(:name AS T[])))` bound as a
        registered one-column frame instead: DuckDB converts a Python list parameter value by
        value (about 10 ms for 5,000 person ids, against 1-2 ms for the frame)."""
        values = dict(params or {})
        frames: dict[str, pl.DataFrame] = {}
        for name, dtype in _set_lists(sql):
            value = values.get(name)
            if isinstance(value, list | tuple) and len(value) >= _LONG_LIST:
                frames[name] = pl.DataFrame({"v": list(value)}, schema={"v": dtype})
        text = _with_frames(sql, tuple(frames)) if frames else sql
        for name, frame in frames.items():
            del values[name]
            self.connection.register(f"_list_{name}", frame)
        try:
            yield named_params(text, "duckdb"), values
        finally:
            for name in frames:
                self.connection.unregister(f"_list_{name}")

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
            try:
                yield
            except BaseException:
                self._depth = 0
                self.connection.execute("ROLLBACK").fetchall()
                raise
            self._depth = 0
            self.connection.execute("COMMIT").fetchall()
        finally:
            while self._at_end:
                self._at_end.pop()()

    @contextmanager
    def _take_exclusive(self, name: str) -> Iterator[None]:
        # DuckDB lets one process write a file (another process cannot open it), and its
        # transactions read the snapshot of their start: what is left to exclude is another
        # thread of this process running the same `name` through a connection of its own
        lock = _exclusive_lock(self._database, name)
        take_turn(name, lambda: lock.acquire(blocking=False), lock.acquire)
        self._held.add(name)

        def release() -> None:
            self._held.discard(name)
            lock.release()

        outer = self._depth > 0
        try:
            with self.transaction():
                yield
        except BaseException:
            release()
            raise
        if outer:  # held until the enclosing transaction ends
            self._at_end.append(release)
        else:
            release()

    def checkpoint(self) -> None:
        # DuckDB folds its log at a commit that finds it over `checkpoint_threshold` (16 MB): a
        # day's check-ins of a megacity fill that several times, and the commit that crossed
        # it paid for all of it (a run of the engine at 1 M residents, profiled: 0.29 s of its
        # 0.87 s in the commit).
        # DuckDB's documentation says CHECKPOINT fails while another transaction runs (a
        # connection of another thread): the data is committed by then, so that is no failure
        # of the load, and the automatic checkpoint comes at a later commit, as before. DuckDB
        # 2.0 (pinned) checkpoints even beside an open write, which commits afterwards intact
        # (tests/ingest/test_import.py): the refusal is not seen with it.
        if self._depth:
            return
        try:
            self.connection.execute("CHECKPOINT").fetchall()
        except duckdb.TransactionException as exc:
            log.info("no checkpoint now (%s): DuckDB makes one at a later commit", exc)

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
