"""The tracing rule over a caller's own frames, no store (`trace_rule`, issue 6 item 5): the
same SQL the daily run runs on the store, over relations a simulator would hold. The routes and
tiers as the policy files set them (cn-2022-06-28: a window of 4 days before onset, venue
co-presence within 30 minutes, a close contact only at an enclosed entertainment venue, seat
rows within 3, secondary contacts of the household; cn-2023-01-08: no contact is designated).
tests/engine/test_tracing.py checks the rule over frames against the store's on each of its
worlds; tests/engine/test_clusters.py on two real line lists."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from fangkong.engine.tracing import CASE_SCHEMA, TraceFacts, trace_rule
from fangkong.policy import load_policy

from .rule_frames import at

POLICY = load_policy("cn-2022-06-28")


def case(person: int, onset: str, reported: str) -> pl.DataFrame:
    """One case to trace (CASE_SCHEMA): anchored on its onset, isolated at its report."""
    return pl.DataFrame(
        {
            "case_person_id": [person],
            "case_id": [f"C{person}"],
            "anchor_at": [at(f"{onset} 00:00")],
            "isolated_at": [at(reported)],
        },
        schema=CASE_SCHEMA,
    )


CASE = case(1, "2022-07-08", "2022-07-10 12:00")  # window: 07-04 00:00 to 07-10 12:00


def visits(*rows: tuple[int, int, str, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "person_id": [r[0] for r in rows],
            "venue_id": [r[1] for r in rows],
            "checkin_at": [at(r[2]) for r in rows],
            "checkout_at": [at(r[3]) if r[3] else None for r in rows],
        }
    )


VENUES = pl.DataFrame(
    {"venue_id": [10, 20], "category": ["enclosed_entertainment", "essential"]},
)


def tiers(found: pl.DataFrame) -> dict[int, tuple[str, str]]:
    """contact -> (tier, route)."""
    rows = found.select("contact_person_id", "tier", "via").rows()
    return {int(c): (str(t), str(v)) for c, t, v in rows}


def test_co_presence_is_close_only_where_the_policy_says() -> None:
    """A KTV room (enclosed entertainment) makes a close contact; a supermarket (essential) a
    risk person to assess (时空伴随); within 30 minutes without checkout, not 31."""
    facts = TraceFacts.of(
        checkin=visits(
            (1, 10, "2022-07-08 20:00", "2022-07-08 22:00"),
            (2, 10, "2022-07-08 21:00", "2022-07-08 23:00"),
            (1, 20, "2022-07-09 10:00", None),
            (3, 20, "2022-07-09 10:30", None),
            (4, 20, "2022-07-09 10:31", None),
            (5, 10, "2022-07-03 21:00", "2022-07-03 22:00"),  # before the window
        ),
        venue=VENUES,
    )
    assert tiers(trace_rule(facts, CASE, POLICY)) == {
        2: ("close", "venue"),
        3: ("risk_person", "venue"),
    }


def test_household_at_now_and_the_active_cases_left_out() -> None:
    """The household is the caller's `home` (as it stands when tracing runs); someone with a
    case episode active is no contact; the close contacts' housemates are secondary contacts
    under the 9th edition."""
    home = pl.DataFrame({"person_id": [1, 2, 3, 4, 5], "household_id": [7, 7, 7, 8, 8]})
    declared = pl.DataFrame(
        {
            "person_id": [1],
            "contact_person_id": [4],
            "setting": ["workplace"],
            "last_contact_at": [at("2022-07-09 17:00")],
        }
    )
    facts = TraceFacts.of(
        home=home, declared_contact=declared, active_case=pl.DataFrame({"person_id": [3]})
    )
    assert tiers(trace_rule(facts, CASE, POLICY)) == {
        2: ("close", "household"),
        4: ("close", "declared"),
        5: ("secondary", "household"),
    }


def test_trains_by_carriage_flights_by_rows() -> None:
    """On a train, the case's carriage counts whole (a carriage number is no seat row); on a
    flight, rows at most 3 apart."""
    trips = pl.DataFrame(
        {
            "person_id": [1, 2, 3, 1, 4, 5],
            "service": ["G1", "G1", "G1", "MU5", "MU5", "MU5"],
            "service_date": [date(2022, 7, 9)] * 6,
            "departed_at": [at("2022-07-09 08:00")] * 3 + [at("2022-07-09 15:00")] * 3,
            "seat_row": [None, None, None, 10, 13, 14],
            "carriage": [5, 5, 6, None, None, None],
        }
    )
    found = tiers(trace_rule(TraceFacts.of(trip=trips), CASE, POLICY))
    assert found == {2: ("close", "co_travel"), 4: ("close", "co_travel")}


def test_class_b_management_designates_no_contact() -> None:
    facts = TraceFacts.of(home=pl.DataFrame({"person_id": [1, 2], "household_id": [7, 7]}))
    assert trace_rule(facts, CASE, load_policy("cn-2023-01-08")).height == 0


def test_facts_name_what_is_missing() -> None:
    with pytest.raises(TypeError, match="the checkin have no column venue_id"):
        TraceFacts.of(checkin=visits((1, 10, "2022-07-08 20:00", None)).drop("venue_id"))
    with pytest.raises(TypeError, match="no such kind of fact: checkins"):
        TraceFacts.of(checkins=visits())
    # a fact that may be unknown may be left out: no checkout is a scan alone
    scans = TraceFacts.of(checkin=visits((1, 10, "2022-07-08 20:00", None)).drop("checkout_at"))
    assert scans.checkin.get_column("checkout_at").to_list() == [None]


def test_times_without_a_zone_are_beijing_time() -> None:
    """A simulator's naive times are read as Beijing time, as the importer reads files (cast
    alone, Polars would read them as UTC: the visits would move eight hours later, to
    12:00-15:00, and the contact's would begin after the case's isolation at 12:00)."""
    aware = visits(
        (1, 10, "2022-07-10 04:00", "2022-07-10 06:00"),
        (2, 10, "2022-07-10 05:00", "2022-07-10 07:00"),
    )
    naive = aware.with_columns(pl.col("checkin_at", "checkout_at").dt.replace_time_zone(None))
    found = tiers(trace_rule(TraceFacts.of(checkin=naive, venue=VENUES), CASE, POLICY))
    assert found == tiers(trace_rule(TraceFacts.of(checkin=aware, venue=VENUES), CASE, POLICY))
    assert found == {2: ("close", "venue")}
