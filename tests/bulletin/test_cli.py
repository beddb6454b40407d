"""`fangkong bulletin ...` through the fangkong app with Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong.cli.app import app
from fangkong.store import open_store

from .test_registry import load

CANGHAILAN = Path(__file__).resolve().parents[1] / "data" / "real" / "canghailan-2020"

DATA = Path(__file__).resolve().parents[1] / "data" / "bulletin"
EXAMPLE = str(DATA / "reports-example.csv")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def store_file(tmp_path: Path) -> str:
    path = tmp_path / "registry.duckdb"
    with open_store(path) as st:
        load(st, tmp_path)
    return str(path)


def test_from_the_registry(runner: CliRunner, store_file: str) -> None:
    result = runner.invoke(app, ["bulletin", "--date", "2020-04-07", "--store", store_file])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("截至4月7日24时，31个省（区、市）和新疆生产建设兵团累计报告")
    assert "当日新增确诊病例3例，其中2例为境外输入病例（上海2例），1例为本土病例（湖北1例）" in (
        result.output
    )
    english = runner.invoke(
        app, ["bulletin", "-d", "2020-04-07", "-s", store_file, "--lang", "en"]
    ).output
    assert "3 new confirmed cases on the day: 2 imported (Shanghai 2) and 1 local (Hubei 1)." in (
        english
    )


def test_region_json_and_csv(runner: CliRunner, store_file: str) -> None:
    args = ["bulletin", "--date", "2020-04-07", "--store", store_file, "--region", "420000"]
    doc = json.loads(runner.invoke(app, [*args, "--format", "json"]).output)
    assert doc["scope"]["region_code"] == "420000"
    assert doc["scope"]["cumulative_confirmed"] == 5
    assert [c["region_code"] for c in doc["cities"]] == ["420100", "429004"]
    lines = runner.invoke(app, [*args, "--format", "csv"]).output.splitlines()
    assert lines[0].startswith("date,region_code,name,new_confirmed,")
    assert [line.split(",")[1] for line in lines[1:]] == ["420000", "420100", "429004"]


def test_from_reports(runner: CliRunner) -> None:
    result = runner.invoke(app, ["bulletin", "--date", "2020-04-07", "--reports", EXAMPLE])
    assert result.exit_code == 0, result.output
    assert "累计报告确诊病例81802例；当日新增确诊病例62例，其中59例为境外输入病例（上海10例）" in (
        result.output
    )


def test_errors_exit_2(runner: CliRunner, store_file: str, tmp_path: Path) -> None:
    for args, message in (
        (["--date", "2020-04-07", "--store", store_file, "--region", "110105"], "110105"),
        (["--date", "2020-04-08", "--reports", EXAMPLE], "no figures for 000000"),
        (["--date", "2020-04-07", "--reports", str(tmp_path / "none.csv")], "no such file"),
        (["--date", "7 April", "--reports", EXAMPLE], "not a date"),
        (["--reports", EXAMPLE], "--date"),
        (["--date", "2020-04-07", "--format", "pdf", "--reports", EXAMPLE], "pdf"),
    ):
        result = runner.invoke(app, ["bulletin", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)


def test_convert_nhc_2020(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "nhc.csv"
    report_dir = CANGHAILAN / "Report"
    result = runner.invoke(app, ["bulletin", "convert-nhc-2020", str(report_dir), str(out)])
    assert result.exit_code == 0, result.output
    assert "9 transcriptions of provinces' own (convert them with --provinces) left out" in (
        " ".join(result.output.split())
    )
    provinces = tmp_path / "provinces.csv"
    result = runner.invoke(
        app, ["bulletin", "convert-nhc-2020", str(report_dir), str(provinces), "--provinces"]
    )
    assert result.exit_code == 0, result.output
    text = runner.invoke(
        app, ["bulletin", "-d", "2020-02-01", "-r", str(provinces), "--region", "44"]
    ).output
    assert "截至2月1日24时，广东省累计报告确诊病例604例（深圳市196例，广州市175例" in text
    text = runner.invoke(app, ["bulletin", "-d", "2020-01-20", "-r", str(out)]).output
    assert "累计报告确诊病例291例（湖北省270例，广东省14例，北京市5例，上海市2例）" in text
    assert "死亡" not in text  # 死亡 6 on 20 January came from another source
    result = runner.invoke(
        app, ["bulletin", "convert-nhc-2020", str(report_dir), str(out), "--other-sources"]
    )
    assert result.exit_code == 0, result.output
    assert (
        "累计死亡病例6例"
        in runner.invoke(app, ["bulletin", "-d", "2020-01-20", "-r", str(out)]).output
    )


def test_sample_command(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["bulletin", "sample-2020-04-07", str(tmp_path), "--canghailan", str(CANGHAILAN)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "persons.csv").is_file() and (tmp_path / "cases.csv").is_file()
    assert "case events" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["convert-nhc-2020", str(DATA / "nhc2020" / "impossible_date")],
            "row 2 (line 2), field '时间': not a date written YYYY-MM-DD",
        ),
        (
            ["convert-nhc-2020", str(DATA / "nhc2020" / "repeated_key")],
            "row 10 (line 10), field '确诊': the key is given twice",
        ),
        (
            ["convert-nhc-2020", str(DATA / "nhc2020" / "not_utf8")],
            "save the file as UTF-8",
        ),
        (
            ["--date", "2020-02-10", "--reports", str(DATA / "reports_gbk.csv")],
            "reports_gbk.csv, row 2 (line 4), field 'name': not UTF-8 text",
        ),
    ],
)
def test_malformed_inputs_exit_2_without_a_traceback(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "nhc.csv"
    full = [*args, str(out)] if args[0] == "convert-nhc-2020" else args
    result = runner.invoke(app, ["bulletin", *full])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output and result.exception is not None
    assert not out.exists()


def test_a_province_or_city_store_gets_its_own_bulletin(runner: CliRunner, store_file: str) -> None:
    """The jurisdiction of `fangkong day` (FANGKONG_JURISDICTION) makes the bulletin that
    province's or city's: its own cases, its own name in every paragraph, never the nation's."""
    args = ["bulletin", "--date", "2020-04-07", "--store", store_file]
    shanghai = runner.invoke(app, args, env={"FANGKONG_JURISDICTION": "31"})
    assert shanghai.exit_code == 0, shanghai.output
    assert shanghai.output.startswith("截至4月7日24时，上海市累计报告确诊病例2例，")
    assert "截至4月7日24时，上海市现有境外输入确诊病例2例" in shanghai.output
    assert "31个省" not in shanghai.output and "湖北" not in shanghai.output
    english = runner.invoke(app, [*args, "--lang", "en"], env={"FANGKONG_JURISDICTION": "31"})
    assert english.output.startswith(
        "As of 24:00 on 7 April 2020, Shanghai had reported 2 confirmed cases in total"
    )
    assert "Imported cases in Shanghai: 2 current confirmed" in english.output
    assert "31 provinces" not in english.output
    wuhan = runner.invoke(app, [*args, "--region", "4201"])
    assert wuhan.output.startswith("截至4月7日24时，武汉市累计报告确诊病例3例，")
    # --region wins over the jurisdiction; 000000 asks for the nation
    nation = runner.invoke(app, [*args, "--region", "000000"], env={"FANGKONG_JURISDICTION": "31"})
    assert nation.output.startswith("截至4月7日24时，31个省（区、市）和新疆生产建设兵团累计报告")
    for bad in ("310104", "3x"):
        result = runner.invoke(app, args, env={"FANGKONG_JURISDICTION": bad})
        assert result.exit_code == 2 and bad in result.output, result.output
