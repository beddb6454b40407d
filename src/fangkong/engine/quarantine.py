"""Quarantine (早隔离 · 应隔尽隔 · 隔离转运): orders for contacts, release, conversion to a case.

A person's schedule — phases and test days counted from day 1, the day after the last exposure
(for an inbound traveller, after the arrival), a `transfer` to a centralized first phase — is
built by `fangkong.engine.schedule` (see its docstring for the counting of days); this module
decides who gets one and when it ends. A contact with no address (no person record, or none
with a region) gets their schedule all the same, with place null and the reason starting
`no address: locate`; no room is reserved until they are found.

**Who**: close and secondary contacts (`quarantine_orders`, from tracing), people who left a
high- or medium-risk area (the same call, which reads the store once for both; or
`departure_quarantine_orders` for them alone), inbound travellers
(`fangkong.engine.border`), each under the policy's regime for their population; nobody whose
population the policy does not manage (e.g. secondary contacts under the twenty measures), no
active case (treatment's), and no contact who arrives from abroad on the run day while the policy
has an inbound regime (the border quarantines them from the arrival, no earlier than any exposure).

**Extension**: a contact already in an open quarantine with a newer exposure gets the whole
regime again from the new exposure, as `extend` rows (one per phase, with their own test days,
which replace the earlier schedule's from the run day on), when the new regime's
`extension_on_new_exposure` is `restart` and the new period ends later; a secondary contact who
becomes a close contact gets the close-contact regime whatever the extension rule says. An
extended centralized phase keeps the person's room; a schedule whose centralized phase is not over
is not extended by a regime without one (a secondary contact's, at home): that would end the
stricter phase early. A run that extends a schedule issues no release nor make-up test of the
schedule it replaces (`without_replaced`).

**Release** (`release_and_conversion_orders`): each phase is released on its last day (the
`release` starts at the phase's end) when every test day of the phase is satisfied: a negative
result (or Ct at or above the positive cut-off) of a sample taken on that day, or of a make-up
sample taken on or after the phase's last day. A missing result holds the release: the person
stays under quarantine (and in their room) and, unless a sample is awaiting its result or a test
is already ordered for the day, gets a make-up `test` on the run day; the release comes on the
first day the results are in. **Conversion**: a person under quarantine with a case report
(confirmed or asymptomatic) or a positive single-tube result (a tube holding only their sample;
Ct below the cut-off, the inbound one for inbound travellers) reported since the quarantine began
gets `convert`, which ends the quarantine; positive pooled tubes are the testing step's
(temporary control and single-tube retests). **A regime lifted**: an open quarantine of a
population the policy in force no longer quarantines (class-B management from 2023-01-08
quarantines nobody) ends on the run day, each phase not yet released getting a `release`.
Issuing and releasing are each a loader and a rule, and the rules read no store, so a simulator
drives them with frames of its own (`IssueFacts.of`, `ReleaseFacts.of`): `load_issue_facts`
reads, for the people of the populations the policy quarantines (`_managed`, which the rule
decides by too), their case episodes, homes, open quarantines and rooms, and `issue_rule`
decides; `load_release_facts` reads the open quarantines and, for the people still held
(`_held`, likewise), their case episodes, results and test orders, and `release_rule` decides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

import polars as pl

from fangkong.engine.facility import placements
from fangkong.engine.facts import Facts
from fangkong.engine.frames import IDS, day_bounds, day_start, ids_of, read
from fangkong.engine.orders import (
    TIME,
    check_contacts,
    check_orders,
    empty_contacts,
    empty_orders,
    orders_from,
)
from fangkong.engine.scenario import LIVE, Scenario
from fangkong.engine.schedule import (
    CENTRALIZED,
    SCHEDULE_SCHEMA,
    TEST_ORDER_SCHEMA,
    open_schedules,
    phase_table,
    schedule_orders,
    stored_tests,
)
from fangkong.engine.treatment import (
    CASE_SCHEMA,
    RESULT_SCHEMA,
    active_cases,
    case_state,
    negative,
    person_results,
    positive,
)
from fangkong.model.glossary import ContactTier, OrderType
from fangkong.policy.schema import Policy
from fangkong.policy.terms import Population, RiskLevel
from fangkong.store import Store
from fangkong.store.person_view import current_person

__all__ = [
    "DEPARTURE_SCHEMA",
    "PEOPLE_SCHEMA",
    "IssueFacts",
    "ReleaseFacts",
    "departure_quarantine_orders",
    "issue_quarantine",
    "issue_rule",
    "load_issue_facts",
    "load_release_facts",
    "quarantine_orders",
    "release_and_conversion_orders",
    "release_rule",
    "without_replaced",
]

log = logging.getLogger(__name__)

PEOPLE_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "population": pl.String(),  # Population
    "exposed_at": TIME,  # the last exposure (an arrival: its time); null = the run day
    "address": pl.String(),  # a region code where the person stays; null: look it up
    "rule": pl.String(),  # e.g. quarantine.close_contact
    "note": pl.String(),  # appended to every reason (e.g. no flight recorded)
    "transfer": pl.Boolean(),  # order a closed-loop transfer to a centralized first phase
}

# a person's residence (`store.person_view.current_person`)
HOME_SCHEMA: dict[str, pl.DataType] = {"person_id": pl.Int64(), "region_code": pl.String()}

DEPARTURE_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "left_at": TIME,  # when the person left the area
    "risk_level": pl.String(),  # RiskLevel of the area they left: high | medium
}


@dataclass(frozen=True)
class IssueFacts(Facts):
    """What the quarantine rule reads (`issue_rule`), one frame per kind:

    - `people`: whom to quarantine (PEOPLE_SCHEMA: the day's contacts, people who left a risk
      area, inbound travellers);
    - `cases`: their latest case episodes (CASE_SCHEMA);
    - `homes`: their residence at the end of the day (HOME_SCHEMA: `person_view`);
    - `schedules`: the phases of their open quarantines (SCHEDULE_SCHEMA);
    - `rooms`: their placements at a quarantine site at the start of the day (person_id, place).
    """

    people: pl.DataFrame
    cases: pl.DataFrame
    homes: pl.DataFrame
    schedules: pl.DataFrame
    rooms: pl.DataFrame

    SCHEMAS: ClassVar[dict[str, dict[str, pl.DataType]]] = {
        "people": PEOPLE_SCHEMA,
        "cases": CASE_SCHEMA,
        "homes": HOME_SCHEMA,
        "schedules": SCHEDULE_SCHEMA,
        "rooms": {"person_id": pl.Int64(), "place": pl.String()},
    }


def _managed(people: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """The `people` of the populations `policy` quarantines: the rule decides on them, and the
    loader reads their facts (one definition for both)."""
    populations = phase_table(policy).get_column("population").unique()
    return people.filter(pl.col("population").is_in(populations.implode()))


def load_issue_facts(
    store: Store,
    day: date,
    policy: Policy,
    people: pl.DataFrame,
    *,
    scenario: Scenario = LIVE,
) -> IssueFacts:
    """The facts of the quarantine orders for `people` (PEOPLE_SCHEMA) from the store
    (`IssueFacts`): those of the people the policy quarantines only."""
    people = people.select(pl.col(c).cast(t) for c, t in PEOPLE_SCHEMA.items())
    managed = _managed(people, policy)
    if managed.height == 0:
        return IssueFacts.of(people=people)
    ids = ids_of(managed.get_column("person_id"))
    return IssueFacts.of(
        people=people,
        cases=case_state(store, day, ids, scenario=scenario),
        homes=read(
            store,
            f"SELECT person_id, region_code FROM {current_person(':end', person_ids=IDS)} p",
            {"ids": ids, "end": day_bounds(day)[1]},
            HOME_SCHEMA,
        ),
        schedules=open_schedules(store, day, ids, scenario=scenario),
        rooms=placements(store, day, scenario=scenario)
        .filter(pl.col("order_type") != OrderType.ADMIT.value)
        .select("person_id", "place"),
    )


def issue_quarantine(
    store: Store,
    day: date,
    policy: Policy,
    people: pl.DataFrame,
    *,
    scenario: Scenario = LIVE,
) -> pl.DataFrame:
    """Quarantine orders for `people` (PEOPLE_SCHEMA): `issue_rule` over `load_issue_facts`.
    The one implementation behind contacts, people who left a risk area and inbound
    travellers."""
    facts = load_issue_facts(store, day, policy, people, scenario=scenario)
    return issue_rule(facts, day, policy)


def issue_rule(facts: IssueFacts, day: date, policy: Policy) -> pl.DataFrame:
    """Quarantine orders for `facts.people`: new schedules for those not in an open quarantine,
    extensions for those who are; active cases and populations the policy does not quarantine
    get none (logged as counts). Reads no store."""
    phases = phase_table(policy)
    people = _managed(facts.people, policy)
    if (unmanaged := facts.people.height - people.height) > 0:
        log.info("%d people of populations policy %s does not quarantine", unmanaged, policy.id)
    if people.height == 0:
        return empty_orders()
    cases = (
        active_cases(facts.cases)
        .join(people.select("person_id"), on="person_id", how="semi")
        .select("person_id")
        .unique()
    )
    if cases.height:
        log.info("%d people to quarantine are cases already: treatment's", cases.height)
    people = (
        people.join(cases, on="person_id", how="anti")
        .join(facts.homes, on="person_id", how="left")
        .with_columns(
            pl.coalesce("address", "region_code").alias("address"),
            pl.lit(None, pl.String).alias("room"),
        )
        .drop("region_code")
    )
    current = (
        facts.schedules.join(people.select("person_id").unique(), on="person_id", how="semi")
        .group_by("person_id")
        .agg(
            pl.col("end_at").max().alias("current_end"),
            (pl.col("population") == Population.SECONDARY_CONTACT.value).any().alias("secondary"),
            ((pl.col("detail") == CENTRALIZED) & (pl.col("end_at") > day_start(day)))
            .any()
            .alias("centralized"),
        )
    )
    new = schedule_orders(people.join(current, on="person_id", how="anti"), day, policy)
    if (over := people.height - current.height - new.get_column("person_id").n_unique()) > 0:
        log.info("%d people found after their whole quarantine period: no orders", over)
    again = (
        people.drop("room")
        .join(current, on="person_id")
        .join(
            facts.rooms.select("person_id", pl.col("place").alias("room")),
            on="person_id",
            how="left",
        )
    )
    if again.height == 0:
        return check_orders(new)
    ext = schedule_orders(again, day, policy, OrderType.EXTEND)
    longer = (
        ext.filter(pl.col("order_type") == OrderType.EXTEND.value)
        .group_by("person_id")
        .agg(pl.col("end_at").max().alias("new_end"))
        .join(
            again.join(phases.select("population", "restart").unique(), on="population"),
            on="person_id",
        )
        .filter(
            (pl.col("restart") & (pl.col("new_end") > pl.col("current_end")))
            | (pl.col("secondary") & (pl.col("population") == Population.CLOSE_CONTACT.value))
        )
    )
    # a schedule with a centralized phase not over is not replaced by a regime without one (a
    # secondary contact's, at home): that would end the stricter phase early and take the
    # person home from their room with no release of it (the placement would never end)
    homebound = (
        again.filter(pl.col("centralized"))
        .select("person_id")
        .join(
            ext.filter(
                (pl.col("order_type") == OrderType.EXTEND.value) & (pl.col("detail") == CENTRALIZED)
            ).select("person_id"),
            on="person_id",
            how="anti",
        )
    )
    longer = longer.join(homebound, on="person_id", how="anti")
    ext = ext.join(longer.select("person_id"), on="person_id").with_columns(
        (pl.lit("new exposure, the count restarts: ") + pl.col("reason")).alias("reason")
    )
    return check_orders(pl.concat([new, ext]))


def _people(store: Store, day: date, policy: Policy, frame: pl.DataFrame) -> pl.DataFrame:
    """PEOPLE_SCHEMA rows of `frame` (person_id, population, exposed_at), without those who
    arrive from abroad today while the policy has an inbound regime: `border_orders` quarantines
    them today from the arrival, which is no earlier than any exposure of theirs (two schedules
    of one day would be one muddled schedule)."""
    people = frame.select(
        "person_id",
        "population",
        "exposed_at",
        pl.lit(None, pl.String).alias("address"),
        (pl.lit("quarantine.") + pl.col("population")).alias("rule"),
        pl.lit(None, pl.String).alias("note"),
        pl.lit(True).alias("transfer"),
    )
    if policy.regime(Population.INBOUND_TRAVELLER) is None or people.height == 0:
        return people
    start, end = day_bounds(day)
    arriving = read(
        store,
        "SELECT DISTINCT person_id FROM arrival WHERE arrived_at >= :start AND arrived_at < :end"
        f" AND person_id IN ({IDS})",
        {"start": start, "end": end, "ids": ids_of(people["person_id"])},
        {"person_id": pl.Int64()},
    )
    if arriving.height:
        log.info("%d people arrive from abroad today: the inbound regime's", arriving.height)
    return people.join(arriving, on="person_id", how="anti")


_EXPOSED: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "population": pl.String(),
    "exposed_at": TIME,
}


def _once_each(
    rows: pl.DataFrame,
    person: str,
    stronger: pl.Expr,
    at: str,
    populations: tuple[Population, Population],
) -> pl.DataFrame:
    """Each person (column `person`) of `rows` once (_EXPOSED): in the first of `populations`
    if a row of theirs is `stronger`, else in the second, from their latest `at` among the rows
    of that kind (an unknown time last)."""
    strong, weak = populations
    return (
        rows.sort(stronger, at, descending=True, nulls_last=True)
        .unique(person, keep="first", maintain_order=True)
        .select(
            pl.col(person).alias("person_id"),
            pl.when(stronger)
            .then(pl.lit(strong.value))
            .otherwise(pl.lit(weak.value))
            .alias("population"),
            pl.col(at).alias("exposed_at"),
        )
        .cast(_EXPOSED)  # type: ignore[arg-type]
    )


def _contacts_exposed(contacts: pl.DataFrame) -> pl.DataFrame:
    """The close and secondary contacts of CONTACT_SCHEMA rows, once each: as a close contact
    if they are one, from their latest exposure of that tier."""
    return _once_each(
        contacts.filter(pl.col("tier") != ContactTier.RISK_PERSON.value),
        "contact_person_id",
        pl.col("tier") == ContactTier.CLOSE.value,
        "exposed_at",
        (Population.CLOSE_CONTACT, Population.SECONDARY_CONTACT),
    )


def _departures_exposed(departures: pl.DataFrame) -> pl.DataFrame:
    """The people of DEPARTURE_SCHEMA rows who left a high- or medium-risk area, once each: as
    leaving a high one if they did, from their latest departure of that level."""
    return _once_each(
        departures.select(pl.col(c).cast(t) for c, t in DEPARTURE_SCHEMA.items()).filter(
            pl.col("risk_level").is_in([RiskLevel.HIGH.value, RiskLevel.MEDIUM.value])
        ),
        "person_id",
        pl.col("risk_level") == RiskLevel.HIGH.value,
        "left_at",
        (Population.LEFT_HIGH_RISK_AREA, Population.LEFT_MEDIUM_RISK_AREA),
    )


def quarantine_orders(
    store: Store,
    day: date,
    policy: Policy,
    contacts: pl.DataFrame,
    departures: pl.DataFrame | None = None,
    *,
    scenario: Scenario = LIVE,
) -> pl.DataFrame:
    """Orders for the day's traced contacts (CONTACT_SCHEMA) and for the people who left a high-
    or medium-risk area (DEPARTURE_SCHEMA, found by zoning or declared), in one pass over the
    store: close contacts under the policy's close-contact regime, secondary contacts under its
    secondary-contact regime, people who left an area under the regime for that level (none
    where the policy does not manage the population), counted from the exposure or the
    departure; risk persons (时空伴随) get an assessment. A person traced several times counts
    once: as a close contact if they are one, from their latest exposure of that tier; an
    unknown exposure counts as the run day. Someone traced today who also left an area is
    tracing's (the tier decides), not counted again as leaving it."""
    checked = check_contacts(contacts)
    traced = _contacts_exposed(checked)
    people = traced
    if departures is not None:
        left = _departures_exposed(departures).join(
            checked.select(pl.col("contact_person_id").alias("person_id")),
            on="person_id",
            how="anti",
        )
        people = pl.concat([traced, left])
    quarantine = issue_quarantine(
        store, day, policy, _people(store, day, policy, people), scenario=scenario
    )
    return pl.concat([quarantine, _assessments(day, policy, checked, traced)])


