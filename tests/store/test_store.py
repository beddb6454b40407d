"""The two backends: one schema, migrations applied once, transactions all-or-nothing."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from fangkong.errors import StoreError
from fangkong.model.glossary import RegionLevel
from fangkong.model.tables import ALL_TABLES
from fangkong.store import Store, open_store
from fangkong.store.migrations import MIGRATIONS, current_version, migrate
from fangkong.store.postgres import PostgresStore, split_schema
from fangkong.store.regions import builtin_regions, region_level
from fangkong.store.sql import named_params


def test_schema_has_every_declared_table_and_column(store: Store) -> None:
    for table in ALL_TABLES:
        frame = store.fetch(f'SELECT * FROM "{table.name}" WHERE 1 = 0')
        assert tuple(frame.columns) == table.column_names


def test_migrations_apply_once(store: Store) -> None:
    assert current_version(store) == MIGRATIONS[-1].version
    assert migrate(store) == MIGRATIONS[-1].version
    assert store.count("schema_version") == len(MIGRATIONS)
    assert (
        store.scalar("SELECT count(*) FROM region WHERE batch_id = 0") == builtin_regions().height
    )


def test_a_store_of_an_old_version_is_brought_up_to_date_with_its_rows(
    store: Store, tmp_path: Path
) -> None:
    # a store left at version 4 (before scenarios: orders and people as they were then, each
    # migration committed on its own), upgraded by its next opening: every missing migration
    # in one transaction, the rows kept, the orders live's
    old = store.url if store.dialect == "postgres" else str(tmp_path / "old.duckdb")
    if store.dialect == "postgres":  # a schema of its own, at version 4
        old = old.replace("schema=", "schema=old_")
    with open_store(old, migrate=False) as st:
        current_version(st)  # creates the version table
        for m in MIGRATIONS[:4]:
            with st.transaction():
                m.apply(st)
                st.execute("INSERT INTO schema_version VALUES (:v, :d)", {"v": m.version, "d": ""})
        st.execute("INSERT INTO person VALUES (7, 70, '310101', 'F', 1980, 'ric', 1)")
        st.execute(
            "INSERT INTO engine_order VALUES (DATE '2020-02-01', 'o1', 7, 'quarantine',"
            " TIMESTAMPTZ '2020-02-01 00:00:00+08', NULL, NULL, 'home', 'r', 'cn-2020-01-28',"
            " 'why')"
        )
    try:
        with open_store(old) as st:
            assert current_version(st) == MIGRATIONS[-1].version
            assert st.fetch("SELECT person_id, household_id FROM person").rows() == [(7, 70)]
            orders = st.fetch("SELECT scenario, order_id, population FROM engine_order")
            assert orders.rows() == [("live", "o1", None)]
    finally:
        if store.dialect == "postgres":
            with open_store(old, migrate=False) as st:
                st.execute(f"DROP SCHEMA {old.rsplit('schema=', 1)[1]} CASCADE")


def test_a_new_store_opened_at_once_is_created_once(store: Store, tmp_path: Path) -> None:
    # three commands opening one new store at once: before, two failed on the catalog's keys
    # (both created its tables); now one creates it and the others wait, then find it done
    new = str(tmp_path / "new.duckdb")
    if store.dialect == "postgres":
        new = store.url.replace("schema=", "schema=new_")
    ready = threading.Barrier(3, timeout=60)
    errors: list[BaseException] = []

    def opener() -> None:
        ready.wait()
        try:
            open_store(new).close()
        except BaseException as exc:  # raised below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert not errors, errors
        with open_store(new) as st:
            assert st.count("schema_version") == len(MIGRATIONS)
            assert st.count("region") == builtin_regions().height
    finally:
        if store.dialect == "postgres":
            with open_store(new, migrate=False) as st:
                st.execute(f"DROP SCHEMA {new.rsplit('schema=', 1)[1]} CASCADE")


def test_builtin_divisions(store: Store) -> None:
    rows = store.fetch(
        "SELECT region_code, name, level, parent_code, valid_until FROM region "
        "WHERE region_code IN ('310000', '310100', '310115', '420106', '660000', '110103') "
        "ORDER BY region_code"
    ).rows()
    assert rows == [
        ("110103", "崇文区", "county", "110100", 2010),  # merged into 东城区 in 2010
        ("310000", "上海市", "province", None, None),
        ("310100", "市辖区", "prefecture", "310000", None),
        ("310115", "浦东新区", "county", "310100", None),
        ("420106", "武昌区", "county", "420100", None),
        ("660000", "新疆生产建设兵团", "province", None, None),
    ]


def test_transaction_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.execute(
            "INSERT INTO region VALUES "
            "('310115001', '陆家嘴街道', 'street', '310115', NULL, NULL, 9)"
        )
        raise RuntimeError("boom")
    assert store.scalar("SELECT count(*) FROM region WHERE batch_id = 9") == 0


def test_a_large_frame_is_stored_whole_in_the_callers_transaction(store: Store) -> None:
    """More rows than the embedded store appends per statement (a million): all stored, and a
    rollback of the transaction they were inserted in takes all of them."""
    n = 1_200_000
    people = pl.DataFrame(
        {
            "person_id": pl.int_range(n, eager=True),
            "id_type": pl.repeat("ric", n, eager=True),
            "batch_id": pl.repeat(1, n, dtype=pl.Int32, eager=True),
        }
    )
    with pytest.raises(RuntimeError), store.transaction():
        store.insert_frame("person", people)
        raise RuntimeError("boom")
    assert store.count("person") == 0
    store.insert_frame("person", people)
    stored = store.fetch(
        "SELECT count(DISTINCT person_id) AS n, max(person_id) AS last FROM person"
    )
    assert stored.row(0) == (n, n - 1)


def test_named_parameters_leave_casts_alone() -> None:
    sql = "SELECT :a::INTEGER, ':not' , x::TEXT FROM t WHERE y = :b"
    assert named_params(sql, "duckdb") == "SELECT $a::INTEGER, ':not' , x::TEXT FROM t WHERE y = $b"
    assert named_params("SELECT 1 % 2, :a", "postgres") == "SELECT 1 %% 2, %(a)s"


@pytest.mark.parametrize("n", [3, 5000])
def test_list_parameters_read_as_sets(store: Store, n: int) -> None:
    """A list parameter read by `IN (SELECT unnest(...))` gives the same rows however long it is
    (the embedded store binds a long one as a frame), also beside another use of a list and
    inside a statement that writes."""
    store.execute("CREATE TEMPORARY TABLE t (k BIGINT, s VARCHAR)")
    store.execute("INSERT INTO t SELECT i, CAST(i AS VARCHAR) FROM generate_series(1, 9000) g(i)")
    ids, names = list(range(2, 2 * n + 2, 2)), [str(i) for i in range(1, n + 1)]
    both = store.fetch(
        "SELECT k FROM t WHERE k IN (SELECT unnest(CAST(:ids AS BIGINT[])))"
        " AND s IN (SELECT unnest(CAST(:names AS VARCHAR[]))) ORDER BY k",
        {"ids": ids, "names": names},
    )
    assert both["k"].to_list() == [i for i in ids if i <= n]
    # the same list also read another way: bound as a list
    counted = store.scalar(
        "SELECT count(*) + 0 * cardinality(CAST(:ids AS BIGINT[])) FROM t"
        " WHERE k IN (SELECT unnest(CAST(:ids AS BIGINT[])))",
        {"ids": ids},
    )
    stored = len([i for i in ids if i <= 9000])
    assert counted == stored
    store.execute("DELETE FROM t WHERE k IN (SELECT unnest(CAST(:ids AS BIGINT[])))", {"ids": ids})
    assert store.scalar("SELECT count(*) FROM t") == 9000 - stored
    assert (
        store.fetch(
            "SELECT k FROM t WHERE k IN (SELECT unnest(CAST(:ids AS BIGINT[])))", {"ids": []}
        ).height
        == 0
    )


def test_region_levels() -> None:
    assert region_level("310000") is RegionLevel.PROVINCE
    assert region_level("310100") is RegionLevel.PREFECTURE
    assert region_level("310115") is RegionLevel.COUNTY
    assert region_level("310115001") is RegionLevel.STREET
    assert region_level("310115001001") is RegionLevel.COMMUNITY


def test_bad_urls_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="unknown store URL scheme"):
        open_store("mysql://x")
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL"):
        open_store("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    (tmp_path / "not-a-db.duckdb").write_text("hello")
    with pytest.raises(StoreError, match="cannot open the embedded store"):
        open_store(tmp_path / "not-a-db.duckdb")


def test_schema_parameter_is_fangkongs_own() -> None:
    assert split_schema("postgresql://u@h/db?schema=s1&sslmode=disable") == (
        "postgresql://u@h/db?sslmode=disable",
        "s1",
    )


@pytest.mark.postgres
def test_postgres_keeps_the_statistics_of_a_table_it_appends_to(pg: Store) -> None:
    """A day's samples appended after the statistics were taken lie past their histogram: the
    planner would take them for a handful of rows. The store analyzes a table when an append
    passes autovacuum's threshold, so the day's run plans with the day's rows counted."""
    assert isinstance(pg, PostgresStore)

    def samples(day: int, n: int) -> pl.DataFrame:
        at = datetime(2022, 7, day, 8, tzinfo=ZoneInfo("Asia/Shanghai"))
        return pl.DataFrame(
            {
                "sample_id": [f"S{day}-{i}" for i in range(n)],
                "person_id": list(range(n)),
                "tube_id": [f"T{day}-{i}" for i in range(n)],
                "sampled_at": [at] * n,
                "round_id": [None] * n,
                "batch_id": [day] * n,
            },
            schema_overrides={"round_id": pl.String, "batch_id": pl.Int32},
        )

    def estimate() -> float:
        plan = pg.connection.execute(
            "EXPLAIN (FORMAT JSON) SELECT * FROM sample WHERE sampled_at >= '2022-07-10 00:00+08'"
        ).fetchone()
        assert plan is not None
        return float(plan[0][0]["Plan"]["Plan Rows"])

    pg.insert_frame("sample", samples(1, 1000))  # never analyzed: analyzed now
    pg.insert_frame("sample", samples(10, 5000))  # 5,000 > 50 + 10% of 1,000
    assert estimate() > 2500
    tuples = pg.scalar("SELECT reltuples FROM pg_class WHERE oid = to_regclass('sample')")
    assert tuples == 6000
    pg.insert_frame("sample", samples(11, 20))  # under the threshold: left to autovacuum
    assert pg.scalar("SELECT reltuples FROM pg_class WHERE oid = to_regclass('sample')") == 6000

    # another transaction analyzing the table holds it to its commit: an append inside a
    # transaction leaves the analysis to it instead of waiting (two runs beside each other
    # analyzing two tables in opposite orders would deadlock), and its rows are stored
    other = open_store(pg.url)
    assert isinstance(other, PostgresStore)
    done = threading.Event()

    def append_beside() -> None:
        with other.transaction():
            other.insert_frame("sample", samples(13, 5000))
        done.set()

    try:
        with pg.transaction():
            pg.insert_frame("sample", samples(12, 5000))  # analyzed, held to the commit
            # the lock wait asked of the analysis is the transaction's setting again
            assert pg.scalar("SELECT current_setting('lock_timeout')") == "0"
            thread = threading.Thread(target=append_beside)
            thread.start()
            assert done.wait(60), "the append waited for the other transaction's analysis"
        thread.join()
    finally:
        other.close()
    assert pg.count("sample") == 16020


