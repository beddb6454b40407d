"""Import one file of one kind into a store, all or nothing.

Order of work: read the header (missing or unknown columns), check every value over the whole
file in one pass (types, required values, allowed values, field checks, row checks), check
within-file duplicates, references to stored tables and conflicts with stored events; only then
load every target table inside one transaction, with the import recorded in `import_batch`. The
first failing check stops the import with an error naming the file, row and field; nothing of the
file is stored.

Checks are SQL predicates over the staged view of the file (`staging.py`), run by DuckDB: on the
store's own connection for the embedded store, on a scratch in-memory connection for PostgreSQL,
which then receives the rows by COPY.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import polars as pl

from fangkong.errors import ImportFileError, InputError
from fangkong.ingest.kinds import INLINE_REFS, Kind, Target
from fangkong.ingest.kinds import kind as kind_named
from fangkong.ingest.ric import register_functions
from fangkong.ingest.staging import (
    Source,
    csv_error,
    fill,
    is_cast,
    open_source,
    raw,
    read_error,
    staged_sql,
)
from fangkong.model.tables import SqlType, Table
from fangkong.model.tables import table as table_named
from fangkong.store.base import Store
from fangkong.store.embedded import LOCAL_TIMEZONE, EmbeddedStore, duckdb_connect
from fangkong.store.postgres import PostgresStore
from fangkong.store.sql import quote

__all__ = ["IMPORT_LOCK", "ImportResult", "import_file"]

log = logging.getLogger(__name__)

# the name an import holds in its store while it writes (`Store.exclusive`)
IMPORT_LOCK = "fangkong.import"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ImportResult:
    kind: str
    path: str
    batch_id: int | None  # None when the same file was imported before
    rows_read: int
    rows_stored: dict[str, int]  # table -> rows newly stored
    already_imported_as: int | None = None


@dataclass(frozen=True)
class _Rule:
    field: str | None
    predicate: str  # TRUE for a bad row
    message: str
    show_value: bool


_IDENTIFIER = re.compile(r'"([^"]+)"')


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 24):
                h.update(chunk)
    except OSError as exc:  # e.g. no permission to read it
        raise ImportFileError(str(path), f"cannot read the file: {exc.strerror}") from exc
    return h.hexdigest()


# what a value that does not parse as its field's type is not, in the words of the import
# files' documentation rather than the database's type names ('timestamptz')
_NOT_A = {
    SqlType.BIGINT: "not a whole number",
    SqlType.INTEGER: "not a whole number",
    SqlType.SMALLINT: "not a whole number",
    SqlType.DOUBLE: "not a number",
    SqlType.DATE: "not a date (YYYY-MM-DD)",
    SqlType.TIMESTAMPTZ: "not a time (ISO 8601: YYYY-MM-DD HH:MM:SS, or with T and an offset)",
    SqlType.BOOLEAN: "not true or false",
}


def _rules(kind: Kind, source: Source) -> list[_Rule]:
    rules: list[_Rule] = []
    for f in kind.fields:
        col, raw_col = quote(f.name), raw(f.name)
        cast = is_cast(f, source)
        show = not f.personal
        if cast:
            rules.append(
                _Rule(
                    f.name,
                    f"{col} IS NULL AND nullif(trim({raw_col}), '') IS NOT NULL",
                    _NOT_A[f.type],
                    show,
                )
            )
        if f.required:
            missing = f"{col} IS NULL" + (
                f" AND nullif(trim({raw_col}), '') IS NULL" if cast else ""
            )
            rules.append(_Rule(f.name, missing, "missing value", False))
        if f.values is not None:
            allowed = ", ".join(f"'{v.value}'" for v in f.values)
            rules.append(
                _Rule(
                    f.name,
                    f"{col} NOT IN ({allowed})",
                    "not one of " + ", ".join(v.value for v in f.values),
                    show,
                )
            )
        rules.extend(
            _Rule(f.name, f"({fill(c.bad_when, kind)})", c.message, show) for c in f.checks
        )
        if f.ref is not None and f.ref[0] in INLINE_REFS:
            table, column = f.ref
            rules.append(
                _Rule(
                    f.name,
                    f"{col} NOT IN (SELECT {quote(column)} FROM _ref_{table})",
                    f"no {table} with {column} is stored",
                    show,
                )
            )
    rules.extend(
        _Rule(None, f"({fill(c.bad_when, kind)})", c.message, False) for c in kind.row_checks
    )
    return rules


class _Run:
    """One import in progress."""

    def __init__(self, store: Store, kind: Kind, path: Path, progress: Progress) -> None:
        self.store = store
        self.kind = kind
        self.path = path
        self.progress = progress
        self.con: duckdb.DuckDBPyConnection = (
            store.connection if isinstance(store, EmbeddedStore) else duckdb_connect()
        )
        self.source = open_source(self.con, path, kind)
        self.fast = staged_sql(self.source, kind, with_rows=False)
        self.numbered = staged_sql(self.source, kind, with_rows=True)
        self.key_range: tuple[Any, Any] | None = None
        register_functions(self.con)  # the GB 11643 checks (`fangkong.ingest.ric`)
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW _this_file AS {self.fast}").fetchall()
        for table in INLINE_REFS:
            if isinstance(store, EmbeddedStore):
                self.con.execute(
                    f"CREATE OR REPLACE TEMP VIEW _ref_{table} AS SELECT * FROM {quote(table)}"
                ).fetchall()
            else:
                self.con.register(f"_ref_{table}", store.fetch(f"SELECT * FROM {quote(table)}"))

    def error(
        self, message: str, *, row: int | None = None, field: str | None = None
    ) -> ImportFileError:
        line = row + 1 if row is not None and self.source.format == "csv" else None
        return ImportFileError(str(self.path), message, row=row, field=field, line=line)

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        try:
            return self.con.sql(query).fetchall()
        except duckdb.Error as exc:
            raise read_error(self.path, exc) from exc

    # -- checks ------------------------------------------------------------------------------
    def prunable(self, rule: _Rule) -> bool:
        """Whether the rule reads only Parquet columns taken as they are (not text)."""
        if self.source.format != "parquet":
            return False
        names = set(_IDENTIFIER.findall(rule.predicate))
        native = {
            f.name
            for f in self.kind.fields
            if f.name in self.source.columns
            and f.type is not SqlType.VARCHAR
            and not is_cast(f, self.source)
        }
        return bool(names) and names <= native and "SELECT" not in rule.predicate

    def check_values(self) -> int:
        """One pass over the file for every value rule; then, for a one-column key, a pass over
        the key alone: strictly increasing keys (as ids from an append-only log are) are unique,
        proven without a hash table of the whole file. Otherwise distinct keys are counted."""
        rules = _rules(self.kind, self.source)
        # A rule over typed Parquet columns alone runs as a query of its own: DuckDB then skips
        # every row group whose statistics (min, max, null count) rule the problem out, which
        # for a valid file is all of them. The other rules share one pass.
        pruned = [r for r in rules if self.prunable(r)]
        shared = [r for r in rules if r not in pruned]
        counts = [f"count(*) FILTER (WHERE {r.predicate})" for r in shared]
        (row,) = self.sql(f"SELECT {', '.join(['count(*)', *counts])} FROM ({self.fast})")
        n = int(row[0])
        found = dict(zip(shared, row[1:], strict=True))
        for r in pruned:
            found[r] = self.sql(f"SELECT count(*) FROM ({self.fast}) WHERE {r.predicate}")[0][0]
        bad = [(r, int(found[r])) for r in rules if found[r]]
        if bad:
            self.raise_first(bad)
        if len(self.kind.key) == 1:
            key = quote(self.kind.key[0])
            ((unordered, low, high),) = self.sql(
                f"SELECT count(*) FILTER (WHERE {key} <= _prev), min({key}), max({key}) "
                f"FROM (SELECT {key}, lag({key}) OVER () AS _prev FROM ({self.fast}))"
            )
            self.key_range = (low, high)
            if unordered == 0:
                return n
        keys = ", ".join(quote(k) for k in self.kind.key)
        (dups,) = self.sql(f"SELECT count(*) - count(DISTINCT ({keys})) FROM ({self.fast})")
        if dups[0]:
            self.raise_duplicate()
        return n

    def raise_first(self, bad: list[tuple[_Rule, int]]) -> None:
        # The earliest row that breaks any rule, and the first rule it breaks.
        cases = " ".join(f"WHEN {r.predicate} THEN {i}" for i, (r, _) in enumerate(bad))
        found = self.sql(
            f"SELECT _row, CASE {cases} END AS rule FROM ({self.numbered}) "
            f"WHERE CASE {cases} END IS NOT NULL ORDER BY _row LIMIT 1"
        )
        row_no, idx = int(found[0][0]), int(found[0][1])
        rule = bad[idx][0]
        message = rule.message
        if rule.show_value and rule.field is not None:
            value = self.sql(
                f"SELECT {raw(rule.field)} FROM ({self.numbered}) WHERE _row = {row_no}"
            )[0][0]
            message += f" (value {value!r})"
        total = sum(c for _, c in bad)
        if total > 1:
            message += f"; {total} problems in the file in all"
        raise self.error(message, row=row_no, field=rule.field)

    def raise_duplicate(self) -> None:
        key = ", ".join(quote(k) for k in self.kind.key)
        found = self.sql(
            f"SELECT min(_row), max(_row) FROM (SELECT {key}, _row, "
            f"count(*) OVER (PARTITION BY {key}) AS n, "
            f"row_number() OVER (PARTITION BY {key} ORDER BY _row) AS k FROM ({self.numbered})) "
            f"WHERE n > 1 AND k <= 2 GROUP BY {key} ORDER BY max(_row) LIMIT 1"
        )
        first, second = (int(v) for v in found[0])
        names = "+".join(self.kind.key)
        raise self.error(
            f"duplicate event: the same {names} as row {first}", row=second, field=self.kind.key[0]
        )

    def check_references(self) -> None:
        for f in self.kind.fields:
            if f.ref is None or f.name not in self.source.columns or f.ref[0] in INLINE_REFS:
                continue
            ref_table, ref_col = f.ref
            col = quote(f.name)
            values = (
                self.con.sql(
                    f"SELECT DISTINCT {col} AS v FROM ({self.fast}) WHERE {col} IS NOT NULL"
                )
                .pl()
                .get_column("v")
            )
            missing = self.store.missing_keys(table_named(ref_table), ref_col, values)
            if missing.len():
                self.con.register("_missing", pl.DataFrame({"v": missing}))
                try:
                    found = self.sql(
                        f"SELECT _row, {raw(f.name)} FROM ({self.numbered}) s "
                        f"SEMI JOIN _missing m ON s.{col} = m.v ORDER BY _row LIMIT 1"
                    )
                finally:
                    self.con.unregister("_missing")
                value = "" if f.personal else f" {found[0][1]}"
                raise self.error(
                    f"no {ref_table} with {ref_col}{value} is stored"
                    f" ({missing.len()} unknown value(s) in the file)",
                    row=int(found[0][0]),
                    field=f.name,
                )

    def check_stored_conflicts(self) -> None:
        """A row whose key is stored already is a repeat if equal (skipped at load) and a
        conflict if different: a stored event is never edited. Every table the kind writes is
        compared (a person's identity as well as their residence), so no changed value is
        dropped silently; the error names the fields that differ (never their values) and,
        where the kind declares one, the kind whose events correct them."""
        found: list[tuple[int, list[str], int]] = []
        counts: list[str] = []
        for target in self.kind.targets:
            table = table_named(target.table)
            if all(k in target.columns for k in table.key) and self.store.has_rows(table):
                conflict = self.stored_conflict(target, table)
                if conflict is not None:
                    found.append(conflict)
                    counts.append(f"{conflict[2]} in {table.name}")
        if not found:
            return
        row, columns, _ = min(found)
        key = "+".join(self.kind.key)
        fixes = sorted({self.kind.corrected_by[c] for c in columns if c in self.kind.corrected_by})
        if fixes:
            how = " or ".join(f"'{k}'" for k in fixes)
            remedy = (
                f"what is stored is never edited: import the change as {how}"
                " (an event with its own id, effective time and reason)"
            )
        else:
            remedy = "a stored event is never edited (a correction is a new event with its own id)"
        total = sum(n for _, _, n in found)
        more = f"; rows that differ from what is stored: {', '.join(counts)}" if total > 1 else ""
        raise self.error(
            f"{key} is already stored with another {', '.join(columns)}; {remedy}{more}",
            row=row,
            field=columns[0],
        )

    def stored_conflict(self, target: Target, table: Table) -> tuple[int, list[str], int] | None:
        """The first row of the file whose key `table` holds with other values in `target`'s
        columns: (row, the columns that differ, how many rows differ), or None."""
        key_cols = list(table.key)
        exprs = ", ".join(f"{fill(e, self.kind)} AS {quote(c)}" for c, e in target.columns.items())
        proj = f"SELECT _row, {exprs} FROM ({self.numbered})"
        others = [c for c in target.columns if c not in key_cols]
        if not others:
            return None
        flags = [f"s.{quote(c)} IS DISTINCT FROM t.{quote(c)}" for c in others]
        on = " AND ".join(f"s.{quote(c)} = t.{quote(c)}" for c in key_cols)
        stored_rel = quote(table.name)
        if isinstance(self.store, PostgresStore):
            # Bring over the stored rows that share the file's first key column.
            first = quote(key_cols[0])
            keys = (
                self.con.sql(
                    f"SELECT DISTINCT {fill(target.columns[key_cols[0]], self.kind)} AS v "
                    f"FROM ({self.fast})"
                )
                .pl()
                .get_column("v")
            )
            stored = self.store.fetch(
                f"SELECT {', '.join(quote(c) for c in target.columns)} FROM {quote(table.name)} "
                f"WHERE {first} = ANY(:keys)",
                {"keys": keys.to_list()},
            )
            if stored.height == 0:
                return None
            self.con.register("_stored", stored)
            stored_rel = "_stored"
        try:
            hit = self.sql(
                f"SELECT s._row, count(*) OVER (), {', '.join(flags)} "
                f"FROM ({proj}) s JOIN {stored_rel} t ON {on} "
                f"WHERE {' OR '.join(flags)} ORDER BY s._row LIMIT 1"
            )
        finally:
            if stored_rel == "_stored":
                self.con.unregister("_stored")
        if not hit:
            return None
        row, rows, *differs = hit[0]
        return int(row), [c for c, d in zip(others, differs, strict=True) if d], int(rows)

    def may_be_stored(self, table: Table) -> bool:
        """Whether some row of the file may already be stored (then the load leaves out stored
        keys). For a one-column key, only stored keys within the file's key range count."""
        if self.key_range is not None and tuple(table.key) == self.kind.key:
            lo, hi = self.key_range
            column = quote(table.key[0])
            return bool(
                self.store.scalar(
                    f"SELECT EXISTS (SELECT 1 FROM {quote(table.name)} "
                    f"WHERE {column} BETWEEN :lo AND :hi)",
                    {"lo": lo, "hi": hi},
                )
            )
        return self.store.has_rows(table)

    # -- load --------------------------------------------------------------------------------
    def load(self, batch_id: int) -> dict[str, int]:
        try:
            return self._load(batch_id)
        except duckdb.Error as exc:
            # the checks read only the columns they check: text that is not UTF-8 in another
            # column is found by the load's read of it (in the transaction: nothing is stored)
            problem = csv_error(self.path, exc)
            if problem is None:
                raise
            raise problem from None

    def _load(self, batch_id: int) -> dict[str, int]:
        stored: dict[str, int] = {}
        for target in self.kind.targets:
            table = table_named(target.table)
            exprs = [f"{fill(e, self.kind)} AS {quote(c)}" for c, e in target.columns.items()]
            exprs.append(f"CAST({batch_id} AS INTEGER) AS batch_id")
            where = f" WHERE {fill(target.where, self.kind)}" if target.where else ""
            select = f"SELECT {', '.join(exprs)} FROM ({self.fast}){where}"
            columns = [*target.columns, "batch_id"]
            if isinstance(self.store, EmbeddedStore):
                stored[table.name] = self.store.insert_from(
                    table,
                    select,
                    columns,
                    skip_existing=self.may_be_stored(table),
                )
            else:
                assert isinstance(self.store, PostgresStore)
                with tempfile.TemporaryDirectory(prefix="fangkong-") as tmp:
                    csv = Path(tmp) / f"{table.name}.csv"
                    self.con.execute(
                        f"COPY ({select}) TO '{csv}' (FORMAT csv, HEADER true)"
                    ).fetchall()
                    stored[table.name] = self.store.copy_csv_into(table, csv, columns)
        return stored


def import_file(
    store: Store,
    kind: str | Kind,
    path: str | Path,
    *,
    timezone: str = LOCAL_TIMEZONE,
    progress: Progress | None = None,
) -> ImportResult:
    """Import `path` as `kind` into `store`: everything or nothing. Raises ImportFileError
    naming the file, row and field of the first problem. Times without an offset in the file
    are read in `timezone` (Beijing time by default)."""
    k = kind_named(kind) if isinstance(kind, str) else kind
    p = Path(path)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"unknown time zone {timezone!r}") from exc
    say = progress or (lambda _step: None)
    say("reading")
    run = _Run(store, k, p, say)
    run.con.execute(f"SET TimeZone = '{timezone}'").fetchall()
    # The content hash (provenance, and "this file was imported before") is computed beside the
    # checks: hashlib releases the GIL, and a file seen before is the rare case.
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(_sha256, p)
        try:
            return _import(store, k, p, run, say, digest)
        finally:
            run.con.execute(f"SET TimeZone = '{LOCAL_TIMEZONE}'").fetchall()