def _assessments(
    day: date, policy: Policy, contacts: pl.DataFrame, quarantined: pl.DataFrame
) -> pl.DataFrame:
    """`assess` for the risk persons (时空伴随) of the day who are not also close or secondary
    contacts: an epidemiologist assesses them; no quarantine is ordered by co-presence alone."""
    risk = (
        contacts.filter(pl.col("tier") == ContactTier.RISK_PERSON.value)
        .sort("exposed_at", descending=True, nulls_last=True)
        .unique("contact_person_id", keep="first", maintain_order=True)
        .rename({"contact_person_id": "person_id"})
        .join(quarantined.select("person_id"), on="person_id", how="anti")
    )
    return orders_from(
        risk,
        OrderType.ASSESS,
        start_at=day_start(day),
        detail=pl.lit(ContactTier.RISK_PERSON.value),
        rule="quarantine.risk_person",
        policy_id=policy.id,
        reason=pl.format(
            "at a venue with a case (last {}) in a category where co-presence is not a close"
            " contact: to be assessed",
            pl.col("exposed_at").dt.strftime("%Y-%m-%d %H:%M"),
        ),
    )


def departure_quarantine_orders(
    store: Store,
    day: date,
    policy: Policy,
    departures: pl.DataFrame,
    *,
    scenario: Scenario = LIVE,
) -> pl.DataFrame:
    """Orders for people who left a high- or medium-risk area (DEPARTURE_SCHEMA) alone:
    `quarantine_orders` with no contact."""
    return quarantine_orders(store, day, policy, empty_contacts(), departures, scenario=scenario)


