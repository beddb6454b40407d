"""Who stayed in or left a risk area (`zones_departures.departure_rule`) over frames, driven as a
simulator drives it: the areas listed each day, the visits and moves of residence, and the
homes, all frames of its own (`DepartureFacts.of`), and no store. A stay counts only on a day
its area was listed, at that day's level; a move counts when it left the area (not a move within
it); the residents of the run day's high areas are under the area's rule, not ordered."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from fangkong.engine.zones import AREA_SCHEMA
from fangkong.engine.zones_departures import DepartureFacts, departure_rule

from .rule_frames import at


def _listed(
    area: str, unit: str, level: str, days: range, venue: int | None = None
) -> list[dict[str, object]]:
    return [
        {"on": date(2022, 7, d), "area_id": area, "level": level, "unit": unit, "venue_id": venue}
        for d in days
    ]


def _visit(pid: int, venue: int, checkin: str) -> dict[str, object]:
    return {
        "person_id": pid,
        "at": at(checkin) + timedelta(hours=1),  # the checkout
        "checkin_at": at(checkin),
        "venue_id": venue,
        "region_code": "310101001",
    }


def _move(pid: int, when: str, left: tuple[str, str], to: tuple[str, str]) -> dict[str, object]:
    """A move of residence: (compound, building) left and moved to, in one street."""
    return {
        "person_id": pid,
        "effective_at": at(when),
        "region_code": "310101001",
        "compound_id": to[0],
        "building_id": to[1],
        "left_region_code": "310101001",
        "left_compound_id": left[0],
        "left_building_id": left[1],
    }


def _high_compound(compound: str) -> pl.DataFrame:
    row = {c: None for c in AREA_SCHEMA} | {
        "area_id": f"compound:{compound}",
        "level": "high",
        "unit": "compound",
        "compound_id": compound,
    }
    return pl.DataFrame([row], schema=AREA_SCHEMA)


def test_stays_and_moves_while_listed_and_residents_of_a_high_area_left_out() -> None:
    facts = DepartureFacts.of(
        listed=pl.DataFrame(
            [
                *_listed("venue:7", "venue", "medium", range(8, 11), venue=7),
                *_listed("compound:C1", "compound", "high", range(9, 11)),
            ]
        ),
        visits=pl.DataFrame(
            [
                _visit(1, 7, "2022-07-09 10:00"),  # listed that day: counts
                _visit(2, 7, "2022-07-05 10:00"),  # before it was listed: not a stay
                _visit(5, 7, "2022-07-10 10:00"),  # lives in a high area of today
            ]
        ),
        moves=pl.DataFrame(
            [
                _move(3, "2022-07-09 12:00", ("C1", "B1"), ("C2", "B7")),  # left the compound
                _move(4, "2022-07-09 12:00", ("C1", "B1"), ("C1", "B2")),  # moved within it
            ]
        ),
        homes=pl.DataFrame(
            {
                "person_id": [5],
                "region_code": ["310101001"],
                "compound_id": ["C9"],
                "building_id": [None],
            }
        ),
        areas=_high_compound("C9"),
    )
    found = departure_rule(facts).sort("person_id")
    assert found.rows() == [
        (1, at("2022-07-09 11:00"), "medium"),
        (3, at("2022-07-09 12:00"), "high"),
    ]
    # the same facts with no high area today: 5 counts too
    open_day = DepartureFacts.of(
        listed=facts.listed, visits=facts.visits, moves=facts.moves, homes=facts.homes
    )
    assert departure_rule(open_day).get_column("person_id").sort().to_list() == [1, 3, 5]
    assert departure_rule(DepartureFacts.of()).height == 0
