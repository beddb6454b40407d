"""`run_day`: one day of the control chain, as the command centre runs it at the end of the day.

Call order (each step reads the store's events, the derived rows of the scenario's earlier days,
and what the steps before it wrote in this run):

1. testing      pooled tubes: temporary control, retests, lab positives reported (each report
                becomes a derived case event: `fangkong.engine.registry`), releases
2. tracing      the case episodes opened on the day, or new to this run (late reports) →
                close (and, where the policy says so, secondary) contacts and risk persons;
                contacts who live in another region → assistance requests (协查)
3. quarantine   orders for the traced contacts (phases and test days of the policy); releases
                and conversions of people already in quarantine
4. treatment    new case episodes admitted by severity; escalations; discharges (each a derived
                outcome event) and monitoring; under a policy without isolation (class B), the
                cases still admitted discharged (no outcome derived)
5. border       arrivals (of the day, and earlier ones new to this run): closed-loop transfer and
                the inbound regime; the flight circuit breaker
6. facilities   centralized phases get rooms; occupancy and when capacity runs out
7. colours      each person's latest negative test kept (`engine.negatives`); health-code
                colours of the people whose facts changed (`engine.colours`)
8. certificates arrivals' foreign certificates (EU DCC) checked (`engine.certificates`)

Between tracing and quarantine, the risk areas of the day are drawn (`fangkong.engine.zones`, or
kept from the previous run when nothing new can change them: `fangkong.engine.zones_kept`;
stored in `risk_area`, with the measures of their levels in `area_measure`: residents confined,
venues closed or restricted, `fangkong.engine.zones_measures`; the swabs of the negative
round an area's lowering waits for are ordered the day before it is due), and the people who
stayed in or left a high- or medium-risk area (`fangkong.engine.zones_departures`) get the
policy's orders for them; a contact of the day is quarantined as a contact instead.

A day with nothing to do — nothing imported since the previous run, no open state, no event
falling due (`fangkong.engine.idle`) — is recorded without running the steps: what they would
write is nothing.

Everything runs in one transaction, for one scenario (`fangkong.engine.scenario`): the run first
removes what an earlier run of the same day wrote in that scenario, so a day can be run again
(after late events) and gives the same ids for the same orders, and then records the run and
the newest import batch it saw. Every order carries the rule and the policy that made it.

Runs of one scenario in one store take turns (`run_lock`, `Store.exclusive`): a second run of
live waits for the first to commit, then runs on what it wrote (two at once wrote a day's rows
twice on the embedded store, and failed on PostgreSQL's keys). Runs of other scenarios (a what-if
beside live operations) go on together. A run reads one snapshot of the store from its start:
an import committed while it runs is not half seen (on PostgreSQL, whose default isolation
shows each statement what was committed before it, the steps after the watermarks saw an import
the watermarks did not count, and the next run traced its cases again); it is the next run's.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from fangkong.credential.verify import Verifier
from fangkong.engine.assistance import (
    assistance_rule,
    no_one_away,
    no_requests,
    received_requests,
    residents_away,
)
from fangkong.engine.border import border_orders
from fangkong.engine.certificates import store_certificate_checks
from fangkong.engine.colours import store_colours
from fangkong.engine.episode import keep_episodes, refresh_episodes
from fangkong.engine.facility import (
    OCCUPANCY_SCHEMA,
    assign_facilities,
    empty_occupancy,
    keep_placements,
    placements,
)
from fangkong.engine.frames import ids_of
from fangkong.engine.idle import idle_day
from fangkong.engine.negatives import keep_negatives
from fangkong.engine.orders import (
    CONTACT_SCHEMA,
    check_contacts,
    check_orders,
    concat_orders,
    empty_contacts,
    empty_orders,
    with_order_ids,
)
from fangkong.engine.quarantine import (
    quarantine_orders,
    release_and_conversion_orders,
    without_replaced,
)
from fangkong.engine.registry import EVENT_SCHEMA, derived_outcomes, derived_reports, store_events
from fangkong.engine.scenario import LIVE, Scenario, Watermarks, record_run, watermarks
from fangkong.engine.schedule import keep_schedules, open_schedules
from fangkong.engine.state import forget_later, kept_state, note_orders, note_watermarks
from fangkong.engine.testing import pooled_testing_orders
from fangkong.engine.tracing import cases_to_trace, trace_contacts
from fangkong.engine.treatment import isolation_lifted, load_treatment_facts, treatment_rule
from fangkong.engine.zones import store_areas
from fangkong.engine.zones_departures import area_departures
from fangkong.engine.zones_kept import areas_of_run
from fangkong.engine.zones_measures import (
    load_measure_facts,
    measures_rule,
    round_rule,
    store_measures,
)
from fangkong.policy import Policy, policy_in_force
from fangkong.store.base import Store

__all__ = ["DERIVED_TABLES", "JURISDICTION_ENV", "DayResult", "run_day", "run_lock"]

log = logging.getLogger(__name__)

# The province (2 digits) or city (4 digits) prefix of the region codes this instance governs:
# contacts living elsewhere become assistance requests. Unset: every contact is local.
JURISDICTION_ENV = "FANGKONG_JURISDICTION"


# the derived tables a run of a day replaces, in its scenario (deleted without asking first
# whether it holds rows of the day: in DuckDB asking costs more than the deletes)
DERIVED_TABLES = (
    "engine_order",
    "traced_contact",
    "engine_case_event",
    "engine_episode",
    "engine_state",
    "engine_schedule",
    "risk_area",
    "area_measure",
    "engine_negative",
    "certificate_check",
)


@dataclass(frozen=True)
class DayResult:
    day: date
    policy_id: str
    orders: pl.DataFrame  # engine_order rows of the day
    contacts: pl.DataFrame  # traced_contact rows of the day
    events: pl.DataFrame  # engine_case_event rows of the day (derived reports and outcomes)
    occupancy: pl.DataFrame  # per facility: capacity, occupied, free, forecast
    cases: int  # new cases traced
    unmatched_requests: pl.DataFrame  # assistance requests received for no known resident
    # the day had nothing to do (`fangkong.engine.idle`): the steps did not run, and the run
    # wrote only its record
    idle: bool = False

    def counts(self) -> pl.DataFrame:
        """Orders of the day by type and rule."""
        return self.orders.group_by("order_type", "rule").len("orders").sort("order_type", "rule")


def run_lock(scenario: str) -> str:
    """The name a run of the engine in `scenario` holds in its store (`Store.exclusive`)."""
    return f"fangkong.run/{scenario}"


def run_day(
    store: Store,
    day: date,
    policy: Policy | None = None,
    *,
    jurisdiction: str | None = None,
    scenario: Scenario = LIVE,
    verifier: Verifier | None = None,
    skip_idle: bool = True,
    report_occupancy: bool = True,
) -> DayResult:
    """Derive and store every order of `day` under `policy` (default: the policy in force), in
    `scenario` (default: live). `verifier` checks arrivals' foreign certificates (without it
    they are recorded unchecked). A day with nothing to do (`fangkong.engine.idle`) is recorded
    without running the steps, unless `skip_idle` is False (the same rows either way).
    `report_occupancy` False: the caller does not read the facilities' occupancy, which a day with
    nothing to do then leaves empty instead of reading it (a full run finds it placing people,
    and returns it either way)."""
    policy = policy or policy_in_force(day)
    prefix = jurisdiction if jurisdiction is not None else os.environ.get(JURISDICTION_ENV)
    with store.exclusive(run_lock(scenario.name)), kept_state(store, scenario, day):
        marks = watermarks(store, scenario, day)
        note_watermarks(store, scenario, day, marks)
        if skip_idle and idle_day(store, scenario, day, policy, marks):
            return _idle(store, scenario, day, policy, marks, report_occupancy=report_occupancy)
        for name in DERIVED_TABLES if marks.rerun else ():
            store.execute(
                f"DELETE FROM {name} WHERE scenario = :s AND run_day = :d",
                {"s": scenario.name, "d": day},
            )
        changed = keep_episodes(store, scenario, day, marks)
        testing = pooled_testing_orders(store, day, policy, scenario=scenario, marks=marks)
        reports = derived_reports(store, testing, policy, scenario, day)
        store_events(store, reports)
        derived = ids_of(reports.get_column("person_id"))
        refresh_episodes(store, scenario, day, derived)
        cases = cases_to_trace(
            store,
            day,
            policy,
            scenario=scenario,
            marks=marks,
            people=None if changed is None else [*changed, *derived],
        )
        contacts = check_contacts(trace_contacts(store, cases, policy, scenario=scenario))
        # the contacts living outside the jurisdiction: read once, for their requests (协查)
        # and to leave them out of the local orders
        away = residents_away(store, contacts, prefix) if prefix else no_one_away()
        assist = assistance_rule(contacts, away, prefix) if prefix else empty_orders()
        local = contacts.filter(
            ~pl.col("contact_person_id").is_in(away.get_column("person_id").implode())
        )
        received, unmatched = _received(store, day, policy, prefix, marks)
        areas = areas_of_run(store, day, policy, scenario=scenario, marks=marks)
        # a traced contact who left an area is tracing's, here or (living elsewhere) in the
        # assistance request to their region
        departures = area_departures(
            store, day, policy, areas, scenario=scenario, marks=marks
        ).filter(~pl.col("person_id").is_in(contacts.get_column("contact_person_id").implode()))
        care = load_treatment_facts(store, day, policy, scenario=scenario)
        # the areas' measures and the rounds they wait for, from one read of their facts
        measure_facts = load_measure_facts(store, day, policy, areas, scenario=scenario)
        treatment = treatment_rule(care, day, policy)
        outcomes = derived_outcomes(store, treatment, scenario, day)
        orders = concat_orders(
            [
                testing,
                assist,
                quarantine_orders(
                    store, day, policy, pl.concat([local, received]), departures, scenario=scenario
                ),
                release_and_conversion_orders(store, day, policy, scenario=scenario),
                treatment,
                isolation_lifted(care, day, policy),
                border_orders(store, day, policy, scenario=scenario, marks=marks),
                round_rule(measure_facts, day, policy),
            ]
        )
        orders, occupancy = assign_facilities(
            store, without_replaced(orders), day, policy.facilities, scenario=scenario
        )
        stored, traced = _rows_of_run(orders, contacts, scenario, day)
        store_events(store, outcomes)
        refresh_episodes(store, scenario, day, ids_of(outcomes.get_column("person_id")))
        _keep_people(store, scenario, day)
        if stored.height:
            store.insert_frame("engine_order", stored)
        note_orders(store, scenario, stored)
        if traced.height:
            store.insert_frame("traced_contact", traced)
        store_areas(store, areas, day, scenario)
        store_measures(store, measures_rule(measure_facts, policy), day, scenario)
        keep_negatives(store, day, scenario, marks)
        _, held_from = store_colours(
            store, day, policy, scenario=scenario, marks=marks, areas=areas
        )
        store_certificate_checks(store, day, scenario=scenario, marks=marks, verifier=verifier)
        record_run(store, scenario, day, policy.id, marks, held_from)
        forget_later(store, scenario, day, marks)
    log.info(
        "%s under %s in %s: %d cases, %d orders",
        day,
        policy.id,
        scenario.name,
        cases.height,
        stored.height,
    )
    events = pl.concat([reports, outcomes])
    return DayResult(day, policy.id, stored, traced, events, occupancy, cases.height, unmatched)


def _rows_of_run(
    orders: pl.DataFrame, contacts: pl.DataFrame, scenario: Scenario, day: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The run's orders and traced contacts as the rows `engine_order` and `traced_contact`
    store."""
    stored = with_order_ids(orders, day).with_columns(pl.lit(scenario.name).alias("scenario"))
    traced = contacts.select(
        pl.lit(scenario.name).alias("scenario"), pl.lit(day).alias("run_day"), *CONTACT_SCHEMA
    )
    return stored, traced