def _conversions(
    policy: Policy, cases: pl.DataFrame, began: pl.DataFrame, results: pl.DataFrame
) -> pl.DataFrame:
    """`convert` for people under quarantine (`began`) who are cases or have a positive single
    tube."""
    by_case = (
        active_cases(cases)
        .join(began.select("person_id"), on="person_id", how="semi")
        .select("person_id", pl.col("case_since").alias("at"), pl.lit("case report").alias("what"))
    )
    by_test = (
        results.join(began, on="person_id")
        .filter(
            (pl.col("members") == 1)
            & (pl.col("reported_at") >= pl.col("began"))
            & positive(pl.col("cut"))
        )
        .select(
            "person_id",
            pl.col("reported_at").alias("at"),
            pl.format("positive single-tube result, Ct {}", pl.col("ct_value").fill_null(-1))
            .str.replace("Ct -1.0", "no Ct", literal=True)
            .alias("what"),
        )
    )
    evidence = (
        pl.concat([by_case, by_test])
        .sort("at")
        .unique("person_id", keep="first")
        .join(began, on="person_id")
    )
    return orders_from(
        evidence,
        OrderType.CONVERT,
        start_at=pl.max_horizontal("at", "began"),
        detail="what",
        rule="quarantine.convert",
        policy_id=policy.id,
        reason=pl.format("positive under quarantine ({}): the quarantine ends", "what"),
    )


