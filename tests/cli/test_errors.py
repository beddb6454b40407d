"""What the CLI shows when something is wrong: every error a user can cause exits with code 2
and a message, never a traceback; a file name with `[` is printed as it is (not Rich markup);
a PostgreSQL password appears in no message, log line or output."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import duckdb
import psycopg
import pytest
from typer.testing import CliRunner

from fangkong.cli.app import app
from fangkong.errors import StoreError
from fangkong.store import open_store
from fangkong.store.base import redact_url

DATA = Path(__file__).resolve().parents[1] / "data" / "import"
SECRET = "s3cr3t-Pa55"
runner = CliRunner()


def flat(text: str) -> str:
    """Output without white space (the console wraps long lines)."""
    return re.sub(r"\s", "", text)


def fangkong(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed entry point (`main`), in a process of its own."""
    return subprocess.run(
        [sys.executable, "-c", "from fangkong.cli.app import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def with_password(url: str, *, port: int | None = None) -> str:
    parts = urlsplit(url)
    host = f"{parts.hostname}:{port or parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}:{SECRET}@{host}"))


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://postgres:{SECRET}@127.0.0.1:1/test",  # nothing listens on port 1
        f"postgresql://postgres:{SECRET}@127.0.0.1:notaport/test",
        f"postgresql://postgres:{SECRET}@[::1/test",
        f"postgresql://127.0.0.1:1/test?password={SECRET}&connect_timeout=3",
        f"mysql://root:{SECRET}@127.0.0.1/test",
    ],
)
def test_password_is_in_no_message_log_or_output(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StoreError) as info:
        open_store(url)
    assert SECRET not in str(info.value)
    assert "***" in str(info.value)
    assert all(SECRET not in r.getMessage() for r in caplog.records)
    shown = fangkong("init", "--store", url)
    assert shown.returncode == 2
    assert "Traceback" not in shown.stderr
    assert SECRET not in shown.stdout + shown.stderr
    assert "error:" in shown.stderr


@pytest.mark.postgres
def test_password_is_hidden_when_the_store_opens(pg_url: str) -> None:
    """The test server trusts local connections, so the password is accepted and ignored."""
    schema = "t_" + uuid.uuid4().hex[:12]
    url = with_password(pg_url) + f"?schema={schema}"
    try:
        result = runner.invoke(app, ["init", "--store", url])
        assert result.exit_code == 0, result.output
        assert SECRET not in result.output
        assert redact_url(url) in result.output.replace("\n", "")
        with open_store(url) as store:
            assert SECRET not in store.url
    finally:
        with psycopg.connect(pg_url, autocommit=True) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())


def test_a_bracket_in_a_file_name_is_not_markup(tmp_path: Path) -> None:
    folder = tmp_path / "in["  # the path then reads .../in[/x]persons.csv: a closing tag
    folder.mkdir()
    path = folder / "x]persons.csv"
    store = str(tmp_path / "s.duckdb")
    missing = runner.invoke(app, ["import", "persons", str(path), "--store", store])
    assert missing.exit_code == 2
    assert "in[/x]persons.csv:nosuchfile" in flat(missing.output)
    path.write_bytes((DATA / "persons.csv").read_bytes())
    ok = runner.invoke(app, ["import", "persons", str(path), "--store", store])
    assert ok.exit_code == 0, ok.output
    assert "in[/x]persons.csv:5rowsread" in flat(ok.output)
    bad = folder / "x]bad[red].csv"
    bad.write_bytes((DATA / "persons_bad_check_digit.csv").read_bytes())
    refused = runner.invoke(app, ["import", "persons", str(bad), "--store", store])
    assert refused.exit_code == 2
    assert "x]bad[red].csv,row3" in flat(refused.output)


def test_every_problem_exits_2_without_a_traceback(tmp_path: Path) -> None:
    store = str(tmp_path / "s.duckdb")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    blocker = tmp_path / "outbox"
    blocker.write_text("", encoding="utf-8")
    cases = [
        (("import", "persons", str(folder), "--store", store), "a directory, not a file"),
        (("import", "persons", str(tmp_path / "no.csv"), "--store", store), "no such file"),
        (("init", "--store", str(folder)), "cannot open the embedded store"),
        (("init", "--store", str(tmp_path / "no" / "such" / "dir" / "s.duckdb")), "cannot open"),
        (("init", "--store", "postgresql://[::1"), "malformed PostgreSQL URL"),
        (
            (
                "day",
                "--date",
                "2022-04-10",
                "--store",
                store,
                "--assistance",
                str(blocker),
                "--jurisdiction",
                "31",
            ),
            "outbox: cannot create the directory",
        ),
    ]
    for args, message in cases:
        result = fangkong(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr, args
        assert flat(message) in flat(result.stderr), (args, result.stderr)


@pytest.mark.parametrize(
    "command",
    [
        ("bulletin", "--date", "2022-07-10"),
        ("code", "4242"),
        ("explain", "4242"),
        ("zones", "--date", "2022-07-10"),
        ("scenario", "list"),
        ("round", "progress", "R1"),
    ],
)
def test_a_command_that_reads_names_a_store_that_is_not_there(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    # a mistyped path created an empty store and answered 'no run' or an empty bulletin
    missing = tmp_path / "demo.duckbd"
    result = runner.invoke(app, [*command, "--store", str(missing)])
    assert result.exit_code == 2, result.output
    assert flat(f"no store at {missing}") in flat(result.output)
    assert not missing.exists()


def test_a_store_locked_by_another_process_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "locked.duckdb"
    holder = duckdb.connect(str(path))  # this process holds DuckDB's file lock
    try:
        result = fangkong("init", "--store", str(path))
    finally:
        holder.close()
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "cannot open the embedded store" in result.stderr
    assert fangkong("init", "--store", str(path)).returncode == 0  # free again