def _idle(
    store: Store,
    scenario: Scenario,
    day: date,
    policy: Policy,
    marks: Watermarks,
    *,
    report_occupancy: bool,
) -> DayResult:
    """The run of a day with nothing to do: its record (no health-code row holds a reason the
    next run asks again), and what a full run of it returns: no row, and the facilities'
    occupancy (when asked for: `run_day`)."""
    beds = (
        empty_occupancy(store, day, policy.facilities, scenario=scenario)
        if report_occupancy
        else pl.DataFrame(schema=OCCUPANCY_SCHEMA)
    )
    record_run(store, scenario, day, policy.id, marks, day + timedelta(days=1))
    log.info("%s under %s in %s: nothing to do", day, policy.id, scenario.name)
    stored, traced = _rows_of_run(check_orders(empty_orders()), empty_contacts(), scenario, day)
    events = pl.DataFrame(schema=EVENT_SCHEMA)
    return DayResult(day, policy.id, stored, traced, events, beds, 0, no_requests(), True)


def _keep_people(store: Store, scenario: Scenario, day: date) -> None:
    """Record the open quarantines and who is in a facility at the start of the day (as the
    run read them: `fangkong.engine.state`)."""
    keep_schedules(store, scenario, day, open_schedules(store, day, scenario=scenario))
    keep_placements(store, scenario, day, placements(store, day, scenario=scenario))


def _received(
    store: Store, day: date, policy: Policy, prefix: str | None, marks: Watermarks
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Assistance requests received from other regions on `day`, as contacts to quarantine here
    (those matched to a resident), and the unmatched ones, for the epidemiologists to find."""
    requests = received_requests(store, day, prefix, marks=marks)
    matched = requests.filter(pl.col("person_id").is_not_null())
    contacts = matched.select(
        pl.lit(None, dtype=pl.Int64).alias("case_person_id"),
        pl.col("person_id").alias("contact_person_id"),
        "tier",
        "via",
        "exposed_at",
        pl.lit("tracing.assistance.received").alias("rule"),
        pl.lit(policy.id).alias("policy_id"),
    )
    return check_contacts(contacts), requests.filter(pl.col("person_id").is_null())
