"""The bulletin's close-contact figures, from the facts the daily engine stores: the contacts it
traced (`traced_contact`) and the quarantine orders it issued (`engine_order`). One query, set
based, the same on DuckDB and PostgreSQL. Every figure stands at 24:00 of the bulletin day D and
reads only runs of D or before (`run_day <= D`).

- **累计追踪到密切接触者** (`cumulative_contacts`): the distinct people traced as close contacts
  (`traced_contact.tier = 'close'`) or put under a close contact's quarantine (an order whose
  `population` is `close_contact`: this also covers close contacts whose 协查 request came
  from another region) on any run day up to D. A person traced twice counts once.
- **尚在医学观察的密切接触者** (`contacts_under_observation`): the people whose quarantine is open
  at 24:00 of D and is a close contact's. A person's quarantine is their latest schedule (the
  `quarantine` / `extend` orders of the latest run day that issued any, as
  `fangkong.engine.schedule` defines it) and it is a close contact's when its orders' population
  is `close_contact`; it is open until a `convert` ends it or every one of its phases
  has its `release` (matched by the phase's kind, `detail`).
- **当日解除医学观察的密切接触者** (`new_contacts_released`): the people whose close contact's
  quarantine the releases of run day D completed (every phase released, the last on D, and no
  conversion): released from medical observation on the day. A conversion to a case is not a
  release.

Each person counts in the region of their residence (`person.region_code`); a contact with no
person record or no region counts in the national figure only. The figures are None (not 0)
when the store holds no engine fact of D or before: the engine has not run, and nothing is
invented.

**Scenarios.** The engine's rows carry their scenario ('live' for operations, a name for a
what-if). Every read of `engine_order` and `traced_contact` here goes through the scenario's one
visibility predicate (`fangkong.engine.scenario.Scenario.visible`): a what-if sees live's rows
before its fork day and its own after. A close contact's quarantine is recognised by its typed
`population`, never by the wording of its rule.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from fangkong.engine.frames import read
from fangkong.engine.scenario import Scenario, scenario_of
from fangkong.model.glossary import ContactTier
from fangkong.policy.terms import Population
from fangkong.store.base import Store

__all__ = [
    "CONTACT_FIGURES",
    "LIVE",
    "county_contact_figures",
    "engine_has_run",
    "first_engine_day",
]

LIVE = "live"
CONTACT_FIGURES: tuple[str, ...] = (
    "cumulative_contacts",
    "new_contacts_released",
    "contacts_under_observation",
)

_CLOSE = Population.CLOSE_CONTACT.value


def _first_fact_sql(sc: Scenario) -> str:
    # least() ignores a null on DuckDB and PostgreSQL alike: a store with orders and no traced
    # contact (or the other way round) has a first day
    return f"""
SELECT least((SELECT min(run_day) FROM engine_order WHERE {sc.visible()}),
             (SELECT min(run_day) FROM traced_contact WHERE {sc.visible()})) AS first_day
"""


def _contacts_sql(sc: Scenario) -> str:
    return f"""
WITH sched AS (  -- every quarantine phase ordered up to the day
    SELECT person_id, run_day, detail, population
    FROM engine_order
    WHERE order_type IN ('quarantine', 'extend') AND person_id IS NOT NULL
          AND run_day <= :day AND {sc.visible()}
),
latest AS (  -- each person's latest schedule, if a close contact's
    SELECT person_id, max(run_day) AS latest
    FROM sched
    GROUP BY person_id
),
current AS (
    SELECT s.person_id, s.detail, l.latest
    FROM sched s JOIN latest l ON s.person_id = l.person_id AND s.run_day = l.latest
    WHERE s.person_id IN (
        SELECT s2.person_id FROM sched s2 JOIN latest l2
            ON s2.person_id = l2.person_id AND s2.run_day = l2.latest
        WHERE s2.population = '{_CLOSE}'
    )
),
ends AS (  -- releases and conversions since that schedule was issued
    SELECT o.person_id, o.order_type, o.detail, o.run_day
    FROM engine_order o JOIN latest l ON o.person_id = l.person_id AND o.run_day >= l.latest
    WHERE o.order_type IN ('release', 'convert') AND o.run_day <= :day AND {sc.visible("o")}
),
state AS (
    SELECT c.person_id,
           count(DISTINCT c.detail) AS phases,
           count(DISTINCT r.detail) AS released,
           max(r.run_day) AS last_release,
           max(CASE WHEN v.person_id IS NULL THEN 0 ELSE 1 END) AS converted
    FROM current c
    LEFT JOIN ends r
        ON r.person_id = c.person_id AND r.order_type = 'release' AND r.detail = c.detail
    LEFT JOIN (SELECT DISTINCT person_id FROM ends WHERE order_type = 'convert') v
        ON v.person_id = c.person_id
    GROUP BY c.person_id
),
found AS (  -- close contacts traced, or quarantined as such, up to the day
    SELECT contact_person_id AS person_id FROM traced_contact
    WHERE tier = '{ContactTier.CLOSE.value}' AND run_day <= :day AND {sc.visible()}
    UNION
    SELECT person_id FROM sched WHERE population = '{_CLOSE}'
),
people AS (
    SELECT f.person_id,
           1 AS traced,
           CASE WHEN s.converted = 0 AND s.released < s.phases THEN 1 ELSE 0 END AS observed,
           CASE WHEN s.converted = 0 AND s.released = s.phases AND s.last_release = :day
                THEN 1 ELSE 0 END AS released_today
    FROM found f LEFT JOIN state s ON s.person_id = f.person_id
)
SELECT substr(p.region_code, 1, 6) AS region_code,
       sum(x.traced) AS cumulative_contacts,
       sum(x.released_today) AS new_contacts_released,
       sum(x.observed) AS contacts_under_observation
FROM people x LEFT JOIN person p ON p.person_id = x.person_id
GROUP BY substr(p.region_code, 1, 6)
ORDER BY 1
"""


_SCHEMA: dict[str, pl.DataType] = {
    "region_code": pl.String(),
    **dict.fromkeys(CONTACT_FIGURES, pl.Int64()),
}


def _params(day: date, sc: Scenario) -> dict[str, Any]:
    return {"day": day, **sc.params()}


def first_engine_day(store: Store, *, scenario: str = LIVE) -> date | None:
    """The first run day of an engine fact (an order or a traced contact) in `scenario`, None
    when there is none (NotFoundError for a scenario the store does not hold). The figures of
    a day before it are None: the engine had not run."""
    sc = scenario_of(store, scenario)
    first = store.fetch(_first_fact_sql(sc), sc.params()).item(0, 0)
    return first if isinstance(first, date) else None


def engine_has_run(store: Store, day: date, *, scenario: str = LIVE) -> bool:
    """Whether the store holds any engine fact (an order or a traced contact) of `day` or
    before, in `scenario` (NotFoundError for a scenario the store does not hold)."""
    first = first_engine_day(store, scenario=scenario)
    return first is not None and first <= day


def county_contact_figures(store: Store, day: date, *, scenario: str = LIVE) -> pl.DataFrame:
    """The close-contact figures of `day` (see the module docstring) per county of residence:
    `region_code` (6 digits; null for people with no known residence) and CONTACT_FIGURES."""
    sc = scenario_of(store, scenario)
    return read(store, _contacts_sql(sc), _params(day, sc), _SCHEMA)
