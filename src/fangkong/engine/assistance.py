"""Assistance requests (协查): contacts who live in another region are that region's to find.

    orders = assistance_requests(store, contacts, "31")          # 'assist' orders (ORDER_SCHEMA)
    write_assistance_file(store, orders, path, from_region="310000")   # fangkong.output.exchange
    # ... the other region: import_file(store, "assistance", path), then received_requests(...)

An `assist` order is one per person living outside the jurisdiction (person.region_code not
starting with the jurisdiction's prefix; a person with no known residence is local): the
strongest tier (close before secondary) and, within it, the latest exposure, with its route.
Its `start_at` is that exposure (the receiving region counts the quarantine from it), `place`
the destination province's code (e.g. 440000), `detail` "<tier>:<route>" (e.g. "close:venue").

The exchange file (`fangkong.output.exchange`, with the other outputs that reach people) is the
one place personal data leaves an instance: docs/assistance-format.md documents it column by
column; the `assistance` import kind reads it, with the importer's usual
checks, all or nothing, into `assistance_request` and (personal) `assistance_identity`.

The requests are a loader and a rule: `residents_away` reads which contacts live outside the
jurisdiction (`run_day` reads it once, for the requests and to leave those people out of the
local orders); `assistance_rule` decides the requests and reads no store. So are the requests
received: `load_received_facts` reads those the run receives and the identities they name,
`received_rule` matches them to local people and leaves out a request received before.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

import polars as pl

from fangkong.engine.facts import Facts
from fangkong.engine.frames import day_bounds, read
from fangkong.engine.orders import TIME, check_contacts, check_orders, empty_orders
from fangkong.engine.scenario import Watermarks
from fangkong.errors import InputError
from fangkong.model.glossary import ContactTier, OrderType
from fangkong.store.base import Store
from fangkong.store.person_view import current_identity, current_person

__all__ = [
    "ASSISTANCE_RULE",
    "IDENTITY_SCHEMA",
    "REQUEST_SCHEMA",
    "ReceivedFacts",
    "assistance_requests",
    "assistance_rule",
    "load_received_facts",
    "no_one_away",
    "no_requests",
    "received_requests",
    "received_rule",
    "residents_away",
]

log = logging.getLogger(__name__)

ASSISTANCE_RULE = "tracing.assistance"


_TIER_RANK = {t.value: k for k, t in enumerate(ContactTier)}  # strongest first
_PREFIX = re.compile(r"[0-9]{2}([0-9]{2}([0-9]{2})?)?")
_IDS = "SELECT unnest(CAST(:ids AS BIGINT[]))"  # the person ids of an `ids` parameter


_AWAY_SCHEMA: dict[str, pl.DataType] = {"person_id": pl.Int64(), "region_code": pl.String()}


def no_one_away() -> pl.DataFrame:
    """No contact living away (`residents_away`' columns)."""
    return pl.DataFrame(schema=_AWAY_SCHEMA)


def residents_away(store: Store, contacts: pl.DataFrame, jurisdiction_prefix: str) -> pl.DataFrame:
    """The contacts (CONTACT_SCHEMA) whose residence is outside the jurisdiction whose region
    codes start with `jurisdiction_prefix`: person_id, region_code. They get assistance
    requests, not local quarantine orders; a contact with no region stays local. The residence
    is the one in effect at the contacts' latest exposure. (The loader of `assistance_rule`.)"""
    if contacts.height == 0:
        return no_one_away()
    return read(
        store,
        f"SELECT person_id, region_code FROM {current_person(':as_of', person_ids=_IDS)} p "
        "WHERE region_code IS NOT NULL AND substr(region_code, 1, :n) <> :prefix",
        {
            "ids": contacts.get_column("contact_person_id").unique().sort().to_list(),
            "as_of": contacts.get_column("exposed_at").max(),
            "n": len(jurisdiction_prefix),
            "prefix": jurisdiction_prefix,
        },
        _AWAY_SCHEMA,
    )


def assistance_requests(
    store: Store, contacts: pl.DataFrame, jurisdiction_prefix: str
) -> pl.DataFrame:
    """`assist` orders (ORDER_SCHEMA) for the contacts who live outside the jurisdiction whose
    region codes start with `jurisdiction_prefix` (2, 4 or 6 digits, e.g. '31' for Shanghai):
    `assistance_rule` over the residents away (`residents_away`, the loader)."""
    _check_prefix(jurisdiction_prefix)
    contacts = check_contacts(contacts)
    if contacts.height == 0:
        return empty_orders()
    away = residents_away(store, contacts, jurisdiction_prefix)
    return assistance_rule(contacts, away, jurisdiction_prefix)


def _check_prefix(prefix: str) -> None:
    if not _PREFIX.fullmatch(prefix):
        raise InputError(f"jurisdiction prefix {prefix!r}: 2, 4 or 6 digits of a division code")


def assistance_rule(
    contacts: pl.DataFrame, away: pl.DataFrame, jurisdiction_prefix: str
) -> pl.DataFrame:
    """`assist` orders for the `contacts` (CONTACT_SCHEMA) who live `away` (person_id,
    region_code: outside the jurisdiction of `jurisdiction_prefix`), one per person: the
    strongest tier, then the latest exposure. Reads no store."""
    _check_prefix(jurisdiction_prefix)
    if away.height == 0 or contacts.height == 0:
        return empty_orders()
    strongest = (
        check_contacts(contacts)
        .join(away, left_on="contact_person_id", right_on="person_id")
        .with_columns(pl.col("tier").replace_strict(_TIER_RANK, return_dtype=pl.Int8).alias("k"))
        .sort("contact_person_id", "k", "exposed_at", "via", descending=[False, False, True, False])
        .group_by("contact_person_id", maintain_order=True)
        .first()
    )
    place = pl.col("region_code").str.slice(0, 2) + pl.lit("0000")
    orders = strongest.select(
        pl.col("contact_person_id").alias("person_id"),
        pl.lit(OrderType.ASSIST.value).alias("order_type"),
        pl.col("exposed_at").alias("start_at"),
        pl.lit(None, TIME).alias("end_at"),
        place.alias("place"),
        pl.concat_str("tier", pl.lit(":"), "via").alias("detail"),
        pl.lit(ASSISTANCE_RULE).alias("rule"),
        "policy_id",
        pl.concat_str(
            pl.col("tier"),
            pl.lit(" contact ("),
            pl.col("via"),
            pl.lit(") living in "),
            place,
            pl.lit(f", outside {jurisdiction_prefix}: assistance request (协查)"),
        ).alias("reason"),
    )
    log.info("%d assistance requests to other regions", orders.height)
    return check_orders(orders)


# -- requests received: a loader and a rule --------------------------------------------------------

# a request received on the day, or earlier and new to the run, about a person of the prefix
_NEW_REQUEST = """((r.requested_at >= :start AND r.requested_at < :end)
               OR (r.requested_at < :start AND ((r.batch_id > :w_prev AND r.batch_id <= :w_cur)
                                                OR r.requested_at >= :fresh_since)))
          AND substr(r.region_code, 1, :n) = :prefix"""

_RECEIVED_SCHEMA: dict[str, pl.DataType] = {
    "request_id": pl.String(),
    "person_id": pl.Int64(),
    "tier": pl.String(),
    "via": pl.String(),
    "exposed_at": TIME,
    "from_region": pl.String(),
    "policy_id": pl.String(),
}
REQUEST_SCHEMA: dict[str, pl.DataType] = {
    "request_id": pl.String(),
    "requested_at": TIME,
    "from_region": pl.String(),
    "tier": pl.String(),
    "via": pl.String(),
    "exposed_at": TIME,
    "policy_id": pl.String(),
    "id_type": pl.String(),
    "id_number": pl.String(),
    "new": pl.Boolean(),  # received by this run (else an earlier one it may repeat)
}
IDENTITY_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "id_type": pl.String(),
    "id_number": pl.String(),
}
# what makes two requests the same: a region asking again about the same person and exposure
_SAME_REQUEST = ("from_region", "id_type", "id_number", "tier", "via", "exposed_at")


