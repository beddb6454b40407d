"""`fangkong round progress ...` through the round sub-app (`fangkong.cli.testing.app`) with
Typer's CliRunner, on an embedded store holding tests/data/testing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong.cli.testing import app
from fangkong.store import open_store

from .test_testing import load

AS_OF = "2022-07-02T00:00:00+08:00"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def store_file(tmp_path: Path) -> str:
    path = tmp_path / "round.duckdb"
    with open_store(path) as st:
        load(st)
    return str(path)


def test_progress_as_text(runner: CliRunner, store_file: str) -> None:
    result = runner.invoke(app, ["progress", "R1", "--as-of", AS_OF, "--store", store_file])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "round R1 (all persons) at 2022-07-02 00:00 Beijing time"
    figures = {line[:20].strip(): line[20:].strip() for line in lines[1:]}
    assert figures["persons to test"] == "25"
    assert figures["sampled"] == "21"
    assert figures["not yet sampled"] == "4"
    assert figures["tubes outstanding"] == "1"
    assert figures["positives confirmed"] == "2"
    assert figures["sampled share"] == "84.0%"


def test_progress_of_a_region_as_json(runner: CliRunner, store_file: str) -> None:
    args = ["progress", "R1", "--region", "310101", "--as-of", "2022-07-02 00:00", "--json"]
    result = runner.invoke(app, [*args, "--store", store_file])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["region"] == "310101"
    assert data["as_of"] == "2022-07-02T00:00:00+08:00"
    assert (data["persons_to_test"], data["sampled"], data["not_yet_sampled"]) == (2, 1, 1)


def test_an_unknown_round_fails_cleanly(runner: CliRunner, store_file: str) -> None:
    result = runner.invoke(app, ["progress", "R9", "--as-of", AS_OF, "--store", store_file])
    assert result.exit_code == 2
    assert "no sample belongs to round 'R9'" in result.output


def test_a_bad_time_is_a_usage_error(runner: CliRunner, store_file: str) -> None:
    result = runner.invoke(app, ["progress", "R1", "--as-of", "yesterday", "--store", store_file])
    assert result.exit_code == 2
    assert "not a date-time" in result.output
