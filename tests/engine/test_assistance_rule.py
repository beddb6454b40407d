"""Assistance requests (协查) over frames (`assistance.assistance_rule`), driven as a simulator
drives it: the day's contacts and those of them living outside the jurisdiction, frames of its
own, and no store. One request per person living away: the strongest tier, then the latest
exposure; the place is the province they live in."""

from __future__ import annotations

import polars as pl
import pytest

from fangkong.engine.assistance import assistance_rule, no_one_away
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
