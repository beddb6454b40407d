"""Risk areas beyond the zone cases: the 2020 high county (more than 50 cases and a cluster),
the cluster size of each edition, what-if areas beside live's, reruns, the published list."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
from pytest import CaptureFixture, MonkeyPatch
from rich.cells import cell_len
from typer.testing import CliRunner

from fangkong.cli.app import app
from fangkong.cli.common import console
from fangkong.cli.zones import _LIST_SHOWN, Format, _emit
from fangkong.engine.day import run_day
from fangkong.engine.scenario import open_scenario
from fangkong.engine.zones import areas_on, draw_areas
from fangkong.policy import load_policy
from fangkong.store import Store, open_store

from .test_policy_cases import put

ZONE = ZoneInfo("Asia/Shanghai")


def _reports(rows: list[tuple[int, int, str, datetime]]) -> list[dict[str, object]]:
    return [
        {"report_id": f"R{p}", "case_id": f"C-{p}", "person_id": p, "region_code": region,
         "reported_at": f"{at:%Y-%m-%d %H:%M}", "event_type": "report",
         "diagnosis": "confirmed", "origin": "local"}
        for p, _household, region, at in rows
    ]  # fmt: skip


def _county_world(store: Store, year: int) -> None:
    """County 420106: 49 cases on 1 March and 2 cases of one household on 5 April (51 in all);
    county 420111: 3 cases of three households in April."""
    old = datetime(year, 3, 1, 10, tzinfo=ZONE)
    cases = [(p, 1000 + p, "420106", old) for p in range(1, 50)]
    cases += [(50, 99, "420106", datetime(year, 4, 5, 9, tzinfo=ZONE))]
    cases += [(51, 99, "420106", datetime(year, 4, 5, 11, tzinfo=ZONE))]
    cases += [(60 + k, 600 + k, "420111", datetime(year, 4, 3 + k, 9, tzinfo=ZONE))
              for k in range(3)]  # fmt: skip
    put(store, "person", [{"person_id": p, "household_id": h, "region_code": r}
                          for p, h, r, _ in cases])  # fmt: skip
    put(store, "case_report", _reports(cases))


def test_2020_high_county_needs_more_than_50_cases_and_a_cluster(store: Store) -> None:
    _county_world(store, 2020)
    areas = draw_areas(store, date(2020, 4, 5), load_policy("cn-2020-04-08"))
    rows = {r["area_id"]: r for r in areas.to_dicts()}
    assert sorted(rows) == ["county:420106", "county:420111"]
    high = rows["county:420106"]
    assert (high["level"], high["drawn_on"], high["level_since"]) == (
        "high",
        date(2020, 4, 5),
        date(2020, 4, 5),
    )
    # the cluster leaves the 14 days on 04-19, and with it every new case: lifted
    assert (high["next_level"], high["next_change_on"]) == (None, date(2020, 4, 19))
    assert high["infections"] == 2  # since the area was drawn (the March cases are older)
    medium = rows["county:420111"]
    assert (medium["level"], medium["drawn_on"], medium["next_change_on"]) == (
        "medium",
        date(2020, 4, 3),
        date(2020, 4, 19),
    )
    assert set(areas.get_column("area_rule")) == {
        "contain_spread_strict_control",
        "guard_import_and_spread",
    }


def test_from_the_7th_edition_a_cluster_is_5_cases(store: Store) -> None:
    _county_world(store, 2021)
    areas = draw_areas(store, date(2021, 4, 5), load_policy("cn-2021-05-14"))  # the same world
    assert dict(areas.select("area_id", "level").iter_rows()) == {
        "county:420106": "medium",  # 51 cases, but 2 in one household are no cluster now
        "county:420111": "medium",
    }


def _ninth_world(store: Store) -> None:
    put(store, "person", [
        {"person_id": 1, "household_id": 10, "region_code": "310104001", "compound_id": "C1",
         "building_id": "B1"},
        {"person_id": 2, "household_id": 20, "region_code": "310104001", "compound_id": "C2",
         "building_id": "B5"},
    ])  # fmt: skip
    put(store, "case_report", _reports([(1, 10, "310104", datetime(2022, 7, 2, 10, tzinfo=ZONE))]))


def test_a_what_if_draws_its_own_areas_and_never_touches_live(store: Store) -> None:
    _ninth_world(store)
    ninth = load_policy("cn-2022-06-28")
    run_day(store, date(2022, 7, 2), ninth)
    run_day(store, date(2022, 7, 3), ninth)
    live_before = store.fetch("SELECT * FROM risk_area ORDER BY run_day, area_id")
    # the compound, and the rest of its county (low), each day
    assert live_before.get_column("area_id").to_list() == ["compound:C1", "county:310104"] * 2
    whatif = load_policy("whatif-2022-06-28-close-contacts-5-3")
    scenario = open_scenario(store, "close-5-3", whatif.id, date(2022, 7, 3))
    # the what-if sees live's areas before its fork day, and none of its own yet after it
    assert areas_on(store, date(2022, 7, 2), scenario).height == 2
    assert (
        areas_on(store, date(2022, 7, 3), scenario).get_column("run_day").to_list()
        == [date(2022, 7, 2)] * 2
    )
    put(store, "case_report", _reports([(2, 20, "310104", datetime(2022, 7, 3, 9, tzinfo=ZONE))]))
    run_day(store, date(2022, 7, 3), whatif, scenario=scenario)
    run_day(store, date(2022, 7, 3), whatif, scenario=scenario)  # a rerun replaces its rows
    mine = areas_on(store, date(2022, 7, 3), scenario)
    assert mine.get_column("area_id").to_list() == ["compound:C1", "compound:C2", "county:310104"]
    assert set(mine.get_column("scenario")) == {"close-5-3"}
    assert store.scalar("SELECT count(*) FROM risk_area WHERE scenario = 'close-5-3'") == 3
    live_after = store.fetch(
        "SELECT * FROM risk_area WHERE scenario = 'live' ORDER BY run_day, area_id"
    )
    assert live_after.equals(live_before)
    # live, run again on the day, sees the new case too, in its own rows only
    run_day(store, date(2022, 7, 3), ninth)
    assert areas_on(store, date(2022, 7, 3)).get_column("area_id").to_list() == [
        "compound:C1",
        "compound:C2",
        "county:310104",
    ]
    assert store.scalar("SELECT count(*) FROM risk_area WHERE scenario = 'close-5-3'") == 3


def _listed_store(tmp_path: Path) -> str:
    """A store file with one high-risk compound drawn on 2022-07-02 in a named street."""
    url = str(tmp_path / "list.duckdb")
    with open_store(url) as st:
        _ninth_world(st)
        put(st, "region", [{"region_code": "310104001", "name": "天平路街道", "level": "street",
                            "parent_code": "310104"}])  # fmt: skip
        run_day(st, date(2022, 7, 2), load_policy("cn-2022-06-28"))
    return url


def test_the_published_list(tmp_path: Path) -> None:
    url = _listed_store(tmp_path)
    runner = CliRunner()
    out = runner.invoke(app, ["zones", "--date", "2022-07-05", "--store", url, "-f", "json"])
    assert out.exit_code == 0, out.output
    row, rest = json.loads(out.output)  # high before low
    shown = ("province", "county", "street", "compound", "level", "since")
    assert {k: row[k] for k in shown} == {
        "province": "上海市",
        "county": "徐汇区",
        "street": "天平路街道",
        "compound": "C1",
        "level": "high",
        "since": "2022-07-02",
    }
    # the rest of the county: the whole county, no street or compound, lifted with the compound
    assert {k: rest[k] for k in (*shown, "area_id", "reason", "next_change_on")} == {
        "province": "上海市",
        "county": "徐汇区",
        "street": None,
        "compound": "",
        "level": "low",
        "since": "2022-07-02",
        "area_id": "county:310104",
        "reason": "rest_of_county",
        "next_change_on": None,  # the compound awaits its round: no day yet
    }
    csv = runner.invoke(app, ["zones", "--date", "2022-07-02", "--store", url, "-f", "csv"])
    assert csv.output.splitlines()[0].startswith("province,city,county,street,compound,level,since")
    none = runner.invoke(app, ["zones", "--date", "2022-07-01", "--store", url])
    assert none.exit_code == 0 and "no risk area" in none.output
    bad = runner.invoke(app, ["zones", "--store", url])
    assert bad.exit_code == 2
    assert pl.read_csv(csv.output.encode()).height == 2


def fits(output: str, width: int = 80) -> bool:
    """Every line of a command's output fits `width` terminal cells (a Chinese character takes
    two)."""
    return all(cell_len(line) <= width for line in output.splitlines())


def test_the_list_fits_an_80_column_terminal(tmp_path: Path, monkeypatch: MonkeyPatch) -> None:
    url = _listed_store(tmp_path)
    monkeypatch.setattr(console, "width", 80)
    out = CliRunner().invoke(app, ["zones", "--date", "2022-07-05", "--store", url])
    assert out.exit_code == 0, out.output
    assert fits(out.output), out.output
    # every value of the row is there, wrapped at spaces where it must be
    for value in ("上海市", "徐汇区", "天平路街道 C1", "high", "2022-07-02", "compound:C1", "low"):
        assert value in out.output, out.output
    monkeypatch.setattr(console, "width", 200)  # a wide terminal: the same columns, unwrapped
    wide = CliRunner().invoke(app, ["zones", "--date", "2022-07-05", "--store", url])
    assert "上海市 市辖区 徐汇区 天平路街道 C1" in wide.output


def test_a_reason_is_never_folded_mid_word(
    monkeypatch: MonkeyPatch, capsys: CaptureFixture[str]
) -> None:
    # the place of a compound of the twin's city is long: the reason column was squeezed to
    # 'case_residenc' / 'e' in an 80-column terminal
    monkeypatch.setattr(console, "width", 80)
    place = {"province": "上海市", "city": "市辖区", "county": "宝山区"}
    areas = pl.DataFrame(
        [
            {
                **place,
                "street": "宝山区第001街道",
                "compound": "25",
                "level": "medium",
                "since": date(2022, 7, 13),
                "next_change_on": date(2022, 7, 16),
                "next_level": "low",
                "area_id": "compound:25",
                "unit": "compound",
                "reason": "case_residence",
            },
            {
                **place,
                "street": None,
                "compound": None,
                "level": "low",
                "since": date(2022, 7, 6),
                "next_change_on": date(2022, 7, 17),
                "next_level": None,
                "area_id": "county:310113",
                "unit": "county",
                "reason": "rest_of_county",
            },
        ]
    )
    _emit(areas, Format.TEXT, "risk areas", "none", _LIST_SHOWN)
    words = capsys.readouterr().out.split()
    assert {"case_residence", "rest_of_county"} <= set(words), words


def test_a_residence_is_drawn_by_the_rule_s_unit_or_not_at_all(store: Store) -> None:
    """Under the twenty measures a case with no building recorded is drawn by its compound; a
    case with no compound either draws no area (never its whole street or county: the county
    is low as the rest of the compound's county, not high for the case)."""
    put(store, "person", [
        {"person_id": 1, "household_id": 10, "region_code": "310104001", "compound_id": "C1"},
        {"person_id": 2, "household_id": 20, "region_code": "310104001"},
    ])  # fmt: skip
    at = datetime(2022, 11, 15, 10, tzinfo=ZONE)
    put(store, "case_report", _reports([(1, 10, "310104", at), (2, 20, "310104", at)]))
    areas = draw_areas(store, date(2022, 11, 15), load_policy("cn-2022-11-11"))
    assert areas.select("area_id", "level").rows() == [
        ("compound:C1", "high"),
        ("county:310104", "low"),
    ]


def test_a_case_s_residence_is_where_they_lived_when_reported(store: Store) -> None:
    """The high-risk compound of a case is their home when the case was reported: a move
    effective after the report (after recovering, say) makes the new home no case's residence,
    and leaves the old compound its case; a move effective before the report, imported late
    (the residence corrected), counts."""
    _ninth_world(store)
    put(store, "person_move", [
        {"move_id": "M1", "person_id": 1, "effective_at": "2022-07-05 09:00", "reason": "moved",
         "region_code": "310104001", "compound_id": "C2", "building_id": "B5",
         "household_id": 20},
    ])  # fmt: skip
    ninth = load_policy("cn-2022-06-28")
    day = date(2022, 7, 6)
    assert draw_areas(store, day, ninth).select("area_id", "level").rows() == [
        ("compound:C1", "high"),
        ("county:310104", "low"),
    ]
    # person 2 was living in compound C3 since before their report, recorded only later
    put(store, "case_report", _reports([(2, 20, "310104", datetime(2022, 7, 6, 9, tzinfo=ZONE))]))
    put(store, "person_move", [
        {"move_id": "M2", "person_id": 2, "effective_at": "2022-07-01 09:00", "reason": "moved",
         "region_code": "310104001", "compound_id": "C3", "building_id": "B9",
         "household_id": 30},
    ])  # fmt: skip
    assert draw_areas(store, day, ninth).select("area_id", "level").rows() == [
        ("compound:C1", "high"),
        ("compound:C3", "high"),
        ("county:310104", "low"),
    ]
