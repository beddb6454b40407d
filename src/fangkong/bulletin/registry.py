"""The daily bulletin computed from the case registry: one set-based query, unchanged on DuckDB
and PostgreSQL, gives each case event with the state of its case after it; the days' figures
are counted from those rows (Polars), so the bulletins of any number of days come from one read
of the events (a replay of 761 days costs about one day's query, not 761).

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
  The figures are counted by county; provinces, cities and the nation are sums of counties.

Close contacts (traced, under observation, released) are not in the case registry: they come
from the engine's stored facts (`fangkong.bulletin.contacts`), counted where the contacts live,
and are None while the engine has not run.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import polars as pl

from fangkong.bulletin.bulletin import FIELD_NAMES, Bulletin, bulletin_from_frame
from fangkong.bulletin.contacts import (
    CONTACT_FIGURES,
    LIVE,
    county_contact_figures,
    first_engine_day,
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
from fangkong.engine.orders import TIME
from fangkong.engine.scenario import Scenario, scenario_of
from fangkong.store.base import Store

__all__ = [
    "REGISTRY_FIGURES",
    "bulletin_from_registry",
    "bulletins_from_registry",
    "case_events_sql",
    "county_figures",
    "county_figures_by_day",
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

# Conditions over the state of a case after each of its events (`seq` below). A day's "new"
# figures count the events of that day meeting a transition; its "current" and "cumulative"
# figures count the cases whose last event by the end of the day meets a state.
_CONFIRMED_NOW = "diag = 'confirmed' AND outcome IS NULL"
_SEVERE = "severity IN ('severe', 'critical')"
_IMP = "origin = 'imported'"
_LOC = "origin = 'local'"


def _becomes(diagnosis: str, extra: str = "") -> str:
    cond = f"diag = '{diagnosis}' AND prev_diag IS DISTINCT FROM '{diagnosis}'"
    return f"{cond} AND {extra}" if extra else cond


def _outcome(outcome: str, diagnosis: str) -> str:
    return f"event_outcome = '{outcome}' AND diag = '{diagnosis}' AND prev_outcome IS NULL"


_TRANSITIONS: dict[str, str] = {
    "new_confirmed": _becomes("confirmed"),
    "new_confirmed_imported": _becomes("confirmed", _IMP),
    "new_confirmed_local": _becomes("confirmed", _LOC),
    "new_converted": _becomes("confirmed", "prev_diag = 'asymptomatic'"),
    "new_deaths": _outcome("died", "confirmed"),
    "new_suspected": _becomes("suspected"),
    "new_suspected_imported": _becomes("suspected", _IMP),
    "new_suspected_local": _becomes("suspected", _LOC),
    "new_cured": _outcome("cured", "confirmed"),
    "asymptomatic_new": _becomes("asymptomatic"),
    "asymptomatic_new_imported": _becomes("asymptomatic", _IMP),
    "asymptomatic_released": _outcome("released", "asymptomatic"),
}
_STATES: dict[str, str] = {
    "imported_current_confirmed": f"{_CONFIRMED_NOW} AND {_IMP}",
    "imported_current_severe": f"{_CONFIRMED_NOW} AND {_IMP} AND {_SEVERE}",
    "imported_current_suspected": f"diag = 'suspected' AND outcome IS NULL AND {_IMP}",
    "imported_cumulative_confirmed": f"diag = 'confirmed' AND {_IMP}",
    "imported_cumulative_cured": f"diag = 'confirmed' AND outcome = 'cured' AND {_IMP}",
    "imported_cumulative_deaths": f"diag = 'confirmed' AND outcome = 'died' AND {_IMP}",
    "current_confirmed": _CONFIRMED_NOW,
    "current_severe": f"{_CONFIRMED_NOW} AND {_SEVERE}",
    "cumulative_cured": "diag = 'confirmed' AND outcome = 'cured'",
    "cumulative_deaths": "diag = 'confirmed' AND outcome = 'died'",
    "cumulative_confirmed": "diag = 'confirmed'",
    "current_suspected": "diag = 'suspected' AND outcome IS NULL",
    "asymptomatic_under_observation": "diag = 'asymptomatic' AND outcome IS NULL",
    "asymptomatic_under_observation_imported": (
        f"diag = 'asymptomatic' AND outcome IS NULL AND {_IMP}"
    ),
}
# the one figure from two states: current severe at the end of the day less at its start
_SEVERE_CHANGE, _SEVERE_STATE = "severe_change", "current_severe"
assert set(REGISTRY_FIGURES) == {*_TRANSITIONS, *_STATES, _SEVERE_CHANGE}


def _flags() -> str:
    conditions = {**_TRANSITIONS, **_STATES}
    return ",\n       ".join(
        f"CASE WHEN {conditions[n]} THEN 1 ELSE 0 END AS {n}" for n in conditions
    )


def case_events_sql(scenario: Scenario) -> str:
    """The query behind the figures: every case event before :until (the registry's and those
    the engine derived in `scenario`, whose parameters it binds), with its county ('' for an
    event with no region: Polars joins no null key), its time
    (`reported_at`), the time of its case's next event (`next_at`, null for the last one) and,
    for each figure but severe_change, 1 if the event (a transition) or the case's state after
    it (a state) counts in that figure, else 0."""
    return f"""
