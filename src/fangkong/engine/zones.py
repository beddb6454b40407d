"""Risk areas (分区分级): the areas of each level on a run day, drawn by the policy in force.

    areas = draw_areas(store, day, policy)              # AREA_SCHEMA, not stored
    areas_on(store, day, scenario)      # as the runs stored them (AREA_SCHEMA + run_day)

Drawing is a loader and a rule (issue 6, item 5): `load_area_facts` reads the facts
(`AreaFacts`: the infections, the cases' check-ins, the residents and samples of the rounds),
and `areas_rule` draws from them alone, as a simulator holding its own frames may;
`draw_areas` is the two. The lowering and lifting are `fangkong.engine.zones_lifting`.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

import polars as pl

from fangkong.engine.episode import episode_ctes
from fangkong.engine.facts import Facts
from fangkong.engine.frames import IDS, ZONE, collect, day_bounds, ids_of, read
from fangkong.engine.orders import TIME
from fangkong.engine.scenario import LIVE, Scenario
from fangkong.engine.state import kept_day, run_memo
from fangkong.engine.zones_county import county_areas
from fangkong.engine.zones_lifting import chain, lowering_schedule, with_low_areas
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
    "CASE_CHECKIN_SCHEMA",
    "INFECTION_SCHEMA",
    "ROUND_SAMPLE_SCHEMA",
    "STAY_LEVEL",
    "STORED_AREA_SCHEMA",
    "AreaFacts",
    "area_cases",
    "area_key",
    "area_residents",
    "areas_frame",
    "areas_on",
    "areas_rule",
    "draw_areas",
    "load_area_facts",
    "stay_unit",
    "store_areas",
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


_MEMBER_SCHEMA: dict[str, pl.DataType] = {"person_id": pl.Int64(), "area_id": pl.String()}


def _keyed(areas: pl.DataFrame) -> dict[AreaUnit, pl.DataFrame]:
    """Per unit with residents among `areas` (rows with `area_id`, `unit`, `region_code`,
    `compound_id`, `building_id`), its areas' keys: `key`, `area_id`. Only the units drawn:
    each is a join over every resident read."""
    drawn = areas.filter(pl.col("unit").is_in([u.value for u in _DWELLING_UNITS]))
    units = set(drawn.get_column("unit").unique().to_list())
    return {
        unit: drawn.filter(pl.col("unit") == unit.value).select(
            area_key(unit).alias("key"), "area_id"
        )
        for unit in _DWELLING_UNITS
        if unit.value in units
    }


def _keys(keyed: dict[AreaUnit, pl.DataFrame]) -> dict[AreaUnit, set[str]]:
    return {
        unit: set(mine.get_column("key").drop_nulls().to_list()) for unit, mine in keyed.items()
    }


def _members(people: pl.DataFrame, keyed: dict[AreaUnit, pl.DataFrame]) -> pl.DataFrame:
    """The people of `people` (_RESIDENT_SCHEMA) living in the areas `keyed` (`_keyed`):
    person_id, area_id, one row per person and area. An area's key and a resident's are the
    same expression (`area_key`)."""
    found = [  # one plan
        people.lazy()
        .select("person_id", area_key(unit).alias("key"))
        .join(mine.lazy(), on="key")
        .drop("key")
        for unit, mine in keyed.items()
    ]
    return collect(
        pl.concat([pl.LazyFrame(schema=_MEMBER_SCHEMA), *found]).unique(maintain_order=True)
    )


def area_residents(store: Store, day: date, areas: pl.DataFrame) -> pl.DataFrame:
    """The people living at the end of `day` in `areas` (rows with AREA_SCHEMA's `area_id`,
    `unit`, `region_code`, `compound_id`, `building_id`): person_id, area_id, one row per
    person and area (`_members`); a venue has no residents."""
    keyed = _keyed(areas)
    if not keyed:
        return pl.DataFrame(schema=_MEMBER_SCHEMA)
    return _members(_residents_of_keys(store, day, _keys(keyed)), keyed)


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


# -- drawing: a loader and a rule ----------------------------------------------------------------

INFECTION_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "opened_at": TIME,  # the report
    "case_region": pl.String(),  # the region the case was reported in
    "region_code": pl.String(),  # the residence when it was reported
    "compound_id": pl.String(),
    "building_id": pl.String(),
    "household_id": pl.Int64(),
}
CASE_CHECKIN_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "venue_id": pl.Int64(),
    "checkin_at": TIME,
    "region_code": pl.String(),  # the venue's
}
ROUND_SAMPLE_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "sampled_at": TIME,
    "result": pl.String(),  # a report of its tube by the day's end (null: none yet)
}


@dataclass(frozen=True)
class AreaFacts(Facts):
    """What drawing the risk areas reads (`areas_rule`), one frame per kind:

    - `infections`: every case episode reported by the day's end and not withdrawn, with the
      person's residence when it was reported (INFECTION_SCHEMA);
    - `checkins`: check-ins of the cases, each with its venue's region (CASE_CHECKIN_SCHEMA);
      the rule keeps those in the exposure window before each report. The loader reads only
      those that can make an area in force on the day (`_stay_checkins`);
    - `residents`: the residence at the day's end (_RESIDENT_SCHEMA) of at least everyone
      living in a case's residence area, where the rule waits for rounds;
    - `samples`: their samples from the first day a round can count (`_rounds_since`) to the
      day's end, with each report of the tube by then (ROUND_SAMPLE_SCHEMA).
    """

    infections: pl.DataFrame
    checkins: pl.DataFrame
    residents: pl.DataFrame
    samples: pl.DataFrame

    SCHEMAS: ClassVar[dict[str, dict[str, pl.DataType]]] = {
        "infections": INFECTION_SCHEMA,
        "checkins": CASE_CHECKIN_SCHEMA,
        "residents": _RESIDENT_SCHEMA,
        "samples": ROUND_SAMPLE_SCHEMA,
    }
    OPTIONAL: ClassVar[dict[str, frozenset[str]]] = {
        "infections": frozenset({"case_region", "compound_id", "building_id", "household_id"}),
        "residents": frozenset({"compound_id", "building_id"}),
        "samples": frozenset({"result"}),
    }


def _infections(store: Store, day: date, scenario: Scenario) -> pl.DataFrame:
    """Every case episode opened by the end of `day` and not withdrawn: the person, the report,
    the region it was reported in, and the person's residence when it was reported (a case who
    moves after recovering does not make their new home a case's residence). Inside the run of
    `day`, the episodes are those the run keeps (`engine_episode`), not derived again from
    every case event."""
    kept = kept_day(store, scenario)
    sql = f"""
