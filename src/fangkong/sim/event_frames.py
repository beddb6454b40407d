"""The twin's simulated days as frames that the engine reads in place, never rows written into
the store's event tables.

Each simulated day produces its events: check-ins, swabs, tube results, case reports, the
contacts named by the field investigation, and the import batch they came in. `EventFrames`
keeps them as Arrow tables. It registers the growing record of each kind in the twin's DuckDB
connection under the event table's own name. In DuckDB, a name registered on a connection is
found before a table of the same name, so the engine's loaders and rules read the twin's frames
in place, with no copy. This holds for every statement on that connection: `run_day`, the
twin's readers, and a test's queries alike. The store's event tables stay as the city's load
left them.

What a day writes is the engine's, not the twin's: its orders, contacts, episodes and the state
it keeps, in the twin's scenario.

A PostgreSQL server cannot read a frame held in this process. On such a store, the frames are
inserted into the event tables, one transaction a day. `tests/sim/test_twin.py` requires the
same days either way.

What is kept: every simulated day's events, for as long as the twin runs. No retention is
applied, because how far back the engine reads (exposure windows, risk areas' stays, repeat
tests) is the policy's and the rules' to say. Narrowing the frames to a window would restate
those lookbacks here. The frames hold what the twin gives the engine: the check-ins of the
streets where someone is infectious (`Epidemic.step(all_checkins=False)`), and the day's swabs
and reports.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import polars as pl
import pyarrow as pa

from fangkong.model.tables import table as table_of
from fangkong.store import Store
from fangkong.store.embedded import EmbeddedStore

__all__ = ["DAY_TABLES", "EventFrames", "stored_table"]

# the tables a simulated day's events belong to (the import batch first: the events name it,
# and a run's watermark counts it)
DAY_TABLES = ("import_batch", "checkin", "sample", "tube_result", "case_report", "declared_contact")


class EventFrames:
    """The events of the twin's days, kept as frames the engine reads (module doc)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._embedded = isinstance(store, EmbeddedStore)
        self._parts: dict[str, list[pa.Table]] = {}
        self._schemas: dict[str, pa.Schema] = {}
        if not self._embedded:
            return
        con = self._connection
        for name in DAY_TABLES:
            # what the store holds before the first day (the city's import batch) opens the
            # record, in the table's own Arrow types, which every later part is cast to
            loaded = con.sql(f"SELECT * FROM {stored_table(store, name)}").to_arrow_table()
            self._schemas[name] = loaded.schema
            self._parts[name] = [loaded] if loaded.num_rows else []
        self._register(DAY_TABLES)

    @property
    def _connection(self) -> duckdb.DuckDBPyConnection:
        assert isinstance(self.store, EmbeddedStore)
        return self.store.connection

    def append(self, day: dict[str, pl.DataFrame]) -> None:
        """Add one day's events, `day` mapping a table of `DAY_TABLES` to its new rows (in the
        table's columns; those left out are null). The engine sees them all at once."""
        frames = {name: frame for name, frame in day.items() if frame.height}
        unknown = set(frames) - set(DAY_TABLES)
        if unknown:
            raise ValueError(f"not a table of a simulated day: {sorted(unknown)}")
        # every frame checked before any is kept: a day is added whole or not at all, and on
        # either backend for the same faults
        for name, frame in frames.items():
            _check(name, frame)
        if not self._embedded:
            with self.store.transaction():
                for name, frame in frames.items():
                    self.store.insert_frame(name, frame)
            return
        conformed = {name: _as_arrow(frame, self._schemas[name]) for name, frame in frames.items()}
        for name, arrow in conformed.items():
            self._parts[name].append(arrow)
        self._register(conformed)

    def _register(self, names: Iterable[str]) -> None:
        con = self._connection
        for name in names:
            con.register(name, self._table(name))

    def _table(self, name: str) -> pa.Table:
        """Every part of table `name` as one Arrow table (concatenating Arrow tables joins
        their chunks: no row is copied); an empty one in the table's types before any."""
        parts = self._parts[name]
        return pa.concat_tables(parts) if parts else self._schemas[name].empty_table()

    def whole(self, name: str) -> pl.DataFrame:
        """Every row of table `name` the engine sees: the frames' on an embedded store, else the
        table's."""
        if not self._embedded:
            return self.store.fetch(f'SELECT * FROM "{name}"')
        frame = pl.from_arrow(self._table(name))
        assert isinstance(frame, pl.DataFrame)
        return frame

    def write_into(self, database: str) -> None:
        """Store the frames' rows in the event tables of the attached DuckDB `database` (a copy
        of the twin's store, whose event tables hold only what the city's load put there)."""
        con = self._connection
        for name in DAY_TABLES:
            con.execute(f'DELETE FROM "{database}"."{name}"').fetchall()
            con.execute(f'INSERT INTO "{database}"."{name}" SELECT * FROM "{name}"').fetchall()


def stored_table(store: Store, name: str) -> str:
    """The event table `name` of an embedded `store` itself, by its full name: a name
    registered on the connection (the frames, which DuckDB keeps in its `temp` catalog, whose
    schema is `main` too) is found before it by `name` or `main.name`."""
    assert isinstance(store, EmbeddedStore)
    (database,) = store.connection.execute("SELECT current_database()").fetchall()[0]
    return f'"{database}".main."{name}"'


def _check(name: str, frame: pl.DataFrame) -> None:
    """Refuse `frame` as rows of table `name` if it has a column the table has not, or leaves a
    required one out or null. The frames are read in place of the table, so they are held to
    its columns and NOT NULL constraints, as an insert is; not to its keys, which the twin's ids
    keep distinct by carrying their day (`sim.frames`, `Twin`'s tubes), and which the same days
    inserted into a PostgreSQL store's tables check (`tests/sim/test_twin.py`)."""
    declared = table_of(name)
    extra = set(frame.columns) - set(declared.column_names)
    if extra:
        raise ValueError(f"{name}: columns that are not the table's: {sorted(extra)}")
    for column in declared.columns:
        if not column.nullable and (
            column.name not in frame.columns or frame.get_column(column.name).has_nulls()
        ):
            raise ValueError(f"{name}: column {column.name} is required and has no value")


def _as_arrow(frame: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    """`frame` (checked: `_check`) as an Arrow table of `schema`: its columns in the table's
    order and types, and the nullable ones it leaves out as nulls."""
    arrow = frame.to_arrow()
    columns = [
        arrow.column(field.name).cast(field.type)
        if field.name in arrow.column_names
        else pa.nulls(arrow.num_rows, field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)
