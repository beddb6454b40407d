"""The measures of the risk areas in force (分区分级管控措施): who in an area is confined, and which
of its venues are closed or restricted, by the policy's rules for the area's level.

    facts = load_measure_facts(store, day, policy, areas)  # the day's areas and what they need
    measures = measures_rule(facts, policy)              # MEASURE_SCHEMA, not stored
    rounds = round_rule(facts, day, policy)              # the swabs of the rounds due
    measures_on(store, day, scenario)                    # as the runs stored them
    residents_under_measures(store, day, scenario)       # person_id, area_id, restriction
    resident_measures(store, person_id, day, scenario)   # one person's, for the health code
    venues_under_measures(store, day, scenario)          # venue_id, category, area_id, ...

`run_day` derives them from the areas it drew (`fangkong.engine.zones`) and stores them in
`area_measure`, in its scenario and run day, like the areas (a rerun replaces them; a what-if
never touches live's). A measure exists only while its area does: an area lifted is drawn no
more, and nor are its measures.

**What a level's rules give** (`risk_areas` of the policy):

- the residents of an area (a building, compound, street or county; a venue has none), by the
  level's `area_rules`: 足不出户 (`stay_home_door_to_door`) keeps them home, 人不出区
  (`stay_in_area_staggered_pickup`) in the area (`AreaRule.confinement`). The 2020 strategies
  and 个人防护、避免聚集 confine nobody; where the level's `leave_city_test` says so (the 9th
  edition's low area) its residents have `leave_city_with_test`: leaving the city needs a
  negative test within the health code's `leave_city_test_validity_hours` (the code's
  `leave_city_valid_until` says until when a resident's test does). No other measure, and no
  order: only a stay in or a departure from a high or medium area is quarantined
  (`fangkong.engine.zones_departures`).
- the venues in an area, by the level's `venue_measures` and each venue's category (the special
  institutions share one rule): 临时禁止开业 closes them, every other measure restricts them
  (`VenueMeasure.restriction`). A venue lies in an area that is the venue itself, or the street
  or county of its division code; the registry records no compound or building for a venue, so
  no venue is found in an area of those units (their residents are confined instead).

Each measure names the area, its level, its subject (`residents`, or a venue category), the
typed restriction (`AreaRestriction`), the policy's measure, the rule (`risk_areas.area_rules.
high`, `risk_areas.venue_measures.medium.enclosed_entertainment`) and policy, and when it
holds: from the day the area took its level (`level_since`) to the day the rule lowers or lifts
it if no new infection comes (`next_change_on`; null while a negative round is awaited or when
the rule never changes it). Where the area is lowered, the measures of the lower level are
stored too, from that day (until the run of that day says more). A reader of a day after the
run's takes the rows in force that day.

**The round an area waits for.** Where the lowering of an area waits for a negative round of
all its residents on a day of its count (`lifting.<level>.negative_round_on_day`: the 9th
edition's day 7), the run of the day before orders that round: an `area_round` order (a swab)
for every resident but the area's cases, on the day it is due, or on the next day while it is
past due and not complete (`round_rule`). The rounds themselves are read back by the
drawing of the areas (`fangkong.engine.zones`), as any sample is.

The measures and the rounds are rules over frames (`measures_rule`, `round_rule`: they read no
store, so a simulator drives them with frames of its own, `MeasureFacts.of`); the loader reads
the categories of the venues that are areas and, for the areas whose round is due (`_due`, which
the rule decides by too), their residents and the cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

import polars as pl

from fangkong.engine.facts import Facts
from fangkong.engine.frames import IDS, collect, day_bounds, midnight, read
from fangkong.engine.orders import empty_orders, orders_from
from fangkong.engine.scenario import LIVE, Scenario
from fangkong.engine.zones import AREA_SCHEMA, area_cases, area_key, area_residents, areas_on
from fangkong.model.glossary import OrderType, VenueCategory
from fangkong.policy import Policy
from fangkong.policy.schema import RiskAreas
from fangkong.policy.terms import AreaRestriction, AreaUnit, RiskLevel
from fangkong.store import Store
from fangkong.store.person_view import current_person

__all__ = [
    "MEASURE_SCHEMA",
    "RESIDENTS",
    "STORED_MEASURE_SCHEMA",
    "VENUE_SCHEMA",
    "MeasureFacts",
    "load_measure_facts",
    "measures_on",
    "measures_rule",
    "resident_measures",
    "residents_under_measures",
    "round_rule",
    "store_measures",
    "venues_under_measures",
]

# the subject of a measure for the people who live in the area (else: a VenueCategory)
RESIDENTS = "residents"

MEASURE_SCHEMA: dict[str, pl.DataType] = {
    "area_id": pl.String(),
    "level": pl.String(),  # RiskLevel of the area while the measure holds
    "subject": pl.String(),  # RESIDENTS or a VenueCategory
    "restriction": pl.String(),  # AreaRestriction
    "measure": pl.String(),  # the policy's AreaRule or VenueMeasure
    "in_force_from": pl.Date(),
    "in_force_until": pl.Date(),  # exclusive; null: until a later run says otherwise
    "rule": pl.String(),
    "policy_id": pl.String(),
}
STORED_MEASURE_SCHEMA: dict[str, pl.DataType] = {
    "scenario": pl.String(),
    "run_day": pl.Date(),
    **MEASURE_SCHEMA,
}
# a venue is found in an area of these units (the venue itself, or its division code's prefix)
_VENUE_UNITS = (AreaUnit.VENUE.value, AreaUnit.STREET.value, AreaUnit.COUNTY.value)
_DWELLINGS = (AreaUnit.BUILDING, AreaUnit.COMPOUND, AreaUnit.STREET, AreaUnit.COUNTY)
# the stricter restriction first, where one person or venue is under two
_STRICTEST = [r.value for r in AreaRestriction]


def _level_measures(
    rules: RiskAreas,
    area: dict[str, object],
    categories: list[VenueCategory],
    level: RiskLevel,
    since: date,
    until: date | None,
) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    base = {"area_id": area["area_id"], "level": level.value, "in_force_from": since}
    rule = rules.area_rules.get(level)
    confinement = rule.confinement if rule is not None else None
    dwelling = AreaUnit(str(area["unit"])) in _DWELLINGS
    if confinement is not None and dwelling:
        out.append(
            {
                **base,
                "subject": RESIDENTS,
                "restriction": confinement.value,
                "measure": rule.value if rule is not None else None,
                "in_force_until": until,
                "rule": f"risk_areas.area_rules.{level.value}",
            }
        )
    elif dwelling and (rules.leave_city_test or {}).get(level):
        # free to move (the consistency check keeps this off a confining rule), but leaving
        # the city needs a negative test within the health code's window
        out.append(
            {
                **base,
                "subject": RESIDENTS,
                "restriction": AreaRestriction.LEAVE_CITY_WITH_TEST.value,
                "measure": rule.value if rule is not None else None,
                "in_force_until": until,
                "rule": f"risk_areas.leave_city_test.{level.value}",
            }
        )
    for category in categories:
        measure = rules.venue_measure(level, category)
        if measure is None:
            continue
        key = "special_institutions" if category.special_institution else category.value
        out.append(
            {
                **base,
                "subject": category.value,
                "restriction": measure.restriction.value,
                "measure": measure.value,
                "in_force_until": until,
                "rule": f"risk_areas.venue_measures.{level.value}.{key}",
            }
        )
    return out


VENUE_SCHEMA: dict[str, pl.DataType] = {"venue_id": pl.Int64(), "category": pl.String()}


def _venue_categories(areas: pl.DataFrame, venues: pl.DataFrame) -> dict[str, list[VenueCategory]]:
    """Per area, the venue categories its measures are for: a venue area's own category (of
    `venues`: VENUE_SCHEMA); every category in a street or county; none in a building or
    compound (no venue is located in one)."""
    category = dict(venues.select("venue_id", "category").iter_rows())
    out: dict[str, list[VenueCategory]] = {}
    for area_id, unit, venue_id in areas.select("area_id", "unit", "venue_id").iter_rows():
        if unit == AreaUnit.VENUE.value:
            out[area_id] = [VenueCategory(category[venue_id])] if venue_id in category else []
        elif unit in _VENUE_UNITS:
            out[area_id] = list(VenueCategory)
        else:
            out[area_id] = []
    return out


@dataclass(frozen=True)
class MeasureFacts(Facts):
    """What the areas' measures and rounds read (`measures_rule`, `round_rule`):

    - `areas`: the day's areas (AREA_SCHEMA, as `zones.draw_areas` gives them);
    - `venues`: the category of each venue that is an area (VENUE_SCHEMA);
    - `residents`: the residents of the areas whose round is due (person_id, area_id:
      `zones.area_residents`);
    - `cases`: the people whose infection counts for the areas (they are in care, not in a
      round: `zones.area_cases`).
    """

    areas: pl.DataFrame
    venues: pl.DataFrame
    residents: pl.DataFrame
    cases: pl.DataFrame

    SCHEMAS: ClassVar[dict[str, dict[str, pl.DataType]]] = {
        "areas": AREA_SCHEMA,
        "venues": VENUE_SCHEMA,
        "residents": {"person_id": pl.Int64(), "area_id": pl.String()},
        "cases": {"person_id": pl.Int64()},
    }


def _due(areas: pl.DataFrame, day: date, policy: Policy) -> pl.DataFrame:
    """The areas whose lowering waits for a negative round due by the day after `day`: the
    rule orders their residents' swabs, and the loader reads who they are (one definition for
    both)."""
    rules = policy.risk_areas
    if rules is None or not rules.lifting:
        return areas.clear()
    tomorrow = day + timedelta(days=1)
    return areas.filter(pl.col("awaiting_round") & (pl.col("next_change_on") <= tomorrow))


def load_measure_facts(
    store: Store, day: date, policy: Policy, areas: pl.DataFrame, *, scenario: Scenario = LIVE
) -> MeasureFacts:
    """The facts of the day's measures and of the rounds due from the store (`MeasureFacts`)."""
    if policy.risk_areas is None or areas.height == 0:
        return MeasureFacts.of(areas=areas)
    venues = _read_venues(store, areas)
    due = _due(areas, day, policy)
    if due.height == 0:
        return MeasureFacts.of(areas=areas, venues=venues)
    cases = area_cases(store, day, scenario).to_frame("person_id")
    return MeasureFacts.of(
        areas=areas, venues=venues, residents=area_residents(store, day, due), cases=cases
    )


