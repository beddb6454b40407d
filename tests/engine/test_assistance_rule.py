"""Assistance requests (协查) over frames (`assistance.assistance_rule`), driven as a simulator
drives it: the day's contacts and those of them living outside the jurisdiction, frames of its
own, and no store. One request per person living away: the strongest tier, then the latest
exposure; the place is the province they live in. And the requests received
(`assistance.received_rule`): each matched to a local person by ID type and number, a repeat of
one received before left out."""

from __future__ import annotations

import polars as pl
import pytest

from fangkong.engine.assistance import (
    ReceivedFacts,
    assistance_rule,
    no_one_away,
    received_rule,
)
from fangkong.errors import InputError

from .rule_frames import at


def _contacts(*rows: tuple[int, str, str, str]) -> pl.DataFrame:
    """(contact, tier, route, exposed at), all of case 1."""
    return pl.DataFrame(
        {
            "case_person_id": [1] * len(rows),
            "contact_person_id": [r[0] for r in rows],
            "tier": [r[1] for r in rows],
            "via": [r[2] for r in rows],
            "exposed_at": [at(r[3]) for r in rows],
            "rule": ["tracing.close"] * len(rows),
            "policy_id": ["cn-2022-06-28"] * len(rows),
        }
    )


def test_one_request_per_person_away_the_strongest_tier_first() -> None:
    contacts = _contacts(
        (2, "secondary", "household", "2022-07-09 20:00"),  # later, but secondary
        (2, "close", "venue", "2022-07-08 12:00"),
        (3, "close", "household", "2022-07-09 08:00"),  # lives here: no request
        (4, "close", "co_travel", "2022-07-07 09:00"),
    )
    away = pl.DataFrame({"person_id": [2, 4], "region_code": ["440106", "110105"]})
    orders = assistance_rule(contacts, away, "31").sort("person_id")
    assert orders.select("person_id", "place", "detail", "start_at").rows() == [
        (2, "440000", "close:venue", at("2022-07-08 12:00")),
        (4, "110000", "close:co_travel", at("2022-07-07 09:00")),
    ]
    assert set(orders.get_column("order_type")) == {"assist"}
    assert assistance_rule(contacts, no_one_away(), "31").height == 0


def test_a_jurisdiction_prefix_must_be_a_division_code_s_head() -> None:
    with pytest.raises(InputError, match="2, 4 or 6 digits"):
        assistance_rule(_contacts(), no_one_away(), "3")


def _requests(*rows: tuple[str, str, str, str | None, str, bool]) -> pl.DataFrame:
    """(request id, requested at, from region, ID number, exposed at, new): close contacts at a
    venue, each naming a resident ID number."""
    return pl.DataFrame(
        {
            "request_id": [r[0] for r in rows],
            "requested_at": [at(r[1]) for r in rows],
            "from_region": [r[2] for r in rows],
            "tier": ["close"] * len(rows),
            "via": ["venue"] * len(rows),
            "exposed_at": [at(r[4]) for r in rows],
            "policy_id": ["cn-2022-06-28"] * len(rows),
            "id_type": ["ric"] * len(rows),
            "id_number": [r[3] for r in rows],
            "new": [r[5] for r in rows],
        }
    )


IDENTITIES = pl.DataFrame(
    {
        "person_id": [501, 502, 503],
        "id_type": ["ric", "ric", "passport"],
        "id_number": ["ID1", "ID2", "ID3"],
    }
)


def test_received_requests_matched_and_repeats_left_out() -> None:
    requests = _requests(
        ("R1", "2022-07-09 21:00", "310000", "ID1", "2022-07-08 13:30", False),  # received before
        ("R2", "2022-07-10 21:00", "310000", "ID1", "2022-07-08 13:30", True),  # its repeat
        ("R3", "2022-07-10 21:00", "310000", "ID1", "2022-07-09 19:00", True),  # a new exposure
        ("R4", "2022-07-10 21:00", "110000", "ID1", "2022-07-08 13:30", True),  # another region
        ("R5", "2022-07-10 21:00", "310000", "ID3", "2022-07-08 13:30", True),  # ric, no one
        ("R6", "2022-07-10 21:00", "310000", None, "2022-07-08 13:30", True),  # no ID number
        ("R7", "2022-07-10 22:00", "310000", None, "2022-07-08 13:30", True),  # not its repeat
        ("R8", "2022-07-10 21:00", "310000", "ID2", "2022-07-08 13:30", True),
    )
    got = received_rule(ReceivedFacts.of(requests=requests, identities=IDENTITIES))
    assert got.select("request_id", "person_id").rows() == [
        ("R3", 501),
        ("R4", 501),
        ("R5", None),
        ("R6", None),
        ("R7", None),
        ("R8", 502),
    ]


def test_the_earlier_of_two_new_requests_is_kept() -> None:
    """Two files of the day naming the same exposure: the earlier request (then the lesser id)
    is acted on, once."""
    requests = _requests(
        ("R9", "2022-07-10 22:00", "310000", "ID2", "2022-07-08 13:30", True),
        ("R2", "2022-07-10 21:00", "310000", "ID2", "2022-07-08 13:30", True),
        ("R1", "2022-07-10 21:00", "310000", "ID2", "2022-07-08 13:30", True),
    )
    got = received_rule(ReceivedFacts.of(requests=requests, identities=IDENTITIES))
    assert got.select("request_id", "person_id").rows() == [("R1", 502)]
    assert received_rule(ReceivedFacts.of()).height == 0
