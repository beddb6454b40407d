"""The measures of the risk areas beyond the zone cases: a what-if's beside live's, a rerun
replacing its own, a measure ending on the day its area is lifted or lowered when no run comes
in between, `fangkong zones --measures` and `fangkong explain`."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pytest import MonkeyPatch
from typer.testing import CliRunner

from fangkong.cli.app import app
from fangkong.cli.common import console
from fangkong.engine.day import run_day
from fangkong.engine.scenario import open_scenario
from fangkong.engine.zones_measures import (
    measures_on,
    residents_under_measures,
    venues_under_measures,
)
from fangkong.output.explain import explain_person
from fangkong.policy import load_policy
from fangkong.policy.terms import AreaRestriction
from fangkong.store import Store, open_store

from .test_policy_cases import put
from .test_zones import _reports, fits

ZONE = ZoneInfo("Asia/Shanghai")
NINTH = "cn-2022-06-28"


def _confined(store: Store, day: date, **kw: object) -> dict[int, str]:
    return dict(
        residents_under_measures(store, day, **kw)  # type: ignore[arg-type]
        .select("person_id", "restriction")
        .iter_rows()
    )


def _world(store: Store) -> None:
    """Person 1 (compound C1) is a case on 2 July 2022 and stayed at venue 100; person 2 lives
    in compound C2; venue 101 is elsewhere."""
    put(store, "person", [
        {"person_id": 1, "household_id": 10, "region_code": "310104001", "compound_id": "C1",
         "building_id": "B1"},
        {"person_id": 3, "household_id": 30, "region_code": "310104001", "compound_id": "C1",
         "building_id": "B2"},
        {"person_id": 2, "household_id": 20, "region_code": "310104001", "compound_id": "C2",
         "building_id": "B5"},
    ])  # fmt: skip
    put(store, "venue", [
        {"venue_id": 100, "region_code": "310104001", "category": "enclosed_entertainment",
         "name": "a cinema"},
        {"venue_id": 101, "region_code": "310104001", "category": "essential", "name": "a shop"},
    ])  # fmt: skip
    put(store, "checkin", [{"scan_id": 1, "person_id": 1, "venue_id": 100,
                            "checkin_at": "2022-07-01 20:00"}])  # fmt: skip
    put(store, "case_report", _reports([(1, 10, "310104", datetime(2022, 7, 2, 10, tzinfo=ZONE))]))


def test_a_what_if_s_measures_beside_live_s_and_a_rerun_replaces_its_own(store: Store) -> None:
    _world(store)
    ninth = load_policy(NINTH)
    run_day(store, date(2022, 7, 2), ninth)
    run_day(store, date(2022, 7, 3), ninth)
    live_before = store.fetch("SELECT * FROM area_measure ORDER BY run_day, area_id, subject")
    # person 2 lives in the rest of the county (low): leaving the city needs a test
    live = {1: "stay_home", 2: "leave_city_with_test", 3: "stay_home"}
    assert _confined(store, date(2022, 7, 3)) == live
    assert venues_under_measures(store, date(2022, 7, 3)).rows() == [
        (100, "enclosed_entertainment", "venue:100", "closed", "temporarily_closed",
         "risk_areas.venue_measures.medium.enclosed_entertainment", NINTH),
    ]  # fmt: skip
    # the measures in force read once for both gives the same
    read = measures_on(store, date(2022, 7, 3))
    assert _confined(store, date(2022, 7, 3), measures=read) == live
    assert venues_under_measures(store, date(2022, 7, 3), measures=read).equals(
        venues_under_measures(store, date(2022, 7, 3))
    )
    whatif = load_policy("whatif-2022-06-28-close-contacts-5-3")
    scenario = open_scenario(store, "close-5-3", whatif.id, date(2022, 7, 3))
    # before its own run the what-if sees live's measures of the day before its fork
    assert _confined(store, date(2022, 7, 3), scenario=scenario) == live
    put(store, "case_report", _reports([(2, 20, "310104", datetime(2022, 7, 3, 9, tzinfo=ZONE))]))
    run_day(store, date(2022, 7, 3), whatif, scenario=scenario)
    first = store.fetch("SELECT * FROM area_measure WHERE scenario = 'close-5-3' ORDER BY area_id")
    run_day(store, date(2022, 7, 3), whatif, scenario=scenario)  # a rerun replaces its rows
    again = store.fetch("SELECT * FROM area_measure WHERE scenario = 'close-5-3' ORDER BY area_id")
    assert again.equals(first)
    assert set(again.get_column("policy_id")) == {whatif.id}
    assert _confined(store, date(2022, 7, 3), scenario=scenario) == {
        1: "stay_home",
        2: "stay_home",
        3: "stay_home",
    }
    live_after = store.fetch(
        "SELECT * FROM area_measure WHERE scenario = 'live' ORDER BY run_day, area_id, subject"
    )
    assert live_after.equals(live_before)
    assert _confined(store, date(2022, 7, 3)) == live
    # a reader of the confined alone reads no resident of the low area
    confining = [AreaRestriction.STAY_HOME, AreaRestriction.STAY_IN_AREA]
    assert _confined(store, date(2022, 7, 3), restrictions=confining) == {
        1: "stay_home",
        3: "stay_home",
    }


def test_a_measure_ends_on_the_day_its_area_is_lifted_with_no_run_that_day(store: Store) -> None:
    """Twenty measures: building B1 is high from 15 November, lifted on the 20th if no infection
    comes, and the rest of its county with it; read on days no run was made, its residents are
    confined up to the 19th only, and the county's need a test to leave the city as long."""
    _world(store)
    put(store, "case_report", _reports([(3, 30, "310104", datetime(2022, 11, 15, 9, tzinfo=ZONE))]))
    run_day(store, date(2022, 11, 15), load_policy("cn-2022-11-11"))
    rows = measures_on(store, date(2022, 11, 19)).select(
        "area_id", "level", "restriction", "in_force_until"
    )
    assert rows.rows() == [
        ("building:B2", "high", "stay_home", date(2022, 11, 20)),
        ("county:310104", "low", "leave_city_with_test", date(2022, 11, 20)),
    ]
    low = {1: "leave_city_with_test", 2: "leave_city_with_test"}
    assert _confined(store, date(2022, 11, 19)) == {3: "stay_home", **low}
    assert measures_on(store, date(2022, 11, 20)).height == 0
    assert _confined(store, date(2022, 11, 20)) == {}