def _import(
    store: Store, k: Kind, p: Path, run: _Run, say: Progress, hashing: Future[str]
) -> ImportResult:
    say("checking values")
    n = run.check_values()
    say("checking references")
    run.check_references()
    digest = hashing.result()
    say("loading")
    # One import writes at a time (`IMPORT_LOCK`), from its "seen before" and conflict checks to
    # its commit: batch ids then rise in the order batches are committed, which a run's
    # watermark assumes (two imports at once took the same id: on the embedded store two
    # batches 1, on PostgreSQL a failure on the batch's key), and a file imported twice at once
    # is imported once. The checks of the file's own values and references come before.
    with store.exclusive(IMPORT_LOCK):
        before = store.scalar(
            "SELECT min(batch_id) FROM import_batch WHERE kind = :k AND sha256 = :h",
            {"k": k.name, "h": digest},
        )
        if before is not None:
            log.info("%s: same content as batch %s, nothing to do", p, before)
            return ImportResult(k.name, str(p), None, n, {}, already_imported_as=int(before))
        run.check_stored_conflicts()
        batch_id = store.next_batch_id()
        stored = run.load(batch_id)
        store.execute(
            "INSERT INTO import_batch VALUES (:b, :k, :s, :h, :r, :n, :t)",
            {
                "b": batch_id,
                "k": k.name,
                "s": str(p),
                "h": digest,
                "r": n,
                "n": sum(stored.values()),
                "t": datetime.now(UTC),
            },
        )
    store.checkpoint()
    log.info("%s: imported %d rows as batch %d", p, n, batch_id)
    return ImportResult(k.name, str(p), batch_id, n, stored)