def _read_venues(store: Store, areas: pl.DataFrame) -> pl.DataFrame:
    """The category of each venue that is one of `areas` (VENUE_SCHEMA)."""
    ids = areas.filter(pl.col("unit") == AreaUnit.VENUE.value).get_column("venue_id")
    if ids.drop_nulls().len() == 0:
        return pl.DataFrame(schema=VENUE_SCHEMA)
    return read(
        store,
        "SELECT venue_id, category FROM venue"
        " WHERE venue_id IN (SELECT unnest(CAST(:v AS BIGINT[])))",
        {"v": ids.drop_nulls().to_list()},
        VENUE_SCHEMA,
    )


def measures_rule(facts: MeasureFacts, policy: Policy) -> pl.DataFrame:
    """The measures (MEASURE_SCHEMA) of `facts.areas` under `policy` (the module docstring).
    Reads no store."""
    rules, areas = policy.risk_areas, facts.areas
    if rules is None or areas.height == 0:
        return pl.DataFrame(schema=MEASURE_SCHEMA)
    categories = _venue_categories(areas, facts.venues)
    rows: list[dict[str, object]] = []
    for area in areas.iter_rows(named=True):
        # the day the rule changes the area's level, if no infection comes and no round is due
        change = None if area["awaiting_round"] else area["next_change_on"]
        mine = categories[area["area_id"]]
        level = RiskLevel(area["level"])
        rows += _level_measures(rules, area, mine, level, area["level_since"], change)
        if change is not None and area["next_level"] is not None:
            lower = RiskLevel(area["next_level"])
            rows += _level_measures(rules, area, mine, lower, change, None)
    frame = pl.DataFrame(rows, schema={k: v for k, v in MEASURE_SCHEMA.items() if k != "policy_id"})
    return frame.with_columns(pl.lit(policy.id).alias("policy_id")).select(list(MEASURE_SCHEMA))


