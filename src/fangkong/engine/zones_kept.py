"""Risk areas kept between runs: the areas in force that the previous run drew (`risk_area`) are
the run day's when nothing new to the run can change them, instead of being drawn again from
every case episode and its check-ins.

    areas = areas_of_run(store, day, policy, scenario=scenario, marks=marks)   # AREA_SCHEMA

The areas are a function of the case episodes, the cases' residences and check-ins, the venues,
the residents' rounds and the day (`fangkong.engine.zones`). The previous run P of the scenario
(the one its watermarks come from, `fangkong.engine.scenario`) stored the areas of its day. They
are the areas of day D too when

- P kept its state (`engine_run.state_kept`: no rerun of an earlier day has changed what it
  started from) and ran the same policy;
- no episode is new to the run of D: the run writes `engine_episode` rows of D exactly for the
  people whose case events are new to it (`fangkong.engine.episode.keep_episodes`, and the
  reports it derives before the areas are drawn) — a report, a late one, a reclassification;
- no area of P with residents, or drawn otherwise than as a place where a case stayed (but the
  low areas, drawn again from the areas kept: `zones_lifting.with_low_areas`), changes level
  by D: its `next_change_on` is after D, or it awaits a round that is not due before D is over
  (no round of a later day can have been taken). A venue where a case stayed waits for no
  round: its level on D follows from its last infection by the lifting rules
  (`zones_lifting.level_on`, as when it is drawn), lowered or lifted on D without drawing;
- nothing new to the run (by import batch, or dated after P's day) touches the other inputs: a
  check-in of a case within its exposure window before its report (a late check-in makes a
  place where it stayed), a venue, a person's registration or move (a case's residence; an
  area's residents, which a round of any day counts as they are at the end of the run day);
- where the policy's lowering waits for a negative round of an area's residents: no sample of a
  day up to P's and no test result that is not negative is new (either could break a round of
  a day the areas already counted: an area lifted would be drawn again); where an area in force
  has residents, no result of a sample of a day before P's is new either (it could complete a
  round, lowering the area earlier), and the area had no infection on P's day (that day's round
  is read by P's drawing and, from the day after, only when an area's count reaches it:
  `zones._round_days`).

Rounds of a day after P's only count for an area awaiting one that is due by D, which is drawn
again. Everything else is read by `draw_areas` as before; a run outside `run_day` (an audit, a
report) always draws, and so do the 2020 county counts (`zones_county`). Keeping the areas
costs two small queries whatever the history; drawing them costs the case episodes and their
check-ins.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import polars as pl

from fangkong.engine.frames import day_bounds, named, read
from fangkong.engine.scenario import Scenario, Watermarks
from fangkong.engine.zones import AREA_SCHEMA, STAY_LEVEL, areas_frame, draw_areas
from fangkong.engine.zones_lifting import level_on, with_low_areas
from fangkong.model.glossary import AreaReason
from fangkong.policy import Policy
from fangkong.policy.schema import RiskAreas
from fangkong.policy.terms import AreaUnit, Classification, RiskLevel
from fangkong.store import Store

__all__ = ["areas_of_run", "kept_areas"]

log = logging.getLogger(__name__)

# the units people live in: their areas wait for rounds of their residents
_DWELLINGS = [
    u.value for u in (AreaUnit.BUILDING, AreaUnit.COMPOUND, AreaUnit.STREET, AreaUnit.COUNTY)
]

_PREVIOUS = {
    "prev_scenario": pl.String(),
    "prev_day": pl.Date(),
    "prev_policy": pl.String(),
    "prev_kept": pl.Boolean(),
    "new_episodes": pl.Boolean(),
}


def _previous_sql(scenario: Scenario) -> str:
    """The previous run (as `watermarks` picks it), whether the run of :day has written
    episodes (some are new to it), and the areas the previous run stored: one row per area, or
    one row with null area columns when it stored none."""
    cols = ", ".join(f'a."{c}"' for c in AREA_SCHEMA)
    return f"""
