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

Everything is set-based SQL on the store (both backends); the check-in route is a semi-join of
all check-ins on the venues the cases visited, then an interval overlap within each venue.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import polars as pl

from fangkong.engine.frames import ZONE, day_bounds, named
from fangkong.engine.orders import CONTACT_SCHEMA, TIME, check_contacts, empty_contacts
from fangkong.engine.scenario import LIVE, Scenario, Watermarks, watermarks
from fangkong.engine.state import kept_day
from fangkong.engine.tracing_sql import ROUTE_PRECEDENCE, cases_sql, trace_sql
from fangkong.model.glossary import ContactTier, Setting
from fangkong.policy import Policy, policy_in_force
from fangkong.store.base import Store

__all__ = [
    "CASE_SCHEMA",
    "ROUTE_PRECEDENCE",
    "cases_to_trace",
    "trace_contacts",
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
    (default: the latest isolated_at of the cases)."""
    if cases.height == 0:
        return empty_contacts()
    rules = policy.contacts
    if rules is None:  # class-B management: no contact is designated
        log.info("policy %s traces no contacts: %d cases", policy.id, cases.height)
        return empty_contacts()
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
    secondary = rules.secondary_contacts_identified and bool(rules.secondary_contact_settings)
    secondary_settings = [s.value for s in rules.secondary_contact_settings or ()]
    sql = trace_sql(
        scenario,
        household=rules.household_always_close,
        secondary=secondary,
        secondary_household=Setting.HOUSEHOLD.value in secondary_settings,
        kept=kept_day(store, scenario),
    )
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
        **scenario.params(),
    }
    found = store.fetch(sql, named(sql, params))
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
        per_person.height,
        policy.id,
        out.filter(pl.col("tier") == ContactTier.CLOSE.value).height,
        out.filter(pl.col("tier") == ContactTier.SECONDARY.value).height,
    )
    return out
