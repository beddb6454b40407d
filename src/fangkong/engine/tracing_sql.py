"""The SQL of tracing (`fangkong.engine.tracing` documents the rules). Portable between DuckDB
and PostgreSQL; parameters are named `:name`.

The cases enter as three parallel arrays (`:case_ids`, `:starts`, `:ends`: one exposure window
per case person), unnested into the CTE `c`. Every route yields rows of
(case_person_id, contact_person_id, route, exposed_at, first_at): `route` is the route's rank
(1 strongest), `first_at` the start of the exposure (secondary contacts are counted from the
close contact's first exposure).
"""

from __future__ import annotations

from fangkong.model.glossary import ContactTier, ContactVia
from fangkong.store.person_view import current_person

__all__ = ["CASES_SQL", "ROUTE_PRECEDENCE", "ROUTE_RANK", "trace_sql"]


def _positive(alias: str = "") -> str:
    """A confirmed or asymptomatic report, or a reclassification to one."""
    a = f"{alias}." if alias else ""
    return (
        f"{a}event_type IN ('report', 'reclassify') "
        f"AND {a}diagnosis IN ('confirmed', 'asymptomatic')"
    )


# Cases newly positive in [:start, :end): the first positive event of the case falls there.
CASES_SQL = f"""
WITH positive AS (
  SELECT report_id, case_id, person_id, reported_at FROM case_report WHERE {_positive()}
),
today AS (
  SELECT DISTINCT case_id FROM positive WHERE reported_at >= :start AND reported_at < :end
),
ranked AS (
  SELECT p.case_id, p.person_id, p.reported_at,
         row_number() OVER (PARTITION BY p.case_id ORDER BY p.reported_at, p.report_id) AS k
  FROM positive p JOIN today t ON t.case_id = p.case_id
),
new_case AS (
  SELECT case_id, person_id, reported_at FROM ranked WHERE k = 1 AND reported_at >= :start
),
onset AS (
  SELECT r.case_id, r.onset_date,
         row_number() OVER (PARTITION BY r.case_id
                            ORDER BY r.reported_at DESC, r.report_id DESC) AS k
  FROM case_report r JOIN new_case n ON n.case_id = r.case_id
  WHERE r.onset_date IS NOT NULL AND r.reported_at < :end
),
sampled AS (
  SELECT n.case_id, max(s.sampled_at) AS sampled_at
  FROM new_case n JOIN sample s ON s.person_id = n.person_id AND s.sampled_at <= n.reported_at
  GROUP BY n.case_id
)
SELECT n.person_id AS case_person_id, n.case_id,
       coalesce(CAST(o.onset_date AS TIMESTAMPTZ), s.sampled_at, n.reported_at) AS anchor_at,
       n.reported_at AS isolated_at
FROM new_case n
LEFT JOIN onset o ON o.case_id = n.case_id AND o.k = 1
LEFT JOIN sampled s ON s.case_id = n.case_id
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

# Active cases by :now (a case that ended in cure or release may be a contact again).
_EXCLUDED = f"""
excluded AS (
  SELECT case_person_id AS person_id FROM c
  UNION
  SELECT r.person_id FROM case_report r
  WHERE {_positive("r")}
    AND r.reported_at <= :now
    AND NOT EXISTS (
      SELECT 1 FROM case_report o
      WHERE o.case_id = r.case_id AND o.event_type = 'outcome'
        AND o.outcome IN ('cured', 'released') AND o.reported_at <= :now
    )
)"""


def _home(name: str, people: str) -> str:
    """A CTE `name`: the household of each of `people` (a subquery of person ids) as it stands
    at :now (the latest moves in effect); its members are then `_housemates(name)`."""
    home = current_person(":now", person_ids=people)
    return f"""
{name} AS (
  SELECT person_id, household_id FROM {home} h
)"""


def _housemates(home: str) -> str:
    return current_person(":now", households=f"SELECT household_id FROM {home}")


_HOUSEHOLD = f"""{_home("case_home", "SELECT case_person_id FROM c")},
household AS (
  SELECT c.case_person_id, p2.person_id AS contact_person_id,
         {ROUTE_RANK[ContactVia.HOUSEHOLD]} AS route, c.we AS exposed_at, c.ws AS first_at
  FROM c
  JOIN case_home p1 ON p1.person_id = c.case_person_id
  JOIN {_housemates("case_home")} p2 ON p2.household_id = p1.household_id
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
    AND abs(t2.seat_row - t1.seat_row) <= :seat_rows
  UNION ALL
  SELECT c.case_person_id, a2.person_id AS contact_person_id,
         {ROUTE_RANK[ContactVia.CO_TRAVEL]} AS route,
         a1.arrived_at AS exposed_at, a1.arrived_at AS first_at
  FROM c
  JOIN arrival a1 ON a1.person_id = c.case_person_id
  JOIN arrival a2 ON a2.flight = a1.flight
    AND a2.arrived_at >= a1.arrived_at - INTERVAL '12 hours'
    AND a2.arrived_at <= a1.arrived_at + INTERVAL '12 hours'
  WHERE a1.arrived_at >= c.ws AND a1.arrived_at <= c.we
    AND abs(a2.seat_row - a1.seat_row) <= :seat_rows
)"""

# The cases' presence at venues (widened by the tolerance) that meets their window; then every
# check-in at those venues whose presence overlaps it inside the window.
_VENUE = f"""
case_visit AS (
  SELECT c.case_person_id, c.ws, c.we, k.venue_id,
         k.checkin_at - CAST(:tolerance AS INTERVAL) AS lo,
         coalesce(k.checkout_at, k.checkin_at) + CAST(:tolerance AS INTERVAL) AS hi
  FROM c JOIN checkin k ON k.person_id = c.case_person_id
  WHERE k.checkin_at - CAST(:tolerance AS INTERVAL) <= c.we
    AND coalesce(k.checkout_at, k.checkin_at) + CAST(:tolerance AS INTERVAL) >= c.ws
),
venue AS (
  SELECT v.case_person_id, k.person_id AS contact_person_id,
         {ROUTE_RANK[ContactVia.VENUE]} AS route,
         least(v.hi, coalesce(k.checkout_at, k.checkin_at), v.we) AS exposed_at,
         greatest(v.lo, k.checkin_at, v.ws) AS first_at
  FROM checkin k JOIN case_visit v ON k.venue_id = v.venue_id
  WHERE k.checkin_at <= :latest_end
    AND k.checkin_at <= least(v.hi, v.we)
    AND coalesce(k.checkout_at, k.checkin_at) >= greatest(v.lo, v.ws)
)"""


def _via(route: str) -> str:
    whens = " ".join(f"WHEN {rank} THEN '{via.value}'" for via, rank in ROUTE_RANK.items())
    return f"CASE {route} {whens} END"


def trace_sql(*, household: bool, secondary: bool, secondary_household: bool) -> str:
    """The tracing query for a policy's switches. Parameters: case_ids, starts, ends,
    latest_end, now, tolerance (an interval), seat_rows, close_settings, secondary_settings."""
    declared = _declared(
        "c", "case_person_id", "c.ws", "c.we", ":close_settings", ROUTE_RANK[ContactVia.DECLARED]
    )
    ctes = [_CASES, _EXCLUDED, f"\ndeclared AS ({declared}\n)", _CO_TRAVEL, _VENUE]
    routes = ["declared", "co_travel", "venue"]
    if household:
        ctes.append(_HOUSEHOLD)
        routes.insert(0, "household")
    union = "\n  UNION ALL ".join(
        f"SELECT case_person_id, contact_person_id, route, exposed_at, first_at FROM {r}"
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
)"""
    )
    select = (
        f"SELECT case_person_id, contact_person_id, '{ContactTier.CLOSE.value}' AS tier, "
        f"{_via('route')} AS via, exposed_at FROM close_contact"
    )
    if secondary:
        ctes.append(_secondary(secondary_household))
        select += (
            f"\nUNION ALL\nSELECT case_person_id, contact_person_id, "
            f"'{ContactTier.SECONDARY.value}' AS tier, {_via('route')} AS via, exposed_at "
            "FROM secondary_contact"
        )
    return "WITH" + ",".join(ctes) + "\n" + select


def _secondary(household: bool) -> str:
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
  JOIN {_housemates("close_home")} p2 ON p2.household_id = p1.household_id
  WHERE p2.person_id <> p1.person_id""",
        )
    union = "\n  UNION ALL\n  ".join(parts)
    home = f"{_home('close_home', 'SELECT close_id FROM cc')}," if household else ""
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
