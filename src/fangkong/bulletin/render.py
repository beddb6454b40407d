"""The bulletin as text in Chinese, in the NHC's wording (the English text is in
`render_en`, with the same figures, lists and order).

The Chinese text reproduces the sentence forms of the NHC bulletin of 2020-04-07 as published
(seed 002: "截至4月7日24时，31个省（区、市）和新疆生产建设兵团累计报告确诊病例81802例，…");
figures that paragraph does not have are written in the NHC's own wording of its full bulletin
(e.g. 2020-11-24): the province lists "（上海2例，内蒙古1例）", "重症病例较前一日减少N例",
"解除医学观察的密切接触者N人", "累计追踪到密切接触者N人，尚在医学观察的密切接触者N人",
"（境外输入N例）", and "累计收到港澳台地区通报确诊病例N例。其中，香港特别行政区N例（出院N例，
死亡N例），…". A figure that is None is left out with its clause.

Lists by region: new figures by province (short names, largest first); from 2022, local cases by
province with their cities ("内蒙古30例，其中呼和浩特市28例、包头市2例"); when a day has no new
figures at all (January 2020), the cumulative figures by province, as the NHC then wrote them.
For a province's bulletin the lists are by city.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from fangkong.bulletin.bulletin import Bulletin, Figures, RegionFigures
from fangkong.bulletin.regions import (
    HMT_CODES,
    NATION_NAME,
    province_of,
    region_name,
    region_name_en,
    region_short_name,
)

__all__ = ["focus_regions", "render_zh"]

HUBEI = "420000"
_HMT_ZH = {"810000": "香港特别行政区", "820000": "澳门特别行政区", "710000": "台湾地区"}


def focus_regions(b: Bulletin, focus: Sequence[str] | None) -> list[RegionFigures]:
    """The provinces given a sentence of their own: `focus` when given, else Hubei in the
    national bulletins of 2020 that have its new cases (as in seed 002)."""
    if focus is None:
        hubei = b.region(HUBEI)
        ok = b.national and b.day.year == 2020 and hubei is not None
        focus = (HUBEI,) if ok and hubei and hubei.figures.new_confirmed is not None else ()
    return [r for code in focus if (r := b.region(code)) is not None]


def cumulative_lists(b: Bulletin) -> bool:
    """January 2020 form: no new figures at all, cumulative figures listed by province."""
    return b.figures.new_confirmed is None and b.figures.new_suspected is None


def n_en(value: int) -> str:
    return f"{value:,}"


def count_en(value: int, noun: str, plural: str | None = None) -> str:
    """ "1 death", "2 deaths", "1,234 confirmed cases": the number with the noun in the right
    number (`plural` when it is not the noun + "s")."""
    return f"{n_en(value)} {noun if value == 1 else (plural or noun + 's')}"


@dataclass(frozen=True)
class Lists:
    """Region lists of one bulletin in one language: "（上海10例，广东2例）" or
    " (Shanghai 10, Guangdong 2)"; "" when there is nothing to list."""

    b: Bulletin
    lang: str

    @property
    def parts(self) -> Sequence[RegionFigures]:
        return self.b.provinces if self.b.national else self.b.cities

    def _name(self, r: RegionFigures, full: bool) -> str:
        if self.lang == "en":
            return region_name_en(r.region_code)
        return region_name(r.region_code) if full else region_short_name(r.region_code)

    def _item(self, r: RegionFigures, v: int, full: bool = False) -> str:
        if self.lang == "en":
            return f"{self._name(r, full)} {n_en(v)}"
        return f"{self._name(r, full)}{v}例"

    def _wrap(self, items: Sequence[str], sep_zh: str = "，", sep_en: str = ", ") -> str:
        if not items:
            return ""
        if self.lang == "zh":
            return f"（{sep_zh.join(items)}）"
        return f" ({sep_en.join(items)})"

    @staticmethod
    def items(regions: Sequence[RegionFigures], field: str) -> list[tuple[RegionFigures, int]]:
        found = [(r, v) for r in regions if (v := getattr(r.figures, field))]
        return sorted(found, key=lambda rv: (-rv[1], rv[0].region_code))

    def by_region(self, field: str, *, full: bool = False) -> str:
        return self._wrap([self._item(r, v, full) for r, v in self.items(self.parts, field)])

    def cumulative(self, field: str) -> str:
        """The January 2020 list of a cumulative figure (full names), else ""."""
        return self.by_region(field, full=True) if cumulative_lists(self.b) else ""

    def by_province_and_city(self, field: str) -> str:
        """From 2022: "（内蒙古30例，其中呼和浩特市28例、包头市2例；北京4例）"."""
        b = self.b
        if not b.national or b.day.year < 2022 or not b.cities:
            return self.by_region(field)
        groups = []
        for province, v in self.items(b.provinces, field):
            inside = [c for c in b.cities if province_of(c.region_code) == province.region_code]
            listed = self.items(inside, field)
            head = self._item(province, v)
            if listed and self.lang == "zh":
                head += "，其中" + "、".join(f"{c.name}{k}例" for c, k in listed)
            elif listed:
                head += ": " + ", ".join(f"{c.name} {n_en(k)}" for c, k in listed)
            groups.append(head)
        return self._wrap(groups, "；", "; ")


def hmt_items(
    hmt: Sequence[RegionFigures], names: dict[str, str], item: Callable[[str, Figures], str]
) -> tuple[int | None, list[str]]:
    """(total when all three are given, one item per region in the bulletin's order)."""
    ordered = sorted(
        (
            r
            for r in hmt
            if r.region_code in HMT_CODES and r.figures.cumulative_confirmed is not None
        ),
        key=lambda r: HMT_CODES.index(r.region_code),
    )
    total = None
    if len(ordered) == len(HMT_CODES):
        total = sum(r.figures.cumulative_confirmed or 0 for r in ordered)
    return total, [item(names[r.region_code], r.figures) for r in ordered]


# -- Chinese ------------------------------------------------------------------------------------


def _zh_day(day: date) -> str:
    return f"{day.month}月{day.day}日"


def _split_zh(imported: int | None, local: int | None, li: str, ll: str) -> str:
    if imported is None or local is None:
        return ""
    if local == 0:
        return f"，均为境外输入病例{li}"
    if imported == 0:
        return f"，均为本土病例{ll}"
    return f"，其中{imported}例为境外输入病例{li}，{local}例为本土病例{ll}"


def _lead_zh(f: Figures, lists: Lists) -> list[str]:
    """The seed's first sentence, clause by clause."""
    clauses: list[str] = []
    if f.cumulative_confirmed is not None:
        text = (
            f"累计报告确诊病例{f.cumulative_confirmed}例{lists.cumulative('cumulative_confirmed')}"
        )
        if f.imported_cumulative_confirmed is not None:
            text += f"，其中累计报告境外输入确诊病例{f.imported_cumulative_confirmed}例"
        clauses.append(text)
    if f.new_confirmed == 0:
        clauses.append("当日无新增确诊病例")
    elif f.new_confirmed is not None:
        clauses.append(
            f"当日新增确诊病例{f.new_confirmed}例"
            + _split_zh(
                f.new_confirmed_imported,
                f.new_confirmed_local,
                lists.by_region("new_confirmed_imported"),
                lists.by_province_and_city("new_confirmed_local"),
            )
        )
    if f.current_confirmed is not None:
        severe = "" if f.current_severe is None else f"，其中重症病例{f.current_severe}例"
        clauses.append(f"现有确诊病例{f.current_confirmed}例{severe}")
    elif f.current_severe is not None:
        clauses.append(f"现有重症病例{f.current_severe}例")
    deaths = []
    if f.cumulative_deaths is not None:
        deaths.append(f"累计死亡病例{f.cumulative_deaths}例{lists.cumulative('cumulative_deaths')}")
    if f.new_deaths is not None:
        deaths.append(
            f"当日新增死亡病例{f.new_deaths}例{lists.by_region('new_deaths')}"
            if f.new_deaths
            else "当日无新增死亡病例"
        )
    cured = []
    if f.cumulative_cured is not None:
        cured.append(f"累计治愈出院病例{f.cumulative_cured}例")
    if f.new_cured is not None:
        cured.append(f"当日新增{'' if cured else '治愈出院病例'}{f.new_cured}例")
    suspected = []
    if f.current_suspected is not None:
        suspected.append(
            f"现有疑似病例{f.current_suspected}例{lists.cumulative('current_suspected')}"
        )
    if f.new_suspected == 0:
        suspected.append("当日无新增疑似病例")
    elif f.new_suspected is not None:
        suspected.append(
            f"当日新增疑似病例{f.new_suspected}例"
            + _split_zh(
                f.new_suspected_imported,
                f.new_suspected_local,
                lists.by_region("new_suspected_imported"),
                lists.by_region("new_suspected_local"),
            )
        )
    return clauses + ["，".join(part) for part in (deaths, cured, suspected) if part]


def _day_notes_zh(f: Figures) -> list[str]:
    notes = []
    if f.new_contacts_released is not None:
        notes.append(f"当日解除医学观察的密切接触者{f.new_contacts_released}人")
    if f.severe_change == 0:
        notes.append("重症病例与前一日持平")
    elif f.severe_change is not None:
        way = "增加" if f.severe_change > 0 else "减少"
        notes.append(f"重症病例较前一日{way}{abs(f.severe_change)}例")
    return notes


def _focus_zh(r: RegionFigures) -> str:
    """The seed's "湖北无新增确诊病例，无新增疑似病例、无现有疑似病例"."""
    f = r.figures
    first = []
    if f.new_confirmed is not None:
        first.append(f"新增确诊病例{f.new_confirmed}例" if f.new_confirmed else "无新增确诊病例")
    rest = []
    if f.new_suspected is not None:
        rest.append(f"新增疑似病例{f.new_suspected}例" if f.new_suspected else "无新增疑似病例")
    if f.current_suspected is not None:
        rest.append(
            f"现有疑似病例{f.current_suspected}例" if f.current_suspected else "无现有疑似病例"
        )
    parts = [*first, "、".join(rest)] if rest else first
    return region_short_name(r.region_code) + "，".join(parts) if parts else ""


def _imported_zh(f: Figures) -> list[str]:
    """The seed's imported block (with the NHC's "（其中重症病例N例）")."""
    parts = []
    if f.imported_current_confirmed is not None:
        text = f"现有境外输入确诊病例{f.imported_current_confirmed}例"
        if f.imported_current_severe is not None:
            text += f"（其中重症病例{f.imported_current_severe}例）"
        parts.append(text)
    if f.imported_current_suspected is not None:
        parts.append(f"现有境外输入疑似病例{f.imported_current_suspected}例")
    if f.imported_cumulative_cured is not None:
        parts.append(f"累计治愈出院病例{f.imported_cumulative_cured}例")
    if f.imported_cumulative_deaths is not None:
        deaths = f.imported_cumulative_deaths
        parts.append(f"累计死亡病例{deaths}例" if deaths else "无死亡病例")
    return parts


def _contacts_zh(f: Figures) -> list[str]:
    parts = []
    if f.cumulative_contacts is not None:
        parts.append(f"累计追踪到密切接触者{f.cumulative_contacts}人")
    if f.contacts_under_observation is not None:
        parts.append(f"尚在医学观察的密切接触者{f.contacts_under_observation}人")
    return parts


def _asymptomatic_zh(f: Figures, d: str, own: str) -> str:
    """The seed's asymptomatic block, with the NHC's "（境外输入N例）"."""
    first = []
    if f.asymptomatic_new is not None:
        imported = f.asymptomatic_new_imported
        first.append(
            f"新增接受医学观察的无症状感染者{f.asymptomatic_new}例"
            + ("" if imported is None else f"（境外输入{imported}例）")
        )
    if f.new_converted is not None:
        first.append(f"当日转为确诊病例{f.new_converted}例")
    clauses = ["，".join(first)] if first else []
    if f.asymptomatic_released is not None:
        clauses.append(f"当日解除医学观察{f.asymptomatic_released}例")
    text = f"截至{d}24时，{own}" + "；".join(clauses) + "。" if clauses else ""
    if f.asymptomatic_under_observation is not None:
        imported = f.asymptomatic_under_observation_imported
        text += (
            f"尚在接受医学观察的无症状感染者{f.asymptomatic_under_observation}例"
            + ("" if imported is None else f"（境外输入{imported}例）")
            + "。"
        )
    return text


def _hmt_zh(hmt: Sequence[RegionFigures]) -> str:
    def item(name: str, f: Figures) -> str:
        extra = []
        if f.cumulative_cured:
            extra.append(f"出院{f.cumulative_cured}例")
        if f.cumulative_deaths:
            extra.append(f"死亡{f.cumulative_deaths}例")
        return f"{name}{f.cumulative_confirmed}例" + (f"（{'，'.join(extra)}）" if extra else "")

    total, items = hmt_items(hmt, _HMT_ZH, item)
    if not items:
        return ""
    if total is None:
        return "累计收到港澳台地区通报确诊病例：" + "，".join(items) + "。"
    return f"累计收到港澳台地区通报确诊病例{total}例。其中，" + "，".join(items) + "。"


def render_zh(bulletin: Bulletin, *, focus: Sequence[str] | None = None) -> str:
    """The bulletin in Chinese, one paragraph a line. `focus`: provinces given a sentence of
    their own (default: Hubei in the national bulletins of 2020, as in seed 002)."""
    b, f = bulletin, bulletin.figures
    d = _zh_day(b.day)
    name = NATION_NAME if b.national else b.scope.name
    paragraphs = []
    if lead := _lead_zh(f, Lists(b, "zh")):
        paragraphs.append(f"截至{d}24时，{name}" + "；".join(lead) + "。")
    if notes := _day_notes_zh(f):
        paragraphs.append("，".join(notes) + "。")
    paragraphs.extend(
        f"{d}0~24时，{sentence}。" for r in focus_regions(b, focus) if (sentence := _focus_zh(r))
    )
    # The NHC's paragraphs after the first have no subject (the nation is understood); a
    # province's or city's bulletin names itself in each, so no sentence reads as national.
    own = "" if b.national else name
    for block in (_imported_zh(f), _contacts_zh(f)):
        if block:
            paragraphs.append(f"截至{d}24时，{own}" + "，".join(block) + "。")
    if asymptomatic := _asymptomatic_zh(f, d, own):
        paragraphs.append(asymptomatic)
    if b.national and (hmt := _hmt_zh(b.hmt)):
        paragraphs.append(hmt)
    if not paragraphs:
        return f"{d}：{name}无可通报的数字。"
    return "\n".join(paragraphs)
