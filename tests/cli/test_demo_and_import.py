"""The README's main job and the import command, through the real CLI."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong.cli.app import app
from fangkong.store import open_store

DATA = Path(__file__).resolve().parents[1] / "data" / "import"
runner = CliRunner()


def test_demo_prints_the_bulletins_and_fills_the_twin_store(tmp_path: Path) -> None:
    store = tmp_path / "demo.duckdb"
    args = ["demo", "--store", str(store), "--population", "20000", "--days", "12"]
    result = runner.invoke(app, args, terminal_width=80)
    assert result.exit_code == 0, result.output
    flat = _flat(result.output)  # the panels wrap lines and draw borders
    for phrase in (
        "累计报告确诊病例81802例",
        "当日新增确诊病例62例",
        "现有确诊病例1190例",
        "81,802 confirmed cases",
        "A city of 20,000: an imported case, 12 days",
        "07-12",  # the bulletin line of the last day
        "quarantine person-days",
        "person-days confined by risk areas",
    ):
        assert _flat(phrase) in flat
    # 80 columns, but for the commands to copy, which name the store's path
    lines = [line for line in result.output.splitlines() if str(store) not in line]
    assert max(map(len, lines)) <= 80, [line for line in lines if len(line) > 80]
    with open_store(store) as st:  # the twin's store, written to the demo's file
        assert st.scalar("SELECT count(*) FROM person") == 20_000
        assert st.scalar("SELECT max(run_day) FROM engine_run") == date(2022, 7, 12)
        assert st.scalar("SELECT count(*) FROM checkin") > 0
    # the commands it suggests read the twin's scenario: the bulletin is the one it printed, with
    # the close contacts the engine traced (a live bulletin of that store has none)
    suggested = [
        line.split()[1:] for line in result.output.splitlines() if line.startswith("  fangkong ")
    ]
    assert [command[0] for command in suggested] == ["scenario", "bulletin"]
    for command in suggested:
        shown = runner.invoke(app, command, terminal_width=80)
        assert shown.exit_code == 0, shown.output
    assert "累计追踪到密切接触者" in shown.output
    # the summary's close contacts are the people the bulletin counts
    traced = re.search(r"累计追踪到密切接触者([\d,]+)人", _flat(shown.output))
    summary = re.search(r"close contacts traced \(people\)\s*│?\s*([\d,]+)", result.output)
    assert traced is not None and summary is not None, result.output
    assert traced[1].replace(",", "") == summary[1].replace(",", "")
    again = runner.invoke(app, args, terminal_width=80)
    assert again.exit_code == 0, again.output
    assert "already in" in again.output  # the 2020 registry is not imported twice


def _flat(text: str) -> str:
    return re.sub(r"[\s│╭╮╰╯─]", "", text)


def test_import_command_reports_and_exits_2_on_bad_input(tmp_path: Path) -> None:
    store = str(tmp_path / "s.duckdb")
    ok = runner.invoke(
        app, ["import", "persons", str(DATA / "persons.csv"), "--store", store], terminal_width=80
    )
    assert ok.exit_code == 0, ok.output
    # one line a file, to read or to grep in a log: no blank line left by the progress display,
    # and a long path wrapped by the terminal, not broken by the command
    (line,) = ok.output.splitlines()
    assert line.startswith(str(DATA / "persons.csv")) and line.endswith("(batch 1)"), ok.output
    assert "5 rows read" in line
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
