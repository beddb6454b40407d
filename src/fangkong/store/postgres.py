"""The PostgreSQL store, over a real connection (psycopg 3). Same schema and migrations as the
embedded store. A `schema=NAME` query parameter in the URL selects (and creates) a schema, which
is how the tests keep their runs apart."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import polars as pl
import psycopg
from psycopg import sql as psql
from psycopg.pq import TransactionStatus

from fangkong.errors import StoreError
from fangkong.model.tables import Table
from fangkong.store.base import (
    MIGRATE_LOCK,
    Params,
    Store,
    column_list,
    redact_url,
    scrubbed,
    take_turn,
)
from fangkong.store.embedded import LOCAL_TIMEZONE
from fangkong.store.sql import named_params, quote

log = logging.getLogger(__name__)

# autovacuum's defaults for when a table's statistics are out of date (autovacuum_analyze_threshold
# and autovacuum_analyze_scale_factor): rows changed since the last ANALYZE beyond this base and
# share of the table (`PostgresStore._keep_statistics`)
_ANALYZE_BASE = 50
_ANALYZE_SHARE = 0.1
# how long an ANALYZE inside a transaction waits for another transaction analyzing the same
# table (`PostgresStore._keep_statistics`): a bound on a wait, not a rule
_ANALYZE_WAIT = "100ms"

__all__ = ["PostgresStore", "split_schema"]


def split_schema(url: str) -> tuple[str, str | None]:
    """Take fangkong's own `schema=` parameter out of a PostgreSQL URL."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- parsing the port is what finds a malformed one
    except ValueError as exc:
        raise StoreError(f"malformed PostgreSQL URL {redact_url(url)!r}: {exc}") from exc
    query = parse_qsl(parts.query)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


# the advisory lock of `exclusive`: one per name and schema (stores in other schemas of the same
# database do not wait for each other; the URL's schema, which may not exist yet, else the
# connection's); a 64-bit hash, so two names meet by chance about never
_LOCK_KEY = "hashtextextended(coalesce(%(schema)s, current_schema(), '') || '/' || %(name)s, 0)"