WITH {episode_ctes(scenario, kept=kept if kept == day else None)}
SELECT e.person_id, e.opened_at, e.region_code AS case_region, p.region_code, p.compound_id,
       p.building_id, p.household_id
FROM episode e
LEFT JOIN {residence_at("episode", "opened_at")} p
  ON p.person_id = e.person_id AND p.opened_at = e.opened_at
WHERE e.ended_by IS NULL OR e.ended_by <> 'excluded'"""
    return read(store, sql, {"until": day_bounds(day)[1], **scenario.params()}, INFECTION_SCHEMA)


def _on_day(infections: pl.DataFrame) -> pl.DataFrame:
    """`infections` with `on`, the day of each report (Beijing time)."""
    return infections.with_columns(
        pl.col("opened_at").dt.convert_time_zone(ZONE).dt.date().alias("on")
    )


def _counted(infections: pl.DataFrame, day: date) -> pl.DataFrame:
    """The infections that count on `day` (an infection counts on the day of its report)."""
    return _on_day(infections).filter(pl.col("on") <= day)


def area_cases(store: Store, day: date, scenario: Scenario = LIVE) -> pl.Series:
    """The people whose infection counts for the areas on `day` (reported by then, not
    withdrawn): they are in care, not in an area's round."""
    return _counted(_infections(store, day, scenario), day).get_column("person_id").unique()


def _top(rules: RiskAreas) -> RiskLevel:
    """The highest level of the rules: a case's residence is an area of it."""
    return max(rules.levels, key=list(RiskLevel).index)


def _residences(infections: pl.DataFrame, rules: RiskAreas) -> pl.DataFrame:
    """The counted `infections` with the `unit` and `key` of their residence area (null key:
    the unit is not recorded for the case)."""
    return _residence_key(infections, rules.drawn_by.get(_top(rules), AreaUnit.COMPOUND))


