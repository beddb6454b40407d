"""Quarantine orders beyond the policy cases: a contact with no address, contacts found late,
cases and people already in quarantine, and the shape of the orders."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from fangkong.engine.facility import placements
from fangkong.engine.orders import ORDER_SCHEMA
from fangkong.engine.quarantine import departure_quarantine_orders, quarantine_orders
from fangkong.engine.schedule import NO_ADDRESS, phase_table
from fangkong.policy import ExtensionRule, Population, load_policy
from fangkong.store import Store

from .test_policy_cases import as_rows, contacts_frame, departures_frame, put, run_steps

NINTH = load_policy("cn-2022-06-28")
TWENTY = load_policy("cn-2022-11-11")
D = date(2022, 7, 2)
SITE = {"facility_id": "QS-1", "kind": "quarantine_site", "region_code": "310104", "capacity": 9}


def contact(
    person: int, exposed: str | None = "2022-07-01 19:30", tier: str = "close"
) -> dict[str, object]:
    return {"case_person_id": 99, "contact_person_id": person, "tier": tier, "exposed_at": exposed}


def test_phase_table_follows_the_policy() -> None:
    t = phase_table(NINTH).filter(pl.col("population") == Population.CLOSE_CONTACT.value)
    assert t.select("kind", "days", "offset", "test_days").rows() == [
        ("centralized_quarantine", 7, 0, [1, 2, 3, 5, 7]),
        ("home_health_monitoring", 3, 7, [3]),
    ]
    populations = set(phase_table(TWENTY).get_column("population"))
    assert "secondary_contact" not in populations and "close_contact" in populations


def test_a_contact_with_no_address_is_ordered_but_located_first(store: Store) -> None:
    put(store, "facility", [SITE])
    # person 1: no person record at all (a visitor who scanned a venue code); person 2: a
    # record without a region
    put(store, "person", [{"person_id": 2, "household_id": 20}])
    orders, occ = run_steps(
        store,
        D,
        NINTH,
        ["quarantine_orders", "assign_facilities"],
        contacts_frame([contact(1), contact(2)], NINTH.id),
    )
    assert orders.height == 2 * 9  # transfer, 2 phases, 6 tests each
    assert orders.get_column("place").null_count() == orders.height  # no room, no "home"
    assert all(r.startswith(NO_ADDRESS) for r in orders.get_column("reason"))
    # no room was reserved for them, and that is no capacity alert
    assert occ is not None and occ.get_column("alert").null_count() == occ.height


def test_a_contact_found_late_gets_the_rest_of_the_period(store: Store) -> None:
    put(store, "facility", [SITE])
    put(store, "person", [{"person_id": 1, "household_id": 10, "region_code": "310104"}])
    found = date(2022, 7, 5)  # exposed 07-01: day 1 = 07-02, today is day 4
    orders = quarantine_orders(store, found, NINTH, contacts_frame([contact(1)], NINTH.id))
    rows = as_rows(orders)
    assert (1, "quarantine", "centralized_quarantine", "2022-07-05", "2022-07-09", None) in rows
    tests = orders.filter(pl.col("order_type") == "test").sort("start_at")
    # days 1-3 are past: one catch-up test today (day 4), then days 5 and 7, and home day 3
    assert tests.get_column("detail").to_list() == ["day 4 (catch-up)", "day 5", "day 7", "day 3"]
    # found after the whole period: nothing to order
    late = quarantine_orders(
        store, date(2022, 7, 20), NINTH, contacts_frame([contact(1)], NINTH.id)
    )
    assert late.height == 0


def test_cases_and_people_in_quarantine_are_not_ordered_again(store: Store) -> None:
    put(store, "facility", [SITE])
    put(
        store,
        "person",
        [{"person_id": p, "household_id": p, "region_code": "310104"} for p in (1, 2)],
    )
    put(
        store,
        "case_report",
        [
            {
                "report_id": "R1",
                "case_id": "C1",
                "person_id": 2,
                "region_code": "310104",
                "reported_at": "2022-07-01 09:00",
                "event_type": "report",
                "diagnosis": "confirmed",
                "origin": "local",
                "severity": "mild",
            }
        ],
    )
    contacts = contacts_frame([contact(1), contact(2)], NINTH.id)
    first, _ = run_steps(store, D, NINTH, ["quarantine_orders", "assign_facilities"], contacts)
    assert set(first.get_column("person_id")) == {1}
    # traced again the next day from the same exposure: already in quarantine, nothing new
    again = quarantine_orders(store, D + timedelta(days=1), NINTH, contacts)
    assert again.height == 0


def test_one_person_traced_twice_counts_once_as_the_closest_tier(store: Store) -> None:
    put(store, "person", [{"person_id": 1, "household_id": 10, "region_code": "310104"}])
    contacts = contacts_frame(
        [
            contact(1, "2022-07-01 19:30", "secondary"),
            contact(1, "2022-06-30 10:00"),
            contact(1, "2022-07-01 08:00"),
        ],
        NINTH.id,
    )
    orders = quarantine_orders(store, D, NINTH, contacts)
    phases = orders.filter(pl.col("order_type") == "quarantine")
    assert phases.get_column("rule").unique().to_list() == ["quarantine.close_contact"]
    # the latest close exposure (07-01 08:00) counts: day 1 = 07-02
    assert as_rows(phases)[0][4] == "2022-07-09"


def test_an_unknown_exposure_counts_from_the_day_found(store: Store) -> None:
    put(store, "person", [{"person_id": 1, "household_id": 10, "region_code": "310104"}])
    orders = quarantine_orders(store, D, NINTH, contacts_frame([contact(1, None)], NINTH.id))
    centralized = orders.filter(pl.col("detail") == "centralized_quarantine")
    assert as_rows(centralized)[0][3:5] == ("2022-07-02", "2022-07-10")  # day 1 = 07-03
    assert "not recorded" in centralized.item(0, "reason")


def test_orders_have_the_stored_shape_and_name_rule_and_policy(store: Store) -> None:
    put(store, "person", [{"person_id": 1, "household_id": 10, "region_code": "310104"}])
    orders = quarantine_orders(store, D, NINTH, contacts_frame([contact(1)], NINTH.id))
    assert orders.schema == pl.Schema(ORDER_SCHEMA)
    assert set(orders.get_column("policy_id")) == {NINTH.id}
    assert set(orders.get_column("rule")) == {
        "quarantine.close_contact",
        "quarantine.close_contact.test",
        "quarantine.close_contact.transfer",
    }


def test_a_contact_arriving_from_abroad_today_is_left_to_the_border(store: Store) -> None:
    put(
        store,
        "person",
        [{"person_id": p, "household_id": p, "region_code": "310104"} for p in (1, 2)],
    )
    put(
        store,
        "arrival",
        [
            {
                "arrival_id": "A1",
                "person_id": 1,
                "arrived_at": "2022-07-02 06:40",
                "port_region_code": "310115",
                "origin_country": "SG",
                "flight": "MU568",
            }
        ],
    )
    contacts = contacts_frame([contact(1), contact(2)], NINTH.id)
    orders = quarantine_orders(store, D, NINTH, contacts)
    assert set(orders.get_column("person_id")) == {2}
    # without an inbound regime there is no border quarantine to leave them to
    no_inbound = NINTH.model_copy(
        update={
            "quarantine": {k: v for k, v in NINTH.quarantine.items() if k != "inbound_traveller"}
        }
    )
    assert set(quarantine_orders(store, D, no_inbound, contacts).get_column("person_id")) == {1, 2}


def test_no_extension_when_the_policy_does_not_restart(store: Store) -> None:
    put(store, "person", [{"person_id": 1, "household_id": 10, "region_code": "310104"}])
    regime = NINTH.quarantine[Population.CLOSE_CONTACT]
    frozen = NINTH.model_copy(
        update={
            "quarantine": {
                **NINTH.quarantine,
                Population.CLOSE_CONTACT: regime.model_copy(
                    update={"extension_on_new_exposure": ExtensionRule.NONE}
                ),
            }
        }
    )
    run_steps(store, D, frozen, ["quarantine_orders"], contacts_frame([contact(1)], NINTH.id))
    later = contacts_frame([contact(1, "2022-07-04 18:00")], NINTH.id)
    assert quarantine_orders(store, D + timedelta(days=3), frozen, later).height == 0
    assert set(
        quarantine_orders(store, D + timedelta(days=3), NINTH, later).get_column("order_type")
    ) == {"extend", "test", "transfer"}  # no room was given (no site): a transfer to one


def test_a_centralized_phase_is_not_replaced_by_a_home_regime(store: Store) -> None:
    # a close contact in a room, then found as a secondary contact (a household member of
    # another close contact) with a later end: the secondary regime (7 days at home) would end
    # the centralized phase mid-way and take them home with no release of the room
    put(store, "facility", [SITE])
    put(store, "person", [{"person_id": 1, "household_id": 10, "region_code": "310104"}])
    run_steps(
        store,
        D,
        NINTH,
        ["quarantine_orders", "assign_facilities"],
        contacts_frame([contact(1)], NINTH.id),
    )
    assert placements(store, D + timedelta(days=4)).get_column("place").to_list() == ["QS-1"]
    secondary = contacts_frame([contact(1, "2022-07-05 12:00", "secondary")], NINTH.id)
    assert quarantine_orders(store, D + timedelta(days=4), NINTH, secondary).height == 0
    # found as a close contact again, the count restarts, centralized, in the same room
    again = quarantine_orders(
        store,
        D + timedelta(days=2),
        NINTH,
        contacts_frame([contact(1, "2022-07-04 12:00")], NINTH.id),
    )
    centralized = again.filter(pl.col("detail") == "centralized_quarantine")
    assert centralized.get_column("order_type").to_list() == ["extend"]
    assert centralized.get_column("place").to_list() == ["QS-1"]


def test_contacts_and_departures_in_one_pass(store: Store) -> None:
    # the run day's contacts and the people who left an area get their orders from one pass
    # over the store, each as if alone; someone who is both (here a contact another region
    # traced, who also left a local area) is the contact's, with one schedule
    put(store, "facility", [SITE])
    put(
        store,
        "person",
        [{"person_id": p, "household_id": 10 * p, "region_code": "310104"} for p in (1, 2, 3)],
    )
    contacts = contacts_frame([contact(1), contact(2)], NINTH.id)
    left = departures_frame(
        [
            {"person_id": 2, "left_at": "2022-07-01 20:00", "risk_level": "medium"},
            {"person_id": 3, "left_at": "2022-07-01 20:00", "risk_level": "medium"},
        ]
    )
    both = quarantine_orders(store, D, NINTH, contacts, left)
    alone = pl.concat(
        [
            quarantine_orders(store, D, NINTH, contacts),
            departure_quarantine_orders(store, D, NINTH, left.filter(pl.col("person_id") == 3)),
        ]
    )
    assert as_rows(both) == as_rows(alone)
    populations = both.group_by("person_id").agg(pl.col("population").unique()).sort("person_id")
    assert populations.rows() == [
        (1, ["close_contact"]),
        (2, ["close_contact"]),
        (3, ["left_medium_risk_area"]),
    ]