@dataclass(frozen=True)
class ReceivedFacts(Facts):
    """What matching the requests received reads (`received_rule`), one frame per kind:

    - `requests`: the requests this run receives (`new`: received on the day, or earlier and
      new to the run, about people of the jurisdiction), each with the identity it names, and
      every other request from the same regions naming the same identities (not `new`): a
      request received before is not acted on again (REQUEST_SCHEMA);
    - `identities`: the local people's identities, as they stand at the end of the day, of at
      least the ID numbers the requests name (IDENTITY_SCHEMA). Personal data.
    """

    requests: pl.DataFrame
    identities: pl.DataFrame

    SCHEMAS: ClassVar[dict[str, dict[str, pl.DataType]]] = {
        "requests": REQUEST_SCHEMA,
        "identities": IDENTITY_SCHEMA,
    }
    OPTIONAL: ClassVar[dict[str, frozenset[str]]] = {
        "requests": frozenset({"policy_id", "id_number"})
    }


def no_requests() -> pl.DataFrame:
    """No received request (`received_requests`' columns)."""
    return pl.DataFrame(schema=_RECEIVED_SCHEMA)


def load_received_facts(
    store: Store,
    day: date,
    jurisdiction_prefix: str | None = None,
    *,
    marks: Watermarks | None = None,
) -> ReceivedFacts:
    """The facts `received_rule` reads on `day` (0-24h Asia/Shanghai) from the store: the
    requests received that day, and those requested earlier but imported after the last run
    (`marks`: late files are not lost); with `jurisdiction_prefix`, only those about people
    living in the jurisdiction."""
    if jurisdiction_prefix is not None:
        _check_prefix(jurisdiction_prefix)
    prefix = jurisdiction_prefix or ""
    start, end = day_bounds(day)
    params = {
        "start": start,
        "end": end,
        "n": len(prefix),
        "prefix": prefix,
        **(marks or Watermarks(0, 0)).params(),
    }
    # most days receive none: nothing else is read then
    if not store.scalar(
        f"SELECT EXISTS (SELECT 1 FROM assistance_request r WHERE {_NEW_REQUEST})", params
    ):
        return ReceivedFacts.of()
    requests = read(
        store,
        f"""
WITH req AS (
  SELECT r.request_id, r.requested_at, r.from_region, r.tier, r.via, r.exposed_at,
         r.policy_id, i.id_type, i.id_number, {_NEW_REQUEST} AS new
  FROM assistance_request r JOIN assistance_identity i ON i.request_id = r.request_id
)
SELECT * FROM req r
WHERE r.new OR EXISTS (
  SELECT 1 FROM req n
  WHERE n.new AND n.from_region = r.from_region AND n.id_type = r.id_type
    AND n.id_number = r.id_number)""",
        params,
        REQUEST_SCHEMA,
    )
    numbers = requests.filter("new").get_column("id_number").drop_nulls().unique().sort()
    identities = read(
        store,
        f"""
SELECT pi.person_id, pe.id_type, pi.id_number
FROM {current_identity(":end")} pi
JOIN {current_person(":end")} pe ON pe.person_id = pi.person_id
WHERE pi.id_number IN (SELECT unnest(CAST(:numbers AS VARCHAR[])))""",
        {"end": end, "numbers": numbers.to_list()},
        IDENTITY_SCHEMA,
    )
    return ReceivedFacts.of(requests=requests, identities=identities)


