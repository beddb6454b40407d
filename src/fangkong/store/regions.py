"""The built-in division table: GB/T 2260 codes down to county, with the years each code was in
use, read from the table python-stdnum maintains for validating ID numbers (`stdnum/cn/loc.dat`,
compiled from the published division code lists). Street (9-digit) and community (12-digit) codes
extend it by import (`fangkong import regions FILE`).

Two additions that GB/T 2260 does not hold, because the National Health Commission reports them:
新疆生产建设兵团 (Xinjiang Production and Construction Corps, 660000, reported beside the 31
provinces), and the simplified-character names of Hong Kong, Macao and Taiwan.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

import polars as pl

from fangkong.model.glossary import RegionLevel
from fangkong.store.base import Store

__all__ = [
    "LEVEL_DIGITS",
    "XPCC_CODE",
    "builtin_region_periods",
    "builtin_regions",
    "ensure_builtin_regions",
    "region_level",
]

XPCC_CODE = "660000"
_EXTRA_PROVINCES = {
    XPCC_CODE: "新疆生产建设兵团",
    "710000": "台湾省",
    "810000": "香港特别行政区",
    "820000": "澳门特别行政区",
}
_PERIOD = re.compile(r"^\[(\d*)-(\d*)\](.*)$")


# the leading digits of a division code that name its division at each level (a street's code
# begins with its county's six digits, a community's with its street's nine)
LEVEL_DIGITS: dict[RegionLevel, int] = {
    RegionLevel.PROVINCE: 2,
    RegionLevel.PREFECTURE: 4,
    RegionLevel.COUNTY: 6,
    RegionLevel.STREET: 9,
    RegionLevel.COMMUNITY: 12,
}


def region_level(code: str) -> RegionLevel:
    """The level of a division code by its shape: 6 digits ending 0000 a province, 00 a
    prefecture, else a county; 9 digits a street; 12 digits a community."""
    if len(code) == 12:
        return RegionLevel.COMMUNITY
    if len(code) == 9:
        return RegionLevel.STREET
    if code.endswith("0000"):
        return RegionLevel.PROVINCE
    if code.endswith("00"):
        return RegionLevel.PREFECTURE
    return RegionLevel.COUNTY


def _parent(code: str) -> str | None:
    level = region_level(code)
    if level is RegionLevel.PROVINCE:
        return None
    if level is RegionLevel.PREFECTURE:
        return code[:2] + "0000"
    if level is RegionLevel.COUNTY:
        return code[:4] + "00"
    if level is RegionLevel.STREET:
        return code[: LEVEL_DIGITS[RegionLevel.COUNTY]]
    return code[: LEVEL_DIGITS[RegionLevel.STREET]]


@cache
def builtin_region_periods() -> pl.DataFrame:
    """One row per (code, name, first year, last year) as stdnum lists them; a NULL year is an
    open end. This is what an ID number's birthplace is checked against (by its birth year)."""
    text = files("stdnum.cn").joinpath("loc.dat").read_text(encoding="utf-8")
    rows: list[tuple[str, str, int | None, int | None]] = []
    province = ""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not line.startswith(" "):
            province = line[:2]
            continue
        suffix, _, rest = line.strip().partition(" ")
        value = rest.split("=", 1)[1].strip('"')
        for part in value.split(","):
            m = _PERIOD.match(part)
            if m:
                start, end, name = m.groups()
                rows.append(
                    (
                        province + suffix,
                        name,
                        int(start) if start else None,
                        int(end) if end else None,
                    )
                )
            else:
                rows.append((province + suffix, part, None, None))
    return pl.DataFrame(
        rows,
        schema={"code": pl.String, "name": pl.String, "start": pl.Int16, "end": pl.Int16},
        orient="row",
    )


@cache
def builtin_regions() -> pl.DataFrame:
    """The `region` rows of the built-in table (batch 0)."""
    periods = builtin_region_periods()
    latest = (
        periods.sort("code", pl.col("end").fill_null(9999), nulls_last=True)
        .group_by("code", maintain_order=True)
        .agg(
            pl.col("name").last(),
            pl.col("start").min().alias("valid_from"),
            # open if any period is open
            pl.when(pl.col("end").is_null().any())
            .then(None)
            .otherwise(pl.col("end").max())
            .alias("valid_until"),
        )
    )
    extra = pl.DataFrame(
        {
            "code": list(_EXTRA_PROVINCES),
            "name": list(_EXTRA_PROVINCES.values()),
            "valid_from": [None] * len(_EXTRA_PROVINCES),
            "valid_until": [None] * len(_EXTRA_PROVINCES),
        },
        schema=latest.schema,
    )
    table = pl.concat([latest.filter(~pl.col("code").is_in(list(_EXTRA_PROVINCES))), extra])
    return table.select(
        pl.col("code").alias("region_code"),
        "name",
        pl.col("code")
        .map_elements(lambda c: region_level(c).value, return_dtype=pl.String)
        .alias("level"),
        pl.col("code").map_elements(_parent, return_dtype=pl.String).alias("parent_code"),
        "valid_from",
        "valid_until",
        pl.lit(0, dtype=pl.Int32).alias("batch_id"),
    ).sort("region_code")


def ensure_builtin_regions(store: Store) -> None:
    """Load the built-in division table into the store once (batch 0)."""
    if store.scalar("SELECT count(*) FROM region WHERE batch_id = 0"):
        return
    rows = builtin_regions()
    with store.transaction():
        store.insert_frame("region", rows)
