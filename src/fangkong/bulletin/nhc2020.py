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

from fangkong.bulletin.regions import HMT_CODES, NATION_CODE, region_name
from fangkong.errors import ImportFileError, InputError

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
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


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


def _read_lines(p: Path) -> list[tuple[int, str, str, str]]:
    """The transcription's `key: value  # comment` lines as (line, key, value, comment). A
    transcription is flat (one key a line), so it is read line by line: a key given twice is
    an error (a YAML reader would keep the last value silently), and every error can name its
    line."""
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = p.read_bytes()[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            str(p),
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x}): save the file as UTF-8",
            row=line,
            line=line,
        ) from None
    except OSError as exc:
        raise ImportFileError(str(p), f"cannot read the file: {exc.strerror}") from None
    lines: list[tuple[int, str, str, str]] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        m = _KEY_LINE.match(raw)
        if not m:
            raise ImportFileError(str(p), "not a 'key: value' line", row=number, line=number)
        key = m[1].strip()
        if key in seen:
            raise ImportFileError(
                str(p),
                f"the key is given twice (first on line {seen[key]}): one line per key",
                row=number,
                field=key,
                line=number,
            )
        seen[key] = number
        lines.append((number, key, m[2], (m[3] or "").strip()))
    return lines


def _bulletin_day(p: Path, line: int, value: str) -> date:
    if _DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ImportFileError(
        str(p),
        f"not a date written YYYY-MM-DD (value {value!r})",
        row=line,
        field="时间",
        line=line,
    )


def parse_nhc_2020_day(path: str | Path) -> NhcDay:
    """Parse one transcription: UTF-8 lines `key: value` with an optional `# comment` (the
    `# 其他来源` comments are read too). Raises ImportFileError naming the file, the line (as
    its row) and the key of the first problem."""
    p = Path(path)
    lines = _read_lines(p)
    doc = {key: (number, value, comment) for number, key, value, comment in lines}
    if "时间" not in doc:
        raise ImportFileError(str(p), "not a bulletin transcription (no 时间)", field="时间")
    for key, (number, _, _) in doc.items():
        if key not in _TOTALS and key not in _DETAILS and key not in _IGNORED:
            raise ImportFileError(str(p), "unknown key", row=number, field=key, line=number)
    totals: dict[str, int] = {}
    other: set[str] = set()
    for key, field in _TOTALS.items():
        if key not in doc:
            continue
        number, value, comment = doc[key]
        m = _COUNT.match(value)
        if not m:
            raise ImportFileError(
                str(p),
                f"not a count of cases ('N例'): {value!r}",
                row=number,
                field=key,
                line=number,
            )
        totals[field] = int(m[1])
        if _OTHER_SOURCE in comment:
            other.add(field)
    regions: dict[str, dict[str, int]] = {}
    for key, field in _DETAILS.items():
        if key not in doc:
            continue
        number, value, _ = doc[key]
        for item in re.split(r"[，、,；;]", value):
            if not item.strip():
                continue
            m = _ITEM.match(item)
            if not m:
                raise ImportFileError(
                    str(p), f"not 'name N例': {item!r}", row=number, field=key, line=number
                )
            try:
                code = province_code(m[1])
            except KeyError:
                raise ImportFileError(
                    str(p), f"unknown province {m[1]!r}", row=number, field=key, line=number
                ) from None
            if field in regions.get(code, {}):
                raise ImportFileError(
                    str(p),
                    f"{region_name(code)} is listed twice",
                    row=number,
                    field=key,
                    line=number,
                )
            regions.setdefault(code, {})[field] = int(m[2])
    number, value, _ = doc["时间"]
    day = _bulletin_day(p, number, value)
    return NhcDay(day, doc["地址"][1] if "地址" in doc else "", totals, frozenset(other), regions)


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
    parsed = sorted(((parse_nhc_2020_day(f), f) for f in files), key=lambda df: df[0].day)
    first: dict[date, Path] = {}
    rows: list[dict[str, object]] = []
    for d, f in parsed:
        if d.day in first:
            raise ImportFileError(
                str(f),
                f"a second transcription for {d.day.isoformat()} (the first is {first[d.day]})",
                field="时间",
            )
        first[d.day] = f
        rows.extend(_rows(d, other_sources))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    text = buf.getvalue()
    if out is not None:
        Path(out).write_text(text, encoding="utf-8")
    return text