def received_rule(facts: ReceivedFacts) -> pl.DataFrame:
    """The requests received (the `new` of `facts`), each with the local person it is about
    (`person_id`: matched by ID number and type; null when no one here has it): request_id,
    person_id, tier, via, exposed_at, from_region, policy_id, by request id. A repeat of a
    request received before (the same region, identity, tier, route and exposure; the earlier
    by request time, then id) is left out; a request with one of those unknown repeats none."""
    requests = facts.requests
    if not requests.get_column("new").any():
        return no_requests()
    same = list(_SAME_REQUEST)
    first = pl.struct(same).is_first_distinct() | pl.any_horizontal(pl.col(same).is_null())
    kept = requests.sort("requested_at", "request_id").filter(first & pl.col("new"))
    matched = kept.join(facts.identities, on=["id_type", "id_number"], how="left")
    return matched.select(*_RECEIVED_SCHEMA).sort("request_id")


def received_requests(
    store: Store,
    day: date,
    jurisdiction_prefix: str | None = None,
    *,
    marks: Watermarks | None = None,
) -> pl.DataFrame:
    """The assistance requests received on `day` (`load_received_facts`: with
    `jurisdiction_prefix`, those about people living in the jurisdiction; `marks`: the run's,
    late files are not lost), each matched to the local person it is about (`received_rule`)."""
    facts = load_received_facts(store, day, jurisdiction_prefix, marks=marks)
    return received_rule(facts)
