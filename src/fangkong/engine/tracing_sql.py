"""The SQL of tracing (`fangkong.engine.tracing` documents the rules). Portable between DuckDB
and PostgreSQL; parameters are named `:name`.

The cases enter as three parallel arrays (`:case_ids`, `:starts`, `:ends`: one exposure window
per case person), unnested into the CTE `c`. Every route yields rows of
(case_person_id, contact_person_id, route, exposed_at, first_at): `route` is the route's rank
(1 strongest), `first_at` the start of the exposure (secondary contacts are counted from the
close contact's first exposure).
"""

from __future__ import annotations

from datetime import date

from fangkong.engine.episode import active_at, episode_ctes
from fangkong.engine.scenario import Scenario
from fangkong.model.glossary import ContactTier, ContactVia
from fangkong.store.person_view import current_person

__all__ = ["ROUTE_PRECEDENCE", "ROUTE_RANK", "active_case_sql", "cases_sql", "trace_sql"]


def cases_sql(scenario: Scenario, kept: date | None = None) -> str:
    """The case episodes to trace on a day, with their exposure windows' anchors: those opened
    on the day (:start to :until), and those opened before it that are new to this run (their
    opening event came in a batch after :w_prev, or was derived by this run, :day, or is dated
    after the previous run's day, :fresh_since). A withdrawn
    episode (reclassified `excluded` by the day's end) is not traced. The anchor is the onset
    date (00:00), else the episode's first positive sample (taken after the person's previous
    episode closed, at most :lookback before the report), else the report. `kept`: see
    `episode_ctes`."""
    return f"""
WITH {episode_ctes(scenario, kept=kept)},
new_case AS (
  SELECT person_id, episode_no, case_id, opened_at, onset_date, prev_closed_at
  FROM episode
  WHERE (ended_by IS NULL OR ended_by <> 'excluded')
    AND ((opened_at >= :start AND opened_at < :until)
         OR (opened_at < :start AND ((opened_batch > :w_prev AND opened_batch <= :w_cur)
                                     OR opened_run_day = :day OR opened_at >= :fresh_since)))
),
first_positive AS (
  SELECT n.person_id, n.episode_no, min(s.sampled_at) AS sampled_at
  FROM new_case n
  JOIN sample s ON s.person_id = n.person_id AND s.sampled_at <= n.opened_at
   AND s.sampled_at >= n.opened_at - :lookback
   AND (n.prev_closed_at IS NULL OR s.sampled_at > n.prev_closed_at)
  WHERE EXISTS (
    SELECT 1 FROM tube_result r
    WHERE r.tube_id = s.tube_id AND r."result" = 'positive' AND r.reported_at <= n.opened_at
  )
  GROUP BY n.person_id, n.episode_no
)
SELECT n.person_id AS case_person_id, n.case_id,
       coalesce(CAST(n.onset_date AS TIMESTAMPTZ), f.sampled_at, n.opened_at) AS anchor_at,
       n.opened_at AS isolated_at
FROM new_case n
LEFT JOIN first_positive f ON f.person_id = n.person_id AND f.episode_no = n.episode_no
"""


# Strongest first: the route a contact found by several routes is recorded under.
ROUTE_PRECEDENCE: tuple[ContactVia, ...] = (
    ContactVia.HOUSEHOLD,
    ContactVia.DECLARED,
    ContactVia.CO_TRAVEL,
    ContactVia.VENUE,
)
ROUTE_RANK: dict[ContactVia, int] = {via: k + 1 for k, via in enumerate(ROUTE_PRECEDENCE)}

_CASES = """
c AS (
  SELECT unnest(CAST(:case_ids AS BIGINT[])) AS case_person_id,
         unnest(CAST(:starts AS TIMESTAMPTZ[])) AS ws,
         unnest(CAST(:ends AS TIMESTAMPTZ[])) AS we
)"""


def _active_case(scenario: Scenario, kept: date | None) -> str:
    """The CTEs ending with `active_case`: the people with a case episode active at :now."""
    return f"""
{episode_ctes(scenario, until="<= CAST(:now AS TIMESTAMPTZ)", kept=kept)},
active_case AS (
  SELECT e.person_id FROM episode e WHERE {active_at("e", "CAST(:now AS TIMESTAMPTZ)")}
)"""


