"""The exchange file of assistance requests (协查), written for the region each request goes to:
the one place personal data leaves an instance (docs/assistance-format.md documents it column by
column; the receiving instance imports it as the `assistance` kind). The requests themselves are
the engine's `assist` orders (`fangkong.engine.assistance`).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from fangkong.engine.frames import LOCAL_ZONE, ZONE, read
from fangkong.engine.orders import check_orders
from fangkong.errors import InputError
from fangkong.model.glossary import OrderType
from fangkong.private_files import private_directory, private_file
from fangkong.store.base import Store
from fangkong.store.person_view import current_identity, current_person

__all__ = ["ASSISTANCE_COLUMNS", "write_assistance_file"]

log = logging.getLogger(__name__)

# The exchange file's columns, in order (docs/assistance-format.md).
ASSISTANCE_COLUMNS = (
    "request_id",
    "requested_at",
    "from_region",
    "to_region",
    "region_code",
    "id_type",
    "id_number",
    "name",
    "phone",
    "tier",
    "via",
    "exposed_at",
    "policy_id",
)

_REGION = re.compile(r"[0-9]{6}")
_TIMESTAMP = "%Y-%m-%dT%H:%M:%S%:z"
_IDS = "SELECT unnest(CAST(:ids AS BIGINT[]))"  # the person ids of an `ids` parameter


def write_assistance_file(
    store: Store,
    requests: pl.DataFrame,
    path: Path,
    *,
    from_region: str,
    to_region: str | None = None,
    requested_at: datetime | None = None,
) -> int:
    """Write the `assist` orders of `requests` as the exchange file at `path` (CSV, UTF-8, the
    columns of ASSISTANCE_COLUMNS); returns the number of requests written. `from_region` is the
    requesting instance's division code (6 digits); with `to_region` (a province code), only
    the requests to that province are written (one file per receiving instance);
    `requested_at` defaults to now.

    The request id is the requesting region and a digest of (region, person, exposure, tier,
    route, requested_at): a file written again with the same `requested_at` has the same ids
    (the receiving instance stores them once); a request sent again later is a new event, which
    `received_requests` recognises as a repeat."""
    if not _REGION.fullmatch(from_region):
        raise InputError(f"from_region {from_region!r}: a division code has 6 digits")
    orders = check_orders(requests).filter(pl.col("order_type") == OrderType.ASSIST.value)
    if to_region is not None:
        orders = orders.filter(pl.col("place") == to_region)
    when = (requested_at or datetime.now(LOCAL_ZONE)).replace(microsecond=0)
    if when.tzinfo is None:
        raise InputError("requested_at needs a time zone")
    people = _identities(store, orders.get_column("person_id").unique().sort().to_list(), when)
    rows = (
        orders.with_columns(
            pl.col("detail").str.split_exact(":", 1).struct.rename_fields(["tier", "via"])
        )
        .unnest("detail")
        .join(people, on="person_id", how="left")
    )
    unknown = rows.filter(pl.col("id_number").is_null()).height
    if unknown:
        raise InputError(
            f"{unknown} request(s) about persons with no ID number stored: the other region"
            " could not find them"
        )
    key = pl.concat_str(
        pl.lit(from_region),
        pl.col("person_id").cast(pl.String),
        pl.col("start_at").dt.epoch("us").cast(pl.String),
        "tier",
        "via",
        pl.lit(when.isoformat()),
        separator="|",
    )
    rows = rows.with_columns(key.alias("_key"))
    digests = _md5(rows.get_column("_key"))
    out = (
        rows.with_columns(
            (pl.lit(f"{from_region}-") + digests.str.slice(0, 20)).alias("request_id"),
            pl.lit(when.astimezone(LOCAL_ZONE).isoformat()).alias("requested_at"),
            pl.lit(from_region).alias("from_region"),
            pl.col("place").alias("to_region"),
            pl.col("start_at")
            .dt.convert_time_zone(ZONE)
            .dt.strftime(_TIMESTAMP)
            .alias("exposed_at"),
        )
        .select(ASSISTANCE_COLUMNS)
        .sort("request_id")
    )
    private_directory(path.parent)
    with private_file(path) as fh:  # identities: readable by the owner only
        out.write_csv(fh)
    log.info("wrote %d assistance requests to %s", out.height, path)
    return out.height


def _identities(store: Store, person_ids: list[int], as_of: datetime) -> pl.DataFrame:
    """The residence and identity of `person_ids` as they stand at `as_of`."""
    schema: dict[str, pl.DataType] = {
        "person_id": pl.Int64(),
        "region_code": pl.String(),
        "id_type": pl.String(),
        "id_number": pl.String(),
        "name": pl.String(),
        "phone": pl.String(),
    }
    if not person_ids:
        return pl.DataFrame(schema=schema)
    return read(
        store,
        "SELECT p.person_id, p.region_code, p.id_type, i.id_number, i.name, i.phone "
        f"FROM {current_person(':as_of', person_ids=_IDS)} p "
        f"LEFT JOIN {current_identity(':as_of', person_ids=_IDS)} i ON i.person_id = p.person_id",
        {"ids": person_ids, "as_of": as_of},
        schema,
    )


def _md5(keys: pl.Series) -> pl.Series:
    """The MD5 digest (hex) of each key: stable across versions and instances."""
    con = duckdb.connect()
    try:
        con.register("_keys", pl.DataFrame({"k": keys}))
        digests: pl.Series = con.sql("SELECT md5(k) AS h FROM _keys").pl().get_column("h")
        return digests
    finally:
        con.close()
