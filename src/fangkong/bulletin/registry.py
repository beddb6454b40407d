"""The daily bulletin computed from the case registry, by one set-based query that runs
unchanged on DuckDB and PostgreSQL.

The events are the registry's (`case_report`) and those the engine derived in the scenario (a
lab-positive single test reported, a discharge: `engine_case_event`), read through the
case-episode relation (`fangkong.engine.episode`). A *case* here is one infection: a person's
events between two closing events (an outcome, or an exclusion), whichever case ids they carry.
So a lab positive the engine reported as an asymptomatic infection and the hospital's later
report of the same person as confirmed are one case, counted once (as 无症状转确诊), and an
engine-derived discharge followed by the hospital's own outcome is one cure.

How events make figures (a case's events are ordered by `reported_at`, then `report_id`):

- A case's state after each event is carried forward from its events: the diagnosis and the
  origin from `report` and `reclassify` events, the severity from any event that names one, the
  outcome from `outcome` events. An outcome is final.
- A day's "new" figures count transitions whose event falls in the day [D 00:00, D+1 00:00)
  Asia/Shanghai: a new confirmed case is one whose diagnosis becomes `confirmed` (a report, or a
  reclassification from suspected or asymptomatic), counted by its origin after the event, and
  `new_converted` when it was asymptomatic; a new suspected case or asymptomatic infection
  likewise; a death, a cure (治愈出院, confirmed cases) and a release (解除医学观察,
  asymptomatic infections) by their outcome event.
- "current" and "cumulative" figures read each case's state after its last event before
  D+1 00:00: cumulative confirmed counts cases whose diagnosis is `confirmed` then (a confirmed
  case reclassified `excluded` — 订正核减 — leaves it), current confirmed those without an
  outcome, severe those of them whose severity is severe or critical. `severe_change` compares
  with the state at D 00:00.
- A figure belongs to the region of the event that made it (for states: the case's last event).
  The query groups by county; provinces, cities and the nation are sums of counties.

Close contacts (traced, under observation, released) are not in the case registry: they come
from the engine's stored facts (`fangkong.bulletin.contacts`), counted where the contacts live,
and are None while the engine has not run.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from fangkong.bulletin.bulletin import FIELD_NAMES, Bulletin, bulletin_from_frame
from fangkong.bulletin.contacts import (
    CONTACT_FIGURES,
    LIVE,
    county_contact_figures,
    engine_has_run,
)
from fangkong.bulletin.regions import (
    HMT_CODES,
    NATION_CODE,
    check_scope,
    city_expr,
    province_expr,
)
from fangkong.engine.episode import episode_ctes
from fangkong.engine.frames import day_bounds, read
from fangkong.engine.scenario import Scenario, scenario_of
from fangkong.store.base import Store

__all__ = [
    "REGISTRY_FIGURES",
    "bulletin_from_registry",
    "county_figures",
    "county_figures_sql",
]

# The figures that the case registry gives (the others come from the engine's facts).
_NOT_IN_REGISTRY = frozenset(CONTACT_FIGURES)
REGISTRY_FIGURES: tuple[str, ...] = tuple(n for n in FIELD_NAMES if n not in _NOT_IN_REGISTRY)

_ORDER = "ORDER BY reported_at, report_id"
# One infection: a person's events within one segment of the case-episode relation
# (`fangkong.engine.episode`: segments are cut after each outcome or exclusion), whatever case
# ids the registry and the engine gave them.
_CASE = "person_id, seg"
_RUNNING = f"PARTITION BY {_CASE} {_ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"

# Conditions over the per-event state (`seq` below).
_NEW = "in_day"
_BECOMES = "in_day AND diag = '{d}' AND prev_diag IS DISTINCT FROM '{d}'"
_END = "at_end"
_CONFIRMED_NOW = "diag = 'confirmed' AND outcome IS NULL"
_SEVERE = "severity IN ('severe', 'critical')"
_IMP = "origin = 'imported'"
_LOC = "origin = 'local'"


def _becomes(diagnosis: str, extra: str = "") -> str:
    cond = _BECOMES.format(d=diagnosis)
    return f"{cond} AND {extra}" if extra else cond


def _outcome(outcome: str, diagnosis: str) -> str:
    return (
        f"{_NEW} AND event_outcome = '{outcome}' AND diag = '{diagnosis}' AND prev_outcome IS NULL"
    )


_FIGURES: dict[str, str] = {
    "new_confirmed": _becomes("confirmed"),
    "new_confirmed_imported": _becomes("confirmed", _IMP),
    "new_confirmed_local": _becomes("confirmed", _LOC),
    "new_converted": _becomes("confirmed", "prev_diag = 'asymptomatic'"),
    "new_deaths": _outcome("died", "confirmed"),
    "new_suspected": _becomes("suspected"),
    "new_suspected_imported": _becomes("suspected", _IMP),
    "new_suspected_local": _becomes("suspected", _LOC),
    "new_cured": _outcome("cured", "confirmed"),
    # severe_change: computed below from two states
    "imported_current_confirmed": f"{_END} AND {_CONFIRMED_NOW} AND {_IMP}",
    "imported_current_severe": f"{_END} AND {_CONFIRMED_NOW} AND {_IMP} AND {_SEVERE}",
    "imported_current_suspected": f"{_END} AND diag = 'suspected' AND outcome IS NULL AND {_IMP}",
    "imported_cumulative_confirmed": f"{_END} AND diag = 'confirmed' AND {_IMP}",
    "imported_cumulative_cured": f"{_END} AND diag = 'confirmed' AND outcome = 'cured' AND {_IMP}",
    "imported_cumulative_deaths": f"{_END} AND diag = 'confirmed' AND outcome = 'died' AND {_IMP}",
    "current_confirmed": f"{_END} AND {_CONFIRMED_NOW}",
    "current_severe": f"{_END} AND {_CONFIRMED_NOW} AND {_SEVERE}",
    "cumulative_cured": f"{_END} AND diag = 'confirmed' AND outcome = 'cured'",
    "cumulative_deaths": f"{_END} AND diag = 'confirmed' AND outcome = 'died'",
    "cumulative_confirmed": f"{_END} AND diag = 'confirmed'",
    "current_suspected": f"{_END} AND diag = 'suspected' AND outcome IS NULL",
    "asymptomatic_new": _becomes("asymptomatic"),
    "asymptomatic_new_imported": _becomes("asymptomatic", _IMP),
    "asymptomatic_released": _outcome("released", "asymptomatic"),
    "asymptomatic_under_observation": f"{_END} AND diag = 'asymptomatic' AND outcome IS NULL",
    "asymptomatic_under_observation_imported": (
        f"{_END} AND diag = 'asymptomatic' AND outcome IS NULL AND {_IMP}"
    ),
}
_SEVERE_CHANGE = (
    f"count(*) FILTER (WHERE {_END} AND {_CONFIRMED_NOW} AND {_SEVERE})"
    f" - count(*) FILTER (WHERE at_start AND {_CONFIRMED_NOW} AND {_SEVERE})"
)


def _select_list() -> str:
    parts = []
    for name in REGISTRY_FIGURES:
        if name == "severe_change":
            parts.append(f"{_SEVERE_CHANGE} AS severe_change")
        else:
            parts.append(f"count(*) FILTER (WHERE {_FIGURES[name]}) AS {name}")
    return ",\n       ".join(parts)


def county_figures_sql(scenario: Scenario) -> str:
    """The query behind `county_figures`, over the case events of `scenario` (binds its
    parameters, :day_start and :day_end)."""
    return f"""