def active_case_sql(scenario: Scenario) -> str:
    """The people with a case episode of `scenario` active at :now, from a store: the
    `active_case` relation of `fangkong.engine.tracing.TraceFacts` (binds :now and the
    scenario's parameters)."""
    return f"WITH {_active_case(scenario, None)}\nSELECT person_id FROM active_case"


def _excluded(scenario: Scenario | None, kept: date | None) -> str:
    """The people who cannot be contacts: the cases traced, and everyone with an episode active
    at :now (a person whose episode closed may be a contact again; a withdrawn one never was a
    case). On the store (`scenario` given), `active_case` is read from the episodes; over
    frames (None), it is the caller's relation."""
    active = "" if scenario is None else f"{_active_case(scenario, kept)},"
    return f"""{active}
excluded AS (
  SELECT case_person_id AS person_id FROM c
  UNION
  SELECT person_id FROM active_case
)"""


def _home(name: str, people: str, frames: bool) -> str:
    """A CTE `name`: the household of each of `people` (a subquery of person ids) as it stands
    at :now (on the store, the latest moves in effect; over frames, the caller's `home`); its
    members are then `_housemates(name, frames)`."""
    home = "home" if frames else current_person(":now", person_ids=people)
    only = f" WHERE h.person_id IN ({people})" if frames else ""
    return f"""
{name} AS (
  SELECT person_id, household_id FROM {home} h{only}
)"""


def _housemates(home: str, frames: bool) -> str:
    households = f"SELECT household_id FROM {home}"
    if frames:
        return f"(SELECT person_id, household_id FROM home WHERE household_id IN ({households}))"
    return current_person(":now", households=households)


def _household(frames: bool) -> str:
    return f"""{_home("case_home", "SELECT case_person_id FROM c", frames)},
household AS (
  SELECT c.case_person_id, p2.person_id AS contact_person_id,
         {ROUTE_RANK[ContactVia.HOUSEHOLD]} AS route, c.we AS exposed_at, c.ws AS first_at
  FROM c
  JOIN case_home p1 ON p1.person_id = c.case_person_id
  JOIN {_housemates("case_home", frames)} p2 ON p2.household_id = p1.household_id
  WHERE p2.person_id <> p1.person_id
)"""


def _declared(source: str, key: str, start: str, end: str, settings: str, rank: int) -> str:
    """Declared contacts of `source`.`key` (named on either side of the row: a contact is
    mutual) whose contact period meets [start, end]."""
    parts = []
    for this, other in (("person_id", "contact_person_id"), ("contact_person_id", "person_id")):
        parts.append(
            f"""
  SELECT {source}.{key} AS case_person_id, d.{other} AS contact_person_id, {rank} AS route,
         least(d.last_contact_at, {end}) AS exposed_at,
         greatest(coalesce(d.first_contact_at, d.last_contact_at), {start}) AS first_at
  FROM {source} JOIN declared_contact d ON d.{this} = {source}.{key}
  WHERE d.setting = ANY({settings}) AND d.last_contact_at >= {start}
    AND coalesce(d.first_contact_at, d.last_contact_at) <= {end}"""
        )
    return "\n  UNION ALL".join(parts)


_CO_TRAVEL = f"""
co_travel AS (
  SELECT c.case_person_id, t2.person_id AS contact_person_id,
         {ROUTE_RANK[ContactVia.CO_TRAVEL]} AS route,
         t1.departed_at AS exposed_at, t1.departed_at AS first_at
  FROM c
  JOIN trip t1 ON t1.person_id = c.case_person_id
  JOIN trip t2 ON t2.service = t1.service AND t2.service_date = t1.service_date
  WHERE t1.departed_at >= c.ws AND t1.departed_at <= c.we
    AND ((t1.carriage IS NOT NULL AND t2.carriage = t1.carriage)
         OR (t1.carriage IS NULL AND abs(t2.seat_row - t1.seat_row) <= :seat_rows))
  UNION ALL
  SELECT c.case_person_id, a2.person_id AS contact_person_id,
         {ROUTE_RANK[ContactVia.CO_TRAVEL]} AS route,
         a1.arrived_at AS exposed_at, a1.arrived_at AS first_at
  FROM c
  JOIN arrival a1 ON a1.person_id = c.case_person_id
  JOIN arrival a2 ON a2.flight = a1.flight
    AND a2.arrived_at >= a1.arrived_at - CAST(:same_flight AS INTERVAL)
    AND a2.arrived_at <= a1.arrived_at + CAST(:same_flight AS INTERVAL)
  WHERE a1.arrived_at >= c.ws AND a1.arrived_at <= c.we
    AND abs(a2.seat_row - a1.seat_row) <= :seat_rows
)"""

