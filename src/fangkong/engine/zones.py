"""Risk areas (分区分级): the areas of each level on a run day, drawn by the policy in force.

    areas = draw_areas(store, day, policy)              # AREA_SCHEMA, not stored
    areas_on(store, day, scenario)      # as the runs stored them (AREA_SCHEMA + run_day)

`run_day` draws the areas after tracing and stores them in `risk_area`, in its scenario and run
day (a rerun replaces them; a what-if never touches live's). The areas are a function of the
case episodes (`fangkong.engine.episode`, the one definition of an infection), the cases'
residences (`fangkong.store.person_view`), their check-ins, and the residents' test results,
drawn from them whole; a run keeps the previous run's areas instead when nothing new to it can
change them (`fangkong.engine.zones_kept`), so a late report redraws the areas it touches.

**Drawing, by the policy's `risk_areas.classification`.**

- `case_locations` (2022): a case's residence is an area of the highest level (high), drawn by
  `drawn_by.high` (a compound under the 9th edition, a building under the twenty measures); the
  places where a case stayed (its venue check-ins in the policy's exposure window before its
  report) are medium areas where the policy has a medium level whose delineation is
  `places_where_a_case_stayed`. A venue is drawn as itself where the rule draws compounds or
  finer, else by its street or county. An infection counts on the day of its report. A case
  whose building is not recorded is drawn by its compound (the area's unit says so); one whose
  unit is not recorded at all draws no residence area (logged: the area cannot be delineated,
  and no wider one is drawn in its place).
- the low areas, where the policy's `delineation.low` is `rest_of_county` (低风险区: the rest of
  a county with a high or medium area): drawn from the day's high and medium areas, one per
  county that holds one, lifted the day its county has none (`with_low_areas`, which says how
  its days read). No resident is read to draw them.
- `county_case_counts` (2020): `fangkong.engine.zones_county`.

**Lowering and lifting** (`risk_areas.lifting`): an area of a level is lowered to the rule's
`lowered_to` after `days_without_new_infection` days without a new infection in it: lowered on
day L + days, L being the day of its last infection. Where the rule names a
`negative_round_on_day`, the lowering also waits for a negative round of the whole area on that
day of the count (every resident sampled that day, every tube negative); an area without
residents (a venue) has no round to wait for. A high area lowered to medium becomes low after
`downgraded_high_to_low_after_days` more days where the policy says so, else after the medium
rule's days. A new infection before the area is lifted raises it back to its first level and the
count starts again; one after it is lifted draws a new area. An area lowered to low is lifted as
an area of its own: its people are in the county's low area while the county has another high or
medium area, and under no area after.

Columns of an area (AREA_SCHEMA): `area_id` (unit:key, e.g. `compound:C12`, `venue:42`,
`county:420106`), `level` (RiskLevel), `unit` (AreaUnit), `reason` (AreaReason), `region_code`
(the finest division code known for it), `compound_id`, `building_id`, `venue_id`, `drawn_on`
(the first day of the area), `level_since` (the first day at its current level),
`last_infection_on`, `infections` (since it was drawn), `next_level` (null: lifted) and
`next_change_on` (the day the rule lowers or lifts it if no new infection comes; null when the
rule never does), `awaiting_round` (that day also needs a negative round not yet taken),
`area_rule` (the policy's rule for residents of the level), `policy_id`, `rule`.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from fangkong.engine.episode import episode_ctes
from fangkong.engine.frames import IDS, ZONE, day_bounds, ids_of, read
from fangkong.engine.orders import TIME
from fangkong.engine.scenario import LIVE, Scenario
from fangkong.engine.state import kept_day, run_memo
from fangkong.engine.zones_county import county_areas
from fangkong.model.glossary import AreaReason, RegionLevel
from fangkong.policy import Policy
from fangkong.policy.schema import RiskAreas
from fangkong.policy.terms import AreaUnit, Classification, Delineation, RiskLevel
from fangkong.store import Store
from fangkong.store.person_view import current_person, residence_at
from fangkong.store.regions import LEVEL_DIGITS

# the units an area can have residents in, and the parameter naming their keys
_DWELLING_UNITS = {
    AreaUnit.BUILDING: "buildings",
    AreaUnit.COMPOUND: "compounds",
    AreaUnit.STREET: "streets",
    AreaUnit.COUNTY: "counties",
}


def _division(level: RegionLevel, column: str = "region_code") -> str:
    """SQL: the code of the division at `level` that the division code `column` lies in (its
    leading digits of that level)."""
    return f"substr({column}, 1, {LEVEL_DIGITS[level]})"


# the residents of the areas of each unit (a key list parameter each)
_RESIDES_IN = {
    AreaUnit.BUILDING: "building_id = ANY(:buildings)",
    AreaUnit.COMPOUND: "compound_id = ANY(:compounds)",
    AreaUnit.STREET: f"{_division(RegionLevel.STREET)} = ANY(:streets)",
    AreaUnit.COUNTY: f"{_division(RegionLevel.COUNTY)} = ANY(:counties)",
}


def _area_residents_sql(units: Iterable[AreaUnit]) -> str:
    """The residents of the areas of `units` (each unit's keys its parameter): only the units
    asked are tested (a test of an empty list per person costs DuckDB as much as the view)."""
    where = " OR ".join(_RESIDES_IN[u] for u in units)
    return f"""
SELECT person_id, region_code, compound_id, building_id
FROM {current_person(":as_of")} p
WHERE {where}"""


__all__ = [
    "AREA_SCHEMA",
    "STAY_LEVEL",
    "STORED_AREA_SCHEMA",
    "area_cases",
    "area_key",
    "area_residents",
    "areas_frame",
    "areas_on",
    "draw_areas",
    "level_on",
    "lowering_schedule",
    "stay_unit",
    "store_areas",
    "with_low_areas",
]

log = logging.getLogger(__name__)

AREA_SCHEMA: dict[str, pl.DataType] = {
    "area_id": pl.String(),
    "level": pl.String(),
    "unit": pl.String(),
    "reason": pl.String(),
    "region_code": pl.String(),
    "compound_id": pl.String(),
    "building_id": pl.String(),
    "venue_id": pl.Int64(),
    "drawn_on": pl.Date(),
    "level_since": pl.Date(),
    "last_infection_on": pl.Date(),
    "infections": pl.Int32(),
    "next_level": pl.String(),
    "next_change_on": pl.Date(),
    "awaiting_round": pl.Boolean(),
    "area_rule": pl.String(),
    "policy_id": pl.String(),
    "rule": pl.String(),
}
STORED_AREA_SCHEMA: dict[str, pl.DataType] = {
    "scenario": pl.String(),
    "run_day": pl.Date(),
    **AREA_SCHEMA,
}

# the level of an area where a case stayed when it is drawn (it has no residents: no round)
STAY_LEVEL = RiskLevel.MEDIUM
# the residence units a rule drawing by building or compound draws by, finest first: a case
# whose building is not recorded is drawn by its compound (still the rule's unit, "smaller where
# possible"), never by a street or county the rule does not draw
_RESIDENCE_UNITS = (AreaUnit.BUILDING, AreaUnit.COMPOUND)
# how long a region code's prefix is for the units drawn by division code
_PREFIX = {
    AreaUnit.STREET: LEVEL_DIGITS[RegionLevel.STREET],
    AreaUnit.COUNTY: LEVEL_DIGITS[RegionLevel.COUNTY],
}


def area_key(unit: AreaUnit) -> pl.Expr:
    """The key of a resident's (or venue's) area of `unit`; null where it is not recorded."""
    match unit:
        case AreaUnit.BUILDING:
            return pl.col("building_id")
        case AreaUnit.COMPOUND:
            return pl.col("compound_id")
        case _:
            n = _PREFIX[unit]
            code = pl.col("region_code")
            return pl.when(code.str.len_chars() >= n).then(code.str.slice(0, n))


def area_residents(store: Store, day: date, areas: pl.DataFrame) -> pl.DataFrame:
    """The people living at the end of `day` in `areas` (rows with AREA_SCHEMA's `area_id`,
    `unit`, `region_code`, `compound_id`, `building_id`): person_id, area_id, one row per
    person and area. An area's key and a resident's are the same expression (`area_key`); a
    venue has no residents."""
    schema = {"person_id": pl.Int64(), "area_id": pl.String()}
    drawn = areas.filter(pl.col("unit").is_in([u.value for u in _DWELLING_UNITS]))
    if drawn.height == 0:
        return pl.DataFrame(schema=schema)
    units = set(drawn.get_column("unit").unique().to_list())
    keyed = {  # only the units drawn: each is a join over every resident read
        unit: drawn.filter(pl.col("unit") == unit.value).select(
            area_key(unit).alias("key"), "area_id"
        )
        for unit in _DWELLING_UNITS
        if unit.value in units
    }
    people = _residents_of_keys(
        store,
        day,
        {unit: set(mine.get_column("key").drop_nulls().to_list()) for unit, mine in keyed.items()},
    )
    found = [  # one plan
        people.lazy()
        .select("person_id", area_key(unit).alias("key"))
        .join(mine.lazy(), on="key")
        .drop("key")
        for unit, mine in keyed.items()
    ]
    return pl.concat([pl.LazyFrame(schema=schema), *found]).unique(maintain_order=True).collect()


_RESIDENT_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "region_code": pl.String(),
    "compound_id": pl.String(),
    "building_id": pl.String(),
}


def _residents_of_keys(store: Store, day: date, keys: dict[AreaUnit, set[str]]) -> pl.DataFrame:
    """The residence (_RESIDENT_SCHEMA) at the end of `day` of everyone living in an area of
    `keys` (per unit, the areas' keys), and maybe of others. In a run of `day`, the steps
    share what was read (the colours, the measures and the rounds ask for the residents of the
    same areas, and a read scans the whole registry): only the keys not read yet are read."""
    memo = run_memo(store, day)
    read_keys: dict[AreaUnit, set[str]] = (
        memo.setdefault("area_keys", {}) if memo is not None else {}
    )
    missing = {unit: wanted - read_keys.get(unit, set()) for unit, wanted in keys.items()}
    known: pl.DataFrame | None = memo.get("area_people") if memo is not None else None
    if not any(missing.values()) and known is not None:
        return known
    params: dict[str, object] = {"as_of": day_bounds(day)[1] - timedelta(microseconds=1)}
    units = [unit for unit in _DWELLING_UNITS if missing.get(unit)]
    for unit in units:
        params[_DWELLING_UNITS[unit]] = sorted(missing[unit])
    people = (
        read(store, _area_residents_sql(units), params, _RESIDENT_SCHEMA)
        if units
        else pl.DataFrame(schema=_RESIDENT_SCHEMA)
    )
    if memo is None:
        return people
    for unit, wanted in missing.items():
        read_keys.setdefault(unit, set()).update(wanted)
    if known is not None:
        people = pl.concat([known, people]).unique("person_id", maintain_order=True)
    memo["area_people"] = people
    return people


def _residence_key(frame: pl.DataFrame, unit: AreaUnit) -> pl.DataFrame:
    """`frame` (region_code, compound_id, building_id) with `unit` and `key`: for a rule
    drawing by building, the building, else the compound; for one drawing by compound, the
    compound; by street or county, that (null when it is not recorded)."""
    if unit not in _RESIDENCE_UNITS:
        return frame.with_columns(pl.lit(unit.value).alias("unit"), area_key(unit).alias("key"))
    units = _RESIDENCE_UNITS[_RESIDENCE_UNITS.index(max(unit, AreaUnit.BUILDING, key=_rank)) :]
    unit_expr = pl.lit(None, pl.String)
    key_expr = pl.lit(None, pl.String)
    for u in reversed(units):  # the finest recorded wins: built from the widest up
        k = area_key(u)
        unit_expr = pl.when(k.is_not_null()).then(pl.lit(u.value)).otherwise(unit_expr)
        key_expr = pl.when(k.is_not_null()).then(k).otherwise(key_expr)
    return frame.with_columns(unit_expr.alias("unit"), key_expr.alias("key"))


def _rank(unit: AreaUnit) -> int:
    return list(AreaUnit).index(unit)


def stay_unit(unit: AreaUnit) -> AreaUnit:
    """The unit a place where a case stayed is drawn by when the rule draws by `unit`: the venue
    itself where that is a compound or finer, else the venue's street or county."""
    return AreaUnit.VENUE if _rank(unit) <= _rank(AreaUnit.COMPOUND) else unit


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


def _chain(
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


def _infections(store: Store, day: date, scenario: Scenario) -> pl.DataFrame:
    """Every case episode opened by the end of `day` and not withdrawn: the person, the day of
    the report (Beijing time), the region it was reported in, and the person's residence when
    it was reported (a case who moves after recovering does not make their new home a case's
    residence). Inside the run of `day`, the episodes are those the run keeps
    (`engine_episode`), not derived again from every case event."""
    kept = kept_day(store, scenario)
    sql = f"""
WITH {episode_ctes(scenario, kept=kept if kept == day else None)}
SELECT e.person_id, e.opened_at, e.region_code AS case_region, p.region_code, p.compound_id,
       p.building_id, p.household_id
FROM episode e
LEFT JOIN {residence_at("episode", "opened_at")} p
  ON p.person_id = e.person_id AND p.opened_at = e.opened_at
WHERE e.ended_by IS NULL OR e.ended_by <> 'excluded'"""
    frame = read(
        store,
        sql,
        {"until": day_bounds(day)[1], **scenario.params()},
        {
            "person_id": pl.Int64(),
            "opened_at": TIME,
            "case_region": pl.String(),
            "region_code": pl.String(),
            "compound_id": pl.String(),
            "building_id": pl.String(),
            "household_id": pl.Int64(),
        },
    )
    return frame.with_columns(pl.col("opened_at").dt.convert_time_zone(ZONE).dt.date().alias("on"))


def area_cases(store: Store, day: date, scenario: Scenario = LIVE) -> pl.Series:
    """The people whose infection counts for the areas on `day` (reported by then, not
    withdrawn): they are in care, not in an area's round."""
    infections = _infections(store, day, scenario).filter(pl.col("on") <= day)
    return infections.get_column("person_id").unique()


def _stays(store: Store, infections: pl.DataFrame, window_days: int) -> pl.DataFrame:
    """The venues where each case checked in during the `window_days` before its report (and
    up to it): one row per (case report, venue), with the venue's region."""
    if infections.height == 0:
        return pl.DataFrame(
            schema={"venue_id": pl.Int64(), "region_code": pl.String(), "on": pl.Date()}
        )
    cases = infections.select("person_id", "opened_at")
    window = timedelta(days=window_days)
    # the constant bounds let the scan skip the check-ins of other days (zone maps, indexes)
    sql = """
SELECT c.person_id, c.opened_at, k.venue_id, v.region_code
FROM (SELECT unnest(CAST(:ids AS BIGINT[])) AS person_id,
             unnest(CAST(:opened AS TIMESTAMPTZ[])) AS opened_at) c
JOIN checkin k ON k.person_id = c.person_id
 AND k.checkin_at <= c.opened_at AND k.checkin_at >= c.opened_at - :window
JOIN venue v ON v.venue_id = k.venue_id
WHERE k.checkin_at >= :first_from AND k.checkin_at <= :last_to"""
    opened = cases.get_column("opened_at")
    frame = read(
        store,
        sql,
        {
            "ids": cases.get_column("person_id").to_list(),
            "opened": opened.to_list(),
            "window": window,
            "first_from": opened.min() - window,  # type: ignore[operator]
            "last_to": opened.max(),
        },
        {
            "person_id": pl.Int64(),
            "opened_at": TIME,
            "venue_id": pl.Int64(),
            "region_code": pl.String(),
        },
    )
    return (
        frame.with_columns(pl.col("opened_at").dt.convert_time_zone(ZONE).dt.date().alias("on"))
        .unique(["person_id", "opened_at", "venue_id"])
        .select("venue_id", "region_code", "on")
    )


def _stay_events(
    store: Store,
    infections: pl.DataFrame,
    window_days: int,
    unit: AreaUnit,
    day: date,
    lifted_after: int | None,
) -> pl.DataFrame:
    """The stays of `infections` as area events (`unit`, `key`, `on`), for the areas that can
    be in force on `day`. An area of stays is lifted `lifted_after` days after its last
    infection (None: never, or `_areas_from` is to see every stay), and an infection that
    many days or more after the one before it starts a new area (`_chain`): so only the areas
    with an infection in the last `lifted_after` days are in force, and only their infections
    back to such a gap count. The check-ins are read from the latest reports back, a window of
    `lifted_after` days at a time, while an area in force may still reach further back: the
    cost follows the areas in force, not the length of history."""

    def events(part: pl.DataFrame) -> pl.DataFrame:
        stays = _stays(store, part, window_days)
        if unit is AreaUnit.VENUE:
            stays = stays.with_columns(
                pl.lit(AreaUnit.VENUE.value).alias("unit"),
                pl.col("venue_id").cast(pl.String).alias("key"),
            )
        else:
            stays = stays.with_columns(
                pl.lit(unit.value).alias("unit"), area_key(unit).alias("key")
            )
        return stays.filter(pl.col("key").is_not_null())

    if lifted_after is None:
        return events(infections)
    gap = timedelta(days=lifted_after)
    on = pl.col("on")
    lo = day - gap  # every infection after `lo` is read
    read_so_far = events(infections.filter(on > lo))
    alive = read_so_far.get_column("key").unique().implode()
    read_so_far = read_so_far.filter(pl.col("key").is_in(alive))
    earliest = infections.get_column("on").min()
    while read_so_far.height and isinstance(earliest, date) and earliest <= lo:
        # each area's current chain starts at its first infection after the last gap of
        # `lifted_after` days or more among those read; one starting less than that after
        # `lo` may continue with an infection not read yet
        ordered = read_so_far.select("key", "on").unique().sort("key", "on")
        starts = ordered.filter(
            (on - on.shift(1).over("key") >= pl.duration(days=lifted_after))
            | on.shift(1).over("key").is_null()
        )
        chain_from = starts.group_by("key").agg(on.max()).get_column("on").min()
        if not isinstance(chain_from, date) or chain_from - lo >= gap:
            break
        older = events(infections.filter((on > lo - gap) & (on <= lo)))
        read_so_far = pl.concat([read_so_far, older.filter(pl.col("key").is_in(alive))])
        lo -= gap
    return read_so_far


def _rounds(
    store: Store, day: date, residences: pl.DataFrame, since: date
) -> dict[str, list[date]]:
    """Per area key (`unit:key` of residence areas), the days from `since` to `day` on which
    every resident of the area was sampled and every tube of those samples was negative. The
    area's cases (the people of `residences`) are in care, not in the round. The residents are
    those at the end of `day`: someone who moved in after a round day holds that round
    incomplete (the next day's round includes them), and a round day counts without someone who
    has moved out since."""
    if residences.height == 0:
        return {}
    # the areas' residents from the read the run's steps share (`area_residents`), then only
    # their samples of the days asked (the samples were joined to every person registered)
    areas = residences.select(
        pl.concat_str("unit", pl.lit(":"), "key").alias("area_id"),
        "unit",
        "region_code",
        "compound_id",
        "building_id",
    ).unique("area_id")
    members = area_residents(store, day, areas).filter(
        ~pl.col("person_id").is_in(residences.get_column("person_id").implode())
    )
    if members.height == 0:
        return {}
    start, _ = day_bounds(since)
    _, end = day_bounds(day)
    tests = read(
        store,
        f"""
SELECT s.person_id, s.sampled_at, r."result"
FROM sample s LEFT JOIN tube_result r ON r.tube_id = s.tube_id AND r.reported_at < :until
WHERE s.person_id IN ({IDS}) AND s.sampled_at >= :start AND s.sampled_at < :until""",
        {"ids": ids_of(members.get_column("person_id").unique()), "start": start, "until": end},
        {"person_id": pl.Int64(), "sampled_at": TIME, "result": pl.String()},
    )
    rows = members.join(tests, on="person_id", how="left")
    residents = rows.group_by("area_id").agg(pl.col("person_id").n_unique().alias("n"))
    sampled = (
        rows.filter(pl.col("sampled_at").is_not_null())
        .with_columns(pl.col("sampled_at").dt.convert_time_zone(ZONE).dt.date().alias("d"))
        .group_by("area_id", "d")
        .agg(
            pl.col("person_id").filter(pl.col("result") == "negative").n_unique().alias("negative"),
            (pl.col("result") != "negative").fill_null(True).any().alias("open"),
        )
        .join(residents, on="area_id")
        .filter((pl.col("negative") == pl.col("n")) & ~pl.col("open"))
    )
    out: dict[str, list[date]] = {}
    for area_id, d in sampled.select("area_id", "d").sort("d").iter_rows():
        out.setdefault(area_id, []).append(d)
    return out


def _areas_from(
    rules: RiskAreas,
    events: pl.DataFrame,
    level: RiskLevel,
    reason: AreaReason,
    day: date,
    rounds: dict[str, list[date]] | None,
) -> list[dict[str, object]]:
    """The areas of `events` (unit, key, on, and the area's columns), each area's infection days
    run through the lifting rules; `rounds` None: the areas have no residents."""
    out = []
    for (unit, key), group in events.sort("on").group_by(["unit", "key"], maintain_order=True):
        area_id = f"{unit}:{key}"
        days = group.get_column("on").to_list()
        found = _chain(rules, level, days, day, None if rounds is None else rounds.get(area_id, []))
        if found is None:
            continue
        last = group.row(-1, named=True)
        out.append(
            {
                "area_id": area_id,
                "unit": unit,
                "reason": reason.value,
                "region_code": last.get("region_code"),
                "compound_id": last.get("compound_id") if unit != AreaUnit.VENUE.value else None,
                "building_id": last.get("building_id") if unit == AreaUnit.BUILDING.value else None,
                "venue_id": last.get("venue_id") if unit == AreaUnit.VENUE.value else None,
                **found,
            }
        )
    return out


def _case_location_areas(
    store: Store, day: date, policy: Policy, scenario: Scenario, whole_history: bool
) -> list[dict[str, object]]:
    rules = policy.risk_areas
    assert rules is not None
    infections = _infections(store, day, scenario).filter(pl.col("on") <= day)
    top = max(rules.levels, key=list(RiskLevel).index)
    residences = _residence_key(infections, rules.drawn_by.get(top, AreaUnit.COMPOUND))
    if (unknown := residences.filter(pl.col("key").is_null()).height) > 0:
        log.warning(
            "%d case episodes whose %s is not recorded: no residence area drawn for them",
            unknown,
            rules.drawn_by.get(top, AreaUnit.COMPOUND).value,
        )
    residences = residences.filter(pl.col("key").is_not_null())
    lifting = rules.lifting.values() if rules.lifting else ()
    pending = [r.negative_round_on_day for r in lifting if r.negative_round_on_day]
    rounds: dict[str, list[date]] = {}
    if pending and residences.height:
        # every area's rounds from the earliest day one can be due: an area whose last infection
        # is old was lowered by its round, which a shorter look-back would not see (the area
        # would be drawn again, waiting for a round taken long ago)
        last = residences.group_by("unit", "key").agg(pl.col("on").max()).get_column("on").min()
        assert isinstance(last, date)
        rounds = _rounds(store, day, residences, min(last + timedelta(days=min(pending)), day))
    areas = _areas_from(rules, residences, top, AreaReason.CASE_RESIDENCE, day, rounds)
    stayed = rules.delineation.get(RiskLevel.MEDIUM) if rules.delineation else None
    if RiskLevel.MEDIUM in rules.levels and stayed is Delineation.PLACES_WHERE_A_CASE_STAYED:
        window = policy.contacts.exposure_window_days if policy.contacts else 0
        unit = stay_unit(rules.drawn_by.get(RiskLevel.MEDIUM, AreaUnit.COMPOUND))
        lifted_after = None if whole_history else _lifted_after(rules, RiskLevel.MEDIUM, day)
        stays = _stay_events(store, infections, window, unit, day, lifted_after)
        areas += _areas_from(rules, stays, STAY_LEVEL, AreaReason.CASE_STAYED, day, None)
    return areas


def _lifted_after(rules: RiskAreas, level: RiskLevel, day: date) -> int | None:
    """The days after its last infection that an area of `level` with no residents (no round
    to wait for) is lifted, by the lifting rules; None when it never is."""
    steps = lowering_schedule(rules, level, day, None)
    last = steps[-1]
    if last.to is not RiskLevel.LOW or last.on is None:
        return None
    return (last.on - day).days


def draw_areas(
    store: Store,
    day: date,
    policy: Policy,
    *,
    scenario: Scenario = LIVE,
    whole_history: bool = False,
) -> pl.DataFrame:
    """The risk areas in force on `day` under `policy` (AREA_SCHEMA; none where the policy
    draws no risk areas). One row per area: where a residence area and a stay area have the
    same id (a local rule drawing both by county), the higher level is kept. The check-ins
    of the cases' stays are read only for the areas that can be in force (`_stay_events`);
    `whole_history` reads every case's, for a check that both give the same areas."""
    rules = policy.risk_areas
    if rules is None:
        return pl.DataFrame(schema=AREA_SCHEMA)
    if rules.classification is Classification.COUNTY_CASE_COUNTS:
        rows = county_areas(rules, _infections(store, day, scenario), day)
    else:
        rows = with_low_areas(
            rules, _case_location_areas(store, day, policy, scenario, whole_history)
        )
    return areas_frame(rows, policy)


def areas_frame(rows: Sequence[dict[str, object]], policy: Policy) -> pl.DataFrame:
    """AREA_SCHEMA from the areas `rows` (their columns but the policy's: `area_rule`,
    `policy_id`, `rule`), one per area id (the higher level where two share one), sorted."""
    rules = policy.risk_areas
    if not rows or rules is None:
        return pl.DataFrame(schema=AREA_SCHEMA)
    order = list(RiskLevel)
    frame = pl.DataFrame(
        [
            {
                **row,
                "area_rule": rules.area_rules.get(RiskLevel(str(row["level"]))),
                "policy_id": policy.id,
                "rule": f"risk_areas.{row['reason']}",
            }
            for row in rows
        ],
        schema=AREA_SCHEMA,
    )
    return (
        frame.with_columns(
            pl.col("level").replace_strict([v.value for v in order], range(3)).alias("_rank")
        )
        .sort("_rank", "drawn_on", descending=[True, False])
        .unique("area_id", keep="first", maintain_order=True)
        .drop("_rank")
        .sort("level", "area_id")
    )


def store_areas(store: Store, areas: pl.DataFrame, day: date, scenario: Scenario) -> None:
    """Store the areas of a run of `day` in `scenario` (the run has removed its earlier rows)."""
    if areas.height:
        store.insert_frame(
            "risk_area",
            areas.select(
                pl.lit(scenario.name).alias("scenario"), pl.lit(day).alias("run_day"), *AREA_SCHEMA
            ),
        )


def areas_on(store: Store, day: date, scenario: Scenario = LIVE) -> pl.DataFrame:
    """The risk areas in force on `day` in `scenario`, as the latest run on or before `day`
    drew them (STORED_AREA_SCHEMA: `run_day` says which run; no row where no run drew any).
    A what-if sees live's runs before its fork day. The columns are AREA_SCHEMA's (see the
    module docstring): a reader decides on `level`, `unit` and `reason`, typed values."""
    cols = ", ".join(f'a."{c}"' for c in STORED_AREA_SCHEMA)
    sql = f"""
SELECT {cols} FROM risk_area a
WHERE {scenario.visible("a")} AND a.run_day = (
  SELECT max(r.run_day) FROM engine_run r WHERE {scenario.visible("r")} AND r.run_day <= :day)
ORDER BY a.level, a.area_id"""
    return read(store, sql, {"day": day, **scenario.params()}, STORED_AREA_SCHEMA)