def test_a_lowered_area_s_measures_are_the_lower_level_s_from_its_day(store: Store) -> None:
    """2020: county 420106 is high while its cluster of 5 April is within 14 days (51 cases in
    all) and medium from 19 April (the case of 10 April is new until the 24th): a run of 10
    April gives the high measures to the 18th and the medium ones from the 19th, whose end the
    run of a day at medium gives (the 24th)."""
    old = datetime(2020, 3, 1, 10, tzinfo=ZONE)
    cases = [(p, 1000 + p, "420106", old) for p in range(1, 50)]
    cases += [(50, 99, "420106", datetime(2020, 4, 5, 9, tzinfo=ZONE))]
    cases += [(51, 99, "420106", datetime(2020, 4, 5, 11, tzinfo=ZONE))]
    cases += [(52, 98, "420106", datetime(2020, 4, 10, 11, tzinfo=ZONE))]
    put(store, "person", [{"person_id": p, "household_id": h, "region_code": r}
                          for p, h, r, _ in cases])  # fmt: skip
    put(store, "venue", [{"venue_id": 7, "region_code": "420106001",
                          "category": "enclosed_entertainment", "name": "a bar"}])  # fmt: skip
    put(store, "case_report", _reports(cases))
    run_day(store, date(2020, 4, 10), load_policy("cn-2020-04-08"))

    def levels(day: date) -> set[tuple[str, str]]:
        return set(measures_on(store, day).select("level", "rule").iter_rows())

    assert levels(date(2020, 4, 18)) == {
        ("high", f"risk_areas.venue_measures.high.{k}")
        for k in ("essential", "open_air", "enclosed_entertainment", "special_institutions")
    }
    assert {lvl for lvl, _ in levels(date(2020, 4, 19))} == {"medium"}
    (until,) = set(measures_on(store, date(2020, 4, 19)).get_column("in_force_until"))
    assert until is None  # the run of 10 April does not know the medium level's end
    run_day(store, date(2020, 4, 20), load_policy("cn-2020-04-08"))
    assert {lvl for lvl, _ in levels(date(2020, 4, 23))} == {"medium"}
    assert levels(date(2020, 4, 24)) == set()
    # no resident is confined by a 2020 county's strategy; its bar is closed
    assert _confined(store, date(2020, 4, 19)) == {}
    assert venues_under_measures(store, date(2020, 4, 19)).select(
        "venue_id", "restriction"
    ).rows() == [(7, "closed")]


def test_zones_measures_and_explain(tmp_path: Path, monkeypatch: MonkeyPatch) -> None:
    url = str(tmp_path / "measures.duckdb")
    with open_store(url) as st:
        _world(st)
        run_day(st, date(2022, 7, 2), load_policy(NINTH))
        steps = explain_person(st, 3)
    runner = CliRunner()
    out = runner.invoke(
        app, ["zones", "--date", "2022-07-04", "--measures", "--store", url, "-f", "json"]
    )
    assert out.exit_code == 0, out.output
    rows = {(r["area_id"], r["subject"]): r for r in json.loads(out.output)}
    assert sorted(rows) == [
        ("compound:C1", "residents"),
        ("county:310104", "residents"),
        ("venue:100", "enclosed_entertainment"),
    ]
    low = rows[("county:310104", "residents")]
    assert (low["restriction"], low["measure"], low["rule"], low["in_force_until"]) == (
        "leave_city_with_test",
        "personal_protection_no_gathering",
        "risk_areas.leave_city_test.low",
        None,  # the compound awaits its round: the county's low area has no end yet
    )
    assert rows[("compound:C1", "residents")]["restriction"] == "stay_home"
    assert rows[("compound:C1", "residents")]["rule"] == "risk_areas.area_rules.high"
    assert rows[("venue:100", "enclosed_entertainment")]["restriction"] == "closed"
    monkeypatch.setattr(console, "width", 80)
    text = runner.invoke(app, ["zones", "--date", "2022-07-04", "--measures", "--store", url])
    assert text.exit_code == 0 and fits(text.output), text.output
    for value in ("compound:C1", "stay_home", "closed", "enclosed_entertainment"):
        assert value in text.output, text.output
    # person 3 lives in the compound and in its county: both measures are explained
    line, low_line = (
        steps.filter(steps["summary"].str.starts_with("area measure"))
        .sort("summary", descending=True)
        .rows(named=True)
    )
    assert "stay_home" in line["summary"] and "compound:C1" in line["summary"]
    assert (line["rule"], line["policy_id"]) == ("risk_areas.area_rules.high", NINTH)
    assert "leave_city_with_test" in low_line["summary"]
    assert "county:310104 (low risk)" in low_line["summary"]
