"""The health-code rules over frames (`colours.colours_rule`), driven as a simulator drives them:
with facts it holds itself (`ColourFacts.of`), and no store at all. What each fact gives under
the dynamic-zero regime (cn-2022-06-28, the 9th edition) and the twenty measures
(cn-2022-11-11), as the policy files list the reasons; the lookback and the test's lapse at
their edges."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from fangkong.engine.colour_facts import ColourFacts, lookback_bounds
from fangkong.engine.colours import colours_rule
from fangkong.model.glossary import CodeReason, CodeSource
from fangkong.policy import Population, QuarantineKind, load_policy

from .rule_frames import at, episodes

NINTH, TWENTY = "cn-2022-06-28", "cn-2022-11-11"
CENTRALIZED = QuarantineKind.CENTRALIZED_QUARANTINE.value
HOME = QuarantineKind.HOME_ISOLATION.value
CONTACT, SECONDARY = Population.CLOSE_CONTACT.value, Population.SECONDARY_CONTACT.value
D = date(2022, 7, 10)


def _facts(tested: dict[int, str | None], **frames: pl.DataFrame) -> ColourFacts:
    """Facts with `tested`: per registered person, their latest negative (None: none)."""
    tests = pl.DataFrame(
        {
            "person_id": list(tested),
            "tested_at": [at(t) if t else None for t in tested.values()],
            "resident": [True] * len(tested),
        }
    )
    return ColourFacts.of(tests=tests, **frames)


Found = dict[int, tuple[str, tuple[str, ...]]]  # per person: colour, reasons


def _by_person(facts: ColourFacts, policy: str, ids: list[int] | None = None) -> Found:
    rules = load_policy(policy)
    result = colours_rule(facts, rules, D, None if ids is None else pl.Series(ids))
    reasons = result.reasons.group_by("person_id").agg(pl.col("reason").sort())
    named = {p: tuple(r) for p, r in reasons.iter_rows()}
    return {
        p: (c, named.get(p, ())) for p, c in result.codes.select("person_id", "colour").iter_rows()
    }


def test_each_fact_gives_its_reason_and_colour() -> None:
    recent = "2022-07-09 09:00"  # within the 9th edition's 7 days
    facts = _facts(
        {k: recent for k in range(1, 14)},
        cases=episodes(
            (1, "confirmed", None, "2022-07-08 10:00"),
            (2, "confirmed", None, "2022-06-01 10:00"),
            ended={2: ("2022-06-20 10:00", "cured")},
        ),
        phases=pl.DataFrame(
            {
                "person_id": [3, 3, 4, 5],
                "detail": [CENTRALIZED, HOME, CENTRALIZED, HOME],
                "population": [CONTACT, CONTACT, Population.INBOUND_TRAVELLER.value, SECONDARY],
                "rule": ["q.close", "q.close", "q.inbound", "q.secondary"],
                # 3's home phase starts after the day: the centralized one holds
                "start_at": [
                    at("2022-07-08 12:00"),
                    at("2022-07-15 12:00"),
                    at("2022-07-09 06:00"),
                    at("2022-07-10 20:00"),
                ],
            }
        ),
        controls=pl.DataFrame(
            {"person_id": [6], "tube_id": ["P1"], "since": [at("2022-07-10 13:00")]}
        ),
        suspects=pl.DataFrame(
            {"person_id": [7], "case_id": ["S7"], "since": [at("2022-07-10 09:00")]}
        ),
        events=pl.DataFrame(
            {
                "source": [CodeSource.FEVER_CLINIC.value, CodeSource.SYMPTOM_REPORT.value],
                "person_id": [8, 9],
                "ref": ["V8", "R9"],
                "at": [at("2022-07-07 10:00"), at("2022-07-10 23:00")],
            }
        ),
        residents=pl.DataFrame(
            {"person_id": [10], "area_id": ["A1"], "level_since": [date(2022, 7, 9)]}
        ),
    )
    found = _by_person(facts, NINTH)
    assert found[1] == ("red", ("confirmed",))
    assert found[2] == ("green", ())  # a cured episode gives nothing
    assert found[3] == ("red", ("close_contact_centralized",))
    assert found[4] == ("red", ("centralized_quarantine",))
    assert found[5] == ("yellow", ("home_quarantine",))
    assert found[6] == ("red", ("pool_positive_awaiting_retest",))
    assert found[7] == ("red", ("suspected",))
    assert found[8] == ("yellow", ("fever_clinic_visit",))
    assert found[9] == ("yellow", ("fever_or_respiratory_symptoms",))
    assert found[10] == ("red", ("from_risk_area",))
    assert found[11] == ("green", ())
    area = colours_rule(facts, load_policy(NINTH), D).reasons.filter(pl.col("person_id") == 10)
    assert area.item(0, "since") == at("2022-07-09 00:00")  # from the midnight of its level


def test_the_lookback_and_the_lapse_at_their_edges() -> None:
    rules = load_policy(NINTH)
    since, until = lookback_bounds(D, rules)
    events = pl.DataFrame(
        {
            "source": [CodeSource.FEVER_CLINIC.value] * 3,
            "person_id": [1, 2, 3],
            "ref": ["V1", "V2", "V3"],
            # at the first instant (out), just after it (in), the next day (out)
            "at": [since, since + timedelta(microseconds=1), until + timedelta(microseconds=1)],
        }
    )
    after = rules.health_code.missing_test_after_days
    assert after == 7
    edge = until - timedelta(days=after)  # lapses at the last instant of D
    facts = _facts(
        {1: "2022-07-09 09:00", 2: "2022-07-09 09:00", 3: "2022-07-09 09:00", 4: None},
        events=events,
    )
    facts = ColourFacts.of(
        events=facts.events,
        tests=pl.concat(
            [
                facts.tests,
                pl.DataFrame(
                    {"person_id": [5, 6], "tested_at": [edge, edge + timedelta(microseconds=1)]},
                    schema={"person_id": pl.Int64(), "tested_at": facts.tests.schema["tested_at"]},
                ).with_columns(pl.lit(True).alias("resident")),
            ]
        ),
    )
    found = _by_person(facts, NINTH)
    assert found[1] == ("green", ())
    assert found[2] == ("yellow", ("fever_clinic_visit",))
    assert found[3] == ("green", ())
    assert found[4] == ("yellow", ("no_recent_test",))  # registered, never tested
    assert found[5][1] == ("no_recent_test",)
    assert found[6] == ("green", ())
    # the twenty measures ask no test of everyone: no lapse at all
    assert _by_person(facts, TWENTY)[4] == ("green", ())


def test_the_people_asked_for_and_the_validity_window() -> None:
    facts = _facts(
        {1: "2022-07-09 09:00"},
        cases=episodes((2, "asymptomatic", None, "2022-07-10 10:00")),
    )
    rules = load_policy(TWENTY)
    result = colours_rule(facts, rules, D, pl.Series([1, 2, 99]))
    codes = {r["person_id"]: r for r in result.codes.iter_rows(named=True)}
    assert sorted(codes) == [1, 2, 99]  # 99 has no fact: green, no test
    assert codes[2]["colour"] == "red"
    assert codes[99]["colour"] == "green" and codes[99]["tested_at"] is None
    hours = rules.health_code.venue_entry_test_validity_hours
    assert hours is not None
    assert codes[1]["venue_valid_until"] == at("2022-07-09 09:00") + timedelta(hours=hours)
    assert result.reasons.get_column("reason").to_list() == [CodeReason.ASYMPTOMATIC.value]


def test_facts_refuse_an_unknown_kind_and_fill_the_others() -> None:
    with pytest.raises(TypeError, match="no such kind of fact: visits"):
        ColourFacts.of(visits=pl.DataFrame())
    with pytest.raises(TypeError, match="the controls have no column tube_id"):
        ColourFacts.of(controls=pl.DataFrame({"person_id": [1], "since": [at("2022-07-10")]}))
    empty = ColourFacts.of()
    assert empty.cases.height == 0 and "case_since" in empty.cases.columns
    # nothing known: nobody has a colour to give
    assert colours_rule(empty, load_policy(NINTH), D).codes.height == 0
