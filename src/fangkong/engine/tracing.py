"""Tracing (流调): the day's new cases and their close (密接) and secondary (次密接) contacts.

    cases = cases_to_trace(store, day)                  # one row per case newly positive on day
    contacts = trace_contacts(store, cases, policy)     # CONTACT_SCHEMA rows

The rules, as the engine applies them (`fangkong.engine.tracing_sql` holds the SQL):

Exposure window
    From `anchor_at - contacts.exposure_window_days` to `isolated_at` (the report: a reported case
    is isolated). `anchor_at` is the case episode's onset date at 00:00 when it has one, else
    the sampling time of the episode's *first* positive sample (not a later single-tube retest:
    the infection was there when the first positive swab was taken), else the report itself.
    Under cn-2022-06-28 the window opens 4 days before onset, under cn-2020-04-08 2 days.

Close contacts (tier `close`), by four routes
    household   everyone else with the case's household_id, when `household_always_close`;
                exposed until the case is isolated (exposed_at = isolated_at).
    declared    a declared_contact row naming the case on either side (a contact is mutual),
                whose setting is in `close_contact_settings`, and whose contact period
                [first_contact_at (or last_contact_at), last_contact_at] meets the window;
                exposed_at = last_contact_at, at most isolated_at. Setting `other` is in no
                policy's list: the policy leaves it to the epidemiologist, who records the
                contact again with the setting they judge it to be.
    co_travel   the same train or flight: trips with the same service and service date, and
                inbound arrivals with the same flight number landing at most
                `same_flight_within_hours` apart (12: a flight number is flown at most once a
                day, and 12 hours keep a flight that lands around midnight whole). On a
                flight, both seat rows known and at most `co_travel_seat_rows` apart; on a
                train (a trip with a `carriage`), the same carriage, which counts whole. The
                case's departure or arrival in the window; exposed_at = the case's departure
                (arrival).
    venue       check-ins (场所码) at the same venue whose presence overlaps the case's within
                the window. A presence is [checkin_at, checkout_at or checkin_at]; the case's is
                widened by `venue_copresence_minutes` on both sides, so two scans without
                checkout count when they are at most that many minutes apart. exposed_at = the
                end of the co-presence (the widening counted as presence), at most isolated_at.
                Only at venues of a category in `venue_close_contact_categories` (an enclosed
                entertainment venue, say) is co-presence a close contact.
    A person found by several routes is one row with the latest exposure and the strongest
    route, in this order: household, declared, co_travel, venue (a shared home is continuous
    exposure; a declared contact was confirmed by an investigator; a seat row is a fixed
    distance for hours; a venue overlap is the weakest signal).

Secondary contacts (tier `secondary`), when `secondary_contacts_identified`
    Of each close contact (case_person_id = the close contact): their household (when
    `household` is in `secondary_contact_settings`) and their declared contacts with a setting in
    that list, from the close contact's first exposure to `now` (default: the latest isolated_at
    of the cases: the moment tracing knows of); household members are exposed until `now`.
    Same precedence, household before declared.

Risk persons (tier `risk_person`, 时空伴随)
    Co-presence with a case at a venue whose category is not in `venue_close_contact_categories`
    (a supermarket, an open-air park): the person is for an epidemiologist to assess, not a
    close contact. Someone who is a close contact of any case of the run is not also a risk
    person.

Who is not a contact
    A case is not a contact: the persons being traced, and everyone with a case episode active
    at `now` (`fangkong.engine.episode`: cured, released or withdrawn episodes are not). A close
    contact (of any case of the run) is not also a secondary contact.

Everything is set-based SQL (both backends); the check-in route is a semi-join of all
check-ins on the venues the cases visited, then an interval overlap within each venue.

The rule and where it runs (issue 6, item 5): the other steps load their facts as frames and
decide in Python; tracing's rule is one SQL statement (`tracing_sql.trace_sql`), and it runs
where its facts are. The daily run runs it on the store's tables (`trace_contacts`): a city's
weeks of check-ins stay there, and only the rows the windows select are read. A caller holding
its own facts (a simulator's day, a test) runs the same statement over its frames
(`trace_rule` with `TraceFacts`), registered in DuckDB under the tables' names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import duckdb
import polars as pl

from fangkong.engine.facts import Facts
from fangkong.engine.frames import ZONE, day_bounds, named
from fangkong.engine.orders import CONTACT_SCHEMA, TIME, check_contacts, empty_contacts
from fangkong.engine.scenario import LIVE, Scenario, Watermarks, watermarks
from fangkong.engine.state import kept_day
from fangkong.engine.tracing_sql import ROUTE_PRECEDENCE, cases_sql, trace_sql
from fangkong.model.glossary import ContactTier, Setting
from fangkong.policy import Policy, policy_in_force
from fangkong.policy.schema import Contacts
from fangkong.store.base import Store
from fangkong.store.embedded import fetch_over_frames

__all__ = [
    "CASE_SCHEMA",
    "ROUTE_PRECEDENCE",
    "TraceFacts",
    "cases_to_trace",
    "trace_contacts",
    "trace_rule",
]

log = logging.getLogger(__name__)

CASE_SCHEMA: dict[str, pl.DataType] = {
    "case_person_id": pl.Int64(),
    "case_id": pl.String(),
    "anchor_at": TIME,  # onset 00:00, else latest sampling before the report, else the report
    "isolated_at": TIME,  # the report: exposure of others ends here
}


def _conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    if frame.height == 0:
        return pl.DataFrame(schema=schema)
    return frame.select(
        (
            pl.col(c).dt.convert_time_zone(ZONE).cast(t)
            if isinstance(t, pl.Datetime)
            else pl.col(c).cast(t)
        )
        for c, t in schema.items()
    )


def cases_to_trace(
    store: Store,
    day: date,
    policy: Policy | None = None,
    *,
    scenario: Scenario = LIVE,
    marks: Watermarks | None = None,
    people: list[int] | None = None,
) -> pl.DataFrame:
    """One row per case episode to trace on `day` (0-24h Asia/Shanghai): opened on the day, or
    opened earlier and new to this run (a late report; see `fangkong.engine.scenario`), and not
    withdrawn by the day's end. Columns CASE_SCHEMA; the anchor is the episode's onset, else
    its first positive sample, else its report (`fangkong.engine.tracing_sql.cases_sql`).
    `people`: the only people whose episodes can be new to the run (the daily run knows them:
    those whose case events are new to it); None: anyone."""
    if people is not None and not people:
        return pl.DataFrame(schema=CASE_SCHEMA)
    policy = policy or policy_in_force(day)
    start, end = day_bounds(day)
    marks = marks or watermarks(store, scenario, day)
    params = {
        "start": start,
        "until": end,
        "day": day,
        "lookback": timedelta(days=policy.testing.repeat_positive_window_days),
        **marks.params(),
        **scenario.params(),
    }
    frame = store.fetch(cases_sql(scenario, kept_day(store, scenario)), params)
    return _conform(frame, CASE_SCHEMA).sort("case_person_id", "case_id")


@dataclass(frozen=True)
class TraceFacts(Facts):
    """What the tracing rule reads over frames (`trace_rule`), a relation per kind, with the
    store's columns of the same name:

    - `checkin`: venue-code scans; `venue`: the venues with their category;
    - `trip`: domestic trains and flights taken; `arrival`: inbound flights;
    - `declared_contact`: contacts named by a case or found by field investigation;
    - `home`: each person's household at the time tracing stands (`now`);
    - `active_case`: the people with a case episode active at `now` (they are not contacts).

    A caller may give only the rows that can matter (the cases' days at their venues and on
    their services; the cases' and contacts' households); the store's daily run does not load
    these but runs the same SQL on its tables (`trace_contacts`), where the check-ins of a
    city's weeks stay.
    """

    checkin: pl.DataFrame
    venue: pl.DataFrame
    trip: pl.DataFrame
    arrival: pl.DataFrame
    declared_contact: pl.DataFrame
    home: pl.DataFrame
    active_case: pl.DataFrame

    SCHEMAS: ClassVar[dict[str, dict[str, pl.DataType]]] = {
        "checkin": {
            "person_id": pl.Int64(),
            "venue_id": pl.Int64(),
            "checkin_at": TIME,
            "checkout_at": TIME,
        },
        "venue": {"venue_id": pl.Int64(), "category": pl.String()},
        "trip": {
            "person_id": pl.Int64(),
            "service": pl.String(),
            "service_date": pl.Date(),
            "departed_at": TIME,
            "seat_row": pl.Int16(),
            "carriage": pl.Int16(),
        },
        "arrival": {
            "person_id": pl.Int64(),
            "flight": pl.String(),
            "arrived_at": TIME,
            "seat_row": pl.Int16(),
        },
        "declared_contact": {
            "person_id": pl.Int64(),
            "contact_person_id": pl.Int64(),
            "setting": pl.String(),
            "first_contact_at": TIME,
            "last_contact_at": TIME,
        },
        "home": {"person_id": pl.Int64(), "household_id": pl.Int64()},
        "active_case": {"person_id": pl.Int64()},
    }
    OPTIONAL: ClassVar[dict[str, frozenset[str]]] = {
        "checkin": frozenset({"checkout_at"}),
        "trip": frozenset({"seat_row", "carriage"}),
        "arrival": frozenset({"flight", "seat_row"}),
        "declared_contact": frozenset({"first_contact_at"}),
    }


@dataclass(frozen=True)
class _Query:
    """The tracing query's switches and parameters for some cases under a policy's rules."""

    household: bool
    secondary: bool
    secondary_household: bool
    params: dict[str, Any]
    cases: int  # the case persons traced

    def sql(self, scenario: Scenario | None, kept: date | None = None) -> str:
        return trace_sql(
            scenario,
            household=self.household,
            secondary=self.secondary,
            secondary_household=self.secondary_household,
            kept=kept,
        )


def _query(cases: pl.DataFrame, rules: Contacts, now: datetime | None) -> _Query:
    """The query tracing `cases` (CASE_SCHEMA) under `rules`: one exposure window per case
    person, from the earliest anchor less the window to the latest isolation."""
    window = timedelta(days=rules.exposure_window_days)
    per_person = (
        cases.group_by("case_person_id")
        .agg(
            (pl.col("anchor_at") - window).min().alias("window_start"),
            pl.col("isolated_at").max().alias("window_end"),
        )
        .sort("case_person_id")
    )
    until = now if now is not None else cases.get_column("isolated_at").max()
    if not isinstance(until, datetime):
        raise ValueError("cases without isolated_at: cannot tell when tracing stands")
    secondary_settings = [s.value for s in rules.secondary_contact_settings or ()]
    params = {
        "case_ids": per_person.get_column("case_person_id").to_list(),
        "starts": per_person.get_column("window_start").to_list(),
        "ends": per_person.get_column("window_end").to_list(),
        "latest_end": per_person.get_column("window_end").max(),
        "earliest": per_person.select(
            pl.col("window_start").min() - timedelta(minutes=rules.venue_copresence_minutes)
        ).item(),
        "now": until,
        "tolerance": timedelta(minutes=rules.venue_copresence_minutes),
        "seat_rows": rules.co_travel_seat_rows,
        "same_flight": timedelta(hours=rules.same_flight_within_hours),
        "close_settings": [s.value for s in rules.close_contact_settings] or [""],
        "secondary_settings": secondary_settings or [""],
        "venue_close": [c.value for c in rules.venue_close_contact_categories] or [""],
    }
    return _Query(
        household=rules.household_always_close,
        secondary=rules.secondary_contacts_identified and bool(secondary_settings),
        secondary_household=Setting.HOUSEHOLD.value in secondary_settings,
        params=params,
        cases=per_person.height,
    )


def _contacts(found: pl.DataFrame, policy: Policy, cases: int) -> pl.DataFrame:
    """The query's rows as CONTACT_SCHEMA, each with its rule and policy, in a fixed order."""
    if found.height == 0:
        return empty_contacts()
    out = found.with_columns(
        pl.concat_str(pl.lit("tracing."), "tier", pl.lit("."), "via").alias("rule"),
        pl.lit(policy.id).alias("policy_id"),
    ).select(*CONTACT_SCHEMA)
    # sorted for reproducible output: by the integer keys first (a string key first is
    # several times slower on millions of rows)
    out = check_contacts(_conform(out, CONTACT_SCHEMA)).sort(
        "case_person_id", "contact_person_id", "tier"
    )
    log.info(
        "traced %d cases under %s: %d close, %d secondary contacts",
        cases,
        policy.id,
        out.filter(pl.col("tier") == ContactTier.CLOSE.value).height,
        out.filter(pl.col("tier") == ContactTier.SECONDARY.value).height,
    )
    return out


