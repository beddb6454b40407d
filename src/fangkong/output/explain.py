"""Why a person's status is what it is: the chain of events and of the rules that acted on them,
in time order — what a field worker shows the person concerned (the orders each name their rule
and policy; `fangkong policy show` gives the rule's source)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from fangkong.engine.frames import IDS, midnight, read
from fangkong.engine.orders import TIME
from fangkong.engine.scenario import LIVE, Scenario
from fangkong.engine.schedule import ISSUES
from fangkong.engine.zones import area_key
from fangkong.engine.zones_measures import RESIDENTS
from fangkong.errors import NotFoundError
from fangkong.model.glossary import OrderType
from fangkong.policy.terms import AreaUnit
from fangkong.store.base import Store
from fangkong.store.person_view import current_person

__all__ = ["STEP_SCHEMA", "explain_person"]

STEP_SCHEMA: dict[str, pl.DataType] = {
    "at": TIME,
    "what": pl.String(),  # event | order | contact | check
    "summary": pl.String(),
    "rule": pl.String(),
    "policy_id": pl.String(),
}

_QUERIES = {
    "case": (
        "SELECT reported_at AS at, 'event' AS what, 'case report ' || report_id || ': '"
        " || event_type || coalesce(' ' || diagnosis, '') || coalesce(' ' || origin, '')"
        " || coalesce(' severity ' || severity, '') || coalesce(' outcome ' || outcome, '')"
        " AS summary, NULL AS rule, NULL AS policy_id FROM case_report WHERE person_id = :p"
    ),
    "derived": (
        "SELECT reported_at AS at, 'event' AS what, 'derived case event: ' || event_type"
        " || coalesce(' ' || diagnosis, '') || coalesce(' ' || origin, '')"
        " || coalesce(' outcome ' || outcome, '') AS summary, rule, NULL AS policy_id"
        " FROM engine_case_event e WHERE person_id = :p AND {visible_e}"
    ),
    "sample": (
        "SELECT s.sampled_at AS at, 'event' AS what, 'sampled into tube ' || s.tube_id"
        " || coalesce(' (round ' || s.round_id || ')', '') || coalesce(': ' || r.result"
        " || coalesce(' Ct ' || CAST(r.ct_value AS VARCHAR), '') || ', reported '"
        " || CAST(r.reported_at AS VARCHAR), ': no result yet') AS summary,"
        " NULL AS rule, NULL AS policy_id"
        " FROM sample s LEFT JOIN tube_result r ON r.tube_id = s.tube_id WHERE s.person_id = :p"
    ),
    "arrival": (
        "SELECT arrived_at AS at, 'event' AS what, 'arrived from ' || origin_country"
        " || coalesce(' on ' || flight, ' (no flight recorded)')"
        " || coalesce(' row ' || CAST(seat_row AS VARCHAR), '') AS summary,"
        " NULL AS rule, NULL AS policy_id FROM arrival WHERE person_id = :p"
    ),
    "contact": (
        "SELECT exposed_at AS at, 'contact' AS what, tier || ' contact of person '"
        " || CAST(case_person_id AS VARCHAR) || ' by ' || via || ' (traced '"
        " || CAST(run_day AS VARCHAR) || ')' AS summary, rule, policy_id"
        " FROM traced_contact t WHERE contact_person_id = :p AND {visible_t}"
    ),
    "certificate": (
        "SELECT checked_at AS at, 'check' AS what, 'foreign certificate ' || result"
        " || coalesce(' (' || refusal || ')', '') || coalesce(': ' || detail, '')"
        " || coalesce(': ' || dcc_kind || ' issued by ' || issuer, '') AS summary,"
        " 'border.certificate' AS rule, NULL AS policy_id"
        " FROM certificate_check c WHERE person_id = :p AND {visible_c}"
    ),
}

# the person's orders, with what `_superseded` reads
_ORDERS = (
    "SELECT start_at AS at, 'order' AS what, order_type || coalesce(' ' || detail, '')"
    " || coalesce(' at ' || place, '') || coalesce(' until ' || CAST(end_at AS VARCHAR), '')"
    " || ': ' || reason AS summary, rule, policy_id, run_day, order_type, end_at"
    " FROM engine_order o WHERE person_id = :p AND {visible_o}"
)
_ORDER_FACTS: dict[str, pl.DataType] = {
    **STEP_SCHEMA,
    "run_day": pl.Date(),
    "order_type": pl.String(),
    "end_at": TIME,
}
# A quarantine schedule is the orders of the run that issued the person's quarantine or
# extension (its phases, their tests and transfers); a later run's conversion to a case ends it,
# and a later run's quarantine or extension replaces it from its start (`engine.schedule`).
_SCHEDULE = (
    OrderType.QUARANTINE.value,
    OrderType.EXTEND.value,
    OrderType.TEST.value,
    OrderType.TRANSFER.value,
)
_ENDS = (OrderType.CONVERT.value, *ISSUES)


def explain_person(store: Store, person_id: int, *, scenario: Scenario = LIVE) -> pl.DataFrame:
    """The person's events (the registry's and those the engine derived), the contacts that
    traced them, and every order about them, in time order (STEP_SCHEMA), as `scenario` (by
    default live) sees them. NotFoundError when nothing at all is stored about the person."""
    frames = []
    visible = {f"visible_{a}": scenario.visible(a) for a in "etoc"}
    for query in _QUERIES.values():
        sql = query.format(**visible)
        params = {"p": person_id, **(scenario.params() if sql != query else {})}
        frame = store.fetch(sql, params)
        if frame.height:
            frames.append(frame.select(pl.col(c).cast(t) for c, t in STEP_SCHEMA.items()))
    orders = read(
        store,
        _ORDERS.format(**visible),
        {"p": person_id, **scenario.params()},
        _ORDER_FACTS,
    )
    if orders.height:
        frames.append(_superseded(orders))
    if (measures := _area_measures(store, person_id, scenario)).height:
        frames.append(measures)
    registered = store.scalar("SELECT count(*) FROM person WHERE person_id = :p", {"p": person_id})
    if not frames and not registered:
        raise NotFoundError(f"nothing is stored about person {person_id}")
    if not frames:
        return pl.DataFrame(schema=STEP_SCHEMA)
    return pl.concat(frames).sort("at", "what", nulls_last=True)


def _superseded(orders: pl.DataFrame) -> pl.DataFrame:
    """The orders (_ORDER_FACTS) as steps, each order of a quarantine schedule that a later run
    ended or replaced saying so: void when it was to start at or after that run's order, cut
    short when it was under way then (what a field worker must not read as still in force)."""
    issued = set(orders.filter(pl.col("order_type").is_in(ISSUES)).get_column("run_day").to_list())
    ends = orders.filter(pl.col("order_type").is_in(_ENDS)).select(
        pl.col("run_day").alias("by_run"), pl.col("at").alias("from"), "order_type"
    )
    notes: list[str | None] = []
    for order in orders.iter_rows(named=True):
        note = None
        if order["order_type"] in _SCHEDULE and order["run_day"] in issued:
            later = ends.filter(pl.col("by_run") > order["run_day"]).sort("by_run", "from")
            if later.height:
                end = later.row(0, named=True)
                start, until = order["at"], order["end_at"]
                what = f"{end['order_type']} of the run of {end['by_run']}"
                if start >= end["from"]:
                    note = f" [void: the schedule was ended or replaced by the {what}]"
                elif until is None or until > end["from"]:
                    note = f" [cut short at {end['from']:%Y-%m-%d %H:%M} by the {what}]"
        notes.append(note)
    return orders.with_columns(
        pl.col("summary") + pl.Series(notes, dtype=pl.String).fill_null("")
    ).select(*STEP_SCHEMA)


_HOME = {"region_code": pl.String(), "compound_id": pl.String(), "building_id": pl.String()}
_DWELLINGS = (AreaUnit.BUILDING, AreaUnit.COMPOUND, AreaUnit.STREET, AreaUnit.COUNTY)


def _area_measures(store: Store, person_id: int, scenario: Scenario) -> pl.DataFrame:
    """The measures of the risk areas of the person's residence (as the registry has it now:
    `zones.area_key` of each unit) that confined its residents, once per area and start, with
    the end the latest run gave it."""
    home = read(
        store,
        f"SELECT region_code, compound_id, building_id FROM {current_person(person_ids=IDS)} p",
        {"ids": [person_id], "as_of": datetime(9999, 12, 31, tzinfo=UTC)},
        _HOME,
    )
    if home.height == 0:
        return pl.DataFrame(schema=STEP_SCHEMA)
    keys = home.select(
        (pl.lit(f"{u.value}:") + area_key(u)).alias(u.value) for u in _DWELLINGS
    ).row(0)
    found = store.fetch(
        "SELECT m.area_id, m.level, m.restriction, m.measure, m.in_force_from,"
        " m.in_force_until, m.rule, m.policy_id, m.run_day FROM area_measure m"
        f" WHERE {scenario.visible('m')} AND m.subject = :s"
        " AND m.area_id IN (SELECT unnest(CAST(:a AS VARCHAR[])))",
        {"s": RESIDENTS, "a": [k for k in keys if k is not None], **scenario.params()},
    )
    if found.height == 0:
        return pl.DataFrame(schema=STEP_SCHEMA)
    latest = found.sort("run_day").group_by("area_id", "level", "in_force_from").last()
    return latest.select(
        midnight(pl.col("in_force_from")).alias("at"),
        pl.lit("order").alias("what"),
        pl.format(
            "area measure {} ({}) as a resident of {} ({} risk){}",
            "restriction",
            "measure",
            "area_id",
            "level",
            pl.when(pl.col("in_force_until").is_not_null())
            .then(pl.lit(" until ") + pl.col("in_force_until").cast(pl.String))
            .otherwise(pl.lit("")),
        ).alias("summary"),
        "rule",
        "policy_id",
    )
