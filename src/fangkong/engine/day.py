"""`run_day`: one day of the control chain, as the command centre runs it at the end of the day.

Call order (each step reads the store's events, and the orders stored by the days before):

1. testing      pooled tubes: temporary control, retests, lab positives reported, releases
2. tracing      the day's new cases → close (and, where the policy says so, secondary) contacts;
                contacts who live in another region → assistance requests (协查)
3. quarantine   orders for the traced contacts (phases and test days of the policy); releases
                and conversions of people already in quarantine
4. treatment    new cases admitted by severity; escalations; discharges and monitoring
5. border       arrivals: closed-loop transfer and the inbound regime; the flight circuit breaker
6. facilities   centralized phases get rooms; occupancy and when capacity runs out

The day's orders and traced contacts replace whatever an earlier run of the same day stored, in
one transaction, so a day can be run again (after late events) and gives the same ids for the
same orders. Every order carries the rule and the policy that made it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date

import polars as pl

from fangkong.engine.assistance import assistance_requests, received_requests, residents_away
from fangkong.engine.border import border_orders
from fangkong.engine.facility import assign_facilities
from fangkong.engine.orders import (
    CONTACT_SCHEMA,
    check_contacts,
    concat_orders,
    empty_orders,
    with_order_ids,
)
from fangkong.engine.quarantine import quarantine_orders, release_and_conversion_orders
from fangkong.engine.testing import pooled_testing_orders
from fangkong.engine.tracing import cases_to_trace, trace_contacts
from fangkong.engine.treatment import treatment_orders
from fangkong.policy import Policy, policy_in_force
from fangkong.store.base import Store

__all__ = ["JURISDICTION_ENV", "DayResult", "run_day"]

log = logging.getLogger(__name__)

# The province (2 digits) or city (4 digits) prefix of the region codes this instance governs:
# contacts living elsewhere become assistance requests. Unset: every contact is local.
JURISDICTION_ENV = "FANGKONG_JURISDICTION"


@dataclass(frozen=True)
class DayResult:
    day: date
    policy_id: str
    orders: pl.DataFrame  # engine_order rows of the day
    contacts: pl.DataFrame  # traced_contact rows of the day
    occupancy: pl.DataFrame  # per facility: capacity, occupied, free, forecast
    cases: int  # new cases traced
    unmatched_requests: pl.DataFrame  # assistance requests received for no known resident

    def counts(self) -> pl.DataFrame:
        """Orders of the day by type and rule."""
        return self.orders.group_by("order_type", "rule").len("orders").sort("order_type", "rule")


def run_day(
    store: Store,
    day: date,
    policy: Policy | None = None,
    *,
    jurisdiction: str | None = None,
) -> DayResult:
    """Derive and store every order of `day` under `policy` (default: the policy in force)."""
    policy = policy or policy_in_force(day)
    prefix = jurisdiction if jurisdiction is not None else os.environ.get(JURISDICTION_ENV)
    cases = cases_to_trace(store, day)
    contacts = check_contacts(trace_contacts(store, cases, policy))
    assist = assistance_requests(store, contacts, prefix) if prefix else empty_orders()
    away = _persons_away(store, contacts, prefix)
    local = contacts.filter(~pl.col("contact_person_id").is_in(away))
    received, unmatched = _received(store, day, policy, prefix)
    orders = concat_orders(
        [
            pooled_testing_orders(store, day, policy),
            assist,
            quarantine_orders(store, day, policy, pl.concat([local, received])),
            release_and_conversion_orders(store, day, policy),
            treatment_orders(store, day, policy),
            border_orders(store, day, policy),
        ]
    )
    orders, occupancy = assign_facilities(store, orders, day)
    stored = with_order_ids(orders, day)
    traced = contacts.select(pl.lit(day).alias("run_day"), *CONTACT_SCHEMA)
    with store.transaction():
        store.execute("DELETE FROM engine_order WHERE run_day = :d", {"d": day})
        store.execute("DELETE FROM traced_contact WHERE run_day = :d", {"d": day})
        if stored.height:
            store.insert_frame("engine_order", stored)
        if traced.height:
            store.insert_frame("traced_contact", traced)
    log.info("%s under %s: %d cases, %d orders", day, policy.id, cases.height, stored.height)
    return DayResult(day, policy.id, stored, traced, occupancy, cases.height, unmatched)


def _received(
    store: Store, day: date, policy: Policy, prefix: str | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Assistance requests received from other regions on `day`, as contacts to quarantine here
    (those matched to a resident), and the unmatched ones, for the epidemiologists to find."""
    requests = received_requests(store, day, prefix)
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


def _persons_away(store: Store, contacts: pl.DataFrame, prefix: str | None) -> list[int]:
    """The contacts whose residence is outside the jurisdiction (they get assistance requests,
    not local quarantine orders)."""
    if not prefix or contacts.height == 0:
        return []
    return [int(p) for p in residents_away(store, contacts, prefix).get_column("person_id")]
