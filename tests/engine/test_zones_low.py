"""The low areas (低风险区) of the 2022 regimes: the rest of each county that has a high or
medium area (`zones_lifting.with_low_areas`), from its areas' days; a what-if's own beside
live's; the residents of a low area under no order and no red reason, and a test to leave the
city on their health code. The days each regime draws and lifts them on are in the zone cases
(zone_cases/areas_9th_*, areas_twenty_*)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from fangkong.cli.app import app
from fangkong.engine.colours import code_of
from fangkong.engine.day import run_day
from fangkong.engine.scenario import open_scenario
from fangkong.engine.zones import areas_on
from fangkong.engine.zones_lifting import with_low_areas
from fangkong.engine.zones_measures import resident_measures, residents_under_measures
from fangkong.policy import load_policy
from fangkong.store import Store, open_store

from .test_policy_cases import put
from .test_zones import ZONE, _reports

NINTH = load_policy("cn-2022-06-28")
TWENTY = load_policy("cn-2022-11-11")


def _area(
    area_id: str, level: str, region: str | None, drawn: date, **kw: object
) -> dict[str, object]:
    row: dict[str, object] = {
        "area_id": area_id,
        "level": level,
        "unit": area_id.split(":", maxsplit=1)[0],
        "reason": "case_stayed" if area_id.startswith("venue") else "case_residence",
        "region_code": region,
        "compound_id": None,
        "building_id": None,
        "venue_id": None,
        "drawn_on": drawn,
        "level_since": drawn,
        "last_infection_on": drawn,
        "infections": 1,
        "next_level": None,
        "next_change_on": None,
        "awaiting_round": False,
    }
    return row | kw


def _low(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(r["area_id"]): r for r in rows if r["level"] == "low"}


def test_the_rest_of_a_county_lasts_as_its_areas_do() -> None:
    rules = NINTH.risk_areas
    assert rules is not None
    rows = [
        # 310104: a compound waiting for its round, and a venue drawn two days before it
        _area("compound:C1", "high", "310104001", date(2022, 7, 2), next_level="medium",
              next_change_on=date(2022, 7, 9), awaiting_round=True),
        _area("venue:1", "medium", "310104002", date(2022, 6, 30),
              last_infection_on=date(2022, 7, 1), next_change_on=date(2022, 7, 8)),
        # 310105: a compound lowered to medium on 9 July (its round taken): low 3 days later,
        # after the venue's lifting on the 10th
        _area("compound:C5", "high", "310105001", date(2022, 7, 2), next_level="medium",
              next_change_on=date(2022, 7, 9)),
        _area("venue:2", "medium", "310105", date(2022, 7, 3), next_change_on=date(2022, 7, 10),
              infections=2),
        # a venue whose region is recorded only to the province: in no county
        _area("venue:3", "medium", "31", date(2022, 7, 3), next_change_on=date(2022, 7, 10)),
        # the low area of an earlier run is drawn again, not kept beside the new one
        _area("county:310104", "low", "310104", date(2022, 6, 1), reason="rest_of_county"),
    ]  # fmt: skip
    low = _low(with_low_areas(rules, rows))
    assert sorted(low) == ["county:310104", "county:310105"]
    first = low["county:310104"]
    assert (first["unit"], first["reason"], first["region_code"]) == (
        "county",
        "rest_of_county",
        "310104",
    )
    # from the earliest area in force; no end while the compound awaits its round
    assert (first["drawn_on"], first["level_since"], first["next_change_on"]) == (
        date(2022, 6, 30),
        date(2022, 6, 30),
        None,
    )
    assert (first["last_infection_on"], first["infections"]) == (date(2022, 7, 2), 2)
    second = low["county:310105"]
    assert (second["next_level"], second["next_change_on"]) == (None, date(2022, 7, 12))
    assert second["infections"] == 3
    # the twenty measures: the building's lifting is the county's
    assert TWENTY.risk_areas is not None
    building = _area("building:B1", "high", "310104001", date(2022, 11, 15),
                     next_change_on=date(2022, 11, 20))  # fmt: skip
    (twenty,) = _low(with_low_areas(TWENTY.risk_areas, [building])).values()
    assert (twenty["drawn_on"], twenty["next_change_on"]) == (
        date(2022, 11, 15),
        date(2022, 11, 20),
    )
    # no high or medium area: no low area; the 2020 counties are not touched
    assert with_low_areas(rules, []) == []
    county_2020 = load_policy("cn-2020-04-08").risk_areas
    assert county_2020 is not None
    medium = _area("county:420106", "medium", "420106", date(2020, 4, 3))
    assert with_low_areas(county_2020, [medium]) == [medium]


def _world(store: Store) -> None:
    """Person 1 (compound C1, county 310104) is a case on 2 July 2022; person 2 lives in the
    same county outside C1; person 3 in county 310105, person 4 in 310106."""
    put(store, "person", [
        {"person_id": 1, "household_id": 10, "region_code": "310104001", "compound_id": "C1",
         "building_id": "B1"},
        {"person_id": 2, "household_id": 20, "region_code": "310104002", "compound_id": "C2",
         "building_id": "B2"},
        {"person_id": 3, "household_id": 30, "region_code": "310105001", "compound_id": "C3",
         "building_id": "B3"},
        {"person_id": 4, "household_id": 40, "region_code": "310106001", "compound_id": "C4",
         "building_id": "B4"},
    ])  # fmt: skip
    put(store, "case_report", _reports([(1, 10, "310104", datetime(2022, 7, 2, 10, tzinfo=ZONE))]))


def test_a_what_if_draws_its_own_low_areas(store: Store) -> None:
    _world(store)
    run_day(store, date(2022, 7, 2), NINTH)
    whatif = load_policy("whatif-2022-06-28-close-contacts-5-3")
    scenario = open_scenario(store, "close-5-3", whatif.id, date(2022, 7, 3))
    put(store, "case_report", _reports([(3, 30, "310105", datetime(2022, 7, 3, 9, tzinfo=ZONE))]))
    run_day(store, date(2022, 7, 3), whatif, scenario=scenario)
    mine = areas_on(store, date(2022, 7, 3), scenario).filter(pl.col("level") == "low")
    assert mine.select("area_id", "scenario", "drawn_on").rows() == [
        ("county:310104", "close-5-3", date(2022, 7, 2)),
        ("county:310105", "close-5-3", date(2022, 7, 3)),
    ]
    # live has not run the day: it lists its own area of the 2nd, the what-if's case unseen
    live = areas_on(store, date(2022, 7, 3)).filter(pl.col("level") == "low")
    assert live.select("area_id", "scenario").rows() == [("county:310104", "live")]
    run_day(store, date(2022, 7, 3), NINTH)  # live sees the case too, in its own rows
    live = areas_on(store, date(2022, 7, 3)).filter(pl.col("level") == "low")
    assert set(live.get_column("scenario")) == {"live"} and live.height == 2
    assert store.scalar("SELECT count(*) FROM risk_area WHERE scenario = 'close-5-3'") == 4


def test_a_low_area_s_residents_get_no_order_and_no_red_reason(store: Store) -> None:
    _world(store)
    # person 2 moves out of the low area to another county the day after it is drawn; person 4
    # checks in at a shop of the low area
    put(store, "venue", [{"venue_id": 7, "region_code": "310104002", "category": "essential"}])
    for day in (date(2022, 7, 2), date(2022, 7, 3)):
        if day == date(2022, 7, 3):
            put(store, "person_move", [
                {"move_id": "M2", "person_id": 2, "effective_at": "2022-07-03 09:00",
                 "reason": "moved", "region_code": "310106001", "compound_id": "C4",
                 "building_id": "B5", "household_id": 21},
            ])  # fmt: skip
            put(store, "checkin", [{"scan_id": 1, "person_id": 4, "venue_id": 7,
                                    "checkin_at": "2022-07-03 10:00"}])  # fmt: skip
        result = run_day(store, day, NINTH)
        ordered = result.orders.filter(pl.col("person_id").is_in([2, 4]))
        assert ordered.height == 0, ordered
    assert "county:310104" in areas_on(store, date(2022, 7, 3)).get_column("area_id")
    # the low area's resident has no reason from the area, and is not red
    code = code_of(store, 2, date(2022, 7, 2))
    assert "from_risk_area" not in code.reasons.get_column("reason").to_list()
    assert code.colour.value != "red"
    assert code_of(store, 1, date(2022, 7, 2)).colour.value == "red"
    # and needs a test to leave the city only while living there
    under = dict(residents_under_measures(store, date(2022, 7, 2)).select(
        "person_id", "restriction").iter_rows())  # fmt: skip
    assert under == {1: "stay_home", 2: "leave_city_with_test"}
    under = dict(residents_under_measures(store, date(2022, 7, 3)).select(
        "person_id", "restriction").iter_rows())  # fmt: skip
    assert under == {1: "stay_home"}
    # one person's, as the health code shows them: the strictest first
    mine = resident_measures(store, 1, date(2022, 7, 2)).select("area_id", "restriction").rows()
    assert mine == [("compound:C1", "stay_home"), ("county:310104", "leave_city_with_test")]
    two = resident_measures(store, 2, date(2022, 7, 2)).select("area_id", "restriction").rows()
    assert two == [("county:310104", "leave_city_with_test")]
    assert resident_measures(store, 2, date(2022, 7, 3)).height == 0  # moved away


def test_the_code_shows_a_low_area_s_test_to_leave_the_city(tmp_path: Path) -> None:
    url = str(tmp_path / "low.duckdb")
    with open_store(url) as st:
        _world(st)
        run_day(st, date(2022, 7, 2), NINTH)
    runner = CliRunner()
    out = runner.invoke(app, ["code", "2", "--date", "2022-07-02", "--store", url])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())  # as wrapped to the terminal
    assert (
        "leaving the city needs a negative test: resident of county:310104 (low risk,"
        " risk_areas.leave_city_test.low)"
    ) in text
    far = runner.invoke(app, ["code", "4", "--date", "2022-07-02", "--store", url])
    assert far.exit_code == 0 and "leaving the city needs" not in far.output, far.output