WITH {episode_ctes(scenario, until="< :day_end")},
ev AS (
    SELECT person_id, seg, report_id, reported_at, substr(region_code, 1, 6) AS county,
           CASE WHEN event_type IN ('report', 'reclassify') THEN diagnosis END AS d,
           CASE WHEN event_type IN ('report', 'reclassify') THEN origin END AS o,
           severity AS s,
           CASE WHEN event_type = 'outcome' THEN outcome END AS x
    FROM seg
),
runs AS (
    SELECT ev.*,
           count(d) OVER ({_RUNNING}) AS dn,
           count(o) OVER ({_RUNNING}) AS orn,
           count(s) OVER ({_RUNNING}) AS sn,
           count(x) OVER ({_RUNNING}) AS xn
    FROM ev
),
state AS (
    SELECT person_id, seg, report_id, reported_at, county, x AS event_outcome,
           max(d) OVER (PARTITION BY {_CASE}, dn) AS diag,
           max(o) OVER (PARTITION BY {_CASE}, orn) AS origin,
           max(s) OVER (PARTITION BY {_CASE}, sn) AS severity,
           max(x) OVER (PARTITION BY {_CASE}, xn) AS outcome
    FROM runs
),
seq AS (
    SELECT state.*,
           lag(diag) OVER (PARTITION BY {_CASE} {_ORDER}) AS prev_diag,
           lag(outcome) OVER (PARTITION BY {_CASE} {_ORDER}) AS prev_outcome,
           reported_at >= :day_start AS in_day,
           row_number() OVER (PARTITION BY {_CASE} ORDER BY reported_at DESC, report_id DESC)
               = 1 AS at_end,
           reported_at < :day_start AND row_number() OVER (
               PARTITION BY {_CASE}, reported_at < :day_start
               ORDER BY reported_at DESC, report_id DESC) = 1 AS at_start
    FROM state
)
SELECT county AS region_code,
       {_select_list()}