def round_rule(facts: MeasureFacts, day: date, policy: Policy) -> pl.DataFrame:
    """ORDER_SCHEMA: the swabs of the rounds the areas of `facts` wait for that are due by the
    next day (see the module docstring): every resident but the cases. Reads no store."""
    rules = policy.risk_areas
    due = _due(facts.areas, day, policy)
    if rules is None or not rules.lifting or due.height == 0:
        return empty_orders()
    tomorrow = day + timedelta(days=1)
    round_day = {
        level.value: rule.negative_round_on_day
        for level, rule in rules.lifting.items()
        if rule.negative_round_on_day is not None
    }
    people = (
        facts.residents.join(due.select("area_id"), on="area_id", how="semi")
        .filter(~pl.col("person_id").is_in(facts.cases.get_column("person_id").implode()))
        .join(due.select("area_id", "level", "next_change_on"), on="area_id")
        .with_columns(
            pl.max_horizontal("next_change_on", pl.lit(tomorrow)).alias("on"),
            pl.col("level").replace_strict(round_day, return_dtype=pl.Int32).alias("n"),
        )
        .unique("person_id", keep="first")
    )
    return orders_from(
        people,
        OrderType.AREA_ROUND,
        start_at=midnight(pl.col("on")),
        end_at=midnight(pl.col("on") + pl.duration(days=1)),
        place="area_id",
        detail=pl.format("round of day {}", "n"),
        rule=pl.format("risk_areas.lifting.{}.negative_round_on_day", "level"),
        policy_id=policy.id,
        reason=pl.format(
            "the {} area's lowering waits for a negative test of every resident on day {}"
            " without a new infection",
            "level",
            "n",
        ),
    )