def _rules(cases: pl.DataFrame, policy: Policy) -> Contacts | None:
    """The policy's contact rules, or None when there is nothing to trace."""
    if cases.height == 0:
        return None
    if policy.contacts is None:  # class-B management: no contact is designated
        log.info("policy %s traces no contacts: %d cases", policy.id, cases.height)
    return policy.contacts


def trace_contacts(
    store: Store,
    cases: pl.DataFrame,
    policy: Policy,
    *,
    now: datetime | None = None,
    scenario: Scenario = LIVE,
) -> pl.DataFrame:
    """The close and (where the policy identifies them) secondary contacts of `cases` (a frame
    as `cases_to_trace` returns), as CONTACT_SCHEMA rows: one per (case, contact, tier), with
    the latest exposure and the strongest route. `now` bounds the secondary contacts' exposure
    (default: the latest isolated_at of the cases). The rule runs in the store, on its tables:
    the check-ins it needs are found there, not loaded."""
    rules = _rules(cases, policy)
    if rules is None:
        return empty_contacts()
    query = _query(cases, rules, now)
    sql = query.sql(scenario, kept_day(store, scenario))
    found = store.fetch(sql, named(sql, {**query.params, **scenario.params()}))
    return _contacts(found, policy, query.cases)


def trace_rule(
    facts: TraceFacts,
    cases: pl.DataFrame,
    policy: Policy,
    *,
    now: datetime | None = None,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> pl.DataFrame:
    """`trace_contacts` over a caller's frames, with no store: the same SQL, run by DuckDB on
    `facts` (each kind registered as the relation of its name). `cases` as `cases_to_trace`
    returns them (CASE_SCHEMA); `connection`: a DuckDB connection to reuse."""
    rules = _rules(cases, policy)
    if rules is None:
        return empty_contacts()
    query = _query(cases, rules, now)
    sql = query.sql(None)
    found = fetch_over_frames(sql, named(sql, query.params), facts.relations(), connection)
    return _contacts(found, policy, query.cases)
