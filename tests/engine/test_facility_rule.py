"""Rooms and occupancy (`facility.facility_rule`) over frames, driven as a simulator drives it:
the day's orders, the open quarantines, who is placed, the beds and where people may go, all
frames of its own (`FacilityFacts.of`), and no store. Rooms go nearest first; a person with no
room free waits for one (`no room free`, waiting for a room), and a stored phase that waited
gets its room, with a transfer, when one frees."""

from __future__ import annotations

from datetime import date

import polars as pl

from fangkong.engine.facility import NO_ROOM, FacilityFacts, facility_rule
from fangkong.policy import Population, QuarantineKind, load_policy

from .rule_frames import at

NINTH = load_policy("cn-2022-06-28")
D = date(2022, 7, 10)
CENTRALIZED = QuarantineKind.CENTRALIZED_QUARANTINE.value
CONTACT = Population.CLOSE_CONTACT.value


def _quarantine(pid: int) -> dict[str, object]:
    return {
        "person_id": pid,
        "order_type": "quarantine",
        "start_at": at("2022-07-10 00:00"),
        "end_at": at("2022-07-17 00:00"),
        "place": None,
        "detail": CENTRALIZED,
        "rule": "quarantine.close_contact",
        "policy_id": NINTH.id,
        "reason": "close contact",
        "population": CONTACT,
        "waiting_for": None,
    }


def _beds(free_a: int, free_b: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "facility_id": ["QS-A", "QS-B"],
            "kind": ["quarantine_site", "quarantine_site"],
            "region_code": ["310101", "310104"],
            "capacity": [5, 5],
            "occupied": [5 - free_a, 5 - free_b],
        }
    )


def _homes(*pairs: tuple[int, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "person_id": [p for p, _ in pairs],
            "src": ["home"] * len(pairs),
            "region_code": [r for _, r in pairs],
        }
    )


def test_rooms_nearest_first_and_a_shortfall_stated() -> None:
    beds = _beds(free_a=1, free_b=1)
    facts = FacilityFacts.of(
        orders=pl.DataFrame([_quarantine(1), _quarantine(2), _quarantine(3)]),
        beds=beds,
        before=beds,
        regions=_homes((1, "310104"), (2, "310101"), (3, "310101")),
    )
    orders, report = facility_rule(facts, D, NINTH.facilities)
    rooms = dict(orders.select("person_id", "place").rows())
    assert rooms[1] == "QS-B" and rooms[2] == "QS-A"  # each in their own district
    assert rooms[3] is None  # both full now
    three = orders.filter(pl.col("person_id") == 3).row(0, named=True)
    assert three["reason"].startswith(NO_ROOM) and three["waiting_for"] == "room"
    sites = report.filter(pl.col("facility_id").is_not_null())
    assert sites.get_column("free").to_list() == [0, 0]
    total = report.filter(pl.col("facility_id").is_null()).row(0, named=True)
    assert total["alert"] == f"{NO_ROOM}: 1 people without a room"


def test_a_phase_that_waited_gets_the_room_that_frees() -> None:
    waiting = {
        **_quarantine(4),
        "run_day": date(2022, 7, 8),
        "start_at": at("2022-07-08 00:00"),
        "waiting_for": "room",
        "released": False,
    }
    beds = _beds(free_a=1, free_b=0)
    facts = FacilityFacts.of(
        schedules=pl.DataFrame([waiting]), beds=beds, before=beds, regions=_homes((4, "310101"))
    )
    orders, _ = facility_rule(facts, D, NINTH.facilities)
    assert orders.select("person_id", "order_type", "place", "rule").rows() == [
        (4, "transfer", "QS-A", "facility.room_after_wait")
    ]
    # still no room: no new order (the stored phase keeps waiting)
    full = FacilityFacts.of(
        schedules=facts.schedules, beds=_beds(0, 0), before=beds, regions=facts.regions
    )
    assert facility_rule(full, D, NINTH.facilities)[0].height == 0
    # someone already placed waits for nothing
    placed = FacilityFacts.of(
        schedules=facts.schedules,
        placed=pl.DataFrame({"person_id": [4]}),
        beds=beds,
        before=beds,
        regions=facts.regions,
    )
    assert facility_rule(placed, D, NINTH.facilities)[0].height == 0
