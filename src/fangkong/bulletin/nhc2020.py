"""Convert the transcriptions of the NHC's national bulletins of January 2020
(shared/data/canghailan-2020/Report/*.yaml) into the reports format (docs/reports-format.md).

A transcription gives the national totals 确诊 (cumulative confirmed), 疑似 (suspected cases
at the time: current suspected), 治愈 (cumulative cured) and 死亡 (cumulative deaths), and, some
days, lists by province: 确诊详情 (cumulative confirmed), 疑似详情 (current suspected), 死亡详情
(cumulative deaths). How they are converted:

- the national totals go into a national row (000000), every day: from 2020-01-22 the bulletins
  give no complete province breakdown, and the national figure is the one the NHC published;
- each province of a list gets a province row with that figure (the list is then a breakdown
  of the national row, which the reader checks: the provinces never add up to more);
- Hong Kong, Macao and Taiwan in 确诊详情 are outside the national total (the NHC listed them
  apart): they get rows 810000, 820000, 710000;
- a value marked `# 其他来源` ("other source") was not in the NHC's bulletin: it is left out
  (empty) unless `other_sources=True`, and the row's `source` column says so either way;
- 国外确诊详情 and 国外治愈详情 (cases in other countries) are outside the national bulletin and
  are not converted.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from fangkong.bulletin.regions import HMT_CODES, NATION_CODE, region_name
from fangkong.errors import InputError

__all__ = ["NhcDay", "convert_nhc_2020", "parse_nhc_2020_day", "province_code"]

_TOTALS = {
    "确诊": "cumulative_confirmed",
    "疑似": "current_suspected",
    "治愈": "cumulative_cured",
    "死亡": "cumulative_deaths",
}
_DETAILS = {
    "确诊详情": "cumulative_confirmed",
    "疑似详情": "current_suspected",
    "死亡详情": "cumulative_deaths",
}
_IGNORED = frozenset({"地址", "时间", "国外确诊详情", "国外治愈详情"})
_COLUMNS = ("date", "region_code", "name", *_TOTALS.values(), "source")
_OTHER_SOURCE = "其他来源"
_COUNT = re.compile(r"^\s*(\d+)\s*例\s*$")
_ITEM = re.compile(r"^\s*(\D+?)\s*(\d+)\s*例\s*$")
_KEY_LINE = re.compile(r"^([^:#\s][^:]*):\s*(.*?)\s*(?:#\s*(.*))?$")


def province_code(name: str) -> str:
    """The province (or HK, Macao, Taiwan) code of a name as the bulletins wrote it: full
    (湖北省, 香港特别行政区) or short (江西, 黑龙江, 香港, 台湾)."""
    for code in _province_codes():
        full = region_name(code)
        if full == name or (len(name) >= 2 and full.startswith(name)):
            return code
    raise KeyError(name)


def _province_codes() -> list[str]:
    codes = [f"{p}0000" for p in range(11, 83)]
    return [c for c in codes if region_name(c) != c]


@dataclass(frozen=True)
class NhcDay:
    """One transcribed bulletin: its date, source address, national totals (with the keys whose
    value came from another source) and province lists (code -> figure -> count)."""

    day: date
    address: str
    totals: dict[str, int]
    other_sources: frozenset[str]
    regions: dict[str, dict[str, int]]


def parse_nhc_2020_day(path: str | Path) -> NhcDay:
    """Parse one transcription (a YAML file; the `# 其他来源` comments are read too)."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{p}: not YAML: {exc}") from exc
    if not isinstance(doc, dict) or "时间" not in doc:
        raise InputError(f"{p}: not a bulletin transcription (no 时间)")
    comments = {}
    for line in text.splitlines():
        m = _KEY_LINE.match(line)
        if m and m[3]:
            comments[m[1].strip()] = m[3].strip()
    unknown = set(doc) - set(_TOTALS) - set(_DETAILS) - _IGNORED
    if unknown:
        raise InputError(f"{p}: unknown key(s) {', '.join(sorted(unknown))}")
    totals: dict[str, int] = {}
    for key, field in _TOTALS.items():
        if key in doc:
            m = _COUNT.match(str(doc[key]))
            if not m:
                raise InputError(f"{p}, key '{key}': not a count of cases: {doc[key]!r}")
            totals[field] = int(m[1])
    other = frozenset(
        _TOTALS[k] for k, c in comments.items() if k in _TOTALS and _OTHER_SOURCE in c
    )
    regions: dict[str, dict[str, int]] = {}
    for key, field in _DETAILS.items():
        if key not in doc:
            continue
        for item in re.split(r"[，、,；;]", str(doc[key])):
            if not item.strip():
                continue
            m = _ITEM.match(item)
            if not m:
                raise InputError(f"{p}, key '{key}': not 'name N例': {item!r}")
            try:
                code = province_code(m[1])
            except KeyError:
                raise InputError(f"{p}, key '{key}': unknown province {m[1]!r}") from None
            regions.setdefault(code, {})[field] = int(m[2])
    day = doc["时间"]
    if not isinstance(day, date):
        day = date.fromisoformat(str(day))
    return NhcDay(day, str(doc.get("地址", "")), totals, other, regions)


def _rows(day: NhcDay, other_sources: bool) -> list[dict[str, object]]:
    source = f"国家卫生健康委通报 {day.address}".strip()
    if day.other_sources:
        labels = "、".join(k for k, f in _TOTALS.items() if f in day.other_sources)
        kept = "（已采用）" if other_sources else "（未采用）"
        source += f"；{labels}：其他来源{kept}"
    national: dict[str, object] = {
        "date": day.day.isoformat(),
        "region_code": NATION_CODE,
        "name": "全国",
        "source": source,
    }
    for field, value in day.totals.items():
        if other_sources or field not in day.other_sources:
            national[field] = value
    rows = [national]
    order = sorted(day.regions, key=lambda c: (c in HMT_CODES, c))
    for code in order:
        rows.append(
            {
                "date": day.day.isoformat(),
                "region_code": code,
                "name": region_name(code),
                **day.regions[code],
            }
        )
    return rows


def convert_nhc_2020(
    report_dir: str | Path, out: str | Path | None = None, *, other_sources: bool = False
) -> str:
    """Convert every `*.yaml` transcription in `report_dir` into one reports CSV (ordered by
    date); write it to `out` when given, and return its text."""
    files = sorted(Path(report_dir).glob("*.yaml"))
    if not files:
        raise InputError(f"{report_dir}: no *.yaml bulletin transcriptions")
    days = sorted((parse_nhc_2020_day(f) for f in files), key=lambda d: d.day)
    seen: set[date] = set()
    rows: list[dict[str, object]] = []
    for d in days:
        if d.day in seen:
            raise InputError(f"{report_dir}: two transcriptions for {d.day.isoformat()}")
        seen.add(d.day)
        rows.extend(_rows(d, other_sources))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    text = buf.getvalue()
    if out is not None:
        Path(out).write_text(text, encoding="utf-8")
    return text
