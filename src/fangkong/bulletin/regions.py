"""The regions of the daily bulletin, and their names.

The national figures cover the 31 provinces (autonomous regions, municipalities) and the Xinjiang
Production and Construction Corps (`NATION_CODE` 000000). Hong Kong (810000), Macao (820000) and
Taiwan (710000) are outside them, in a block of their own. A city is the prefecture
(`code[:4] + "00"`); a county-level city directly under its province (省直辖县级市, `xx90xx`, e.g.
仙桃 429004) is its own city, as the provinces reported them; a municipality (Beijing, Tianjin,
Shanghai, Chongqing), the XPCC and Hong Kong, Macao, Taiwan have no city level: their province
stands for it. Names come from the built-in GB/T 2260 table.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

import polars as pl

from fangkong.errors import NotFoundError
from fangkong.store.regions import XPCC_CODE, builtin_regions

__all__ = [
    "HMT_CODES",
    "MUNICIPALITY_CODES",
    "NATION_CODE",
    "NATION_NAME",
    "NATION_NAME_EN",
    "check_scope",
    "cities_of",
    "city_expr",
    "city_of",
    "province_expr",
    "province_of",
    "region_name",
    "region_name_en",
    "region_short_name",
    "scope_of_jurisdiction",
]

NATION_CODE = "000000"
HMT_CODES = ("810000", "820000", "710000")  # in the bulletin's order: 香港, 澳门, 台湾
MUNICIPALITY_CODES = frozenset({"110000", "120000", "310000", "500000"})
_NO_CITY_LEVEL = MUNICIPALITY_CODES | {XPCC_CODE, *HMT_CODES}


def province_of(code: str) -> str:
    """The province of a division code (any length)."""
    return code[:2] + "0000"


def city_of(code: str) -> str:
    """The city a division code belongs to for the bulletin (see the module docstring). A code
    with no city level, or a province-level code, gives its province."""
    province = province_of(code)
    if province in _NO_CITY_LEVEL:
        return province
    code6 = code[:6]
    if code6[2:4] == "90":  # 省直辖县级行政区划: the county-level city is reported as a city
        return code6 if code6 != code6[:4] + "00" else province
    return code6[:4] + "00"


def province_expr(code: pl.Expr) -> pl.Expr:
    """`province_of` over a column of codes."""
    return pl.concat_str(code.str.slice(0, 2), pl.lit("0000"))


def city_expr(code: pl.Expr) -> pl.Expr:
    """`city_of` over a column of codes."""
    province = province_expr(code)
    code6 = code.str.slice(0, 6)
    return (
        pl.when(province.is_in(sorted(_NO_CITY_LEVEL)))
        .then(province)
        .when(code6.str.slice(2, 2) == "90")
        .then(pl.when(code6.str.slice(4, 2) == "00").then(province).otherwise(code6))
        .otherwise(pl.concat_str(code6.str.slice(0, 4), pl.lit("00")))
    )


def check_scope(code: str) -> str:
    """`code` if it names the nation, a province or a city of the bulletin; else NotFoundError."""
    if code == NATION_CODE:
        return code
    if code not in _names() or code not in (city_of(code), province_of(code)):
        raise NotFoundError(
            f"no province or city with code {code!r} (a bulletin covers {NATION_CODE} for the"
            " nation, a province xx0000, or a city: a prefecture xxxx00 or a county-level city"
            " directly under its province xx90xx)"
        )
    return code


def scope_of_jurisdiction(prefix: str) -> str:
    """The bulletin scope of a jurisdiction given as a region-code prefix (the engine's
    `--jurisdiction`, e.g. 31 for Shanghai, 4201 for Wuhan) or a 6-digit code: a province or a
    city. A county's jurisdiction has no bulletin of its own (the NHC's lists stop at cities):
    NotFoundError."""
    code = prefix.strip()
    if not code.isdigit() or len(code) > 6 or len(code) % 2:
        raise NotFoundError(
            f"the jurisdiction {prefix!r} is not a region-code prefix (2, 4 or 6 digits)"
        )
    return check_scope(code.ljust(6, "0"))


@cache
def cities_of(province: str, year: int) -> Mapping[str, str]:
    """The cities of the bulletin (`city_of`) in `province` that were divisions in `year`,
    code -> name (read-only: it is cached); none for a province with no city level."""
    if province in _NO_CITY_LEVEL:
        return MappingProxyType({})
    frame = builtin_regions().filter(
        pl.col("region_code").str.starts_with(province[:2])
        & (pl.col("region_code") != province)
        & (pl.col("valid_from").is_null() | (pl.col("valid_from") <= year))
        & (pl.col("valid_until").is_null() | (pl.col("valid_until") > year))
    )
    return MappingProxyType(
        {
            code: name
            for code, name in frame.select("region_code", "name").iter_rows()
            if city_of(code) == code
        }
    )


@cache
def _names() -> dict[str, str]:
    frame = builtin_regions().filter(pl.col("level").is_in(["province", "prefecture", "county"]))
    return dict(zip(frame.get_column("region_code"), frame.get_column("name"), strict=True))


NATION_NAME = "31个省（区、市）和新疆生产建设兵团"
NATION_NAME_EN = (
    "the 31 provinces (autonomous regions, municipalities) and the Xinjiang Production and"
    " Construction Corps"
)

_EN_PROVINCES = {
    "110000": "Beijing",
    "120000": "Tianjin",
    "130000": "Hebei",
    "140000": "Shanxi",
    "150000": "Inner Mongolia",
    "210000": "Liaoning",
    "220000": "Jilin",
    "230000": "Heilongjiang",
    "310000": "Shanghai",
    "320000": "Jiangsu",
    "330000": "Zhejiang",
    "340000": "Anhui",
    "350000": "Fujian",
    "360000": "Jiangxi",
    "370000": "Shandong",
    "410000": "Henan",
    "420000": "Hubei",
    "430000": "Hunan",
    "440000": "Guangdong",
    "450000": "Guangxi",
    "460000": "Hainan",
    "500000": "Chongqing",
    "510000": "Sichuan",
    "520000": "Guizhou",
    "530000": "Yunnan",
    "540000": "Tibet",
    "610000": "Shaanxi",
    "620000": "Gansu",
    "630000": "Qinghai",
    "640000": "Ningxia",
    "650000": "Xinjiang",
    XPCC_CODE: "Xinjiang Production and Construction Corps",
    "710000": "Taiwan",
    "810000": "Hong Kong SAR",
    "820000": "Macao SAR",
}
_SHORT_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市")


def region_name(code: str) -> str:
    """The Chinese name of a division code (GB/T 2260); the nation is 全国."""
    if code == NATION_CODE:
        return "全国"
    return _names().get(code[:6], code)


def region_short_name(code: str) -> str:
    """The name the NHC uses in its lists: a province without 省/市/自治区 (湖北, 内蒙古, 广西);
    the XPCC and cities keep their full name (新疆生产建设兵团, 武汉市)."""
    name = region_name(code)
    if code == XPCC_CODE or not code.endswith("0000"):
        return name
    for suffix in _SHORT_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def region_name_en(code: str) -> str:
    """The English name of a province; a city keeps its Chinese name followed by its code."""
    if code == NATION_CODE:
        return "national"
    if code in _EN_PROVINCES:
        return _EN_PROVINCES[code]
    return f"{region_name(code)} ({code})"
