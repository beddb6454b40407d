"""Each person's latest negative test, kept by the runs: the state carried between days that
the health codes read (issue 6), instead of deriving it again from every test ever stored.

The rule is `testing.latest_negative`'s (one SQL, `testing_sql.latest_negative_sql`): per
person, the latest sampling and the latest report of a tube whose latest report is negative, as
of an instant. The run of day D keeps it in `engine_negative`, as of the end of D:

- **Tests new to the run** (a tube with a report or a sample of the run's watermarks,
  `fangkong.engine.scenario`: imported since the previous run, or dated after its day): the
  rule over those tubes only gives each of their people a row (`whole` false). A test only
  adds to a person's latest negative, so their latest is the latest of these rows and the
  earlier ones.
- **A result corrected away**: a tube new to the run with a report that is not negative, and
  a negative one known before (it may have counted). Its people get a row of the rule over all
  their tests (`whole` true), which replaces their earlier rows.
- **Everyone's whole**, when the run has nothing to start from: the scenario's first run, or
  a run after one whose kept state no longer holds (a rerun of an earlier day changed what it
  started from, `state.forget_later`, or the store was migrated from before this table): a
  whole row for each person with a negative, and an empty one for each person with earlier
  rows and none now.

A person's latest negative as of day D (`kept_negatives`) is the latest sampling and the
latest report of their rows of the runs up to D the scenario sees, from their latest whole row
on. A run of a day replaces its own rows, like its orders; a what-if sees live's rows before its
fork day, like every derived row. Tests check the kept state against the rule over every test
after days of late results, corrections, reruns and a what-if.

The rows are not compacted: a person's earlier rows are what an earlier day reads (a colour as
of that day), and a run that starts from the kept state reads none of them, so the table's
size costs it nothing; dropping the rows its own make superseded would cost a scan of
the table each run (7 ms at 120 days of a city of a million, to drop about 3,600 of 261,000).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl

from fangkong.engine.frames import among_ids, day_bounds, ids_of, named, read
from fangkong.engine.orders import TIME
from fangkong.engine.scenario import Scenario, Watermarks
from fangkong.engine.testing_sql import latest_negative_sql
from fangkong.store.base import Store

__all__ = ["NEGATIVE_SCHEMA", "keep_negatives", "kept_negatives"]

NEGATIVE_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "sampled_at": TIME,
    "reported_at": TIME,
}

# an event new to the run (`Watermarks.params`), at or before the end of its day
_NEW = "{t} <= :until AND ((batch_id > :w_prev AND batch_id <= :w_cur) OR {t} >= :fresh_since)"
# the tubes with a new report, and those of a new sample without one: two disjoint sets, so a
# round's millions of samples are only probed against its tubes, not deduplicated with them
_NEW_REPORTS = f"SELECT tube_id FROM tube_result WHERE {_NEW.format(t='reported_at')}"
_NEW_TUBES = (
    f"SELECT DISTINCT tube_id FROM tube_result WHERE {_NEW.format(t='reported_at')}"
    f" UNION ALL SELECT DISTINCT tube_id FROM sample WHERE {_NEW.format(t='sampled_at')}"
    f" AND tube_id NOT IN ({_NEW_REPORTS})"
)
# the people of a tube whose new report is not negative while a negative one was known before:
# the few tubes of such a report first, then their earlier reports (intersecting every negative
# ever reported with the new reports read the whole history of testing each run)
_CORRECTED_SQL = f"""
WITH mixed AS MATERIALIZED (
    SELECT DISTINCT tube_id FROM tube_result
    WHERE "result" <> 'negative' AND {_NEW.format(t="reported_at")}
)
SELECT DISTINCT s.person_id
FROM sample s
WHERE s.sampled_at <= :until AND s.tube_id IN (
    SELECT tube_id FROM tube_result
    WHERE "result" = 'negative' AND reported_at <= :until
      AND NOT ((batch_id > :w_prev AND batch_id <= :w_cur) OR reported_at >= :fresh_since)
      AND tube_id IN (SELECT tube_id FROM mixed)
)"""


def _insert(store: Store, sql: str, params: dict[str, Any], *, whole: bool) -> None:
    insert = (
        "INSERT INTO engine_negative (scenario, run_day, person_id, sampled_at, reported_at,"
        f" whole) SELECT :scenario, :day, person_id, sampled_at, reported_at, {whole}"
        f" FROM ({sql}) n"
    )
    store.execute(insert, named(insert, params))


def keep_negatives(store: Store, day: date, scenario: Scenario, marks: Watermarks) -> None:
    """Write the rows of the run of `day` (the module docstring), after the run removed what
    an earlier run of the day wrote. Everything stays in the store: a round of millions of
    tubes is joined and written there, not carried out."""
    until = day_bounds(day)[1] - timedelta(microseconds=1)
    params: dict[str, Any] = {**marks.params(), **scenario.params(), "day": day, "until": until}
    if marks.since is None or not marks.state_kept:
        _insert(store, latest_negative_sql(), params, whole=True)
        if marks.since is not None:  # earlier rows of people with no negative now: emptied
            empties = (
                "INSERT INTO engine_negative SELECT DISTINCT :scenario, :day, e.person_id,"
                " CAST(NULL AS TIMESTAMPTZ), CAST(NULL AS TIMESTAMPTZ), true"
                f" FROM engine_negative e WHERE {scenario.visible('e')} AND e.run_day < :day"
                " AND e.person_id NOT IN (SELECT person_id FROM engine_negative"
                " WHERE scenario = :scenario AND run_day = :day)"
            )
            store.execute(empties, named(empties, params))
        return
    corrected = ids_of(
        read(store, _CORRECTED_SQL, named(_CORRECTED_SQL, params), {"person_id": pl.Int64()})[
            "person_id"
        ]
    )
    if corrected:  # a row for each, with no test when none is left
        params["ids"] = corrected
        rule = latest_negative_sql(persons=among_ids(store, "s.person_id"))
        _insert(
            store,
            "SELECT i.person_id, n.sampled_at, n.reported_at"
            " FROM (SELECT unnest(CAST(:ids AS BIGINT[])) AS person_id) i"
            f" LEFT JOIN ({rule}) n ON n.person_id = i.person_id",
            params,
            whole=True,
        )
    others = f"NOT ({among_ids(store, 's.person_id')})" if corrected else ""
    _insert(store, latest_negative_sql(tubes=_NEW_TUBES, persons=others), params, whole=False)


_KEPT_SQL = """
WITH kept AS (
    SELECT person_id, run_day, sampled_at, reported_at, whole
    FROM engine_negative n
    WHERE {visible} AND n.run_day <= :day{only}
),
since AS (
    SELECT person_id, max(run_day) AS from_day FROM kept WHERE whole GROUP BY person_id
)
SELECT k.person_id, max(k.sampled_at) AS sampled_at, max(k.reported_at) AS reported_at
FROM kept k LEFT JOIN since w ON w.person_id = k.person_id
WHERE w.from_day IS NULL OR k.run_day >= w.from_day
GROUP BY k.person_id
HAVING max(k.sampled_at) IS NOT NULL
"""


def kept_negatives(
    store: Store, day: date, scenario: Scenario, ids: list[int] | None = None
) -> pl.DataFrame:
    """Per person (of `ids`, or everyone), the latest negative test as the runs of `scenario`
    up to `day` kept it (NEGATIVE_SCHEMA); a person with none has no row."""
    params: dict[str, Any] = {**scenario.params(), "day": day}
    only = ""
    if ids is not None:
        params["ids"] = ids
        only = f" AND {among_ids(store, 'n.person_id')}"
    sql = _KEPT_SQL.format(visible=scenario.visible("n"), only=only)
    return read(store, sql, params, NEGATIVE_SCHEMA)