def _rounds_since(rules: RiskAreas, residences: pl.DataFrame, day: date) -> date | None:
    """The first day a round counts for the residence areas (`_round_days`); None when the
    rules wait for no round or no case has a residence area. Every area's rounds from the
    earliest day one can be due: an area whose last infection is old was lowered by its round,
    which a shorter look-back would not see (the area would be drawn again, waiting for a round
    taken long ago)."""
    lifting = rules.lifting.values() if rules.lifting else ()
    pending = [r.negative_round_on_day for r in lifting if r.negative_round_on_day]
    if not pending or residences.height == 0:
        return None
    last = residences.group_by("unit", "key").agg(pl.col("on").max()).get_column("on").min()
    assert isinstance(last, date)
    return min(last + timedelta(days=min(pending)), day)


def _round_keyed(residences: pl.DataFrame) -> dict[AreaUnit, pl.DataFrame]:
    """The residence areas' keys by unit (`_keyed`)."""
    return _keyed(
        residences.select(
            pl.concat_str("unit", pl.lit(":"), "key").alias("area_id"),
            "unit",
            "region_code",
            "compound_id",
            "building_id",
        ).unique("area_id")
    )


def _round_members(residents: pl.DataFrame, residences: pl.DataFrame) -> pl.DataFrame:
    """Who a round of each residence area swabs: its residents (person_id, area_id) but its
    cases (the people of `residences`), who are in care."""
    members = _members(residents, _round_keyed(residences))
    return members.filter(~pl.col("person_id").is_in(residences.get_column("person_id").implode()))


def _round_days(
    members: pl.DataFrame, samples: pl.DataFrame, since: date, day: date
) -> dict[str, list[date]]:
    """Per area id, the days from `since` to `day` on which every member of the area
    (`_round_members`) was sampled and every tube of those samples was negative. The members
    are the residents at the end of `day`: someone who moved in after a round day holds that
    round incomplete (the next day's round includes them), and a round day counts without
    someone who has moved out since."""
    if members.height == 0:
        return {}
    start, _ = day_bounds(since)
    _, end = day_bounds(day)
    taken = samples.filter((pl.col("sampled_at") >= start) & (pl.col("sampled_at") < end))
    rows = members.join(taken, on="person_id", how="left")
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


def _draws_stays(rules: RiskAreas) -> bool:
    """Whether the places where a case stayed are medium areas under `rules`."""
    stayed = rules.delineation.get(RiskLevel.MEDIUM) if rules.delineation else None
    return RiskLevel.MEDIUM in rules.levels and stayed is Delineation.PLACES_WHERE_A_CASE_STAYED


def _stays_unit(rules: RiskAreas) -> AreaUnit:
    """The unit of the areas of stays under `rules` (`stay_unit` of the medium level's)."""
    return stay_unit(rules.drawn_by.get(RiskLevel.MEDIUM, AreaUnit.COMPOUND))


def _stay_window(policy: Policy) -> int:
    """The days before its report in which a case's stays count: the exposure window."""
    return policy.contacts.exposure_window_days if policy.contacts else 0


def _stay_key(unit: AreaUnit) -> pl.Expr:
    """The key of the area a stay (venue_id, the venue's region_code) makes, by `unit`
    (`stay_unit`); null where it is not recorded."""
    if unit is AreaUnit.VENUE:
        return pl.col("venue_id").cast(pl.String)
    return area_key(unit)


def _stay_events(
    infections: pl.DataFrame, checkins: pl.DataFrame, window_days: int, unit: AreaUnit
) -> pl.DataFrame:
    """The places where each case of `infections` (with `on`) stayed as area events: one row
    per (case report, venue) checked in during the `window_days` before the report and up to
    it, with `unit` and `key` (`_stay_key`), the venue's `venue_id` and `region_code`, and
    `on`, the report's day."""
    window = pl.duration(days=window_days)
    at = pl.col("checkin_at")
    return (
        infections.select("person_id", "opened_at", "on")
        .join(checkins, on="person_id")
        .filter((at <= pl.col("opened_at")) & (at >= pl.col("opened_at") - window))
        .unique(["person_id", "opened_at", "venue_id"])
        .select(
            "venue_id",
            "region_code",
            "on",
            pl.lit(unit.value).alias("unit"),
            _stay_key(unit).alias("key"),
        )
        .filter(pl.col("key").is_not_null())
    )


