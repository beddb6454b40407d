"""Policy cases as data: each `policy_cases/*.yaml` gives the events of a small world, runs the
engine's quarantine, treatment and border steps day by day under one policy, and lists the
orders it must give. The YAML files are written for an epidemiologist to review against
policies/sources/policy-facts.md; this one test runs them all.

Also the helpers the other care tests share: `put` (rows into a table, times in Beijing time),
`store_orders` (a day's orders stored as the daily run stores them), `run_steps`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
import yaml

from fangkong.engine.border import border_orders
from fangkong.engine.facility import assign_facilities
from fangkong.engine.orders import (
    CONTACT_SCHEMA,
    ORDER_SCHEMA,
    TIME,
    check_orders,
    concat_orders,
    with_order_ids,
)
from fangkong.engine.quarantine import (
    DEPARTURE_SCHEMA,
    departure_quarantine_orders,
    quarantine_orders,
    release_and_conversion_orders,
)
from fangkong.engine.tracing import cases_to_trace, trace_contacts
from fangkong.engine.treatment import treatment_orders
from fangkong.model.tables import SqlType, table
from fangkong.policy import Policy, load_policy
from fangkong.store import Store

CASES = Path(__file__).resolve().parent / "policy_cases"
ZONE = ZoneInfo("Asia/Shanghai")

_TYPES: dict[SqlType, pl.DataType] = {
    SqlType.BIGINT: pl.Int64(),
    SqlType.INTEGER: pl.Int32(),
    SqlType.SMALLINT: pl.Int16(),
    SqlType.DOUBLE: pl.Float64(),
    SqlType.VARCHAR: pl.String(),
    SqlType.DATE: pl.Date(),
    SqlType.TIMESTAMPTZ: TIME,
}


def at(text: object) -> datetime:
    """'2022-07-01' or '2022-07-01 18:00' (Beijing time) as an aware datetime."""
    value = str(text)
    fmt = "%Y-%m-%d %H:%M" if " " in value else "%Y-%m-%d"
    return datetime.strptime(value, fmt).replace(tzinfo=ZONE)


def _value(value: object, type_: SqlType) -> object:
    if value is None:
        return None
    if type_ is SqlType.TIMESTAMPTZ:
        return at(value)
    if type_ is SqlType.DATE:
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    if type_ is SqlType.VARCHAR:
        return str(value)
    return value


DEFAULTS: dict[str, dict[str, object]] = {"person": {"id_type": "ric"}}


def put(store: Store, name: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` into table `name`; columns left out are null (or DEFAULTS), batch_id 0."""
    t = table(name)
    fill = {"batch_id": 0, **DEFAULTS.get(name, {})}
    data = {
        c.name: pl.Series(
            c.name,
            [_value(r.get(c.name, fill.get(c.name)), c.type) for r in rows],
            dtype=_TYPES[c.type],
        )
        for c in t.columns
    }
    store.insert_frame(name, pl.DataFrame(data))


def store_orders(store: Store, orders: pl.DataFrame, day: date) -> pl.DataFrame:
    """Store a day's orders the way the daily run does; returns the stored rows."""
    stored = with_order_ids(check_orders(orders), day)
    store.execute("DELETE FROM engine_order WHERE run_day = :d", {"d": day})
    if stored.height:
        store.insert_frame("engine_order", stored)
    return stored


def contacts_frame(rows: Sequence[Mapping[str, Any]], policy_id: str) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "case_person_id": [r["case_person_id"] for r in rows],
            "contact_person_id": [r["contact_person_id"] for r in rows],
            "tier": [r["tier"] for r in rows],
            "via": [r.get("via", "household") for r in rows],
            "exposed_at": [at(r["exposed_at"]) if r.get("exposed_at") else None for r in rows],
            "rule": [r.get("rule", "tracing.close_contact") for r in rows],
            "policy_id": [policy_id] * len(rows),
        },
        schema=CONTACT_SCHEMA,
    )
    return frame


def departures_frame(rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "person_id": [r["person_id"] for r in rows],
            "left_at": [at(r["left_at"]) for r in rows],
            "risk_level": [r["risk_level"] for r in rows],
        },
        schema=DEPARTURE_SCHEMA,
    )


Inputs = Mapping[str, pl.DataFrame]
Step = Callable[[Store, date, Policy, Inputs], pl.DataFrame]
STEPS: dict[str, Step] = {
    "quarantine_orders": lambda s, d, p, i: quarantine_orders(s, d, p, i["contacts"]),
    "departure_quarantine_orders": lambda s, d, p, i: departure_quarantine_orders(
        s, d, p, i["departures"]
    ),
    "release_and_conversion_orders": lambda s, d, p, _i: release_and_conversion_orders(s, d, p),
    "treatment_orders": lambda s, d, p, _i: treatment_orders(s, d, p),
    "border_orders": lambda s, d, p, _i: border_orders(s, d, p),
}


