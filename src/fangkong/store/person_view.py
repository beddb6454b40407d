"""The person as the engine sees them: the registration (`person`, `person_identity`) with the
latest correction in effect. This is the one definition: every query that reads a person's
residence (region, compound, building, household), sex, birth year or identity reads it through
`current_person` or `current_identity`, never the registration tables themselves.

A correction is an event (`person_correction` + `person_identity_correction`, `person_move`,
imported as `person_corrections` and `moves`), never an edit of the registration:

- **A move** states the whole new residence from its effective time: region, compound, building
  and household (a null compound, building or household means none). The latest move in effect
  replaces the registered residence.
- **An identity correction** states the fields it corrects (a null field is left as it was):
  the ID number (with its type, and the sex and birth year a resident ID number gives), the
  name, the phone. Each field is the value of the latest correction in effect that names it,
  so correcting the phone does not undo an earlier correction of the name.

"Latest" is by effective time, whatever the order of import (a correction effective earlier
that arrives after a later one does not override it); between two effective at the same
instant, the later import wins, then the greater id. "In effect" means effective at or before
`as_of`: a SQL expression, usually a query parameter (the end of the day the engine runs), so a
day run again later sees the residence it saw then.

Both are parenthesized subqueries, portable between DuckDB and PostgreSQL, to use as
`FROM {current_person(':as_of')} p`. People who never had a correction in effect come straight
from `person` (a branch of their own); corrections are few, and only their people take the
longer path. A lookup of some people or households passes them in (`person_ids`,
`households`), so that PostgreSQL still reads the registration through its indexes. A lookup by
person alone takes no branch: a correction never changes who a row is, so those people's
registrations are read once with their moves and corrections joined.
"""

from __future__ import annotations

__all__ = ["current_identity", "current_person", "residence_at", "residences_left"]

_MOVED = "SELECT person_id FROM person_move WHERE effective_at <= {as_of}"
_CORRECTED = "SELECT person_id FROM person_correction WHERE effective_at <= {as_of}"

# the order in which corrections in effect take precedence (first wins)
_LATEST = "effective_at DESC, batch_id DESC, {id} DESC"


def _latest_move(as_of: str) -> str:
    return f"""(
  SELECT person_id, region_code, compound_id, building_id, household_id FROM (
    SELECT person_id, region_code, compound_id, building_id, household_id,
           row_number() OVER (PARTITION BY person_id
                              ORDER BY {_LATEST.format(id="move_id")}) AS k
    FROM person_move WHERE effective_at <= {as_of}
  ) ranked WHERE k = 1
)"""


def _latest_fields(rows: str, fields: tuple[str, ...], as_of: str) -> str:
    """One row per person of the correction rows `rows` (columns person_id, effective_at,
    batch_id, correction_id and `fields`) in effect at `as_of`: each field the value of the
    latest correction that names it (null when none does)."""
    order = _LATEST.format(id="correction_id")
    picks = ",\n         ".join(
        f"first_value({f}) OVER (PARTITION BY person_id ORDER BY {f} IS NULL, {order}) AS {f}"
        for f in fields
    )
    return f"""(
  SELECT DISTINCT person_id,
         {picks}
  FROM {rows} r
  WHERE effective_at <= {as_of}
)"""


def _restricted(alias: str, person_ids: str | None, households: str | None) -> str:
    """` AND ...` conditions restricting rows of `alias` to the given person ids and
    households (each a subquery or list of values, for `IN (...)`)."""
    where = ""
    if person_ids is not None:
        where += f" AND {alias}.person_id IN ({person_ids})"
    if households is not None:
        where += f" AND {alias}.household_id IN ({households})"
    return where


def current_person(
    as_of: str = ":as_of", *, person_ids: str | None = None, households: str | None = None
) -> str:
    """The person table as it stands at `as_of` (a SQL expression): person_id, household_id,
    region_code, compound_id, building_id, sex, birth_year, id_type.

    `person_ids` and `households` (subqueries, e.g. `SELECT case_person_id FROM c`) restrict it
    to those people or the members of those households, inside each branch: PostgreSQL cannot
    carry a join condition into a union of joins, so a lookup written as a join on this view
    would read every person; restricted here, it reads the registration through its indexes."""
    corrected = _latest_fields("person_correction", ("id_type", "sex", "birth_year"), as_of)
    moved = _MOVED.format(as_of=as_of)
    changed = _CORRECTED.format(as_of=as_of)
    # A move replaces the residence as a whole: its region, compound, building and household.
    residence = ",\n           ".join(
        f"CASE WHEN m.person_id IS NULL THEN p.{c} ELSE m.{c} END AS {c}"
        for c in ("household_id", "region_code", "compound_id", "building_id")
    )
    fields = (
        "coalesce(c.sex, p.sex) AS sex, coalesce(c.birth_year, p.birth_year) AS birth_year,\n"
        "           coalesce(c.id_type, p.id_type) AS id_type"
    )
    if person_ids is not None and households is None:
        # a lookup by person: a move or a correction never changes who a row is, so one read
        # of those people's registrations, their moves and corrections joined (the two
        # branches below each read the registration: DuckDB probes all of it for each, about
        # 4 ms a read at 1,000,000 people)
        return f"""(
  SELECT p.person_id,
         {residence},
         {fields}
  FROM person p
  LEFT JOIN {_latest_move(as_of)} m ON m.person_id = p.person_id
  LEFT JOIN {corrected} c ON c.person_id = p.person_id
  WHERE p.person_id IN ({person_ids})
)"""
    return f"""(
  SELECT p.person_id, p.household_id, p.region_code, p.compound_id, p.building_id,
         p.sex, p.birth_year, p.id_type
  FROM person p
  WHERE p.person_id NOT IN ({moved} UNION ALL {changed}){_restricted("p", person_ids, households)}
  UNION ALL
  SELECT * FROM (
    SELECT p.person_id,
           {residence},
           {fields}
    FROM person p
    JOIN ({moved} UNION {changed}) x ON x.person_id = p.person_id
    LEFT JOIN {_latest_move(as_of)} m ON m.person_id = p.person_id
    LEFT JOIN {corrected} c ON c.person_id = p.person_id
  ) q
  WHERE TRUE{_restricted("q", person_ids, households)}
)"""