class PostgresStore(Store):
    dialect = "postgres"

    def __init__(self, url: str) -> None:
        self.url = redact_url(url)
        dsn, self.schema = split_schema(url)
        try:
            self.connection = psycopg.connect(dsn, autocommit=True)
        except psycopg.Error as exc:
            # neither the URL nor the driver's message may carry the password further
            raise StoreError(
                scrubbed(f"cannot connect to PostgreSQL at {dsn}: {exc}", url)
            ) from None
        self.connection.execute(f"SET TimeZone = '{LOCAL_TIMEZONE}'")
        # psycopg prepares a statement run 5 times; PostgreSQL may then reuse a generic plan,
        # made without the parameters' values (a day, an id list), which for the engine's
        # queries over tables written in the same run can be a nested loop over every row:
        # plan each execution for its own values
        self.connection.execute("SET plan_cache_mode = force_custom_plan")
        self._held: set[str] = set()
        if self.schema:
            ident = psql.Identifier(self.schema)
            with self.exclusive(MIGRATE_LOCK):  # two at once failed on the catalog's key
                self.connection.execute(psql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
            self.connection.execute(psql.SQL("SET search_path TO {}").format(ident))

    def execute(self, sql: str, params: Params | None = None) -> None:
        self.connection.execute(named_params(sql, "postgres").encode(), dict(params or {}))

    def fetch(self, sql: str, params: Params | None = None) -> pl.DataFrame:
        with self.connection.cursor() as cur:
            cur.execute(named_params(sql, "postgres").encode(), dict(params or {}))
            names = [d.name for d in cur.description or ()]
            rows = cur.fetchall()
        if not rows:
            return pl.DataFrame(schema=names)
        return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.connection.transaction():
            yield

    @contextmanager
    def _take_exclusive(self, name: str) -> Iterator[None]:
        key = {"schema": self.schema, "name": name}
        if self.connection.info.transaction_status != TransactionStatus.IDLE:
            # inside a transaction: held until it ends, with its view of the store
            self.connection.execute(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})".encode(), key)
            self._held.add(name)
            try:
                with self.transaction():
                    yield
            finally:
                self._held.discard(name)
            return

        # an advisory lock of the session, taken before the transaction begins: taken inside
        # it, the wait would come after the first statement had fixed the snapshot, and the
        # run would not see what the holder before it committed
        def take(how: str) -> object:
            return self.connection.execute(f"SELECT {how}({_LOCK_KEY})".encode(), key).fetchone()

        take_turn(
            name,
            lambda: take("pg_try_advisory_lock") == (True,),
            lambda: take("pg_advisory_lock"),
        )
        self._held.add(name)
        try:
            with self.connection.transaction():
                # the transaction's first statement: its reads see the store as of here
                self.connection.execute(b"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                yield
        finally:
            self._held.discard(name)
            if not self.connection.closed:
                self.connection.execute(f"SELECT pg_advisory_unlock({_LOCK_KEY})".encode(), key)

    def checkpoint(self) -> None:
        # the server checkpoints on its own schedule (checkpoint_timeout, max_wal_size), and
        # CHECKPOINT needs a superuser or pg_checkpoint: nothing to ask of it here
        return

    def missing_keys(self, table: Table, column: str, values: pl.Series) -> pl.Series:
        if values.len() == 0:
            return values
        col_type = table.column(column).type.value
        cast = "DOUBLE PRECISION" if col_type == "DOUBLE" else col_type
        rows = self.connection.execute(
            f"SELECT v FROM unnest(%s::{cast}[]) AS p(v) WHERE NOT EXISTS "
            f'(SELECT 1 FROM "{table.name}" t WHERE t."{column}" = p.v)'.encode(),
            [values.to_list()],
        ).fetchall()
        return pl.Series(values.name, [r[0] for r in rows], dtype=values.dtype)

    def insert_frame(self, table: str, rows: pl.DataFrame) -> None:
        buf = io.BytesIO()
        rows.write_csv(buf)
        with (
            self.connection.cursor() as cur,
            cur.copy(
                f'COPY "{table}" ({column_list(rows.columns)}) '
                "FROM STDIN (FORMAT csv, HEADER true)".encode()
            ) as copy,
        ):
            copy.write(buf.getvalue())
        self._keep_statistics(table, rows.height)

    def _keep_statistics(self, table: str, appended: int) -> None:
        """ANALYZE `table` now when the rows changed since its last analysis (`appended` of them
        by this statement, not yet counted by the server) pass autovacuum's own threshold.
        Autovacuum would analyze it within a minute or so, but a day's run follows its import at
        once: with statistics from before the import, the planner takes the day's new samples
        for a few rows (their times lie past the histogram) and joins them by nested loops (one
        run's read of 8,000 samples took 4.9 s instead of 30 ms, at 100,000 residents)."""
        if appended == 0:
            return
        found = self.connection.execute(
            "SELECT c.reltuples, coalesce(s.n_mod_since_analyze, 0) FROM pg_class c"
            " LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid"
            " WHERE c.oid = to_regclass(%s)",
            [quote(table)],
        ).fetchone()
        if found is None:
            return
        reltuples, changed = float(found[0]), int(found[1])
        never = reltuples < 0  # never analyzed (PostgreSQL 14 on)
        if not never and changed + appended <= _ANALYZE_BASE + _ANALYZE_SHARE * reltuples:
            return
        analyze = f"ANALYZE {quote(table)}".encode()
        if self.connection.info.transaction_status == TransactionStatus.IDLE:
            self.connection.execute(analyze)
            return
        # Inside a transaction ANALYZE holds its lock on the table to the commit, and two
        # transactions analyzing it wait for each other: two runs beside each other (live and a
        # what-if) that analyze two tables in opposite orders (one run's first insert of a table
        # may be below the threshold) would deadlock. A table another transaction is analyzing
        # is left to it: its statistics come with its commit.
        setting = "SELECT set_config('lock_timeout', %s, true)"  # to the transaction's end
        row = self.connection.execute("SELECT current_setting('lock_timeout')").fetchone()
        self.connection.execute(setting, [_ANALYZE_WAIT])
        try:
            with self.connection.transaction():  # a savepoint: a lock not had undoes only this
                self.connection.execute(analyze)
        except psycopg.errors.LockNotAvailable:
            log.info("%s is analyzed by another transaction: its statistics are left to it", table)
        finally:
            self.connection.execute(setting, [row[0] if row else "0"])

    def has_rows(self, table: Table) -> bool:
        row = self.connection.execute(f'SELECT EXISTS (SELECT 1 FROM "{table.name}")'.encode())
        return bool(row.fetchone()[0])  # type: ignore[index]

    def copy_csv_into(self, table: Table, csv_path: Path, columns: Sequence[str]) -> int:
        """Bulk load a CSV file (header row, fangkong's staged columns) into `table` with COPY,
        through a temporary staging table so that rows whose key is stored already are left
        out. Returns the number of rows inserted."""
        cols = column_list(columns)
        stage = f"_stage_{table.name}"
        key = column_list(table.key)
        self.connection.execute(
            f'CREATE TEMP TABLE "{stage}" (LIKE "{table.name}") ON COMMIT DROP'.encode()
        )
        with self.connection.cursor() as cur:
            with (
                cur.copy(
                    f'COPY "{stage}" ({cols}) FROM STDIN (FORMAT csv, HEADER true)'.encode()
                ) as copy,
                csv_path.open("rb") as fh,
            ):
                while chunk := fh.read(1 << 20):
                    copy.write(chunk)
            cur.execute(
                f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM "{stage}" '
                f"ON CONFLICT ({key}) DO NOTHING".encode()
            )
            inserted = cur.rowcount
        self._keep_statistics(table.name, inserted)
        return inserted

    def close(self) -> None:
        self.connection.close()
