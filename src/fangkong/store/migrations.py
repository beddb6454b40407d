"""Schema migrations, one list for both backends. A migration is applied once, in order, and
recorded in `schema_version`; the migrations a store lacks are applied in one transaction (all
or none), by one opener of the store at a time (`MIGRATE_LOCK`). Released migrations are never
edited: a change to the schema is a new migration appended to MIGRATIONS.

(Alembic was considered: its DuckDB support goes through a third-party SQLAlchemy dialect, and
our schema is declared once in `fangkong.model.tables` and rendered for both dialects, so a short
ordered list is both simpler and exact.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from fangkong.model.tables import (
    PERSON_V6_COLUMNS,
    RUN_HELD_FROM,
    STATE_ORDER,
    TABLES,
    TABLES_V3,
    TABLES_V4,
    TABLES_V5,
    TABLES_V6,
    TABLES_V7,
    TABLES_V8,
    TABLES_V9,
    TABLES_V10,
    TABLES_V11,
    TABLES_V12,
    TABLES_V13,
    Table,
)
from fangkong.store.base import MIGRATE_LOCK, Store
from fangkong.store.sql import TYPE_NAMES, column_list, create_table_sql, quote

__all__ = ["MIGRATIONS", "current_version", "migrate"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Store], None]


def _create_v1_tables(store: Store) -> None:
    _create_tables(store, TABLES)


def _create_tables(store: Store, tables: tuple[Table, ...]) -> None:
    for table in tables:
        store.execute(create_table_sql(table, store.dialect))
        if store.dialect == "postgres":
            # The key's unique index makes ingest idempotent (ON CONFLICT DO NOTHING). DuckDB
            # keeps no index: it checks keys by anti-join at import, and scans with zone maps.
            nulls = (
                " NULLS NOT DISTINCT" if any(table.column(k).nullable for k in table.key) else ""
            )
            store.execute(
                f'CREATE UNIQUE INDEX IF NOT EXISTS "{table.name}_key" ON "{table.name}" '
                f"({column_list(table.key)}){nulls}"
            )


def _postgres_lookup_indexes(store: Store) -> None:
    if store.dialect != "postgres":
        return
    for name, table, cols in (
        ("checkin_venue_time", "checkin", ("venue_id", "checkin_at")),
        ("case_report_person", "case_report", ("person_id",)),
        ("case_report_time", "case_report", ("reported_at",)),
        ("sample_tube", "sample", ("tube_id",)),
        ("person_household", "person", ("household_id",)),
    ):
        store.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({column_list(cols)})')


def _create_v3_tables(store: Store) -> None:
    _create_tables(store, TABLES_V3)
    if store.dialect == "postgres":
        store.execute(
            'CREATE INDEX IF NOT EXISTS "engine_order_person" ON "engine_order" (person_id)'
        )
        store.execute('CREATE INDEX IF NOT EXISTS "trip_service" ON "trip" (service, service_date)')


def _create_v4_tables(store: Store) -> None:
    _create_tables(store, TABLES_V4)
    if store.dialect != "postgres":
        return
    # tracing's lookups by person (a case's check-ins, samples, trips, arrivals; declared
    # contacts named on either side) and by flight; received requests by ID number
    for name, table, cols in (
        ("checkin_person_time", "checkin", ("person_id", "checkin_at")),
        ("sample_person_time", "sample", ("person_id", "sampled_at")),
        ("declared_contact_other", "declared_contact", ("contact_person_id",)),
        ("arrival_person", "arrival", ("person_id",)),
        ("arrival_flight_time", "arrival", ("flight", "arrived_at")),
        ("assistance_identity_number", "assistance_identity", ("id_number",)),
    ):
        store.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({column_list(cols)})')


def _scenarios(store: Store) -> None:
    """Scenarios, runs and derived case events; the derived tables get a scenario column (the
    rows already stored are live) and their keys include it."""
    for name in ("engine_order", "traced_contact"):
        store.execute(f"ALTER TABLE \"{name}\" ADD COLUMN scenario VARCHAR NOT NULL DEFAULT 'live'")
    store.execute('ALTER TABLE "trip" ADD COLUMN carriage SMALLINT')
    for column in ("population", "waiting_for"):  # typed facts the engine decides on
        store.execute(f'ALTER TABLE "engine_order" ADD COLUMN {column} VARCHAR')
    _create_tables(store, TABLES_V5)
    if store.dialect != "postgres":
        return
    store.execute('DROP INDEX IF EXISTS "engine_order_key"')
    store.execute('CREATE UNIQUE INDEX "engine_order_key" ON "engine_order" (scenario, order_id)')
    store.execute('DROP INDEX IF EXISTS "traced_contact_key"')
    store.execute(
        'CREATE UNIQUE INDEX "traced_contact_key" ON "traced_contact" '
        "(scenario, run_day, case_person_id, contact_person_id, tier)"
    )
    store.execute('CREATE INDEX "engine_order_day" ON "engine_order" (scenario, run_day)')
    store.execute(
        'CREATE INDEX "engine_case_event_person" ON "engine_case_event" (person_id, reported_at)'
    )


def _create_v6_tables(store: Store) -> None:
    types = TYPE_NAMES[store.dialect]
    for c in PERSON_V6_COLUMNS:
        store.execute(f"ALTER TABLE person ADD COLUMN {quote(c.name)} {types[c.type]}")
    _create_tables(store, TABLES_V6)
    if store.dialect != "postgres":
        return
    # the current view of a person looks up corrections in effect by person
    for name, table, cols in (
        ("person_move_person_time", "person_move", ("person_id", "effective_at")),
        ("person_correction_person_time", "person_correction", ("person_id", "effective_at")),
    ):
        store.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({column_list(cols)})')


def _create_v7_tables(store: Store) -> None:
    # runs stored before this migration kept no state: the next run derives it whole
    store.execute('ALTER TABLE "engine_run" ADD COLUMN state_kept BOOLEAN NOT NULL DEFAULT false')
    _create_tables(store, TABLES_V7)
    if store.dialect == "postgres":  # a person's latest episodes, their orders, by person
        store.execute(
            'CREATE INDEX IF NOT EXISTS "engine_episode_person" ON "engine_episode"'
            " (person_id, run_day)"
        )
        store.execute(
            'CREATE INDEX IF NOT EXISTS "engine_order_person_day" ON "engine_order"'
            " (scenario, person_id, run_day)"
        )
        store.execute(  # the people a run kept in a state
            'CREATE INDEX IF NOT EXISTS "engine_state_day" ON "engine_state"'
            " (scenario, run_day, state)"
        )


def _create_v8_tables(store: Store) -> None:
    _create_tables(store, TABLES_V8)
    if store.dialect == "postgres":
        store.execute('CREATE INDEX "risk_area_day" ON "risk_area" (scenario, run_day)')


def _create_v9_tables(store: Store) -> None:
    store.execute('ALTER TABLE "arrival" ADD COLUMN certificate VARCHAR')
    _create_tables(store, TABLES_V9)
    if store.dialect == "postgres":  # a person's colour: their latest row
        store.execute(
            'CREATE INDEX IF NOT EXISTS "health_code_person" ON "health_code" (person_id, run_day)'
        )
        store.execute(
            'CREATE INDEX IF NOT EXISTS "fever_clinic_visit_time" ON "fever_clinic_visit"'
            " (visited_at)"
        )


def _create_v10_tables(store: Store) -> None:
    _create_tables(store, TABLES_V10)
    if store.dialect == "postgres":
        store.execute('CREATE INDEX "area_measure_day" ON "area_measure" (scenario, run_day)')


def _create_v11_tables(store: Store) -> None:
    _create_tables(store, TABLES_V11)
    if store.dialect == "postgres":  # the colours read the reports of a lookback window
        store.execute(
            'CREATE INDEX IF NOT EXISTS "symptom_report_time" ON "symptom_report" (observed_at)'
        )


def _create_v12_tables(store: Store) -> None:
    # the runs stored before kept who was in quarantine or a facility, not their schedules and
    # placing orders: the next run derives the state whole
    store.execute("UPDATE engine_run SET state_kept = false WHERE state_kept")
    store.execute("DELETE FROM engine_state")
    for column in STATE_ORDER:
        store.execute(
            f'ALTER TABLE "engine_state" ADD COLUMN {quote(column.name)}'
            f" {TYPE_NAMES[store.dialect][column.type]}"
        )
    _create_tables(store, TABLES_V12)
    if store.dialect == "postgres":
        store.execute('CREATE INDEX "engine_schedule_day" ON "engine_schedule" (scenario, run_day)')


def _create_v13_tables(store: Store) -> None:
    _create_tables(store, TABLES_V13)
    # the validity window and the lapse of a test are derived when a colour is read, from the
    # latest negatives the runs keep: the rows stop holding them
    for column in ("tested_at", "venue_valid_until", "leave_city_valid_until"):
        store.execute(f'ALTER TABLE "health_code" DROP COLUMN {quote(column)}')
    # the lapse of a test (应检未检) is derived when read too: the rows written before keep
    # their other reasons only
    store.execute("DELETE FROM health_code_reason WHERE reason = 'no_recent_test'")
    # runs stored before this migration kept no latest negatives: the next run derives every
    # kept state whole (`Watermarks.state_kept`); a colour of a day before it is read with the
    # rule over the tests (`colours.code_of`)
    store.execute("UPDATE engine_run SET state_kept = false WHERE state_kept")
    if store.dialect == "postgres":  # a person's rows, read by `fangkong code`
        store.execute(
            'CREATE INDEX IF NOT EXISTS "engine_negative_person" ON "engine_negative"'
            " (person_id, run_day)"
        )


def _run_held_from(store: Store) -> None:
    # the runs before kept no bound: the next run reads every row (`Watermarks.held_from`)
    column = RUN_HELD_FROM
    store.execute(
        f'ALTER TABLE "engine_run" ADD COLUMN {quote(column.name)}'
        f" {TYPE_NAMES[store.dialect][column.type]}"
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "event tables of the foundation", _create_v1_tables),
    Migration(2, "lookup indexes on PostgreSQL", _postgres_lookup_indexes),
    Migration(
        3, "facilities, trips, and the engine's orders and traced contacts", _create_v3_tables
    ),
    Migration(
        4,
        "received assistance requests; lookup indexes for tracing on PostgreSQL",
        _create_v4_tables,
    ),
    Migration(5, "scenarios, runs and derived case events", _scenarios),
    Migration(
        6,
        "registry corrections as events: identity corrections and moves; compound and building",
        _create_v6_tables,
    ),
    Migration(
        7,
        "the engine's state between days: case episodes, people in quarantine or a facility",
        _create_v7_tables,
    ),
    Migration(8, "risk areas drawn by the engine, per scenario and run day", _create_v8_tables),
    Migration(
        9,
        "fever-clinic visits; health-code colours and their reasons; foreign certificates of"
        " arrivals and their check",
        _create_v9_tables,
    ),
    Migration(
        10, "the measures of the risk areas drawn, per scenario and run day", _create_v10_tables
    ),
    Migration(11, "symptom reports (a health-code reason)", _create_v11_tables),
    Migration(
        12,
        "the engine's state between days: the phases of the open quarantines, the order that"
        " placed each person in a facility",
        _create_v12_tables,
    ),
    Migration(
        13,
        "each person's latest negative test kept by the runs; health-code rows without the"
        " test validity window",
        _create_v13_tables,
    ),
    Migration(
        14,
        "the earliest run day of a health-code row holding a reason the next run asks again",
        _run_held_from,
    ),
)


def current_version(store: Store) -> int:
    store.execute(
        "CREATE TABLE IF NOT EXISTS schema_version "
        "(version INTEGER NOT NULL, description VARCHAR NOT NULL)"
    )
    return int(store.scalar("SELECT coalesce(max(version), 0) FROM schema_version"))


def migrate(store: Store) -> int:
    """Apply every migration not yet applied, all or none; returns the schema version reached.
    One store migrates at a time (`MIGRATE_LOCK`): a second waits, then finds it done."""
    from fangkong.store.regions import ensure_builtin_regions

    with store.exclusive(MIGRATE_LOCK):
        version = current_version(store)
        applied = [m for m in MIGRATIONS if m.version > version]
        for m in applied:
            m.apply(store)
            store.execute(
                "INSERT INTO schema_version VALUES (:v, :d)", {"v": m.version, "d": m.description}
            )
        ensure_builtin_regions(store)
    for m in applied:  # committed
        log.info("store migrated to version %d: %s", m.version, m.description)
    return applied[-1].version if applied else version
