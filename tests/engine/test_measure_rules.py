"""The risk areas' measures and rounds over frames (`zones_measures.measures_rule`,
`round_rule`), driven as a simulator drives them: the day's areas, the venues that are areas,
the residents of the areas whose round is due and the cases, all frames of its own
(`MeasureFacts.of`), and no store. Under the 9th edition a high area's residents stay home, a
venue that is an area is closed, and a high area's lowering waits for a negative round of its
residents on day 7 without a new infection (the cases are in care, not in the round)."""

from __future__ import annotations

from datetime import date

import polars as pl

from fangkong.engine.zones import AREA_SCHEMA
from fangkong.engine.zones_measures import MeasureFacts, measures_rule, round_rule
from fangkong.policy import load_policy

NINTH = load_policy("cn-2022-06-28")
D = date(2022, 7, 10)


def _area(area_id: str, unit: str, level: str, **more: object) -> dict[str, object]:
    return {c: None for c in AREA_SCHEMA} | {
        "area_id": area_id,
        "unit": unit,
        "level": level,
        "level_since": date(2022, 7, 3),
        "awaiting_round": False,
        **more,
    }


def _areas(*rows: dict[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=AREA_SCHEMA)


def test_a_high_compound_confines_its_residents_and_a_venue_area_is_closed() -> None:
    facts = MeasureFacts.of(
        areas=_areas(
            _area("compound:C1", "compound", "high", compound_id="C1"),
            _area("venue:7", "venue", "medium", venue_id=7),
        ),
        venues=pl.DataFrame({"venue_id": [7], "category": ["enclosed_entertainment"]}),
    )
    measures = measures_rule(facts, NINTH).sort("area_id")
    assert measures.select("area_id", "subject", "restriction").rows() == [
        ("compound:C1", "residents", "stay_home"),
        ("venue:7", "enclosed_entertainment", "closed"),
    ]
    # a venue whose category is not known gets no venue measure
    unknown = MeasureFacts.of(areas=facts.areas)
    assert measures_rule(unknown, NINTH).get_column("area_id").to_list() == ["compound:C1"]


def test_a_round_due_tomorrow_swabs_every_resident_but_the_cases() -> None:
    facts = MeasureFacts.of(
        areas=_areas(
            _area(
                "compound:C1",
                "compound",
                "high",
                compound_id="C1",
                awaiting_round=True,
                next_change_on=date(2022, 7, 11),
                next_level="medium",
            ),
            _area(
                "compound:C2",
                "compound",
                "high",
                compound_id="C2",
                awaiting_round=True,
                next_change_on=date(2022, 7, 14),  # not due yet
            ),
        ),
        residents=pl.DataFrame(
            {"person_id": [1, 2, 3, 4], "area_id": ["compound:C1"] * 3 + ["compound:C2"]}
        ),
        cases=pl.DataFrame({"person_id": [3]}),
    )
    orders = round_rule(facts, D, NINTH).sort("person_id")
    assert orders.select("person_id", "order_type", "place").rows() == [
        (1, "area_round", "compound:C1"),
        (2, "area_round", "compound:C1"),
    ]
    assert orders.get_column("start_at").dt.date().unique().to_list() == [date(2022, 7, 11)]
    assert set(orders.get_column("rule")) == {"risk_areas.lifting.high.negative_round_on_day"}