def _batch(store: Store, batch: int) -> None:
    store.execute(
        "INSERT INTO import_batch VALUES (:b, 'day', 'x', :h, 0, 0, now())",
        {"b": batch, "h": f"h{batch}"},
    )


def test_exclusive_holders_take_turns_and_see_what_the_one_before_committed(
    store: Store, lock_waits: threading.Event
) -> None:
    # held by a transaction that took it inside another: until that one ends, whose write the
    # next holder, waiting meanwhile, then sees (its snapshot comes after the wait)
    seen: list[int] = []
    entered = threading.Event()

    def next_holder() -> None:
        with open_store(store.url) as other, other.exclusive("turn"):
            entered.set()
            seen.append(int(other.scalar("SELECT count(*) FROM import_batch")))

    thread = threading.Thread(target=next_holder)
    with store.transaction():
        with store.exclusive("turn"):
            thread.start()
            assert lock_waits.wait(60), "the next holder did not wait"
            _batch(store, 1)
        with store.exclusive("turn"):  # taken again: still held, joined
            _batch(store, 2)
        # the inner blocks are done, the enclosing transaction is not: the lock is still held
        assert not entered.wait(1)
    thread.join()
    assert seen == [2]


def test_exclusive_is_let_go_when_its_transaction_fails(store: Store) -> None:
    with pytest.raises(RuntimeError), store.exclusive("turn"):
        _batch(store, 1)
        raise RuntimeError("boom")
    assert store.count("import_batch") == 0
    done: list[bool] = []

    def next_holder() -> None:
        with open_store(store.url) as other, other.exclusive("turn"):
            done.append(True)

    thread = threading.Thread(target=next_holder)
    thread.start()
    thread.join()
    assert done == [True]
    with store.exclusive("turn"), store.exclusive("other"):  # and by this store too
        _batch(store, 3)
    assert store.count("import_batch") == 1