def store_measures(store: Store, measures: pl.DataFrame, day: date, scenario: Scenario) -> None:
    """Store the measures of a run of `day` in `scenario` (the run has removed its earlier
    rows)."""
    if measures.height:
        store.insert_frame(
            "area_measure",
            measures.select(
                pl.lit(scenario.name).alias("scenario"),
                pl.lit(day).alias("run_day"),
                *MEASURE_SCHEMA,
            ),
        )


def measures_on(store: Store, day: date, scenario: Scenario = LIVE) -> pl.DataFrame:
    """The measures in force on `day` in `scenario` (STORED_MEASURE_SCHEMA), as the latest run
    on or before `day` stored them: those from on or before `day` and not ended by it. A
    what-if sees live's runs before its fork day."""
    cols = ", ".join(f'm."{c}"' for c in STORED_MEASURE_SCHEMA)
    sql = f"""
SELECT {cols} FROM area_measure m
WHERE {scenario.visible("m")} AND m.run_day = (
  SELECT max(r.run_day) FROM engine_run r WHERE {scenario.visible("r")} AND r.run_day <= :day)
  AND m.in_force_from <= :day AND (m.in_force_until IS NULL OR m.in_force_until > :day)
ORDER BY m.area_id, m.subject"""
    return read(store, sql, {"day": day, **scenario.params()}, STORED_MEASURE_SCHEMA)