def residence_at(rows: str, at: str) -> str:
    """The residence of each row of `rows` (a table or CTE name with `person_id` and an instant
    column `at`) as it stood at that row's own instant: person_id, `at`, household_id,
    region_code, compound_id, building_id. The latest move in effect then (by the precedence of
    `current_person`), else the registration; a person not registered has nulls. Where a case
    lived when it was reported, say, not where they live now."""
    cols = ("household_id", "region_code", "compound_id", "building_id")
    picked = ",\n         ".join(
        f"CASE WHEN m.person_id IS NULL THEN p.{c} ELSE m.{c} END AS {c}" for c in cols
    )
    moved = ", ".join(f"mv.{c}" for c in cols)
    order = "mv.effective_at DESC, mv.batch_id DESC, mv.move_id DESC"  # as `_LATEST`
    return f"""(
  SELECT r.person_id, r.{at},
         {picked}
  FROM {rows} r
  LEFT JOIN person p ON p.person_id = r.person_id
  LEFT JOIN (
    SELECT r.person_id, r.{at}, {moved},
           row_number() OVER (PARTITION BY r.person_id, r.{at} ORDER BY {order}) AS k
    FROM {rows} r
    JOIN person_move mv ON mv.person_id = r.person_id AND mv.effective_at <= r.{at}
  ) m ON m.person_id = r.person_id AND m.{at} = r.{at} AND m.k = 1
)"""


def current_identity(as_of: str = ":as_of", *, person_ids: str | None = None) -> str:
    """The identity table as it stands at `as_of` (a SQL expression): person_id, id_number,
    name, phone; with `person_ids` (a subquery), of those people only. Personal data: never log
    or show what this returns."""
    rows = """(
    SELECT c.person_id, c.effective_at, c.batch_id, c.correction_id,
           i.id_number, i.name, i.phone
    FROM person_correction c
    JOIN person_identity_correction i ON i.correction_id = c.correction_id
  )"""
    corrected = _latest_fields(rows, ("id_number", "name", "phone"), as_of)
    return f"""(
  SELECT i.person_id, coalesce(c.id_number, i.id_number) AS id_number,
         coalesce(c.name, i.name) AS name, coalesce(c.phone, i.phone) AS phone
  FROM person_identity i
  LEFT JOIN {corrected} c ON c.person_id = i.person_id
  WHERE TRUE{_restricted("i", person_ids, None)}
)"""


def residences_left(since: str, until: str) -> str:
    """The moves effective in [`since`, `until`) (SQL expressions), each with the residence it
    left: the person's residence just before it, which is the latest earlier move (by the
    precedence of `current_person`) or, for a first move, the registration. Columns: person_id,
    move_id, effective_at, batch_id, region_code, compound_id, building_id (the new residence)
    and left_region_code, left_compound_id, left_building_id."""
    residence = ("region_code", "compound_id", "building_id")
    previous = ",\n         ".join(
        f"CASE WHEN m.prev_move IS NULL THEN p.{c} ELSE m.prev_{c} END AS left_{c}"
        for c in residence
    )
    lags = ", ".join(f"lag({c}) OVER w AS prev_{c}" for c in residence)
    return f"""(
  SELECT m.person_id, m.move_id, m.effective_at, m.batch_id, m.region_code, m.compound_id,
         m.building_id,
         {previous}
  FROM (
    SELECT person_id, move_id, effective_at, batch_id, region_code, compound_id, building_id,
           lag(move_id) OVER w AS prev_move, {lags}
    FROM person_move
    WHERE person_id IN (
      SELECT person_id FROM person_move WHERE effective_at >= {since} AND effective_at < {until})
    WINDOW w AS (PARTITION BY person_id ORDER BY effective_at, batch_id, move_id)
  ) m
  JOIN person p ON p.person_id = m.person_id
  WHERE m.effective_at >= {since} AND m.effective_at < {until}
)"""
