"""The areas of a local rule set that the national regime does not allow (纠正层层加码).

`audit_areas(store, day, local, national)` draws the areas of `day` under the local rule set
(`fangkong.engine.zones.draw_areas`, nothing stored) and lists, for each area, every way it goes
beyond the national regime in force:

- `level_not_in_regime`: a level the national regime does not have (a medium area under the
  twenty measures, which have only high and low; any area where the regime draws none);
- `wider_unit`: an area drawn by a wider unit than the national rule draws that level by (a
  street or a county where the regime draws compounds or buildings), when the width comes from
  the local rule and not from a residence recorded only coarsely;
- `not_lifted`: an area still listed on a day on or after the one the national lifting rule
  would lift it, counted from the same last infection (the national rule's round, if any, is
  taken as negative: the audit asks when the rule allows the lifting, not when the data shows
  a round); and a low area (the rest of a county) whose county has no high or medium area the
  national regime would still list, so that nationally it would be lifted. A low area is the
  county itself: no unit is wider, so it has no `wider_unit` finding (a local rule cannot draw
  a wider one).

Each finding carries both values and the national source of the rule it breaks.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

import polars as pl

from fangkong.engine.scenario import LIVE, Scenario
from fangkong.engine.zones import draw_areas, stay_unit
from fangkong.engine.zones_lifting import lowering_schedule
from fangkong.model.glossary import AreaReason
from fangkong.policy import Policy
from fangkong.policy.audit import national_of, national_reference
from fangkong.policy.schema import RiskAreas
from fangkong.policy.terms import AreaUnit, RiskLevel
from fangkong.store import Store

__all__ = ["AUDIT_SCHEMA", "AreaFinding", "audit_areas"]


class AreaFinding(StrEnum):
    """What is wrong with an area under the national regime."""

    LEVEL_NOT_IN_REGIME = "level_not_in_regime"
    WIDER_UNIT = "wider_unit"
    NOT_LIFTED = "not_lifted"


AUDIT_SCHEMA: dict[str, pl.DataType] = {
    "area_id": pl.String(),
    "level": pl.String(),
    "finding": pl.String(),  # AreaFinding
    "local": pl.String(),  # the local value (a level, a unit, the day it may be lifted)
    "national": pl.String(),  # the national one
    "national_key": pl.String(),  # the national parameter
    "national_source": pl.String(),
}

_ORDER = list(AreaUnit)


def _top(rules: RiskAreas) -> RiskLevel:
    return max(rules.levels, key=list(RiskLevel).index)


def _unit(rules: RiskAreas, reason: AreaReason, level: RiskLevel) -> tuple[AreaUnit, RiskLevel]:
    """The unit `rules` draw an area of `reason` by (a place where a case stayed: the venue
    itself where the rule draws compounds or finer), and the level whose rule that is."""
    drawn = level if level in rules.drawn_by else _top(rules)
    unit = rules.drawn_by[drawn]
    return (stay_unit(unit) if reason is AreaReason.CASE_STAYED else unit), drawn


def _first_level(rules: RiskAreas, reason: AreaReason) -> RiskLevel:
    """The level an area of `reason` starts at under `rules`."""
    if reason is AreaReason.CASE_STAYED and RiskLevel.MEDIUM in rules.levels:
        return RiskLevel.MEDIUM
    return _top(rules)


def _findings(
    area: dict[str, object], local: RiskAreas, rules: RiskAreas | None, day: date
) -> list[tuple[AreaFinding, str, str, str]]:
    """(finding, local value, national value, national key) of one area drawn by `local`."""
    level, reason = RiskLevel(str(area["level"])), AreaReason(str(area["reason"]))
    if rules is None:
        return [(AreaFinding.LEVEL_NOT_IN_REGIME, level.value, "none", "risk_areas")]
    out = []
    if level not in rules.levels:
        levels = ", ".join(v.value for v in rules.levels)
        out.append((AreaFinding.LEVEL_NOT_IN_REGIME, level.value, levels, "risk_areas.levels"))
    if reason in (AreaReason.COUNTY_CASE_COUNTS, AreaReason.REST_OF_COUNTY):
        # the 2020 counts have no units or lifting days to compare; a low area is the county
        # (no unit is wider) and lasts as its county's areas do (`_low_not_lifted`)
        return out
    unit = AreaUnit(str(area["unit"]))
    theirs, drawn = _unit(rules, reason, level)
    ruled, _ = _unit(local, reason, level)
    if _ORDER.index(unit) > _ORDER.index(theirs) and _ORDER.index(ruled) > _ORDER.index(theirs):
        key = f"risk_areas.drawn_by.{drawn}"
        out.append((AreaFinding.WIDER_UNIT, unit.value, theirs.value, key))
    first = _first_level(rules, reason)
    last = area["last_infection_on"]
    assert isinstance(last, date)
    steps = lowering_schedule(rules, first, last, None)
    lifted = steps[-1].on if steps[-1].to is RiskLevel.LOW else None
    if lifted is not None and lifted <= day:
        key = f"risk_areas.lifting.{first}.days_without_new_infection"
        when = area["next_change_on"]
        mine = f"{when}" if area["next_level"] is None else f"{area['next_level']} on {when}"
        out.append((AreaFinding.NOT_LIFTED, mine, lifted.isoformat(), key))
    return out


def _low_not_lifted(
    areas: pl.DataFrame, found: list[dict[str, object]], rules: RiskAreas | None
) -> list[tuple[str, str, str, str]]:
    """(area id, local value, national value, national key) of each low area whose county has
    no area the national regime would still list (each of them not lifted on the day, or of a
    level it does not have): nationally the county is under no area, since the latest day the
    national rule lifts one of them (or at all, where it draws none of them)."""
    if rules is None or RiskLevel.LOW not in rules.levels:
        return []  # the low area's level is listed already
    beyond = {
        str(f["area_id"])
        for f in found
        if f["finding"] in (AreaFinding.NOT_LIFTED.value, AreaFinding.LEVEL_NOT_IN_REGIME.value)
    }
    # the day the national rule lifts each area not lifted (an area of a level the regime does
    # not have is never drawn by it)
    lifted = {
        str(f["area_id"]): str(f["national"])
        for f in found
        if f["finding"] == AreaFinding.NOT_LIFTED.value
    }
    county = pl.col("region_code").str.slice(0, 6)
    rest = pl.col("reason") == AreaReason.REST_OF_COUNTY.value
    higher = pl.col("level").is_in([RiskLevel.HIGH.value, RiskLevel.MEDIUM.value])
    counted = areas.filter(~rest & higher)
    listed = counted.filter(~pl.col("area_id").is_in(list(beyond))).select(county.unique())
    out = []
    for area in areas.filter(rest & ~county.is_in(listed.to_series().implode())).iter_rows(
        named=True
    ):
        mine = counted.filter(county == area["region_code"]).get_column("area_id").sort()
        days = [lifted[a] for a in mine.to_list() if a in lifted]
        out.append(
            (
                area["area_id"],
                f"kept for {', '.join(mine.to_list())}",
                f"lifted on {max(days)}" if days else "not drawn",
                f"risk_areas.delineation.{RiskLevel.LOW.value}",
            )
        )
    return out


def audit_areas(
    store: Store,
    day: date,
    local: Policy,
    national: Policy | None = None,
    *,
    scenario: Scenario = LIVE,
) -> pl.DataFrame:
    """The findings of the areas `local` draws on `day` (AUDIT_SCHEMA), by area, against
    `national` (default: the national regime in force on the local rule set's date)."""
    national = national or national_of(local)
    if local.risk_areas is None:
        return pl.DataFrame(schema=AUDIT_SCHEMA)
    areas = draw_areas(store, day, local, scenario=scenario)
    found = [
        {
            "area_id": area["area_id"],
            "level": area["level"],
            "finding": finding.value,
            "local": mine,
            "national": theirs,
            "national_key": key,
            "national_source": national_reference(national, key)[1],
        }
        for area in areas.iter_rows(named=True)
        for finding, mine, theirs, key in _findings(
            area, local.risk_areas, national.risk_areas, day
        )
    ]
    levels = dict(areas.select("area_id", "level").iter_rows())
    found += [
        {
            "area_id": area_id,
            "level": levels[area_id],
            "finding": AreaFinding.NOT_LIFTED.value,
            "local": mine,
            "national": theirs,
            "national_key": key,
            "national_source": national_reference(national, key)[1],
        }
        for area_id, mine, theirs, key in _low_not_lifted(areas, found, national.risk_areas)
    ]
    return pl.DataFrame(found, schema=AUDIT_SCHEMA)
