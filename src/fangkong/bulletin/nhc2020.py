"""Convert the transcriptions of the NHC's national bulletins of January 2020
(shared/data/canghailan-2020/Report/*.yaml) into the reports format (docs/reports-format.md) —
or, with `provinces=True`, the provinces' own bulletins transcribed beside them.

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

A province's own bulletin is transcribed the same way with a key 省 (the province) and lists by
city. It gives a province row, and a city row for each listed name that is one city of the
province (深圳市, 深圳, 恩施州: `cities_of` the bulletin's year); a listed name that is none —
a municipality's districts (districts are not reporting units), 外地来沪, 待确认 — is not a
row, and the province row's `source` lists it with its count, so no figure is dropped unsaid.
The provinces' bulletins and the NHC's are converted apart, one or the other per file: they
were published at different hours, and on some days of January 2020 the provinces' figures add
up to more than the NHC's national ones of the same date (e.g. 22 January: 576 against 571).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fangkong.bulletin.regions import HMT_CODES, NATION_CODE, cities_of, region_name
from fangkong.errors import ImportFileError, InputError

__all__ = ["Converted", "NhcDay", "convert_nhc_2020", "parse_nhc_2020_day", "province_code"]

_TOTALS = {
    "确诊": "cumulative_confirmed",
    "疑似": "current_suspected",
    "治愈": "cumulative_cured",
    "死亡": "cumulative_deaths",
}
_DETAILS = {
    "确诊详情": "cumulative_confirmed",
    "疑似详情": "current_suspected",
    "治愈详情": "cumulative_cured",
    "死亡详情": "cumulative_deaths",
}
_PROVINCE = "省"  # the key of a province's own bulletin
_IGNORED = frozenset({"地址", "时间", _PROVINCE, "国外确诊详情", "国外治愈详情"})
# what a city's name may end with in a province's list, beside its full name (恩施州, 大兴安岭)
_CITY_SUFFIXES = ("自治州", "自治县", "林区", "地区", "市", "州", "盟", "县")
_COLUMNS = ("date", "region_code", "name", *_TOTALS.values(), "source")
_OTHER_SOURCE = "其他来源"
_COUNT = re.compile(r"^\s*(\d+)\s*[例人]\s*$")  # cases, or (some provinces) persons
_ITEM = re.compile(r"^\s*(\D+?)\s*(\d+)\s*[例人]\s*$")
_ITEMS = re.compile(r"[，、,]")
_CLAUSES = re.compile(r"(?<=[。；;])")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\ufeff]")  # pasted from web pages
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


def _city_code(province: str, name: str, year: int) -> str | None:
    """The one city of `province` in `year` that a list's `name` names (full, or without its
    suffix: 深圳, 恩施州 for 恩施土家族苗族自治州, 陵水县 for 陵水黎族自治县); a prefecture
    before a county-level city of the same name (the table keeps 随州市 429001, a county-level
    city until 2000, with no end year); None if none or several."""
    stem = name
    for suffix in _CITY_SUFFIXES:
        if stem.endswith(suffix) and len(stem) > len(suffix) + 1:
            stem = stem.removesuffix(suffix)
            break
    cities = cities_of(province, year)
    exact = [code for code, full in cities.items() if full == name]
    found = exact or [code for code, full in cities.items() if full.startswith(stem)]
    if len(found) > 1:
        found = [code for code in found if code[2:4] != "90"]
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class NhcDay:
    """One transcribed bulletin: its date, source address, totals (with the keys whose value
    came from another source) and lists (code -> figure -> count) — the nation's and its
    provinces', or (`province` set) a province's and its cities', with the listed names that
    are no city (`unplaced`: figure -> name -> count)."""

    day: date
    address: str
    totals: dict[str, int]
    other_sources: frozenset[str]
    regions: dict[str, dict[str, int]]
    province: str | None = None
    unplaced: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    # a list's text after a 。 that is no list (重症病例中，…: another figure), by key: not read
    tails: dict[str, str] = dataclasses.field(default_factory=dict)


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


def _list_items(value: str) -> tuple[list[str], str]:
    """A list's items (`name N例`, separated by ，、, within clauses separated by 。；;), and
    the text from the first clause after the first that is not more items: a transcription may
    go on after a list in prose about another figure (…台州18例。重症病例中，温州1例…), which
    is not read as the list."""
    clauses = _CLAUSES.split(_ZERO_WIDTH.sub("", value))  # each ends with its separator
    items: list[str] = []
    for k, clause in enumerate(clauses):
        parts = [i for i in _ITEMS.split(clause.rstrip("。；;")) if i.strip()]
        if k and not all(_ITEM.match(i) for i in parts):
            return items, "".join(clauses[k:]).strip()
        items.extend(parts)
    return items, ""


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


Line = tuple[int, str, str]  # a transcription's line: its number, value and comment


def _lists(
    p: Path, doc: dict[str, Line], province: str | None, year: int
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]], dict[str, str]]:
    """The lists of a transcription (`NhcDay`: regions, unplaced, tails): by province for the
    NHC's, by city of `province` (in `year`) for a province's own."""
    regions: dict[str, dict[str, int]] = {}
    unplaced: dict[str, dict[str, int]] = {}
    tails: dict[str, str] = {}
    for key, field in _DETAILS.items():
        if key not in doc:
            continue
        number, value, _ = doc[key]
        items, rest = _list_items(value)
        if rest:
            tails[key] = rest
        for item in items:
            m = _ITEM.match(item)
            if not m:
                raise ImportFileError(
                    str(p), f"not 'name N例': {item!r}", row=number, field=key, line=number
                )
            if province is not None:
                city = _city_code(province, m[1].strip(), year)
                if city is None:  # a district, 外地来沪, 待确认: said in the province row
                    names = unplaced.setdefault(field, {})
                    names[m[1].strip()] = names.get(m[1].strip(), 0) + int(m[2])
                    continue
                code = city
            else:
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
    return regions, unplaced, tails


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
    number, value, _ = doc["时间"]
    day = _bulletin_day(p, number, value)
    province = None
    if _PROVINCE in doc:
        number, value, _ = doc[_PROVINCE]
        try:
            province = province_code(value)
        except KeyError:
            raise ImportFileError(
                str(p), f"unknown province {value!r}", row=number, field=_PROVINCE, line=number
            ) from None
    regions, unplaced, tails = _lists(p, doc, province, day.year)
    address = doc["地址"][1] if "地址" in doc else ""
    return NhcDay(day, address, totals, frozenset(other), regions, province, unplaced, tails)


def _rows(day: NhcDay, other_sources: bool) -> list[dict[str, object]]:
    publisher = (
        "国家卫生健康委" if day.province is None else f"{region_name(day.province)}卫生健康委"
    )
    source = f"{publisher}通报 {day.address}".strip()
    if day.other_sources:
        labels = "、".join(k for k, f in _TOTALS.items() if f in day.other_sources)
        kept = "（已采用）" if other_sources else "（未采用）"
        source += f"；{labels}：其他来源{kept}"
    for key, field in _DETAILS.items():
        names = day.unplaced.get(field)
        if names:  # listed, but no city of the province: kept in the row's source
            items = "，".join(f"{name}{count}例" for name, count in names.items())
            source += f"；{key}中未归入市的：{items}"
        if key in day.tails:
            source += f"；{key}列表后未读：{day.tails[key]}"
    top = day.province or NATION_CODE
    head: dict[str, object] = {  # the nation's row, or the province's
        "date": day.day.isoformat(),
        "region_code": top,
        "name": "全国" if day.province is None else region_name(top),
        "source": source,
    }
    for field, value in day.totals.items():
        if other_sources or field not in day.other_sources:
            head[field] = value
    regions = {code: dict(figures) for code, figures in day.regions.items()}
    for key, field in _DETAILS.items():
        # a list is a breakdown of its total (the reports reader checks it): one that adds up
        # to more is a faulty transcription or bulletin (山东省 27 January 2020: its cities 87,
        # its total 63), and is not converted rather than the file refused
        listed = sum(f.get(field, 0) for code, f in regions.items() if code not in HMT_CODES)
        total = head.get(field)
        if isinstance(total, int) and listed > total:
            for figures in regions.values():
                figures.pop(field, None)
            head["source"] = f"{head['source']}；{key}合计{listed}例，多于{total}例：未转换"
    rows = [head]
    order = sorted(regions, key=lambda c: (c in HMT_CODES, c))
    for code in order:
        if regions[code]:
            rows.append(
                {
                    "date": day.day.isoformat(),
                    "region_code": code,
                    "name": region_name(code),
                    **regions[code],
                }
            )
    return rows


@dataclass(frozen=True)
class Converted:
    """A reports CSV converted from transcriptions: its text, its rows, and the number of
    transcriptions of the other kind in the folder, left out (the NHC's, or the provinces')."""

    text: str
    rows: int
    left_out: int


def convert_nhc_2020(
    report_dir: str | Path,
    out: str | Path | None = None,
    *,
    other_sources: bool = False,
    provinces: bool = False,
) -> Converted:
    """Convert every `*.yaml` transcription in `report_dir` of the NHC's bulletins (or, with
    `provinces`, of the provinces' own) into one reports CSV (ordered by date, then region);
    write it to `out` when given."""
    files = sorted(Path(report_dir).glob("*.yaml"))
    if not files:
        raise InputError(f"{report_dir}: no *.yaml bulletin transcriptions")
    every = [(parse_nhc_2020_day(f), f) for f in files]
    chosen = [(d, f) for d, f in every if (d.province is not None) == provinces]
    if not chosen:
        kind = "province's" if provinces else "NHC's national"
        raise InputError(f"{report_dir}: no transcription of a {kind} bulletin")
    first: dict[tuple[date, str | None], Path] = {}
    rows: list[dict[str, object]] = []
    for d, f in sorted(chosen, key=lambda df: (df[0].day, df[0].province or "")):
        if (d.day, d.province) in first:
            whose = f" of {region_name(d.province)}" if d.province else ""
            raise ImportFileError(
                str(f),
                f"a second transcription{whose} for {d.day.isoformat()}"
                f" (the first is {first[(d.day, d.province)]})",
                field="时间",
            )
        first[(d.day, d.province)] = f
        rows.extend(_rows(d, other_sources))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    text = buf.getvalue()
    if out is not None:
        Path(out).write_text(text, encoding="utf-8")
    return Converted(text, len(rows), len(every) - len(chosen))
