"""Drawing the risk areas from frames alone, no store (`zones.areas_rule`, issue 6 item 5), as a
simulator holding its own facts would. The expectations are the policy files':

- cn-2022-06-28 (9th edition): a case's compound is a high area; the venues where it stayed in
  the 4 days before its report are medium areas; the rest of the county is low; a high area is
  lowered to medium after 7 days without a new infection and a negative round of its
  residents on the 7th day;
- cn-2022-11-11 (twenty measures): drawn by building (by compound where the building is not
  recorded), lifted after 5 days without a new infection, no round waited for;
- cn-2020-04-08: a county with new cases within 14 days is a medium area.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from fangkong.engine.zones import AreaFacts, areas_rule
from fangkong.policy import load_policy

from .rule_frames import at

NINTH = load_policy("cn-2022-06-28")
TWENTY = load_policy("cn-2022-11-11")
REPORTED = date(2022, 7, 10)


def infections(*rows: tuple[int, str | None, str | None, str | None]) -> pl.DataFrame:
    """Cases reported on 2022-07-10 at 12:00: (person, street code, compound, building)."""
    return pl.DataFrame(
        {
            "person_id": [r[0] for r in rows],
            "opened_at": [at("2022-07-10 12:00")] * len(rows),
            "case_region": [r[1] for r in rows],
            "region_code": [r[1] for r in rows],
            "compound_id": [r[2] for r in rows],
            "building_id": [r[3] for r in rows],
            "household_id": [r[0] for r in rows],
        }
    )


CASE = infections((1, "310104001", "C1", "B1"))


def areas(
    facts: AreaFacts, day: date, policy_id: str = "cn-2022-06-28"
) -> dict[str, tuple[object, ...]]:
    """area id -> (level, next level, next change, awaiting a round)."""
    frame = areas_rule(facts, day, load_policy(policy_id))
    rows = frame.select("area_id", "level", "next_level", "next_change_on", "awaiting_round")
    return {r[0]: r[1:] for r in rows.rows()}


def test_residence_stays_and_the_rest_of_the_county() -> None:
    checkins = pl.DataFrame(
        {
            "person_id": [1, 1],
            "venue_id": [42, 43],
            "checkin_at": [at("2022-07-08 19:00"), at("2022-07-06 11:00")],  # in / before window
            "region_code": ["310104002", "310104002"],
        }
    )
    drawn = areas(AreaFacts.of(infections=CASE, checkins=checkins), REPORTED)
    assert drawn == {
        "compound:C1": ("high", "medium", date(2022, 7, 17), True),
        "venue:42": ("medium", None, date(2022, 7, 17), False),
        "county:310104": ("low", None, None, False),  # lifted when C1 is: not known yet
    }


def _round(results: list[str | None]) -> AreaFacts:
    """C1's residents 2 and 3 (and case 1) with a sample each on 2022-07-17, the 7th day."""
    residents = pl.DataFrame(
        {
            "person_id": [1, 2, 3],
            "region_code": ["310104001"] * 3,
            "compound_id": ["C1"] * 3,
            "building_id": ["B1", "B1", "B2"],
        }
    )
    samples = pl.DataFrame(
        {
            "person_id": [2, 3],
            "sampled_at": [at("2022-07-17 08:00"), at("2022-07-17 08:05")],
            "result": results,
        }
    )
    return AreaFacts.of(infections=CASE, residents=residents, samples=samples)


def test_a_high_area_waits_for_its_negative_round() -> None:
    assert areas(_round(["negative", "negative"]), date(2022, 7, 17))["compound:C1"] == (
        "medium",
        None,
        date(2022, 7, 20),  # a lowered high area: 3 more days
        False,
    )
    # one tube not back yet: the round is not complete, the area stays high
    assert areas(_round(["negative", None]), date(2022, 7, 17))["compound:C1"] == (
        "high",
        "medium",
        date(2022, 7, 17),
        True,
    )


def test_the_twenty_measures_draw_buildings_and_lift_after_five_days() -> None:
    cases = infections(
        (1, "310104001", "C1", "B1"), (2, "310104001", "C2", None), (3, None, None, None)
    )
    facts = AreaFacts.of(infections=cases)
    on_day_4 = areas(facts, date(2022, 7, 14), "cn-2022-11-11")
    assert on_day_4 == {
        "building:B1": ("high", None, date(2022, 7, 15), False),
        "compound:C2": ("high", None, date(2022, 7, 15), False),
        "county:310104": ("low", None, date(2022, 7, 15), False),
    }
    assert areas(facts, date(2022, 7, 15), "cn-2022-11-11") == {}


def test_the_2020_county_with_new_cases_is_medium() -> None:
    drawn = areas(AreaFacts.of(infections=CASE), REPORTED, "cn-2020-04-08")
    assert drawn == {"county:310104": ("medium", None, date(2022, 7, 24), False)}  # then lifted
