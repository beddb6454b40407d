"""The README's main job and the import command, through the real CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong.cli.app import app

DATA = Path(__file__).resolve().parents[1] / "data" / "import"
runner = CliRunner()


def test_demo_prints_the_bulletin_of_7_april_2020(tmp_path: Path) -> None:
    store = tmp_path / "demo.duckdb"
    result = runner.invoke(app, ["demo", "--store", str(store)], terminal_width=200)
    assert result.exit_code == 0, result.output
    flat = _flat(result.output)  # the panels wrap lines and draw borders
    for phrase in (
        "累计报告确诊病例81802例",
        "当日新增确诊病例62例",
        "现有确诊病例1190例",
        "81,802 confirmed cases",
        "orders by day under cn-2022-06-28",
    ):
        assert _flat(phrase) in flat
    again = runner.invoke(app, ["demo", "--store", str(store)], terminal_width=200)
    assert again.exit_code == 0, again.output
    assert "already in" in again.output


def _flat(text: str) -> str:
    return re.sub(r"[\s│╭╮╰╯─]", "", text)


def test_import_command_reports_and_exits_2_on_bad_input(tmp_path: Path) -> None:
    store = str(tmp_path / "s.duckdb")
    ok = runner.invoke(app, ["import", "persons", str(DATA / "persons.csv"), "--store", store])
    assert ok.exit_code == 0, ok.output
    assert "5 rows read" in ok.output
    bad = runner.invoke(
        app, ["import", "persons", str(DATA / "persons_bad_check_digit.csv"), "--store", store]
    )
    assert bad.exit_code == 2
    assert "row 3 (line 4), field 'id_number'" in bad.output


@pytest.mark.parametrize("kind", ["nonsense"])
def test_unknown_kind_is_a_usage_error(kind: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", kind, str(DATA / "persons.csv")])
    assert result.exit_code == 2
    assert "unknown kind" in result.output