def _read_checkins(store: Store, infections: pl.DataFrame, window_days: int) -> pl.DataFrame:
    """The check-ins of the people of `infections` from the earliest report's window start to
    the latest report, with their venues' regions (CASE_CHECKIN_SCHEMA): a bound of what
    `_stay_events` keeps. The constant bounds let the scan skip the check-ins of other days
    (zone maps, indexes)."""
    if infections.height == 0:
        return pl.DataFrame(schema=CASE_CHECKIN_SCHEMA)
    opened = infections.get_column("opened_at")
    sql = f"""
SELECT k.person_id, k.venue_id, k.checkin_at, v.region_code
FROM checkin k JOIN venue v ON v.venue_id = k.venue_id
WHERE k.person_id IN ({IDS}) AND k.checkin_at >= :first_from AND k.checkin_at <= :last_to"""
    params = {
        "ids": ids_of(infections.get_column("person_id")),
        "first_from": opened.min() - timedelta(days=window_days),  # type: ignore[operator]
        "last_to": opened.max(),
    }
    return read(store, sql, params, CASE_CHECKIN_SCHEMA)


def _stay_checkins(
    store: Store,
    infections: pl.DataFrame,
    window_days: int,
    unit: AreaUnit,
    day: date,
    lifted_after: int | None,
) -> pl.DataFrame:
    """The check-ins of `infections` (counted, with `on`) that make the areas of stays that can
    be in force on `day`. An area of stays is lifted `lifted_after` days after its last
    infection (None: never, or every stay is to be read), and an infection that many days or
    more after the one before it starts a new area (`chain`): so only the areas with an
    infection in the last `lifted_after` days are in force, and only their infections back to
    such a gap count. The check-ins are read from the latest reports back, a window of
    `lifted_after` days at a time, while an area in force may still reach further back: the
    cost follows the areas in force, not the length of history."""
    if lifted_after is None:
        return _read_checkins(store, infections, window_days)
    gap = timedelta(days=lifted_after)
    on = pl.col("on")
    lo = day - gap  # every infection after `lo` is read
    recent = infections.filter(on > lo)
    checkins = [_read_checkins(store, recent, window_days)]
    events = _stay_events(recent, checkins[0], window_days, unit)
    alive = events.get_column("key").unique().implode()
    earliest = infections.get_column("on").min()
    while events.height and isinstance(earliest, date) and earliest <= lo:
        # each area's current chain starts at its first infection after the last gap of
        # `lifted_after` days or more among those read; one starting less than that after
        # `lo` may continue with an infection not read yet
        ordered = events.select("key", "on").unique().sort("key", "on")
        starts = ordered.filter(
            (on - on.shift(1).over("key") >= pl.duration(days=lifted_after))
            | on.shift(1).over("key").is_null()
        )
        chain_from = starts.group_by("key").agg(on.max()).get_column("on").min()
        if not isinstance(chain_from, date) or chain_from - lo >= gap:
            break
        older = infections.filter((on > lo - gap) & (on <= lo))
        read_now = _read_checkins(store, older, window_days)
        checkins.append(read_now.filter(_stay_key(unit).is_in(alive)))
        more = _stay_events(older, read_now, window_days, unit)
        events = pl.concat([events, more.filter(pl.col("key").is_in(alive))])
        lo -= gap
    return pl.concat(checkins)


def load_area_facts(
    store: Store,
    day: date,
    policy: Policy,
    *,
    scenario: Scenario = LIVE,
    whole_history: bool = False,
) -> AreaFacts:
    """The facts `areas_rule` reads on `day` under `policy`, from the store. The check-ins of
    the cases' stays are read only for the areas that can be in force (`_stay_checkins`);
    `whole_history` reads every case's, for a check that both give the same areas. The
    residents and their samples are read only where the rules wait for rounds."""
    rules = policy.risk_areas
    if rules is None:
        return AreaFacts.of()
    infections = _infections(store, day, scenario)
    if rules.classification is Classification.COUNTY_CASE_COUNTS:
        return AreaFacts.of(infections=infections)
    counted = _counted(infections, day)
    residences = _residences(counted, rules).filter(pl.col("key").is_not_null())
    facts: dict[str, pl.DataFrame] = {"infections": infections}
    since = _rounds_since(rules, residences, day)
    if since is not None:
        # the areas' residents from the read the run's steps share (`_residents_of_keys`),
        # then only the samples of the members on the days asked
        residents = _residents_of_keys(store, day, _keys(_round_keyed(residences)))
        members = _round_members(residents, residences)
        facts["residents"] = residents
        facts["samples"] = _read_round_samples(store, members, since, day)
    if _draws_stays(rules):
        unit = _stays_unit(rules)
        lifted_after = None if whole_history else _lifted_after(rules, RiskLevel.MEDIUM, day)
        facts["checkins"] = _stay_checkins(
            store, counted, _stay_window(policy), unit, day, lifted_after
        )
    return AreaFacts.of(**facts)


