"""Shared fixtures. `store` runs a test on both backends: the embedded DuckDB store (a file in
tmp_path) and PostgreSQL (a fresh schema on the server named by FANGKONG_TEST_PG, dropped
afterwards). With CI=true, an unreachable PostgreSQL server fails the run instead of skipping."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from fangkong.store import Store, open_store

PG_URL = os.environ.get("FANGKONG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


@pytest.fixture(scope="session")
def pg_url() -> str:
    problem = _pg_available()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and is unreachable at {PG_URL}: {problem}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {problem}")
    return PG_URL


def _pg_store(pg_url: str) -> Iterator[Store]:
    schema = "t_" + uuid.uuid4().hex[:12]
    sep = "&" if "?" in pg_url else "?"
    store = open_store(f"{pg_url}{sep}schema={schema}")
    try:
        yield store
    finally:
        store.close()
        with psycopg.connect(pg_url, autocommit=True) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, migrated store on each backend."""
    if request.param == "duckdb":
        with open_store(tmp_path / "store.duckdb") as st:
            yield st
    else:
        yield from _pg_store(request.getfixturevalue("pg_url"))


@pytest.fixture
def pg(pg_url: str) -> Iterator[Store]:
    """A fresh, migrated PostgreSQL store only."""
    yield from _pg_store(pg_url)


@pytest.fixture
def duck(tmp_path: Path) -> Iterator[Store]:
    """A fresh embedded store only."""
    with open_store(tmp_path / "store.duckdb") as st:
        yield st


class _LockWaits(logging.Handler):
    """Sets `seen` when a store logs that a holder of `Store.exclusive` waits for another."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        # at WARNING: the command line's default level shows it
        if record.levelno >= logging.WARNING and record.getMessage().startswith("waiting for"):
            self.seen.set()


@pytest.fixture
def lock_waits() -> Iterator[threading.Event]:
    """Set once a store has waited for a lock of `Store.exclusive` during the test."""
    handler = _LockWaits()
    log = logging.getLogger("fangkong.store.base")  # `take_turn`, for both backends
    log.addHandler(handler)
    yield handler.seen
    log.removeHandler(handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files holding a slow test first, each file's tests in their order: the test
    command spreads whole files over the cores (`--dist loadfile`), and a long file started
    last would run alone at the end."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)
