"""Case episodes: the one definition of "is this person a case, and since when".

A person's case events are the registry's (`case_report`) and the engine's derived ones
(`engine_case_event` of the scenario: a lab-positive single test reported, a discharge), in the
order of their time (then id). A **case episode**

- is *opened* by a report, or a reclassification, to confirmed or asymptomatic, when the person
  has no open episode;
- is *changed* by later events while open: a reclassification (无症状转确诊), a severity, a
  region, an onset date (the latest of each counts);
- is *closed* by an outcome (cured, released, died), or *withdrawn* by a reclassification to
  `excluded` (a false positive: it never was a case, and nothing treats it as one);
- is *reopened* only by a new report after it closed: a person cured in 2020 and positive again
  in 2022 has two episodes.

So a person's events fall into segments cut after each closing event; a segment holding an
opening event is an episode. `EPISODE_CTES` is that relation in SQL (both backends), as of
`:until`; testing, tracing, quarantine, treatment and timeliness all read it, never
`case_report` directly.

Columns of `episode`: person_id, episode_no (1, 2, ... per person), case_id and opened_at (the
opening event), opened_batch and opened_run_day (where the opening event came from: an import
batch, or a run of the engine), diagnosis, severity, origin, region_code and onset_date (the
latest known in the episode), closed_at and ended_by (the first closing event: an outcome, or
`excluded`), and prev_closed_at (when the person's previous episode closed, if any).

An episode is *active* at an instant t when opened_at <= t and it has not closed by t;
`active_at(alias, instant)` says so in SQL. A withdrawn episode is never active: it is read as
if it had never been, at every instant after the withdrawal.
"""

from __future__ import annotations

from fangkong.engine.scenario import Scenario

__all__ = ["EPISODE_COLUMNS", "active_at", "episode_ctes"]

EPISODE_COLUMNS = (
    "person_id",
    "episode_no",
    "case_id",
    "opened_at",
    "opened_batch",
    "opened_run_day",
    "diagnosis",
    "severity",
    "origin",
    "region_code",
    "onset_date",
    "closed_at",
    "ended_by",
    "prev_closed_at",
)

_OPENING = "event_type IN ('report', 'reclassify') AND diagnosis IN ('confirmed', 'asymptomatic')"
_CLOSING = "event_type = 'outcome' OR (event_type = 'reclassify' AND diagnosis = 'excluded')"


def _latest(column: str) -> str:
    """The segment's latest non-null value of `column` (a row_number() per segment)."""
    return f"""
    SELECT person_id, seg, {column} FROM (
        SELECT person_id, seg, {column}, row_number() OVER (
            PARTITION BY person_id, seg ORDER BY reported_at DESC, report_id DESC) AS k
        FROM seg WHERE {column} IS NOT NULL AND (opening = 1 OR closing = 0)
    ) x WHERE k = 1"""


def episode_ctes(scenario: Scenario, *, persons: str | None = None, until: str = "< :until") -> str:
    """The CTEs (without the leading WITH) that define `case_event` and `episode` as of
    `until` (the events whose time is `until`: by default before :until), for `scenario`
    (binds its :scenario and :fork_day). With `persons` (a SQL subquery of person ids), only
    those people's events are read."""
    only = f" AND person_id IN ({persons})" if persons else ""
    return f"""
case_event AS (
    SELECT report_id, case_id, person_id, region_code, reported_at, event_type, diagnosis,
           origin, severity, outcome, onset_date, batch_id, CAST(NULL AS DATE) AS run_day
    FROM case_report WHERE reported_at {until}{only}
    UNION ALL
    SELECT report_id, case_id, person_id, region_code, reported_at, event_type, diagnosis,
           origin, severity, outcome, onset_date, CAST(NULL AS INTEGER), run_day
    FROM engine_case_event e
    WHERE reported_at {until} AND {scenario.visible("e")}{only}
),
flagged AS (
    SELECT case_event.*,
           CASE WHEN {_OPENING} THEN 1 ELSE 0 END AS opening,
           CASE WHEN {_CLOSING} THEN 1 ELSE 0 END AS closing
    FROM case_event
),
seg AS MATERIALIZED (
    SELECT flagged.*,
           coalesce(sum(closing) OVER (
               PARTITION BY person_id ORDER BY reported_at, report_id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS seg
    FROM flagged
),
opened AS (
    SELECT person_id, seg, case_id, reported_at AS opened_at, batch_id AS opened_batch,
           run_day AS opened_run_day
    FROM (
        SELECT seg.*, row_number() OVER (
            PARTITION BY person_id, seg ORDER BY reported_at, report_id) AS k
        FROM seg WHERE opening = 1
    ) x WHERE k = 1
),
closed AS (
    SELECT person_id, seg, reported_at AS closed_at,
           CASE WHEN event_type = 'outcome' THEN outcome ELSE 'excluded' END AS ended_by
    FROM (
        SELECT seg.*, row_number() OVER (
            PARTITION BY person_id, seg ORDER BY reported_at, report_id) AS k
        FROM seg WHERE closing = 1
    ) x WHERE k = 1
),
l_diagnosis AS ({_latest("diagnosis")}
),
l_severity AS ({_latest("severity")}
),
l_origin AS ({_latest("origin")}
),
l_region AS ({_latest("region_code")}
),
l_onset AS ({_latest("onset_date")}
),
numbered AS (
    SELECT o.*, c.closed_at, c.ended_by,
           row_number() OVER (PARTITION BY o.person_id ORDER BY o.seg) AS episode_no
    FROM opened o LEFT JOIN closed c ON c.person_id = o.person_id AND c.seg = o.seg
),
episode AS MATERIALIZED (
    SELECT n.person_id, n.episode_no, n.case_id, n.opened_at, n.opened_batch,
           n.opened_run_day,
           CASE WHEN d.diagnosis IN ('confirmed', 'asymptomatic') THEN d.diagnosis
                ELSE 'confirmed' END AS diagnosis,
           s.severity, g.origin, r.region_code, t.onset_date, n.closed_at, n.ended_by,
           lag(n.closed_at) OVER (PARTITION BY n.person_id ORDER BY n.seg) AS prev_closed_at
    FROM numbered n
    LEFT JOIN l_diagnosis d ON d.person_id = n.person_id AND d.seg = n.seg
    LEFT JOIN l_severity s ON s.person_id = n.person_id AND s.seg = n.seg
    LEFT JOIN l_origin g ON g.person_id = n.person_id AND g.seg = n.seg
    LEFT JOIN l_region r ON r.person_id = n.person_id AND r.seg = n.seg
    LEFT JOIN l_onset t ON t.person_id = n.person_id AND t.seg = n.seg
)"""


def active_at(alias: str, instant: str) -> str:
    """SQL: episode `alias` is active (open, not withdrawn) at `instant` (an SQL expression)."""
    return (
        f"({alias}.opened_at <= {instant}"
        f" AND ({alias}.closed_at IS NULL OR {alias}.closed_at > {instant}))"
    )