def _read_round_samples(
    store: Store, members: pl.DataFrame, since: date, day: date
) -> pl.DataFrame:
    """The samples of `members` from `since` to the end of `day`, each with every report of
    its tube by then (ROUND_SAMPLE_SCHEMA)."""
    if members.height == 0:
        return pl.DataFrame(schema=ROUND_SAMPLE_SCHEMA)
    start, _ = day_bounds(since)
    _, end = day_bounds(day)
    sql = f"""
SELECT s.person_id, s.sampled_at, r."result"
FROM sample s LEFT JOIN tube_result r ON r.tube_id = s.tube_id AND r.reported_at < :until
WHERE s.person_id IN ({IDS}) AND s.sampled_at >= :start AND s.sampled_at < :until"""
    params = {"ids": ids_of(members.get_column("person_id")), "start": start, "until": end}
    return read(store, sql, params, ROUND_SAMPLE_SCHEMA)


def areas_rule(facts: AreaFacts, day: date, policy: Policy) -> pl.DataFrame:
    """The risk areas in force on `day` under `policy` (AREA_SCHEMA; none where the policy
    draws no risk areas), from `facts` alone. One row per area: where a residence area and a
    stay area have the same id (a local rule drawing both by county), the higher level is
    kept."""
    rules = policy.risk_areas
    if rules is None:
        return pl.DataFrame(schema=AREA_SCHEMA)
    if rules.classification is Classification.COUNTY_CASE_COUNTS:
        rows = county_areas(rules, _on_day(facts.infections), day)
    else:
        rows = with_low_areas(rules, _case_location_areas(facts, day, policy, rules))
    return areas_frame(rows, policy)


def _case_location_areas(
    facts: AreaFacts, day: date, policy: Policy, rules: RiskAreas
) -> list[dict[str, object]]:
    """The areas of the cases' residences and (where the rules draw them) of their stays."""
    infections = _counted(facts.infections, day)
    residences = _residences(infections, rules)
    if (unknown := residences.filter(pl.col("key").is_null()).height) > 0:
        log.warning(
            "%d case episodes whose %s is not recorded: no residence area drawn for them",
            unknown,
            rules.drawn_by.get(_top(rules), AreaUnit.COMPOUND).value,
        )
    residences = residences.filter(pl.col("key").is_not_null())
    since = _rounds_since(rules, residences, day)
    rounds: dict[str, list[date]] = {}
    if since is not None:
        members = _round_members(facts.residents, residences)
        rounds = _round_days(members, facts.samples, since, day)
    areas = _areas_from(rules, residences, _top(rules), AreaReason.CASE_RESIDENCE, day, rounds)
    if _draws_stays(rules):
        stays = _stay_events(infections, facts.checkins, _stay_window(policy), _stays_unit(rules))
        areas += _areas_from(rules, stays, STAY_LEVEL, AreaReason.CASE_STAYED, day, None)
    return areas


def draw_areas(
    store: Store,
    day: date,
    policy: Policy,
    *,
    scenario: Scenario = LIVE,
    whole_history: bool = False,
) -> pl.DataFrame:
    """The risk areas in force on `day` under `policy` (AREA_SCHEMA): `areas_rule` on the facts
    `load_area_facts` reads (`whole_history`: see there)."""
    facts = load_area_facts(store, day, policy, scenario=scenario, whole_history=whole_history)
    return areas_rule(facts, day, policy)


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
        found = chain(rules, level, days, day, None if rounds is None else rounds.get(area_id, []))
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


def _lifted_after(rules: RiskAreas, level: RiskLevel, day: date) -> int | None:
    """The days after its last infection that an area of `level` with no residents (no round
    to wait for) is lifted, by the lifting rules; None when it never is."""
    steps = lowering_schedule(rules, level, day, None)
    last = steps[-1]
    if last.to is not RiskLevel.LOW or last.on is None:
        return None
    return (last.on - day).days


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
