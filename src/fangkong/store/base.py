"""The Store interface, shared by the embedded (DuckDB) and PostgreSQL backends.

A Store runs portable SQL (parameters named `:name`), owns transactions, and knows how to bulk
load a validated import (see `fangkong.ingest`). Services own transactions: helpers never commit.
"""

from __future__ import annotations

import abc
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import polars as pl

from fangkong.errors import StoreError
from fangkong.model.tables import Table
from fangkong.store.sql import Dialect, column_list

__all__ = [
    "MIGRATE_LOCK",
    "Params",
    "Store",
    "column_list",
    "open_store",
    "redact_url",
    "scrubbed",
    "take_turn",
]

Params = Mapping[str, Any]

# the name held (`Store.exclusive`) while a store's schema is created or migrated: two commands
# opening a new store at once both created its tables, and one failed on the catalog's keys
MIGRATE_LOCK = "fangkong.migrate"
# what a holder of `Store.exclusive` that has to wait says (with the name it waits for)
_WAITING = (
    "waiting for another connection to this store to let go of %r"
    " (a run of that scenario, an import or a migration)"
)

_HIDDEN = "***"

log = logging.getLogger(__name__)


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password or None
    except ValueError:
        return None


# `scheme://user:PASSWORD@`, also in a URL too malformed to parse; and `password=...`
_URL_PASSWORD = re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^/:@\s]*:)[^@/\s]*@")
_PARAM_PASSWORD = re.compile(r"(?i)(password\s*=\s*)[^&\s]*")


def redact_url(url: str) -> str:
    """`url` (or any text holding URLs) with every password replaced by ***: the form a URL
    takes in any message, log line or output."""
    text = _URL_PASSWORD.sub(rf"\g<1>{_HIDDEN}@", str(url))
    return _PARAM_PASSWORD.sub(rf"\g<1>{_HIDDEN}", text)


def scrubbed(text: str, url: str) -> str:
    """`text` (e.g. a driver's message) with the password of `url` taken out wherever it is."""
    secret = _password(url)
    if secret:
        text = text.replace(secret, _HIDDEN)
    return redact_url(text)


def take_turn(name: str, try_take: Callable[[], bool], take: Callable[[], object]) -> None:
    """Take `name` for `Store.exclusive`: at once if `try_take` gets it, else by `take`, which
    waits, after saying so at WARNING (the command line's level: a second run of live would
    otherwise seem to hang)."""
    if not try_take():
        log.warning(_WAITING, name)
        take()


class Store(abc.ABC):
    """A connection to one fangkong store, used by one thread at a time: work beside it (another
    run, an import) opens a store of its own on the same URL (`open_store`), and `exclusive`
    keeps the two apart where they must take turns."""

    dialect: Dialect
    url: str  # as it may be shown: a password is replaced by *** (`redact_url`)
    _held: set[str]  # the names of `exclusive` this store holds

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

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """A transaction that one holder of `name` runs at a time in this store (a run of the
        engine in one scenario: `fangkong.engine.day.run_lock`), waiting for the holder before
        it, and that reads one snapshot of the store from its start: what other connections
        commit meanwhile (an import) is not seen by it at all, and so is wholly the next
        holder's. Inside a transaction it joins it (taking `name` if not held yet, with the
        enclosing transaction's view of the store); inside its own holding of `name`, it is
        that holding's transaction."""
        if name in self._held:
            with self.transaction():
                yield
            return
        with self._take_exclusive(name):
            yield

    @abc.abstractmethod
    def _take_exclusive(self, name: str) -> AbstractContextManager[None]:
        """`exclusive` for a `name` this store does not hold: take it (`take_turn`), mark it
        in `_held` while held, and run the transaction."""

    @abc.abstractmethod
    def checkpoint(self) -> None:
        """Fold what the write-ahead log holds into the store, where the store does that on
        request (the embedded store; PostgreSQL's server checkpoints on its own): called after
        a bulk load, so that the load pays for the log it filled, not whichever commit comes
        next (a run of the engine)."""

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
        raise StoreError(
            f"unknown store URL scheme: {redact_url(text)!r} (use a file path or postgresql://)"
        )
    else:
        from fangkong.store.embedded import EmbeddedStore

        store = EmbeddedStore(text)
    if migrate:
        from fangkong.store.migrations import migrate as run_migrations

        run_migrations(store)
    return store