# The cases' presence at venues (widened by the tolerance) that meets their window; then every
# check-in at those venues whose presence overlaps it inside the window. `is_close`: the venue's
# category is one where the policy makes co-presence a close contact (else a risk person).
# Both reads of `checkin` also carry bounds that the windows imply, as constants (:earliest, the
# earliest window's start less the tolerance; :latest_end): the table is appended in time order,
# so DuckDB skips the row groups outside them by their min/max instead of joining every check-in
# ever stored (the read then follows the window, not the length of history).
# The tolerance widens the cases' windows, not the check-ins: the same comparison, but DuckDB
# computes an expression of a joined column for every row the scan passes, and arithmetic on a
# TIMESTAMPTZ goes through the session's time zone (about 20 ns a row: 70 ms for 3.3 million
# check-ins, against a few rows of cases).
_IN_WINDOWS = """(k.checkout_at >= :earliest
    OR (k.checkout_at IS NULL AND k.checkin_at >= :earliest))"""
_VENUE = f"""
case_visit AS (
  SELECT c.case_person_id, c.ws, c.we, k.venue_id,
         k.checkin_at - CAST(:tolerance AS INTERVAL) AS lo,
         coalesce(k.checkout_at, k.checkin_at) + CAST(:tolerance AS INTERVAL) AS hi,
         coalesce(vn.category = ANY(:venue_close), false) AS is_close
  FROM c JOIN checkin k ON k.person_id = c.case_person_id
  LEFT JOIN venue vn ON vn.venue_id = k.venue_id
  WHERE k.checkin_at <= c.we + CAST(:tolerance AS INTERVAL)
    AND coalesce(k.checkout_at, k.checkin_at) >= c.ws - CAST(:tolerance AS INTERVAL)
    AND k.checkin_at <= CAST(:latest_end AS TIMESTAMPTZ) + CAST(:tolerance AS INTERVAL)
    AND {_IN_WINDOWS}
),
venue AS MATERIALIZED (
  SELECT v.case_person_id, k.person_id AS contact_person_id,
         {ROUTE_RANK[ContactVia.VENUE]} AS route,
         least(v.hi, coalesce(k.checkout_at, k.checkin_at), v.we) AS exposed_at,
         greatest(v.lo, k.checkin_at, v.ws) AS first_at, v.is_close
  FROM checkin k JOIN case_visit v ON k.venue_id = v.venue_id
  WHERE k.checkin_at <= :latest_end AND {_IN_WINDOWS}
    AND k.checkin_at <= least(v.hi, v.we)
    AND coalesce(k.checkout_at, k.checkin_at) >= greatest(v.lo, v.ws)
)"""


def _via(route: str) -> str:
    whens = " ".join(f"WHEN {rank} THEN '{via.value}'" for via, rank in ROUTE_RANK.items())
    return f"CASE {route} {whens} END"