FROM seq
GROUP BY county
ORDER BY county
"""


def county_figures(store: Store, day: date, *, scenario: str = LIVE) -> pl.DataFrame:
    """The registry's figures for `day`, one row per county (6-digit code of the events):
    `region_code` and the figures of REGISTRY_FIGURES (Int64), over the registry's events and
    those the engine derived in `scenario`."""
    case_scenario = scenario_of(store, scenario)
    start, end = day_bounds(day)
    schema: dict[str, pl.DataType] = {
        "region_code": pl.String(),
        **dict.fromkeys(REGISTRY_FIGURES, pl.Int64()),
    }
    params = {"day_start": start, "day_end": end, **case_scenario.params()}
    return read(store, county_figures_sql(case_scenario), params, schema)


def _with_contacts(
    counties: pl.DataFrame, store: Store, day: date, scenario: str
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """The registry's county figures with the close-contact figures beside them (0 for a
    county with cases but no contacts, and the other way round), when the engine has run."""
    if not engine_has_run(store, day, scenario=scenario):
        return counties, REGISTRY_FIGURES
    contacts = county_contact_figures(store, day, scenario=scenario)
    merged = counties.join(contacts, on="region_code", how="full", coalesce=True, nulls_equal=True)
    names = (*REGISTRY_FIGURES, *CONTACT_FIGURES)
    return merged.with_columns(pl.col(n).fill_null(0) for n in names), names


def _regions(counties: pl.DataFrame, names: tuple[str, ...] = REGISTRY_FIGURES) -> pl.DataFrame:
    """Sum counties into cities, provinces and the nation (31 provinces and the XPCC). A row
    with no region (a contact with no known residence) counts in the nation only."""
    figures = [pl.col(n).sum() for n in names]
    tagged = counties.with_columns(
        province_expr(pl.col("region_code")).alias("province"),
        city_expr(pl.col("region_code")).alias("city"),
    )
    provinces = (
        tagged.filter(pl.col("province").is_not_null())
        .group_by("province")
        .agg(figures)
        .rename({"province": "region_code"})
    )
    cities = (
        tagged.filter(pl.col("city") != pl.col("province"))
        .group_by("city")
        .agg(figures)
        .rename({"city": "region_code"})
    )
    nation = (
        tagged.filter(pl.col("province").is_null() | ~pl.col("province").is_in(HMT_CODES))
        .select(figures)
        .with_columns(pl.lit(NATION_CODE).alias("region_code"))
    )
    cols = ["region_code", *names]
    return pl.concat([nation.select(cols), provinces.select(cols), cities.select(cols)])


def bulletin_from_registry(
    store: Store, day: date, *, region: str | None = None, scenario: str = LIVE
) -> Bulletin:
    """The bulletin of `day` computed from the case registry, for the nation or, with `region`,
    for one province or city (a 6-digit code); the close-contact figures from the engine's
    facts of `scenario` (`fangkong.bulletin.contacts`)."""
    counties, names = _with_contacts(
        county_figures(store, day, scenario=scenario), store, day, scenario
    )
    frame = _regions(counties, names)
    scope = check_scope(region or NATION_CODE)
    if scope != NATION_CODE and scope not in frame.get_column("region_code").to_list():
        zero = {"region_code": [scope], **{n: [0] for n in names}}
        frame = pl.concat([frame, pl.DataFrame(zero, schema=frame.schema)])
    return bulletin_from_frame(day, frame, scope=scope, sources=("case registry",))
