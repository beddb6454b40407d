"""Facilities: rooms nearest first, a full facility (clear state, alert, retry when a room frees),
occupancy and the forecast of when capacity runs out."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from fangkong.engine.facility import NO_ROOM, allocate, occupancy
from fangkong.policy import load_policy
from fangkong.store import Store

from .test_policy_cases import contacts_frame, put, run_steps

POLICY = load_policy("cn-2022-06-28")
D = date(2022, 7, 2)


def close(*people: int, exposed: str = "2022-07-01 19:30") -> pl.DataFrame:
    rows = [
        {"case_person_id": 99, "contact_person_id": p, "tier": "close", "exposed_at": exposed}
        for p in people
    ]
    return contacts_frame(rows, POLICY.id)


def residents(store: Store, *people: int, region: str = "310104") -> None:
    put(
        store,
        "person",
        [{"person_id": p, "household_id": p, "region_code": region} for p in people],
    )


def test_allocate_nearest_first() -> None:
    demand = pl.DataFrame(
        {
            "row": [0, 1, 2, 3],
            "kind": ["quarantine_site"] * 4,
            "region_code": ["310104001001", "310104", "310115", None],
        },
        schema_overrides={"row": pl.UInt32},
    )
    supply = pl.DataFrame(
        {
            "facility_id": ["FAR", "NEAR", "STREET"],
            "kind": ["quarantine_site"] * 3,
            "region_code": ["440305", "310104", "310104001"],
            "free": [5, 1, 1],
        }
    )
    got = dict(allocate(demand, supply).iter_rows())
    # a community's own street first, then its county; 310115 has no site in its county, and
    # those of its province (31) are taken by then: anywhere; no region at all: anywhere
    assert got == {0: "STREET", 1: "NEAR", 2: "FAR", 3: "FAR"}


def test_a_full_facility_leaves_a_clear_state_and_an_alert(store: Store) -> None:
    residents(store, 1, 2, 3)
    put(
        store,
        "facility",
        [
            {
                "facility_id": "QS-1",
                "kind": "quarantine_site",
                "region_code": "310104",
                "capacity": 2,
            }
        ],
    )
    orders, occ = run_steps(
        store, D, POLICY, ["quarantine_orders", "assign_facilities"], close(1, 2, 3)
    )
    assert occ is not None
    phase = orders.filter(pl.col("detail") == "centralized_quarantine").sort("person_id")
    assert phase.get_column("place").to_list() == ["QS-1", "QS-1", None]
    waiting = orders.filter((pl.col("person_id") == 3) & pl.col("place").is_null())
    # the phase, its transfer and its centralized tests wait; the home phase is at home
    assert set(waiting.get_column("order_type")) == {"quarantine", "transfer", "test"}
    assert all(
        r.startswith(NO_ROOM)
        for r in waiting.filter(pl.col("order_type") != "test").get_column("reason")
    )
    site = occ.filter(pl.col("facility_id") == "QS-1").row(0, named=True)
    assert (site["capacity"], site["occupied"], site["admitted_today"], site["free"]) == (
        2,
        0,
        2,
        0,
    )
    assert site["alert"] == "full" and site["full_on"] == D
    total = occ.filter(pl.col("facility_id").is_null() & (pl.col("kind") == "quarantine_site"))
    assert total.item(0, "alert") == f"{NO_ROOM}: 1 people without a room"

    # the next day nothing frees: person 3 keeps waiting, no new order, the alert again
    orders2, occ2 = run_steps(store, D + timedelta(days=1), POLICY, ["assign_facilities"])
    assert orders2.height == 0
    assert (
        occ2 is not None and occ2.filter(pl.col("facility_id") == "QS-1").item(0, "occupied") == 2
    )
    # a room is added (a new site): person 3 is transferred there, from the stored phase
    put(
        store,
        "facility",
        [
            {
                "facility_id": "QS-2",
                "kind": "quarantine_site",
                "region_code": "310104",
                "capacity": 5,
            }
        ],
    )
    orders3, occ3 = run_steps(store, D + timedelta(days=2), POLICY, ["assign_facilities"])
    assert orders3.select("person_id", "order_type", "place", "rule").rows() == [
        (3, "transfer", "QS-2", "facility.room_after_wait")
    ]
    assert occ3 is not None
    assert occ3.filter(pl.col("facility_id") == "QS-2").item(0, "admitted_today") == 1
    # and from then on they occupy it
    assert (
        occupancy(store, D + timedelta(days=3))
        .filter(pl.col("facility_id") == "QS-2")
        .item(0, "occupied")
        == 1
    )


def test_a_waiting_quarantine_extended_the_day_a_room_frees_is_transferred_once(
    store: Store,
) -> None:
    """A contact waiting for a room is exposed again on the day a room frees: the extension
    replaces their schedule, and its own transfer takes the room. The stored phase it replaces
    gets no transfer of its own (two transfers to the same room, one ending with the replaced
    phase, found in a twin's outbreak under cn-2022-11-11)."""
    residents(store, 1, 2, 3)
    site = {"kind": "quarantine_site", "region_code": "310104"}
    put(store, "facility", [{"facility_id": "QS-1", "capacity": 2, **site}])
    run_steps(store, D, POLICY, ["quarantine_orders", "assign_facilities"], close(1, 2, 3))
    put(store, "facility", [{"facility_id": "QS-2", "capacity": 5, **site}])
    later = D + timedelta(days=2)
    orders, _ = run_steps(
        store,
        later,
        POLICY,
        ["quarantine_orders", "assign_facilities"],
        close(3, exposed="2022-07-03 18:00"),
    )
    mine = orders.filter(pl.col("person_id") == 3)
    assert "extend" in mine.get_column("order_type").to_list()
    transfers = mine.filter(pl.col("order_type") == "transfer")
    assert transfers.select("place", "rule").rows() == [
        ("QS-2", "quarantine.close_contact.transfer")
    ]


def test_release_frees_the_room(store: Store) -> None:
    residents(store, 1)
    put(
        store,
        "facility",
        [
            {
                "facility_id": "QS-1",
                "kind": "quarantine_site",
                "region_code": "310104",
                "capacity": 1,
            }
        ],
    )
    run_steps(store, D, POLICY, ["quarantine_orders", "assign_facilities"], close(1))
    put(
        store,
        "sample",
        [
            {
                "sample_id": f"S{d}",
                "person_id": 1,
                "tube_id": f"T{d}",
                "sampled_at": f"2022-07-{d:02d} 08:00",
            }
            for d in (2, 3, 4, 6, 8)
        ],
    )
    put(
        store,
        "tube_result",
        [
            {"tube_id": f"T{d}", "result": "negative", "reported_at": f"2022-07-{d:02d} 20:00"}
            for d in (2, 3, 4, 6, 8)
        ],
    )
    last = date(2022, 7, 8)
    assert occupancy(store, last).item(0, "occupied") == 1
    orders, occ = run_steps(
        store, last, POLICY, ["release_and_conversion_orders", "assign_facilities"], close()
    )
    assert orders.get_column("order_type").to_list() == ["release"]
    assert (
        occ is not None
        and occ.filter(pl.col("facility_id") == "QS-1").row(0, named=True)["leaving_today"] == 1
    )
    assert occupancy(store, last + timedelta(days=1)).item(0, "occupied") == 0


@pytest.mark.parametrize(
    ("trend_days", "rate", "full_in"),
    [
        # start of day 3: 4 in; today +2 → 6; at the start of day 1: 0 → +2 a day; 4 free → 2 days
        (3, 2.0, 2),
        # a longer trend reaches back before the first contact: (6 - 0) / 4 a day → 3 days
        (4, 1.5, 3),
    ],
)
def test_forecast_when_capacity_runs_out(
    store: Store, trend_days: int, rate: float, full_in: int
) -> None:
    policy = POLICY.model_copy(
        update={
            "facilities": POLICY.facilities.model_copy(update={"occupancy_trend_days": trend_days})
        }
    )
    assert POLICY.facilities.occupancy_trend_days == 3  # the released file's value
    put(
        store,
        "facility",
        [
            {
                "facility_id": "QS-1",
                "kind": "quarantine_site",
                "region_code": "310104",
                "capacity": 10,
            }
        ],
    )
    residents(store, *range(1, 7))
    start = date(2022, 7, 1)
    # two new close contacts a day for three days
    for i, people in enumerate([(1, 2), (3, 4), (5, 6)]):
        day = start + timedelta(days=i)
        exposed = f"{day - timedelta(days=1):%Y-%m-%d} 12:00"
        _orders, occ = run_steps(
            store,
            day,
            policy,
            ["quarantine_orders", "assign_facilities"],
            close(*people, exposed=exposed),
        )
    assert occ is not None
    site = occ.filter(pl.col("facility_id") == "QS-1").row(0, named=True)
    assert (site["occupied"], site["admitted_today"], site["free"]) == (4, 2, 4)
    assert site["rate_per_day"] == rate
    assert site["full_on"] == start + timedelta(days=2 + full_in)
    assert site["alert"] is None