def _strictest(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """One row per `key`: the strictest restriction (then the first area) it is under."""
    rank = pl.col("restriction").replace_strict(_STRICTEST, range(len(_STRICTEST)))
    # one sort by the key first (a third of the time of sorting by the rank, then the key, at
    # 40,000 residents); the measure breaks a tie of two measures of one area
    return collect(
        frame.lazy()
        .sort(pl.col(key), rank, "area_id", "measure")
        .unique(key, keep="first", maintain_order=True)
    )


def residents_under_measures(
    store: Store,
    day: date,
    scenario: Scenario = LIVE,
    restrictions: Sequence[AreaRestriction] | None = None,
    *,
    measures: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The people under a measure on `day` of the area they live in: person_id, area_id,
    restriction (AreaRestriction: the strictest, stay_home before stay_in_area before
    leave_city_with_test), measure, rule, policy_id; only the measures of `restrictions` where
    given (a low area's test to leave the city covers a whole county: a reader of the
    confined asks for those alone, and reads no other resident). `measures`: those in force
    on the day (`measures_on`), when the caller read them already."""
    schema = {
        "person_id": pl.Int64(),
        "area_id": pl.String(),
        "restriction": pl.String(),
        "measure": pl.String(),
        "rule": pl.String(),
        "policy_id": pl.String(),
    }
    if measures is None:
        measures = measures_on(store, day, scenario)
    measures = measures.filter(pl.col("subject") == RESIDENTS)
    if restrictions is not None:
        measures = measures.filter(pl.col("restriction").is_in([r.value for r in restrictions]))
    if measures.height == 0:
        return pl.DataFrame(schema=schema)
    areas = areas_on(store, day, scenario).join(measures.select("area_id").unique(), on="area_id")
    people = area_residents(store, day, areas).join(measures, on="area_id")
    return _strictest(people.select(list(schema)), "person_id")


_HOME = {"region_code": pl.String(), "compound_id": pl.String(), "building_id": pl.String()}


def resident_measures(
    store: Store, person_id: int, day: date, scenario: Scenario = LIVE
) -> pl.DataFrame:
    """The measures for residents in force on `day` (STORED_MEASURE_SCHEMA) of the areas the
    person lives in at the end of `day` (each dwelling unit's `zones.area_key` of their
    residence), the strictest first: what a health code shows beside the colour (a low area's
    `leave_city_with_test`, a high one's `stay_home`). Reads the one person, not the areas'
    residents."""
    measures = measures_on(store, day, scenario).filter(pl.col("subject") == RESIDENTS)
    if measures.height == 0:
        return measures
    home = read(
        store,
        f"SELECT region_code, compound_id, building_id FROM {current_person(person_ids=IDS)} p",
        {"ids": [person_id], "as_of": day_bounds(day)[1] - timedelta(microseconds=1)},
        _HOME,
    )
    keys = [
        f"{unit.value}:{key}"
        for unit in _DWELLINGS
        for key in home.select(area_key(unit)).to_series().drop_nulls().to_list()
    ]
    rank = pl.col("restriction").replace_strict(_STRICTEST, range(len(_STRICTEST)))
    return measures.filter(pl.col("area_id").is_in(keys)).sort(rank, "area_id")


def venues_under_measures(
    store: Store,
    day: date,
    scenario: Scenario = LIVE,
    *,
    measures: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The venues under a measure on `day`: venue_id, category, area_id, restriction (closed
    before restricted where a venue is in two areas), measure, rule, policy_id. `measures`:
    those in force on the day (`measures_on`), when the caller read them already."""
    schema = {
        "venue_id": pl.Int64(),
        "category": pl.String(),
        "area_id": pl.String(),
        "restriction": pl.String(),
        "measure": pl.String(),
        "rule": pl.String(),
        "policy_id": pl.String(),
    }
    if measures is None:
        measures = measures_on(store, day, scenario)
    measures = measures.filter(pl.col("subject") != RESIDENTS)
    if measures.height == 0:
        return pl.DataFrame(schema=schema)
    areas = areas_on(store, day, scenario).filter(pl.col("unit").is_in(list(_VENUE_UNITS)))
    areas = areas.join(measures.select("area_id").unique(), on="area_id")
    regions = areas.filter(pl.col("unit") != AreaUnit.VENUE.value).get_column("area_id")
    venues = read(
        store,
        """
SELECT venue_id, region_code, category FROM venue
WHERE venue_id IN (SELECT unnest(CAST(:v AS BIGINT[])))
   OR substr(region_code, 1, 9) IN (SELECT unnest(CAST(:r AS VARCHAR[])))
   OR substr(region_code, 1, 6) IN (SELECT unnest(CAST(:r AS VARCHAR[])))""",
        {
            "v": areas.get_column("venue_id").drop_nulls().to_list(),
            "r": [a.split(":", 1)[1] for a in regions.to_list()],
        },
        {"venue_id": pl.Int64(), "region_code": pl.String(), "category": pl.String()},
    )
    keyed = pl.concat(
        [
            venues.with_columns(
                (
                    pl.lit(f"{unit}:")
                    + (
                        pl.col("venue_id").cast(pl.String)
                        if unit == AreaUnit.VENUE.value
                        else area_key(AreaUnit(unit))
                    )
                ).alias("area_id")
            )
            for unit in _VENUE_UNITS
        ]
    ).filter(pl.col("area_id").is_not_null())
    found = keyed.join(
        measures, left_on=["area_id", "category"], right_on=["area_id", "subject"]
    ).select(list(schema))
    return _strictest(found, "venue_id")
