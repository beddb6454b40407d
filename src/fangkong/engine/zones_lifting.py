"""How a risk area's level changes (分区分级, `risk_areas.lifting`): lowered after days without a
new infection (and, where the rule says, a negative round of its residents), lifted in the end;
raised back by a new infection; and the low areas drawn as the rest of a county. Pure rules over
an area's infection days: `fangkong.engine.zones` draws the areas with them, and
`fangkong.engine.zones_kept` carries a run's areas to the next day with them.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from fangkong.model.glossary import AreaReason, RegionLevel
from fangkong.policy.schema import RiskAreas
from fangkong.policy.terms import AreaUnit, Classification, Delineation, RiskLevel
from fangkong.store.regions import LEVEL_DIGITS

__all__ = ["Step", "chain", "level_on", "lowering_schedule", "with_low_areas"]


@dataclass(frozen=True, slots=True)
class Step:
    """One lowering: from `level` to `to` on `on` (None: never, the rule has no lifting)."""

    level: RiskLevel
    to: RiskLevel
    on: date | None
    awaiting_round: bool


def lowering_schedule(
    rules: RiskAreas, first: RiskLevel, last: date, rounds: Sequence[date] | None
) -> list[Step]:
    """The lowerings of an area of level `first` whose last infection was on `last`, under
    `rules`, until it is low (or a level the rule never lowers). `rounds` are the days the
    area had a complete negative round, sorted (None: the area has no residents, so no round is
    waited for). A step whose round has not been taken yet is `awaiting_round`, dated the
    earliest day the rule allows."""
    steps: list[Step] = []
    level, start = first, last
    while level is not RiskLevel.LOW:
        rule = rules.lifting.get(level) if rules.lifting else None
        if rule is None:
            steps.append(Step(level, RiskLevel.LOW, None, False))
            break
        on = start + timedelta(days=_step_days(rules, level, lowered=bool(steps)))
        waiting = False
        if rule.negative_round_on_day is not None and rounds is not None and not steps:
            due = start + timedelta(days=rule.negative_round_on_day)
            taken = rounds[bisect_left(rounds, due) :]
            if taken:
                on = max(on, taken[0])
            else:
                waiting = True
        steps.append(Step(level, rule.lowered_to, on, waiting))
        if waiting:
            break
        level, start = rule.lowered_to, on
    return steps


def _step_days(rules: RiskAreas, level: RiskLevel, *, lowered: bool) -> int:
    """The days without a new infection after which an area at `level` (`lowered` to it from
    a higher one) is lowered again, by the lifting rule of the level (which has one)."""
    if lowered and level is RiskLevel.MEDIUM and rules.downgraded_high_to_low_after_days:
        return rules.downgraded_high_to_low_after_days  # a lowered high area: 3 more days
    assert rules.lifting is not None
    return rules.lifting[level].days_without_new_infection


def _days_to_lift(rules: RiskAreas, level: str | None) -> int | None:
    """The days from an area's lowering to `level` (a RiskLevel value; None or low: it is
    lifted then) to its lifting, by the lowerings that follow (from a lowered level, which
    waits for no round); None when the rule never lifts it."""
    days = 0
    while level is not None and level != RiskLevel.LOW.value:
        at = RiskLevel(level)
        if rules.lifting is None or at not in rules.lifting:
            return None
        days += _step_days(rules, at, lowered=True)
        level = rules.lifting[at].lowered_to.value
    return days


def _draws_low(rules: RiskAreas) -> bool:
    """Whether `rules` draw a low area as the rest of the county of a high or medium area."""
    return (
        rules.classification is Classification.CASE_LOCATIONS
        and RiskLevel.LOW in rules.levels
        and (rules.delineation or {}).get(RiskLevel.LOW) is Delineation.REST_OF_COUNTY
    )


def with_low_areas(rules: RiskAreas, rows: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """`rows` (the high and medium areas of a day, without the policy's columns) and the low
    areas the rule draws from them: under `rest_of_county` (the 9th edition, the twenty
    measures), one per county that holds a high or medium area that day (its `region_code`
    begins with the county's code; an area whose region is not recorded to the county is in
    none), the county as a whole (`county:<code>`; its residents in a higher area are under
    that area's stricter rule). A low area of `rows` (a previous run's) is drawn again.

    It lasts while its county has such an area: `drawn_on` (and `level_since`) is the earliest
    `drawn_on` of the county's areas in force (an area of the county lifted before, even if it
    overlapped them, is not counted: the low area follows the areas in force, not their
    history); `last_infection_on` and `infections` are those areas' latest and total (a case
    counts in each area it made); `next_level` is null (the next change lifts it) and
    `next_change_on` the day the county's last high or medium area is lifted if no new
    infection comes (`_lifted`; null while one awaits its round or is never lifted): it has
    no day of its own. A high or medium area lowered to low is lifted as an area of its own:
    its people are in the county's low area while that is drawn."""
    kept = [r for r in rows if r["reason"] != AreaReason.REST_OF_COUNTY.value]
    if not _draws_low(rules):
        return kept
    n = LEVEL_DIGITS[RegionLevel.COUNTY]
    counties: dict[str, list[dict[str, object]]] = {}
    for row in kept:
        code = row["region_code"]
        if row["level"] in (RiskLevel.HIGH.value, RiskLevel.MEDIUM.value) and (
            isinstance(code, str) and len(code) >= n
        ):
            counties.setdefault(code[:n], []).append(row)
    # the days from each next level to the lifting, once per level (not per area)
    after = {lvl: _days_to_lift(rules, lvl) for lvl in (None, *(v.value for v in RiskLevel))}
    low: list[dict[str, object]] = []
    for county, areas in sorted(counties.items()):
        ends = [_lifted(a, after) for a in areas]
        drawn = min(_date(a["drawn_on"]) for a in areas)
        low.append(
            {
                "area_id": f"{AreaUnit.COUNTY.value}:{county}",
                "level": RiskLevel.LOW.value,
                "unit": AreaUnit.COUNTY.value,
                "reason": AreaReason.REST_OF_COUNTY.value,
                "region_code": county,
                "compound_id": None,
                "building_id": None,
                "venue_id": None,
                "drawn_on": drawn,
                "level_since": drawn,
                "last_infection_on": max(_date(a["last_infection_on"]) for a in areas),
                "infections": sum(_count(a["infections"]) for a in areas),
                "next_level": None,
                "next_change_on": max(_date(e) for e in ends) if None not in ends else None,
                "awaiting_round": False,
            }
        )
    return kept + low


