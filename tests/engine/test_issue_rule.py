"""Issuing quarantine (`quarantine.issue_rule`) over frames, driven as a simulator drives it:
the people to quarantine, their case episodes, homes, open quarantines and rooms, all frames of
its own (`IssueFacts.of`), and no store. Under the 9th edition a close contact gets 7 days of
centralized quarantine then 3 of home health monitoring, from the day after the exposure, with
a closed-loop transfer; a newer exposure restarts the count (an extension); a case is
treatment's; a population the policy does not quarantine gets nothing; a person with no address
is quarantined all the same, to be located."""

from __future__ import annotations

from datetime import date

import polars as pl

from fangkong.engine.quarantine import IssueFacts, issue_rule
from fangkong.engine.schedule import NO_ADDRESS
from fangkong.policy import Population, QuarantineKind, load_policy

from .rule_frames import at, episodes

NINTH, TWENTY = "cn-2022-06-28", "cn-2022-11-11"
D = date(2022, 7, 10)
CONTACT, SECONDARY = Population.CLOSE_CONTACT.value, Population.SECONDARY_CONTACT.value
CENTRALIZED = QuarantineKind.CENTRALIZED_QUARANTINE.value


def _people(*rows: tuple[int, str, str]) -> pl.DataFrame:
    """(person, population, exposed at)."""
    return pl.DataFrame(
        {
            "person_id": [r[0] for r in rows],
            "population": [r[1] for r in rows],
            "exposed_at": [at(r[2]) for r in rows],
            "address": [None] * len(rows),
            "rule": [f"quarantine.{r[1]}" for r in rows],
            "note": [None] * len(rows),
            "transfer": [True] * len(rows),
        }
    )


def _facts(**frames: pl.DataFrame) -> IssueFacts:
    homes = pl.DataFrame({"person_id": [1, 2, 3, 4], "region_code": ["310101"] * 4})
    return IssueFacts.of(homes=homes, **frames)


def _by_person(facts: IssueFacts, policy: str = NINTH) -> dict[int, pl.DataFrame]:
    orders = issue_rule(facts, D, load_policy(policy))
    return {p: rows for (p,), rows in orders.sort("start_at").group_by("person_id")}


def test_a_close_contact_gets_the_regime_and_a_case_gets_none() -> None:
    facts = _facts(
        people=_people((1, CONTACT, "2022-07-09 18:00"), (2, CONTACT, "2022-07-09 18:00")),
        cases=episodes((2, "confirmed", "mild", "2022-07-10 08:00")),
    )
    found = _by_person(facts)
    assert sorted(found) == [1]
    one = found[1]
    phases = one.filter(pl.col("order_type") == "quarantine")
    assert phases.get_column("detail").to_list() == [CENTRALIZED, "home_health_monitoring"]
    # day 1 is the day after the exposure: 7 days centralized from July 10, then 3 at home
    assert phases.get_column("start_at").to_list() == [
        at("2022-07-10 00:00"),
        at("2022-07-17 00:00"),
    ]
    assert phases.get_column("end_at").to_list()[-1] == at("2022-07-20 00:00")
    assert one.filter(pl.col("order_type") == "transfer").height == 1
    assert one.filter(pl.col("order_type") == "test").height > 0


def test_a_new_exposure_extends_and_an_unmanaged_population_gets_nothing() -> None:
    schedule = {
        "person_id": 4,
        "run_day": date(2022, 7, 6),
        "order_type": "quarantine",
        "start_at": at("2022-07-06 00:00"),
        "end_at": at("2022-07-13 00:00"),
        "place": "QS-1",
        "detail": CENTRALIZED,
        "rule": "quarantine.close_contact",
        "policy_id": NINTH,
        "reason": None,
        "population": CONTACT,
        "waiting_for": None,
        "released": False,
    }
    facts = _facts(
        people=_people(
            (3, SECONDARY, "2022-07-09 18:00"),
            (4, CONTACT, "2022-07-09 18:00"),
            (5, CONTACT, "2022-07-09 18:00"),
        ),
        schedules=pl.DataFrame([schedule]),
        rooms=pl.DataFrame({"person_id": [4], "place": ["QS-1"]}),
    )
    found = _by_person(facts, TWENTY)
    assert 3 not in found  # the twenty measures quarantine no secondary contact
    extended = found[4].filter(pl.col("order_type") == "extend")
    assert extended.height > 0
    # the extended centralized phase keeps the person's room
    assert extended.filter(pl.col("detail") == CENTRALIZED).get_column("place").to_list() == [
        "QS-1"
    ]
    # 5 has no home on record: quarantined all the same, to be located
    assert all(r.startswith(NO_ADDRESS) for r in found[5].get_column("reason"))
    assert _by_person(_facts(people=_people((3, SECONDARY, "2022-07-09 18:00"))))[3].height > 0