WITH prev AS (
  SELECT r.scenario AS prev_scenario, r.run_day AS prev_day, r.policy_id AS prev_policy,
         r.state_kept AS prev_kept,
         EXISTS (SELECT 1 FROM engine_episode e WHERE e.scenario = :scenario AND e.run_day = :day)
           AS new_episodes
  FROM engine_run r WHERE {scenario.visible("r")} AND r.run_day < :day
  ORDER BY r.run_day DESC, (r.scenario = :scenario) DESC LIMIT 1
)
SELECT prev.*, {cols}
FROM prev LEFT JOIN risk_area a ON a.scenario = prev.prev_scenario AND a.run_day = prev.prev_day"""


# what is new to the run (batches after the previous run's watermark, or dated from the day after
# its day) that can change areas kept from it, besides episodes
_NEW_BATCH = "({t}.batch_id > :w_prev AND {t}.batch_id <= :w_cur)"
_CHANGED = {
    # a late check-in of a case within its window: a place where it stayed
    "stays": f"""EXISTS (SELECT 1 FROM checkin k JOIN engine_episode e ON e.person_id = k.person_id
          WHERE {_NEW_BATCH.format(t="k")} AND {{visible}} AND e.run_day <= :day
            AND k.checkin_at <= e.opened_at AND k.checkin_at >= e.opened_at - :window)""",
    "venues": f"EXISTS (SELECT 1 FROM venue v WHERE {_NEW_BATCH.format(t='v')})",
    # a case's residence, an area's residents
    "registered": f"EXISTS (SELECT 1 FROM person p WHERE {_NEW_BATCH.format(t='p')})",
    "moves": f"""EXISTS (SELECT 1 FROM person_move m WHERE {_NEW_BATCH.format(t="m")}
          OR (m.effective_at >= :fresh_since AND m.effective_at < :until))""",
}
_NEW_RESULT = (
    f"({_NEW_BATCH.format(t='r')} OR (r.reported_at >= :fresh_since AND r.reported_at < :until))"
)
# where the policy waits for rounds: anything that can break a round of a day counted already
# (the area would be lowered or lifted later, or not yet)
_BROKEN_ROUNDS = {
    "late_samples": f"""EXISTS (SELECT 1 FROM sample s WHERE {_NEW_BATCH.format(t="s")}
          AND s.sampled_at < :fresh_since)""",
    "not_negative": f"""EXISTS (SELECT 1 FROM tube_result r WHERE {_NEW_RESULT}
          AND (r."result" IS NULL OR r."result" <> 'negative'))""",
}
# and where an area in force has residents: a result that completes a round of a day before the
# previous run's (the area would be lowered earlier)
_LATE_RESULTS = f"""EXISTS (SELECT 1 FROM tube_result r JOIN sample s ON s.tube_id = r.tube_id
          WHERE {_NEW_RESULT} AND s.sampled_at < :p_start)"""


def _waits_for_rounds(rules: RiskAreas) -> bool:
    return any(r.negative_round_on_day is not None for r in (rules.lifting or {}).values())


def _areas_on(
    rules: RiskAreas, areas: pl.DataFrame, day: date, previous: date
) -> list[dict[str, object]] | None:
    """The areas of `areas` (drawn by the run of `previous`) on `day` when no new infection
    comes: a place where a case stayed by its lifting rules (it waits for no round); any other
    area as it was, unless it changes level by `day` or a round of it can have been taken (None:
    the areas must be drawn)."""
    rounds = _waits_for_rounds(rules)
    rows: list[dict[str, object]] = []
    for area in areas.iter_rows(named=True):
        if area["reason"] == AreaReason.REST_OF_COUNTY.value:
            continue  # drawn again from the areas kept (`zones_lifting.with_low_areas`)
        if area["reason"] == AreaReason.CASE_STAYED.value and area["unit"] == AreaUnit.VENUE.value:
            # drawn at STAY_LEVEL; while at it, `level_since` is when it last rose to it
            top = area["level_since"] if area["level"] == STAY_LEVEL.value else area["drawn_on"]
            now = level_on(rules, STAY_LEVEL, area["last_infection_on"], None, day, top)
            if now is not None:
                rows.append({**area, **now})
            continue
        if rounds and area["unit"] in _DWELLINGS and area["last_infection_on"] >= previous:
            return None  # the round of `previous` counted for it on that day only
        if area["awaiting_round"]:
            rule = (rules.lifting or {})[RiskLevel(area["level"])]
            assert rule.negative_round_on_day is not None
            due = area["last_infection_on"] + timedelta(days=rule.negative_round_on_day)
            if due <= day:
                return None
        elif area["next_change_on"] is not None and area["next_change_on"] <= day:
            return None
        rows.append(area)
    return rows


def kept_areas(
    store: Store, day: date, policy: Policy, *, scenario: Scenario, marks: Watermarks
) -> pl.DataFrame | None:
    """The areas of `day` (AREA_SCHEMA) as the previous run drew them, when nothing can have
    changed them (see the module docstring); None when they must be drawn."""
    rules = policy.risk_areas
    if rules is None or rules.classification is not Classification.CASE_LOCATIONS:
        return None
    if marks.since is None or not marks.state_kept:
        return None
    rows = read(
        store,
        _previous_sql(scenario),
        {"day": day, **scenario.params()},
        {**_PREVIOUS, **AREA_SCHEMA},
    )
    if rows.height == 0:
        return None
    _, previous, policy_id, state_kept, new_episodes = rows.row(0)[: len(_PREVIOUS)]
    if policy_id != policy.id or not state_kept or new_episodes:
        return None
    areas = rows.filter(pl.col("area_id").is_not_null()).select(list(AREA_SCHEMA))
    now = _areas_on(rules, areas, day, previous)
    if now is None:
        return None
    checks = dict(_CHANGED)
    if _waits_for_rounds(rules):
        checks |= _BROKEN_ROUNDS
        dwellings = pl.col("unit").is_in(_DWELLINGS)
        if areas.filter(dwellings & (pl.col("reason") != AreaReason.REST_OF_COUNTY.value)).height:
            # a low area waits for no round: its county's areas say whether one can count
            checks["late_results"] = _LATE_RESULTS
    sql = "SELECT " + ",\n  ".join(f"{v} AS {k}" for k, v in checks.items())
    sql = sql.format(visible=scenario.visible("e"))
    window = policy.contacts.exposure_window_days if policy.contacts else 0
    params = {
        "day": day,
        "window": timedelta(days=window),
        "until": day_bounds(day)[1],
        "p_start": day_bounds(previous)[0],
        **marks.params(),
        **scenario.params(),
    }
    if any(bool(v) for v in store.fetch(sql, named(sql, params)).row(0)):
        return None
    return areas_frame(with_low_areas(rules, now), policy)


def areas_of_run(
    store: Store, day: date, policy: Policy, *, scenario: Scenario, marks: Watermarks
) -> pl.DataFrame:
    """The risk areas of the run of `day`: those kept from the previous run when nothing can
    have changed them, else drawn (`zones.draw_areas`)."""
    kept = kept_areas(store, day, policy, scenario=scenario, marks=marks)
    if kept is not None:
        log.debug("%s: the %d risk areas of the previous run kept", day, kept.height)
        return kept
    return draw_areas(store, day, policy, scenario=scenario)
