"""The daily bulletin (每日疫情通报) of the National Health Commission: its value and its
tabular forms (frame, JSON, CSV).

A bulletin is computed two ways, into the same `Bulletin` value:

- from the case registry (`fangkong.bulletin.registry.bulletin_from_registry`), by
  set-based SQL over `case_report`;
- from aggregated per-province daily reports (`fangkong.bulletin.reports`), the way the
  NHC assembled it in reality; the CSV format is documented in docs/reports-format.md, and the
  CSV form of a bulletin (`bulletin_csv`) is itself a valid reports file.

Texts are rendered by `fangkong.bulletin.render.render_zh` (Chinese, the NHC's wording)
and `fangkong.bulletin.render_en.render_en`; the regions of a bulletin (nation, province,
city, Hong Kong / Macao / Taiwan) are defined in `fangkong.bulletin.regions`.

A figure the source cannot give is None: it is left out of every rendering, never invented.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import polars as pl

from fangkong.bulletin.regions import HMT_CODES, NATION_CODE, province_of, region_name

__all__ = [
    "FIELDS",
    "FIELD_NAMES",
    "Bulletin",
    "Field",
    "Figures",
    "RegionFigures",
    "bulletin_csv",
    "bulletin_frame",
    "bulletin_from_frame",
    "bulletin_json",
]

Kind = Literal["new", "change", "current", "cumulative"]


@dataclass(frozen=True, slots=True)
class Field:
    """One figure of the bulletin: its name, its Chinese and English labels, and its kind."""

    name: str
    zh: str
    en: str
    kind: Kind


# The bulletin's figures, in the order of the NHC bulletin (policy-facts.md, "The daily bulletin").
FIELDS: tuple[Field, ...] = (
    Field("new_confirmed", "新增确诊病例", "new confirmed cases", "new"),
    Field("new_confirmed_imported", "新增境外输入确诊病例", "new imported confirmed cases", "new"),
    Field("new_confirmed_local", "新增本土确诊病例", "new local confirmed cases", "new"),
    Field(
        "new_converted",
        "新增确诊病例中由无症状感染者转为确诊",
        "new confirmed cases converted from asymptomatic infections",
        "new",
    ),
    Field("new_deaths", "新增死亡病例", "new deaths", "new"),
    Field("new_suspected", "新增疑似病例", "new suspected cases", "new"),
    Field("new_suspected_imported", "新增境外输入疑似病例", "new imported suspected cases", "new"),
    Field("new_suspected_local", "新增本土疑似病例", "new local suspected cases", "new"),
    Field("new_cured", "新增治愈出院病例", "newly cured and discharged", "new"),
    Field(
        "new_contacts_released",
        "解除医学观察的密切接触者",
        "close contacts released from medical observation",
        "new",
    ),
    Field("severe_change", "重症病例较前一日变化", "change in severe cases", "change"),
    Field(
        "imported_current_confirmed",
        "境外输入现有确诊病例",
        "current imported confirmed cases",
        "current",
    ),
    Field(
        "imported_current_severe",
        "境外输入现有重症病例",
        "current imported severe cases",
        "current",
    ),
    Field(
        "imported_current_suspected",
        "境外输入现有疑似病例",
        "current imported suspected cases",
        "current",
    ),
    Field(
        "imported_cumulative_confirmed",
        "境外输入累计确诊病例",
        "cumulative imported confirmed cases",
        "cumulative",
    ),
    Field(
        "imported_cumulative_cured",
        "境外输入累计治愈出院病例",
        "cumulative imported cured",
        "cumulative",
    ),
    Field(
        "imported_cumulative_deaths",
        "境外输入累计死亡病例",
        "cumulative imported deaths",
        "cumulative",
    ),
    Field("current_confirmed", "现有确诊病例", "current confirmed cases", "current"),
    Field("current_severe", "现有重症病例", "current severe cases", "current"),
    Field("cumulative_cured", "累计治愈出院病例", "cumulative cured", "cumulative"),
    Field("cumulative_deaths", "累计死亡病例", "cumulative deaths", "cumulative"),
    Field("cumulative_confirmed", "累计报告确诊病例", "cumulative confirmed cases", "cumulative"),
    Field("current_suspected", "现有疑似病例", "current suspected cases", "current"),
    Field(
        "cumulative_contacts",
        "累计追踪到密切接触者",
        "cumulative close contacts traced",
        "cumulative",
    ),
    Field(
        "contacts_under_observation",
        "尚在医学观察的密切接触者",
        "close contacts under medical observation",
        "current",
    ),
    Field("asymptomatic_new", "新增无症状感染者", "new asymptomatic infections", "new"),
    Field(
        "asymptomatic_new_imported",
        "新增境外输入无症状感染者",
        "new imported asymptomatic infections",
        "new",
    ),
    Field(
        "asymptomatic_released",
        "当日解除医学观察的无症状感染者",
        "asymptomatic infections released from medical observation",
        "new",
    ),
    Field(
        "asymptomatic_under_observation",
        "尚在医学观察的无症状感染者",
        "asymptomatic infections under medical observation",
        "current",
    ),
    Field(
        "asymptomatic_under_observation_imported",
        "尚在医学观察的境外输入无症状感染者",
        "imported asymptomatic infections under medical observation",
        "current",
    ),
)
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)


@dataclass(frozen=True, slots=True)
class Figures:
    """One region's figures for one bulletin day; None where the source does not give it.

    `new_*` count the day 0–24h; `current_*` and `cumulative_*` stand at 24:00; `severe_change`
    is current severe cases minus those of the day before. `new_converted` (无症状感染者转为确诊)
    is part of `new_confirmed` and is also the asymptomatic block's "当日转为确诊病例".
    """

    new_confirmed: int | None = None
    new_confirmed_imported: int | None = None
    new_confirmed_local: int | None = None
    new_converted: int | None = None
    new_deaths: int | None = None
    new_suspected: int | None = None
    new_suspected_imported: int | None = None
    new_suspected_local: int | None = None
    new_cured: int | None = None
    new_contacts_released: int | None = None
    severe_change: int | None = None
    imported_current_confirmed: int | None = None
    imported_current_severe: int | None = None
    imported_current_suspected: int | None = None
    imported_cumulative_confirmed: int | None = None
    imported_cumulative_cured: int | None = None
    imported_cumulative_deaths: int | None = None
    current_confirmed: int | None = None
    current_severe: int | None = None
    cumulative_cured: int | None = None
    cumulative_deaths: int | None = None
    cumulative_confirmed: int | None = None
    current_suspected: int | None = None
    cumulative_contacts: int | None = None
    contacts_under_observation: int | None = None
    asymptomatic_new: int | None = None
    asymptomatic_new_imported: int | None = None
    asymptomatic_released: int | None = None
    asymptomatic_under_observation: int | None = None
    asymptomatic_under_observation_imported: int | None = None

    def as_dict(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in FIELD_NAMES}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Figures:
        """Figures from a mapping holding (some of) the field names; other keys are ignored."""
        return cls(**{n: _int_or_none(values.get(n)) for n in FIELD_NAMES})


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True, slots=True)
class RegionFigures:
    """The figures of one region: the nation, a province, a city, or Hong Kong, Macao, Taiwan."""

    region_code: str
    name: str
    figures: Figures

    @property
    def level(self) -> str:
        if self.region_code == NATION_CODE:
            return "nation"
        if self.region_code in HMT_CODES:
            return "hmt"
        return "province" if self.region_code.endswith("0000") else "city"


@dataclass(frozen=True, slots=True)
class Bulletin:
    """A daily bulletin: the figures of its scope (the nation, or the one province or city asked
    for), the breakdown by province and by city inside the scope, and, for the nation, the
    Hong Kong / Macao / Taiwan block. `sources` says where the numbers come from."""

    day: date
    scope: RegionFigures
    provinces: tuple[RegionFigures, ...] = ()
    cities: tuple[RegionFigures, ...] = ()
    hmt: tuple[RegionFigures, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def national(self) -> bool:
        return self.scope.region_code == NATION_CODE

    @property
    def figures(self) -> Figures:
        return self.scope.figures

    def region(self, code: str) -> RegionFigures | None:
        """The scope, a province, a city or an HMT region by its code (None if not listed)."""
        for r in (self.scope, *self.provinces, *self.cities, *self.hmt):
            if r.region_code == code:
                return r
        return None

    def rows(self) -> tuple[RegionFigures, ...]:
        """Every region of the bulletin: the scope first, then provinces, cities, HMT."""
        return (self.scope, *self.provinces, *self.cities, *self.hmt)


# -- tabular forms ------------------------------------------------------------------------------

FRAME_SCHEMA: dict[str, type[pl.DataType] | pl.DataType] = {
    "date": pl.Date,
    "region_code": pl.String,
    "name": pl.String,
    **{n: pl.Int64 for n in FIELD_NAMES},
}


def bulletin_frame(bulletin: Bulletin) -> pl.DataFrame:
    """One row per region (the scope first, then provinces, cities, HMT), with the date, the
    code, the name and every figure (null where not given)."""
    rows = [
        {
            "date": bulletin.day,
            "region_code": r.region_code,
            "name": r.name,
            **r.figures.as_dict(),
        }
        for r in bulletin.rows()
    ]
    return pl.DataFrame(rows, schema=FRAME_SCHEMA, orient="row")


def bulletin_from_frame(
    day: date, frame: pl.DataFrame, *, scope: str = NATION_CODE, sources: Iterable[str] = ()
) -> Bulletin:
    """Build a Bulletin from one row per region (columns `region_code` and the figure names;
    missing figure columns are None). The row of `scope` becomes the scope; for the nation,
    province rows become the breakdown and HMT rows the HMT block; city rows inside the scope
    become the city breakdown."""
    present = [n for n in FIELD_NAMES if n in frame.columns]
    by_code: dict[str, Figures] = {}
    for row in frame.select("region_code", *present).iter_rows(named=True):
        by_code[row["region_code"]] = Figures.from_mapping(row)

    def rf(code: str) -> RegionFigures:
        return RegionFigures(code, region_name(code), by_code.get(code, Figures()))

    codes = sorted(by_code)
    provinces: tuple[RegionFigures, ...] = ()
    hmt: tuple[RegionFigures, ...] = ()
    if scope == NATION_CODE:
        provinces = tuple(
            rf(c) for c in codes if c != NATION_CODE and c.endswith("0000") and c not in HMT_CODES
        )
        hmt = tuple(rf(c) for c in HMT_CODES if c in by_code)
        cities = tuple(rf(c) for c in codes if not c.endswith("0000"))
    elif scope.endswith("0000"):
        cities = tuple(rf(c) for c in codes if not c.endswith("0000") and province_of(c) == scope)
    else:
        cities = ()
    return Bulletin(day, rf(scope), provinces, cities, hmt, tuple(sources))


def bulletin_json(
    bulletin: Bulletin,
    *,
    indent: int | None = 2,
    timeliness: Mapping[str, float | int | None] | None = None,
) -> str:
    """The bulletin as JSON: date, scope, sources, and each region with its figures (null where
    not given); with `timeliness`, the medians of the four earlies for the day's cases
    (`fangkong.engine.timeliness.daily_timeliness`)."""

    def region(r: RegionFigures) -> dict[str, Any]:
        return {"region_code": r.region_code, "name": r.name, **r.figures.as_dict()}

    doc = {
        "date": bulletin.day.isoformat(),
        "scope": region(bulletin.scope),
        "provinces": [region(r) for r in bulletin.provinces],
        "cities": [region(r) for r in bulletin.cities],
        "hong_kong_macao_taiwan": [region(r) for r in bulletin.hmt],
        "sources": list(bulletin.sources),
    }
    if timeliness is not None:
        doc["timeliness"] = dict(timeliness)
    return json.dumps(doc, ensure_ascii=False, indent=indent)


def bulletin_csv(bulletin: Bulletin) -> str:
    """The bulletin as CSV, one row per region with the scope (the nation) first. The columns
    are those of the reports format (docs/reports-format.md), so the file can be read back as
    reports."""
    buf = io.StringIO()
    bulletin_frame(bulletin).write_csv(buf)
    return buf.getvalue()