def trace_sql(
    scenario: Scenario | None,
    *,
    household: bool,
    secondary: bool,
    secondary_household: bool,
    kept: date | None = None,
) -> str:
    """The tracing query for a policy's switches. Parameters: case_ids, starts, ends,
    latest_end, earliest (the earliest start less the tolerance), now, tolerance and
    same_flight (intervals), seat_rows, close_settings, secondary_settings, venue_close (venue
    categories whose co-presence is a close contact), and the scenario's.

    It reads the relations `checkin`, `venue`, `trip`, `arrival` and `declared_contact`. With
    a `scenario`, on the store: those are its tables, the households are the people's as they
    stand at :now (`current_person`) and the active cases are read from the episodes of the
    scenario (`kept`: see `episode_ctes`). With None, over frames a caller registered
    (`fangkong.engine.tracing.TraceFacts`): `home` (person_id, household_id at :now) and
    `active_case` (person_id: a case episode active at :now) are relations too."""
    frames = scenario is None
    declared = _declared(
        "c", "case_person_id", "c.ws", "c.we", ":close_settings", ROUTE_RANK[ContactVia.DECLARED]
    )
    ctes = [_CASES, _excluded(scenario, kept), f"\ndeclared AS ({declared}\n)", _CO_TRAVEL, _VENUE]
    routes = ["declared", "co_travel", "venue"]
    if household:
        ctes.append(_household(frames))
        routes.insert(0, "household")
    union = "\n  UNION ALL ".join(
        f"SELECT case_person_id, contact_person_id, route, exposed_at, first_at FROM {r}"
        + (" WHERE is_close" if r == "venue" else "")
        for r in routes
    )
    ctes.append(
        f"""
close_all AS (
  {union}
),
close_contact AS (
  SELECT a.case_person_id, a.contact_person_id, min(a.route) AS route,
         max(a.exposed_at) AS exposed_at, min(a.first_at) AS first_at
  FROM close_all a
  WHERE NOT EXISTS (SELECT 1 FROM excluded x WHERE x.person_id = a.contact_person_id)
  GROUP BY a.case_person_id, a.contact_person_id
),
risk_contact AS (
  SELECT v.case_person_id, v.contact_person_id, max(v.exposed_at) AS exposed_at
  FROM venue v
  WHERE NOT v.is_close
    AND NOT EXISTS (SELECT 1 FROM excluded x WHERE x.person_id = v.contact_person_id)
    AND NOT EXISTS (
      SELECT 1 FROM close_contact k WHERE k.contact_person_id = v.contact_person_id)
  GROUP BY v.case_person_id, v.contact_person_id
)"""
    )
    select = (
        f"SELECT case_person_id, contact_person_id, '{ContactTier.CLOSE.value}' AS tier, "
        f"{_via('route')} AS via, exposed_at FROM close_contact"
        f"\nUNION ALL\nSELECT case_person_id, contact_person_id, "
        f"'{ContactTier.RISK_PERSON.value}' AS tier, '{ContactVia.VENUE.value}' AS via, "
        "exposed_at FROM risk_contact"
    )
    if secondary:
        ctes.append(_secondary(secondary_household, frames))
        select += (
            f"\nUNION ALL\nSELECT case_person_id, contact_person_id, "
            f"'{ContactTier.SECONDARY.value}' AS tier, {_via('route')} AS via, exposed_at "
            "FROM secondary_contact"
        )
    return "WITH" + ",".join(ctes) + "\n" + select


def _secondary(household: bool, frames: bool) -> str:
    """Secondary contacts: of each close contact, from their first exposure until :now."""
    declared = _declared(
        "cc",
        "close_id",
        "cc.first_at",
        "CAST(:now AS TIMESTAMPTZ)",
        ":secondary_settings",
        ROUTE_RANK[ContactVia.DECLARED],
    )
    parts = [f"SELECT case_person_id, contact_person_id, route, exposed_at FROM ({declared}\n  ) d"]
    if household:
        parts.insert(
            0,
            f"""SELECT cc.close_id AS case_person_id, p2.person_id AS contact_person_id,
         {ROUTE_RANK[ContactVia.HOUSEHOLD]} AS route, CAST(:now AS TIMESTAMPTZ) AS exposed_at
  FROM cc
  JOIN close_home p1 ON p1.person_id = cc.close_id
  JOIN {_housemates("close_home", frames)} p2 ON p2.household_id = p1.household_id
  WHERE p2.person_id <> p1.person_id""",
        )
    union = "\n  UNION ALL\n  ".join(parts)
    home = f"{_home('close_home', 'SELECT close_id FROM cc', frames)}," if household else ""
    return f"""
cc AS (
  SELECT contact_person_id AS close_id, min(first_at) AS first_at
  FROM close_contact GROUP BY contact_person_id
),{home}
secondary_all AS (
  {union}
),
secondary_contact AS (
  SELECT s.case_person_id, s.contact_person_id, min(s.route) AS route,
         max(s.exposed_at) AS exposed_at
  FROM secondary_all s
  WHERE NOT EXISTS (SELECT 1 FROM excluded x WHERE x.person_id = s.contact_person_id)
    AND NOT EXISTS (SELECT 1 FROM cc WHERE cc.close_id = s.contact_person_id)
  GROUP BY s.case_person_id, s.contact_person_id
)"""