def run_steps(
    store: Store,
    day: date,
    policy: Policy,
    steps: Sequence[str],
    contacts: pl.DataFrame | None = None,
    departures: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Run the named steps for `day` (assign_facilities, if named, over the others' orders) and
    store their orders; returns the orders and the occupancy (None without assignment)."""
    inputs = {
        "contacts": contacts if contacts is not None else contacts_frame([], policy.id),
        "departures": departures if departures is not None else departures_frame([]),
    }
    orders = concat_orders(STEPS[s](store, day, policy, inputs) for s in steps if s in STEPS)
    occupancy = None
    if "assign_facilities" in steps:
        orders, occupancy = assign_facilities(store, orders, day, policy.facilities)
    store_orders(store, orders, day)
    return orders, occupancy


def _when(value: datetime | None) -> str | None:
    if value is None:
        return None
    local = value.astimezone(ZONE)
    return (
        f"{local:%Y-%m-%d}" if (local.hour, local.minute) == (0, 0) else f"{local:%Y-%m-%d %H:%M}"
    )


def as_rows(orders: pl.DataFrame) -> list[tuple[object, ...]]:
    """Orders as (person, order, detail, from, until, place) tuples, sorted."""
    out = [
        (r["person_id"], r["order_type"], r["detail"], _when(r["start_at"]), _when(r["end_at"]),
         r["place"])
        for r in orders.select(*ORDER_SCHEMA).iter_rows(named=True)
    ]  # fmt: skip
    return sorted(out, key=repr)


def _expected(rows: Sequence[Mapping[str, Any]]) -> list[tuple[object, ...]]:
    def text(v: object) -> str | None:
        return None if v is None else str(v)

    out = [
        (r.get("person"), r["order"], text(r.get("detail")), text(r.get("from")),
         text(r.get("until")), text(r.get("place")))
        for r in rows
    ]  # fmt: skip
    return sorted(out, key=repr)


def _cases() -> list[Path]:
    return sorted(CASES.glob("*.yaml"))


def open_case(store: Store, path: Path) -> tuple[dict[str, Any], Policy]:
    """A case file read and checked for its keys, its `given` rows stored; and its policy."""
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert {"title", "reviewed_against", "policy", "days"} <= case.keys(), path
    for name, rows in (case.get("given") or {}).items():
        put(store, name, rows)
    return case, load_policy(case["policy"])


@pytest.mark.parametrize("path", _cases(), ids=lambda p: p.stem)
def test_policy_case(store: Store, path: Path) -> None:
    case, policy = open_case(store, path)
    checked = 0
    for step in case["days"]:
        day = date.fromisoformat(str(step["day"]))
        contacts = contacts_frame(step.get("contacts") or [], policy.id)
        if step.get("trace"):  # the day's new cases traced under the policy
            traced = trace_contacts(store, cases_to_trace(store, day), policy)
            found = sorted(traced.select("contact_person_id", "tier").iter_rows())
            want = sorted((r["person"], r["tier"]) for r in step.get("expect_traced") or [])
            assert found == want, f"{path.name}, {day}: traced"
            contacts = pl.concat([contacts, traced.select(*CONTACT_SCHEMA)])
        departures = departures_frame(step.get("departures") or [])
        orders, occupancy = run_steps(store, day, policy, step["run"], contacts, departures)
        if "expect" in step:
            checked += 1
            assert as_rows(orders) == _expected(step["expect"] or []), f"{path.name}, {day}"
            for row in step["expect"] or []:
                if "reason_has" in row:
                    mine = orders.filter(
                        (pl.col("order_type") == row["order"])
                        & pl.col("person_id").eq_missing(row.get("person"))
                        & pl.col("detail").eq_missing(row.get("detail"))
                    )
                    assert mine.height, row
                    for reason in mine.get_column("reason").to_list():
                        assert row["reason_has"] in reason, (row, reason)
        for alert in step.get("expect_alerts") or []:
            assert occupancy is not None
            assert alert in occupancy.get_column("alert").drop_nulls().to_list()
    assert checked, f"{path.name} checks no day"


def test_every_policy_is_covered() -> None:
    """The regimes each have cases: 2020, 8th edition, 9th edition, twenty measures, class B."""
    used = {yaml.safe_load(p.read_text(encoding="utf-8"))["policy"] for p in _cases()}
    assert {
        "cn-2020-04-08",
        "cn-2021-05-14",
        "cn-2022-06-28",
        "cn-2022-11-11",
        "cn-2023-01-08",
    } <= used