def _test_days(phases: pl.DataFrame, results: pl.DataFrame, tests: pl.DataFrame) -> pl.DataFrame:
    """Per ended phase (person_id, detail): `gaps`, its test days (of the stored `tests`
    orders) with no negative result (null when none), `gap_from`, the first of them, and
    `late`, those covered by a later test."""
    neg = results.filter(
        pl.col("result").is_in(["negative", "positive"]) & negative(pl.col("cut"))
    ).select("person_id", "sampled_at", pl.col("sampled_at").dt.date().alias("d"))
    tests = (
        tests.join(
            phases.select("person_id", "run_day", "detail", "start_at", "end_at", "last_start"),
            on="person_id",
            suffix="_phase",
        )
        .filter(  # the tests of this schedule (an extension's replace those before it)
            (pl.col("start_at") >= pl.col("start_at_phase"))
            & (pl.col("start_at") < pl.col("end_at"))
            & (pl.col("run_day") >= pl.col("run_day_phase"))
        )
        .rename({"detail": "test", "detail_phase": "detail"})
    )
    on_time = pl.col("d") == pl.col("start_at").dt.date()
    met = tests.join(neg, on="person_id").filter(
        on_time | (pl.col("sampled_at") >= pl.col("last_start"))
    )
    key = ["person_id", "start_at"]

    def unmet(rows: pl.DataFrame, name: str) -> pl.DataFrame:
        return (
            tests.join(rows.select(key).unique(), on=key, how="anti")
            .group_by("person_id", "detail")
            .agg(
                pl.col("test").sort().str.join(", ").alias(name),
                pl.col("start_at").min().alias(f"{name}_from"),
            )
        )

    return unmet(met, "gaps").join(
        unmet(met.filter(on_time), "late"), on=["person_id", "detail"], how="full", coalesce=True
    )


