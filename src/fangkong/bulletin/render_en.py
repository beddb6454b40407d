"""The bulletin as text in English: the same figures, lists and order as `render_zh`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from fangkong.bulletin.bulletin import Bulletin, Figures, RegionFigures
from fangkong.bulletin.regions import NATION_NAME_EN, region_name_en
from fangkong.bulletin.render import Lists, count_en, focus_regions, hmt_items, n_en

__all__ = ["render_en"]

_HMT_EN = {"810000": "Hong Kong SAR", "820000": "Macao SAR", "710000": "Taiwan"}


def _en_day(day: date) -> str:
    return f"{day.day} {day.strftime('%B')} {day.year}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _split_en(imported: int | None, local: int | None, li: str, ll: str) -> str:
    if imported is None or local is None:
        return ""
    if local == 0:
        return f", all imported{li}"
    if imported == 0:
        return f", all local{ll}"
    return f": {n_en(imported)} imported{li} and {n_en(local)} local{ll}"


def _sentence(parts: Sequence[str]) -> list[str]:
    return [_cap("; ".join(parts)) + "."] if parts else []


def _lead_en(f: Figures, lists: Lists, d: str, name: str) -> list[str]:
    out = []
    if f.cumulative_confirmed is not None:
        text = (
            f"As of 24:00 on {d}, {name} had reported"
            f" {count_en(f.cumulative_confirmed, 'confirmed case')}"
            f" in total{lists.cumulative('cumulative_confirmed')}"
        )
        if f.imported_cumulative_confirmed is not None:
            text += f", {n_en(f.imported_cumulative_confirmed)} of them imported"
        out.append(text + ".")
    else:
        out.append(f"{_cap(name)}, {d}:")
    if f.new_confirmed == 0:
        out.append("No new confirmed case was reported on the day.")
    elif f.new_confirmed is not None:
        split = _split_en(
            f.new_confirmed_imported,
            f.new_confirmed_local,
            lists.by_region("new_confirmed_imported"),
            lists.by_province_and_city("new_confirmed_local"),
        )
        out.append(f"{count_en(f.new_confirmed, 'new confirmed case')} on the day{split}.")
    if f.current_confirmed is not None:
        severe = "" if f.current_severe is None else f", {n_en(f.current_severe)} of them severe"
        out.append(f"Current confirmed cases: {n_en(f.current_confirmed)}{severe}.")
    deaths = []
    if f.cumulative_deaths is not None:
        deaths.append(
            f"deaths in total: {n_en(f.cumulative_deaths)}{lists.cumulative('cumulative_deaths')}"
        )
    if f.new_deaths is not None:
        deaths.append(f"new deaths on the day: {n_en(f.new_deaths)}{lists.by_region('new_deaths')}")
    cured = []
    if f.cumulative_cured is not None:
        cured.append(f"cured and discharged in total: {n_en(f.cumulative_cured)}")
    if f.new_cured is not None:
        cured.append(f"newly cured on the day: {n_en(f.new_cured)}")
    suspected = []
    if f.current_suspected is not None:
        suspected.append(
            f"current suspected cases: {n_en(f.current_suspected)}"
            + lists.cumulative("current_suspected")
        )
    if f.new_suspected == 0:
        suspected.append("no new suspected case on the day")
    elif f.new_suspected is not None:
        split = _split_en(
            f.new_suspected_imported,
            f.new_suspected_local,
            lists.by_region("new_suspected_imported"),
            lists.by_region("new_suspected_local"),
        )
        suspected.append(f"{count_en(f.new_suspected, 'new suspected case')} on the day{split}")
    return out + _sentence(deaths) + _sentence(cured) + _sentence(suspected)


def _day_notes_en(f: Figures) -> list[str]:
    out = []
    if f.new_contacts_released is not None:
        out.append(
            "Close contacts released from medical observation on the day:"
            f" {n_en(f.new_contacts_released)}."
        )
    if f.severe_change == 0:
        out.append("Severe cases were unchanged from the day before.")
    elif f.severe_change is not None:
        way = "rose" if f.severe_change > 0 else "fell"
        out.append(f"Severe cases {way} by {n_en(abs(f.severe_change))} from the day before.")
    return out


def _focus_en(r: RegionFigures, d: str) -> str:
    f = r.figures
    parts = [
        (count_en(v, what) if v else f"no {what}")
        for v, what in (
            (f.new_confirmed, "new confirmed case"),
            (f.new_suspected, "new suspected case"),
            (f.current_suspected, "current suspected case"),
        )
        if v is not None
    ]
    if not parts:
        return ""
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return f"On {d}, {region_name_en(r.region_code)} reported {listed}."


def _imported_en(f: Figures, own: str) -> list[str]:
    parts = []
    if f.imported_current_confirmed is not None:
        severe = f.imported_current_severe
        parts.append(
            f"{n_en(f.imported_current_confirmed)} current confirmed"
            + ("" if severe is None else f" ({n_en(severe)} severe)")
        )
    if f.imported_current_suspected is not None:
        parts.append(f"{n_en(f.imported_current_suspected)} current suspected")
    if f.imported_cumulative_cured is not None:
        parts.append(f"{n_en(f.imported_cumulative_cured)} cured in total")
    if f.imported_cumulative_deaths is not None:
        deaths = f.imported_cumulative_deaths
        parts.append(f"{count_en(deaths, 'death')} in total" if deaths else "no deaths")
    return [f"Imported cases{own}: " + ", ".join(parts) + "."] if parts else []


def _contacts_en(f: Figures, own: str) -> list[str]:
    parts = []
    if f.cumulative_contacts is not None:
        parts.append(f"close contacts traced{own} in total: {n_en(f.cumulative_contacts)}")
    if f.contacts_under_observation is not None:
        parts.append(f"under medical observation: {n_en(f.contacts_under_observation)}")
    return _sentence(parts)


def _asymptomatic_en(f: Figures, own: str) -> list[str]:
    parts = []
    if f.asymptomatic_new is not None:
        imported = f.asymptomatic_new_imported
        parts.append(
            f"{n_en(f.asymptomatic_new)} new under medical observation"
            + ("" if imported is None else f" ({n_en(imported)} imported)")
        )
    if f.new_converted is not None:
        converted = "a confirmed case" if f.new_converted == 1 else "confirmed cases"
        parts.append(f"{n_en(f.new_converted)} converted to {converted} on the day")
    if f.asymptomatic_released is not None:
        parts.append(
            f"{n_en(f.asymptomatic_released)} released from medical observation on the day"
        )
    if f.asymptomatic_under_observation is not None:
        imported = f.asymptomatic_under_observation_imported
        parts.append(
            f"{n_en(f.asymptomatic_under_observation)} still under medical observation"
            + ("" if imported is None else f" ({n_en(imported)} imported)")
        )
    return [f"Asymptomatic infections{own}: " + "; ".join(parts) + "."] if parts else []


def _hmt_en(hmt: Sequence[RegionFigures]) -> list[str]:
    def item(name: str, f: Figures) -> str:
        extra = []
        if f.cumulative_cured:
            extra.append(f"{n_en(f.cumulative_cured)} discharged")
        if f.cumulative_deaths:
            extra.append(count_en(f.cumulative_deaths, "death"))
        value = f.cumulative_confirmed or 0
        return f"{name} {n_en(value)}" + (f" ({', '.join(extra)})" if extra else "")

    total, items = hmt_items(hmt, _HMT_EN, item)
    if not items:
        return []
    head = "Hong Kong, Macao and Taiwan had notified "
    head += (
        f"{count_en(total, 'confirmed case')} in total: "
        if total is not None
        else "confirmed cases: "
    )
    return [head + ", ".join(items) + "."]


def render_en(bulletin: Bulletin, *, focus: Sequence[str] | None = None) -> str:
    """The bulletin in English, one sentence a line."""
    b, f = bulletin, bulletin.figures
    d = _en_day(b.day)
    name = NATION_NAME_EN if b.national else region_name_en(b.scope.region_code)
    lines = _lead_en(f, Lists(b, "en"), d, name) + _day_notes_en(f)
    lines += [s for r in focus_regions(b, focus) if (s := _focus_en(r, d))]
    own = "" if b.national else f" in {name}"  # a region's bulletin names itself throughout
    lines += _imported_en(f, own) + _contacts_en(f, own) + _asymptomatic_en(f, own)
    if b.national:
        lines += _hmt_en(b.hmt)
    return "\n".join(lines)