def _lifted(area: dict[str, object], after: dict[str | None, int | None]) -> date | None:
    """The day an area (AREA_SCHEMA row) is lifted if no new infection comes: its
    `next_change_on`, and the days `after` give for its next level (`_days_to_lift`); None
    while it awaits a round or when the rule never lifts it."""
    level, on = area["next_level"], area["next_change_on"]
    days = after.get(None if level is None else str(level))
    if area["awaiting_round"] or not isinstance(on, date) or days is None:
        return None
    return on + timedelta(days=days)


def _date(value: object) -> date:
    assert isinstance(value, date)
    return value


def _count(value: object) -> int:
    assert isinstance(value, int)
    return value


def chain(
    rules: RiskAreas, first: RiskLevel, days: list[date], day: date, rounds: list[date] | None
) -> dict[str, object] | None:
    """The area on `day` from its infection days (sorted, all <= day), or None if lifted."""
    start = days[0]
    count = 0
    top_since = days[0]
    prev: date | None = None
    for t in days:
        if prev is not None:
            steps = lowering_schedule(rules, first, prev, rounds)
            lifted = steps[-1].on if steps[-1].to is RiskLevel.LOW else None
            if lifted is not None and not steps[-1].awaiting_round and t >= lifted:
                start, count, top_since = t, 0, t  # lifted before: a new area
            elif steps[0].on is not None and not steps[0].awaiting_round and t >= steps[0].on:
                top_since = t  # lowered, then raised again by this infection
        count += 1
        prev = t
    now = level_on(rules, first, days[-1], rounds, day, top_since)
    if now is None:
        return None
    return {"drawn_on": start, "last_infection_on": days[-1], "infections": count, **now}


def level_on(
    rules: RiskAreas,
    first: RiskLevel,
    last: date,
    rounds: list[date] | None,
    day: date,
    top_since: date,
) -> dict[str, object] | None:
    """An area of level `first` whose last infection was on `last` (at that level since
    `top_since`), on `day`: its `level`, `level_since`, `next_level`, `next_change_on` and
    `awaiting_round` by the lifting rules; None when it is lifted."""
    level, since = first, top_since
    next_level: RiskLevel | None = None
    next_on: date | None = None
    awaiting = False
    for step in lowering_schedule(rules, first, last, rounds):
        if step.on is not None and not step.awaiting_round and step.on <= day:
            level, since = step.to, step.on
            continue
        next_level, next_on, awaiting = step.to, step.on, step.awaiting_round
        break
    if level is RiskLevel.LOW:
        return None
    return {
        "level": level.value,
        "level_since": since,
        "next_level": None if next_level in (None, RiskLevel.LOW) else next_level.value,
        "next_change_on": next_on,
        "awaiting_round": awaiting,
    }
