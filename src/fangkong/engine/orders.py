"""The engine's outputs, as DataFrames with declared columns: orders (what the command centre
must do, person by person, each with the rule and policy that made it) and traced contacts.

Every engine step returns frames of these shapes; `run_day` concatenates them, gives each order a
stable id (the same inputs give the same ids, so running a day again replaces its orders
exactly), and stores them in `engine_order` and `traced_contact`.

A `rule` is a dotted name of the step and rule that made the row (e.g. `testing.pool_positive`,
`quarantine.close_contact`); `reason` says why in words, without personal data. `orders_from`
makes one order per row of a frame: the way the quarantine, facility, treatment and border steps
write theirs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import TypeVar

import polars as pl

from fangkong.engine.frames import ZONE, cast_to, with_optional
from fangkong.model.glossary import ContactTier, ContactVia, OrderType, Waiting

__all__ = [
    "CONTACT_SCHEMA",
    "ORDER_SCHEMA",
    "TIME",
    "check_contacts",
    "check_orders",
    "concat_orders",
    "empty_contacts",
    "empty_orders",
    "orders_from",
    "with_order_ids",
]

TIME = pl.Datetime("us", ZONE)

ORDER_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),  # null for an order about no one person (a route suspension)
    "order_type": pl.String(),  # OrderType
    "start_at": TIME,
    "end_at": TIME,  # null: open-ended, or instantaneous
    "place": pl.String(),  # facility_id, "home", a route ...; null when none
    "detail": pl.String(),  # e.g. the quarantine kind, "day 3", a tube id
    "rule": pl.String(),
    "policy_id": pl.String(),
    "reason": pl.String(),
    # typed facts the engine decides on (never the wording of `reason` or `rule`):
    "population": pl.String(),  # Population of a quarantine schedule's orders; else null
    "waiting_for": pl.String(),  # Waiting: what the order waits for (address, room, bed)
}
# columns a step may leave out: null when it does
_OPTIONAL = frozenset({"population", "waiting_for"})

CONTACT_SCHEMA: dict[str, pl.DataType] = {
    "case_person_id": pl.Int64(),  # the case (for a secondary contact: the close contact)
    "contact_person_id": pl.Int64(),
    "tier": pl.String(),  # ContactTier
    "via": pl.String(),  # ContactVia
    "exposed_at": TIME,  # the last exposure
    "rule": pl.String(),
    "policy_id": pl.String(),
}

_ORDER_TYPES = frozenset(t.value for t in OrderType)
_WAITING = frozenset(w.value for w in Waiting)
_TIERS = frozenset(t.value for t in ContactTier)
_VIAS = frozenset(v.value for v in ContactVia)


def empty_orders() -> pl.DataFrame:
    return pl.DataFrame(schema=ORDER_SCHEMA)


def empty_contacts() -> pl.DataFrame:
    return pl.DataFrame(schema=CONTACT_SCHEMA)


def _conform(frame: pl.DataFrame, schema: dict[str, pl.DataType], what: str) -> pl.DataFrame:
    if frame.schema == pl.Schema(schema):  # conforms already: no frame step to run
        return frame
    frame, missing = with_optional(frame, schema, _OPTIONAL)
    extra = [c for c in frame.columns if c not in schema]
    if missing or extra:
        raise ValueError(f"{what} frame: missing columns {missing}, unexpected {extra}")
    return cast_to(frame, schema)


def check_orders(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with ORDER_SCHEMA's columns and types; a programming error if it cannot be."""
    out = _conform(frame, ORDER_SCHEMA, "orders")
    if out.height == 0:
        return out
    bad = set(out.get_column("order_type").unique().to_list()) - _ORDER_TYPES
    if bad:
        raise ValueError(f"unknown order types {sorted(map(str, bad))}")
    if set(out.get_column("waiting_for").drop_nulls().unique().to_list()) - _WAITING:
        raise ValueError("unknown waiting_for")
    if out.select(pl.col("rule", "policy_id", "reason").is_null().any()).row(0) != (
        False,
        False,
        False,
    ):
        raise ValueError("every order names its rule, policy and reason")
    return out


def check_contacts(frame: pl.DataFrame) -> pl.DataFrame:
    out = _conform(frame, CONTACT_SCHEMA, "contacts")
    if out.height == 0:
        return out
    if set(out.get_column("tier").unique().to_list()) - _TIERS:
        raise ValueError("unknown contact tier")
    if set(out.get_column("via").unique().to_list()) - _VIAS:
        raise ValueError("unknown contact route")
    return out


Value = pl.Expr | str | datetime | None
Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def orders_from(
    frame: Frame,
    order_type: OrderType,
    *,
    start_at: Value,
    end_at: Value = None,
    place: Value = None,
    detail: Value = None,
    rule: str | pl.Expr,
    policy_id: str | pl.Expr,
    reason: Value,
    population: Value = None,
    waiting_for: Value = None,
) -> Frame:
    """One order (ORDER_SCHEMA) per row of `frame` (eager or lazy), for its `person_id`. A
    string names a column of `frame` (for `rule` and `policy_id`: it is the value), a datetime
    is a value, None null."""

    def col(value: Value, dtype: pl.DataType) -> pl.Expr:
        if value is None or isinstance(value, datetime):
            return pl.lit(value, dtype)
        return (pl.col(value) if isinstance(value, str) else value).cast(dtype)

    def lit(value: str | pl.Expr) -> pl.Expr:
        return pl.lit(value) if isinstance(value, str) else value

    return frame.select(
        pl.col("person_id").cast(pl.Int64),
        pl.lit(order_type.value).alias("order_type"),
        col(start_at, TIME).alias("start_at"),
        col(end_at, TIME).alias("end_at"),
        col(place, pl.String()).alias("place"),
        col(detail, pl.String()).alias("detail"),
        lit(rule).alias("rule"),
        lit(policy_id).alias("policy_id"),
        col(reason, pl.String()).alias("reason"),
        col(population, pl.String()).alias("population"),
        col(waiting_for, pl.String()).alias("waiting_for"),
    )


def concat_orders(frames: Iterable[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat([empty_orders(), *(check_orders(f) for f in frames)], how="vertical")


def with_order_ids(orders: pl.DataFrame, run_day: date) -> pl.DataFrame:
    """Add `run_day` and an `order_id`: a hash of the day and the order's content, so that the
    same day run again over the same events gives the same ids (Polars' hash is stable for the
    pinned Polars version; a run of a day replaces that day's orders wholesale in any case)."""
    full = pl.concat_str(
        [
            pl.lit(run_day.isoformat()),
            pl.col("person_id").cast(pl.String).fill_null("-"),
            "order_type",
            pl.col("start_at").dt.epoch("us").cast(pl.String),
            pl.col("end_at").dt.epoch("us").cast(pl.String).fill_null("-"),
            pl.col("place").fill_null("-"),
            pl.col("detail").fill_null("-"),
            "rule",
        ],
        separator="|",
    )
    return orders.select(
        pl.lit(run_day).alias("run_day"),
        (pl.lit(f"{run_day:%Y%m%d}-") + full.hash(seed=11).cast(pl.String)).alias("order_id"),
        *ORDER_SCHEMA,
    )