WITH {episode_ctes(scenario, until="< :until")},
ev AS (
    SELECT person_id, seg, report_id, reported_at,
           coalesce(substr(region_code, 1, 6), '') AS county,
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
           lead(reported_at) OVER (PARTITION BY {_CASE} {_ORDER}) AS next_at
    FROM state
)
SELECT county, reported_at, next_at,
       {_flags()}
FROM seq
"""


_EVENT_SCHEMA: dict[str, pl.DataType] = {
    "county": pl.String(),
    "reported_at": TIME,
    "next_at": TIME,
    **dict.fromkeys((*_TRANSITIONS, *_STATES), pl.Int32()),
}
_COUNTY_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "region_code": pl.String(),
    **dict.fromkeys(REGISTRY_FIGURES, pl.Int64()),
}


def _state_changes(events: pl.DataFrame) -> pl.DataFrame:
    """The state figures of each county as running sums, one row per county and day on which
    they change: a case counts from its event's day to the day before its next event's."""
    states = list(_STATES)
    return (
        pl.concat(
            [
                events.select("county", pl.col("day").alias("date"), *states),
                events.filter(pl.col("next_day").is_not_null()).select(
                    "county", pl.col("next_day").alias("date"), *(-pl.col(n) for n in states)
                ),
            ]
        )
        .group_by("county", "date")
        .agg(pl.col(n).sum() for n in states)
        .sort("county", "date")
        .with_columns(pl.col(n).cum_sum().over("county") for n in states)
    )


def _states_on(changes: pl.DataFrame, days: pl.DataFrame) -> pl.DataFrame:
    """The state figures of each county at the end of each of `days` (`date`), from
    `_state_changes`. A county with no event by a day has no row for it."""
    grid = days.join(changes.select("county").unique(), how="cross").sort("county", "date")
    # sorted above by county, then date: Polars cannot check that order within the groups
    return grid.join_asof(
        changes, on="date", by="county", strategy="backward", check_sortedness=False
    ).filter(pl.col(next(iter(_STATES))).is_not_null())


def county_figures_by_day(
    store: Store, days: Iterable[date], *, scenario: str = LIVE
) -> pl.DataFrame:
    """The registry's figures for each of `days`, one row per day and county (6-digit code of
    the events) with an event by the end of that day: `date`, `region_code` and the figures of
    REGISTRY_FIGURES (Int64), over the registry's events and those the engine derived in
    `scenario`. One query reads the events up to the last day; the days are counted from them
    (a day is [D 00:00, D+1 00:00) Asia/Shanghai)."""
    wanted = sorted(set(days))
    if not wanted:
        return pl.DataFrame(schema=_COUNTY_SCHEMA)
    case_scenario = scenario_of(store, scenario)
    params = {"until": day_bounds(wanted[-1])[1], **case_scenario.params()}
    events = read(store, case_events_sql(case_scenario), params, _EVENT_SCHEMA).with_columns(
        pl.col("reported_at").dt.date().alias("day"), pl.col("next_at").dt.date().alias("next_day")
    )
    asked = pl.DataFrame({"date": wanted}, schema={"date": pl.Date()})
    changes = _state_changes(events)
    end = _states_on(changes, asked)
    start = _states_on(changes, asked.select(pl.col("date").dt.offset_by("-1d")))
    new = (
        events.filter(pl.col("day").is_in(asked.get_column("date").implode()))
        .group_by("county", pl.col("day").alias("date"))
        .agg(pl.col(n).sum() for n in _TRANSITIONS)
    )
    return (
        end.join(new, on=["county", "date"], how="left")
        .join(
            start.select(
                "county",
                pl.col("date").dt.offset_by("1d"),
                pl.col(_SEVERE_STATE).alias("_severe_before"),
            ),
            on=["county", "date"],
            how="left",
        )
        .with_columns(
            (pl.col(_SEVERE_STATE) - pl.col("_severe_before").fill_null(0)).alias(_SEVERE_CHANGE),
            pl.col(*_TRANSITIONS).fill_null(0),
        )
        .with_columns(pl.when(pl.col("county") != "").then(pl.col("county")).alias("county"))
        .rename({"county": "region_code"})
        .select(pl.col(n).cast(t) for n, t in _COUNTY_SCHEMA.items())
        .sort("date", "region_code")
    )


def county_figures(store: Store, day: date, *, scenario: str = LIVE) -> pl.DataFrame:
    """The registry's figures for `day`, one row per county (6-digit code of the events):
    `region_code` and the figures of REGISTRY_FIGURES (Int64), over the registry's events and
    those the engine derived in `scenario` (`county_figures_by_day` of that one day)."""
    return county_figures_by_day(store, [day], scenario=scenario).drop("date")


def _with_contacts(
    counties: pl.DataFrame, store: Store, day: date, scenario: str, engine_from: date | None
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """The registry's county figures with the close-contact figures beside them (0 for a
    county with cases but no contacts, and the other way round), when the engine has run by
    `day` (its first fact on `engine_from`: `first_engine_day`)."""
    if engine_from is None or engine_from > day:
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
    return bulletins_from_registry(store, [day], region=region, scenario=scenario)[0]


def bulletins_from_registry(
    store: Store, days: Iterable[date], *, region: str | None = None, scenario: str = LIVE
) -> list[Bulletin]:
    """The bulletins of `days` (in the order given), as `bulletin_from_registry` gives each, the
    registry read once for all of them (`county_figures_by_day`)."""
    asked = list(days)
    scope = check_scope(region or NATION_CODE)
    by_day = county_figures_by_day(store, asked, scenario=scenario).partition_by(
        "date", as_dict=True, include_key=False
    )
    empty = pl.DataFrame(schema={n: t for n, t in _COUNTY_SCHEMA.items() if n != "date"})
    # asked once, not per day: a replay of a registry the engine never ran on (the Hong Kong
    # line list's 761 days) reads no contact figure at all
    engine_from = first_engine_day(store, scenario=scenario)
    bulletins = []
    for day in asked:  # a frame of a few counties per day: the regions' sums and the contacts
        counties, names = _with_contacts(
            by_day.get((day,), empty), store, day, scenario, engine_from
        )
        frame = _regions(counties, names)
        if scope != NATION_CODE and scope not in frame.get_column("region_code").to_list():
            zero = {"region_code": [scope], **{n: [0] for n in names}}
            frame = pl.concat([frame, pl.DataFrame(zero, schema=frame.schema)])
        bulletins.append(bulletin_from_frame(day, frame, scope=scope, sources=("case registry",)))
    return bulletins