@dataclass(frozen=True)
class ReleaseFacts(Facts):
    """What the release and conversion rule reads (`release_rule`), one frame per kind:

    - `schedules`: the phases of every open quarantine at the start of the day
      (SCHEDULE_SCHEMA: `schedule.open_schedules`);
    - `cases`: the latest case episode of the people under quarantine (CASE_SCHEMA);
    - `results`: their samples since the earliest start of their quarantines, each with its
      tube's latest result (RESULT_SCHEMA: `treatment.person_results`);
    - `tests`: the test orders stored from then on for those of them with a phase ending by the
      day's end (TEST_ORDER_SCHEMA: `schedule.stored_tests`).
    """

    schedules: pl.DataFrame
    cases: pl.DataFrame
    results: pl.DataFrame
    tests: pl.DataFrame

    SCHEMAS: ClassVar[dict[str, dict[str, pl.DataType]]] = {
        "schedules": SCHEDULE_SCHEMA,
        "cases": CASE_SCHEMA,
        "results": RESULT_SCHEMA,
        "tests": TEST_ORDER_SCHEMA,
    }


def _held(policy: Policy, schedules: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The phases not yet released of the open quarantines whose population `policy` no longer
    quarantines (class-B management ends them all; the twenty measures end the quarantine of
    secondary contacts), and the schedules of everyone else: the rule decides on those, and
    the loader reads their results and tests (one definition for both)."""
    lifted = [p.value for p in Population if policy.regime(p) is None]
    ended = schedules.filter(pl.col("population").is_in(lifted) & ~pl.col("released"))
    rest = schedules.join(ended.select("person_id").unique(), on="person_id", how="anti")
    return ended, rest


def load_release_facts(
    store: Store, day: date, policy: Policy, *, scenario: Scenario = LIVE
) -> ReleaseFacts:
    """The facts of the day's releases and conversions from the store (`ReleaseFacts`): the
    results and test orders of the people still held only."""
    schedules = open_schedules(store, day, scenario=scenario)
    held = _held(policy, schedules)[1]
    if held.height == 0:
        return ReleaseFacts.of(schedules=schedules)
    ids = ids_of(held.get_column("person_id"))
    since = held.get_column("start_at").min()  # the earliest start of a quarantine
    # the test orders of the people with a phase ending, from then, or from the day's start
    # when every quarantine starts later (a make-up test is not ordered beside one already
    # ordered for the day)
    tests_since = min(since, day_start(day))  # type: ignore[type-var]
    ending = ids_of(_ending(held, day).get_column("person_id"))
    return ReleaseFacts.of(
        schedules=schedules,
        cases=case_state(store, day, ids, scenario=scenario),
        results=person_results(store, day, ids, since),
        tests=stored_tests(store, day, ending, tests_since, scenario=scenario)
        if ending
        else pl.DataFrame(schema=TEST_ORDER_SCHEMA),
    )


def _ending(schedules: pl.DataFrame, day: date) -> pl.DataFrame:
    """The phases not yet released whose end has come by the end of `day`: the rule releases or
    holds them, and the loader reads the test orders of their people (one definition for
    both)."""
    return schedules.filter(~pl.col("released") & (pl.col("end_at") <= day_bounds(day)[1]))


def release_and_conversion_orders(
    store: Store, day: date, policy: Policy, *, scenario: Scenario = LIVE
) -> pl.DataFrame:
    """`convert` for people under quarantine found positive; `release` of each phase whose last
    day has come and whose test days all have a negative result; a make-up `test` where a
    result is missing (the release waits for it). See the module docstring. `release_rule`
    over `load_release_facts`."""
    return release_rule(load_release_facts(store, day, policy, scenario=scenario), day, policy)


def release_rule(facts: ReleaseFacts, day: date, policy: Policy) -> pl.DataFrame:
    """The releases, conversions and make-up tests of `day` from `facts` (the module
    docstring gives the rules). Reads no store."""
    if facts.schedules.height == 0:
        return empty_orders()
    start, end = day_bounds(day)
    ended, sched = _held(policy, facts.schedules)
    lifted = _lifted(day, policy, ended)
    if sched.height == 0:
        return check_orders(lifted)
    inbound = (pl.col("population") == Population.INBOUND_TRAVELLER.value).any()
    began = sched.group_by("person_id").agg(
        pl.col("start_at").min().alias("began"),
        pl.when(inbound)
        .then(policy.testing.inbound_positive_ct_below)
        .otherwise(policy.testing.positive_ct_below)
        .cast(pl.Float64)
        .alias("cut"),
    )
    results = facts.results.join(began, on="person_id")
    converts = _conversions(policy, facts.cases, began, results)
    phases = (
        sched.join(converts.select("person_id"), on="person_id", how="anti")
        .sort("person_id", "start_at")
        .with_columns(pl.col("detail").shift(-1).over("person_id").alias("next"))
        .pipe(_ending, day)
        .with_columns(pl.col("end_at").dt.offset_by("-1d").alias("last_start"))
    )
    gaps = _test_days(phases, results, facts.tests)
    phases = (
        phases.join(gaps, on=["person_id", "detail"], how="left")
        .sort("person_id", "start_at")
        .with_columns(pl.col("gaps").is_null().cast(pl.Int8).alias("ok"))
        .with_columns((pl.col("ok").cum_min().over("person_id") == 1).alias("go"))
    )
    release = orders_from(
        phases.filter(pl.col("go")),
        OrderType.RELEASE,
        start_at=pl.max_horizontal("end_at", pl.lit(start).cast(TIME)),
        place="place",
        detail="detail",
        rule="quarantine.release",
        policy_id=policy.id,
        reason=pl.format("{} over, its tests negative; ", "detail")
        + pl.when(pl.col("next").is_null())
        .then(pl.lit("quarantine ends"))
        .otherwise(pl.lit("next: ") + pl.col("next"))
        + pl.when(pl.col("late").is_not_null())
        .then(pl.format(" ({} not taken on the day: covered by a later test)", "late"))
        .otherwise(pl.lit("")),
    )
    held = phases.filter(~pl.col("go")).unique("person_id", keep="first", maintain_order=True)
    awaited = (
        results.filter(pl.col("result").is_null())
        .join(held.select("person_id", "gaps_from"), on="person_id")
        .filter(pl.col("sampled_at") >= pl.col("gaps_from"))
    )
    today = facts.tests.filter(pl.col("start_at") == start)
    makeup = orders_from(
        held.join(awaited.select("person_id"), on="person_id", how="anti").join(
            today.select("person_id"), on="person_id", how="anti"
        ),
        OrderType.TEST,
        start_at=start,
        end_at=end,
        place="place",
        detail=pl.format("make-up for {}", "gaps"),
        rule=_HELD_RULE,
        policy_id=policy.id,
        reason=pl.format(
            "release of {} held: no negative result for {}; a make-up test counts for them",
            "detail",
            "gaps",
        ),
    )
    if held.height:
        log.info("%d releases held for missing test results", held.height)
    return check_orders(pl.concat([lifted, converts, release, makeup]))


_HELD_RULE = "quarantine.release_held"


def without_replaced(orders: pl.DataFrame) -> pl.DataFrame:
    """A run's orders (ORDER_SCHEMA) without the releases and make-up tests of the schedules
    its extensions replace: an `extend` replaces the person's schedule from the run day on, so
    a phase of it ending that day is not released (its release, issued beside the extension
    from the same state at the start of the day, would release the extension's phase of the
    same kind) and needs no make-up test."""
    extended = orders.filter(pl.col("order_type") == OrderType.EXTEND.value).select("person_id")
    if extended.height == 0:
        return orders
    replaced = (pl.col("order_type") == OrderType.RELEASE.value) | (
        (pl.col("order_type") == OrderType.TEST.value) & (pl.col("rule") == _HELD_RULE)
    )
    gone = replaced & pl.col("person_id").is_in(extended.get_column("person_id").implode())
    return orders.filter(~gone)


def _lifted(day: date, policy: Policy, phases: pl.DataFrame) -> pl.DataFrame:
    """`release` today of the `phases` of the quarantines `policy` no longer orders (`_held`):
    the quarantine ends with the regime."""
    if phases.height:
        log.info(
            "%d quarantines end: policy %s no longer quarantines them", phases.height, policy.id
        )
    return orders_from(
        phases,
        OrderType.RELEASE,
        start_at=day_start(day),
        place="place",
        detail="detail",
        rule="quarantine.regime_lifted",
        policy_id=policy.id,
        reason=pl.format(
            "policy {} quarantines no {}: the quarantine ends",
            pl.lit(policy.id),
            pl.col("population").str.replace_all("_", " "),
        ),
    )
