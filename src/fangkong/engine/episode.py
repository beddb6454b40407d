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

**Kept between days.** Deriving the relation from every case event of the store in each query
costs each step the whole history; so the run of a day keeps it in `engine_episode` (migration
7), the same relation materialised: at the start of the run (`keep_episodes`) it writes, as of
the end of its day, the episodes of the people whose case events are new to the run (events of
the import batches after the previous run's watermark, or dated after the previous run's day:
`fangkong.engine.scenario`), and again for the people of the events the run derives itself.
A person's episodes as of day D are then their rows of the latest run day <= D the scenario
sees (`Scenario.visible`: a what-if starts from live's rows before its fork day). The first run
of a scenario with no earlier run (or whose earlier run kept no state) writes everyone's. A
rerun of a day deletes that day's rows with its orders, so the state as of the day before is
what it reads again. The state as of a day is what its run knew: a late event is in it once a
run has seen it (the next run, or a rerun of the day).

While a run keeps the state (`fangkong.engine.state.kept_state`), `episode_ctes` reads
`episode` from that table instead of from the events (`kept`), as of any instant up to the end
of the run's day: the
episodes opened by `until`, with their end when it came by `until` (the latest diagnosis,
severity, region and onset are those of the end of the day). Outside a run (a report, a health
code, a test calling a step alone) it derives the relation from the events. Both read the one
definition below.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from fangkong.engine.frames import IDS, day_bounds, ids_of, read
from fangkong.engine.orders import TIME
from fangkong.engine.scenario import Scenario, Watermarks
from fangkong.engine.state import forget, revise
from fangkong.store.base import Store

__all__ = [
    "CASES",
    "CASE_SCHEMA",
    "EPISODE_COLUMNS",
    "EPISODE_SCHEMA",
    "active_at",
    "any_suspect_sql",
    "case_rows",
    "episode_ctes",
    "keep_episodes",
    "refresh_episodes",
    "suspect_ctes",
]

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


def _first(value: str, flag: str) -> str:
    """The segment's first `value` (by time, then id) among its events flagged `flag`."""
    return f"(array_agg({value} ORDER BY reported_at, report_id) FILTER (WHERE {flag} = 1))[1]"


def _latest(column: str) -> str:
    """The segment's latest non-null value of `column`, its closing event left out."""
    return (
        f"(array_agg({column} ORDER BY reported_at DESC, report_id DESC)"
        f" FILTER (WHERE {column} IS NOT NULL AND closing = 0))[1]"
    )


def _case_event_cte(scenario: Scenario, persons: str | None, until: str) -> str:
    """`case_event`: a person's case events, the registry's and the engine's of `scenario`."""
    only = f" AND person_id IN ({persons})" if persons else ""
    return f"""case_event AS (
    SELECT report_id, case_id, person_id, region_code, reported_at, event_type, diagnosis,
           origin, severity, outcome, onset_date, batch_id, CAST(NULL AS DATE) AS run_day
    FROM case_report WHERE reported_at {until}{only}
    UNION ALL
    SELECT report_id, case_id, person_id, region_code, reported_at, event_type, diagnosis,
           origin, severity, outcome, onset_date, CAST(NULL AS INTEGER), run_day
    FROM engine_case_event e
    WHERE reported_at {until} AND {scenario.visible("e")}{only}
)"""


# a case event that says the person is a suspected case
_SAYS_SUSPECTED = "event_type <> 'outcome' AND diagnosis = 'suspected'"


def any_suspect_sql(
    scenario: Scenario, *, persons: str | None = None, until: str = "< :until"
) -> str:
    """SQL: whether any case event of `suspect_ctes` (the same arguments) says `suspected`:
    without one nobody is a suspected case, and the windows of `suspect_ctes` need not run (a
    city that reports no suspected case asks it for every run: 1 ms against 10 ms)."""
    return (
        f"WITH {_case_event_cte(scenario, persons, until)} SELECT EXISTS (SELECT 1 FROM"
        f" case_event WHERE {_SAYS_SUSPECTED})"
    )


def suspect_ctes(scenario: Scenario, *, persons: str | None = None, until: str = "< :until") -> str:
    """The CTEs (without the leading WITH) that define `suspect` as of `until`: the people who
    are a suspected case (疑似病例), with `case_id` and `since`.

    A suspected case is not an episode (nothing of the control chain treats it as a case): a
    person is one while the latest of their case events that says what they are — a report or
    a reclassification naming a diagnosis, or an outcome — is a report or reclassification to
    `suspected`. A reclassification to confirmed or asymptomatic (an episode opens), to
    `excluded` (排除), or an outcome ends it; `since` is the first of the suspected events
    since the last event that said otherwise, `case_id` the latest one's. The events are the
    same as the episodes' (`case_event`), for `scenario`, `persons` and `until` as there."""
    return f"""
{_case_event_cte(scenario, persons, until)},
said AS (
    SELECT person_id, case_id, reported_at, report_id,
           CASE WHEN {_SAYS_SUSPECTED} THEN 1 ELSE 0
           END AS suspected
    FROM case_event WHERE diagnosis IS NOT NULL OR event_type = 'outcome'
),
said_run AS (
    SELECT said.*,
           sum(1 - suspected) OVER (
               PARTITION BY person_id ORDER BY reported_at, report_id
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run,
           row_number() OVER (
               PARTITION BY person_id ORDER BY reported_at DESC, report_id DESC) AS k
    FROM said
),
suspect AS (
    SELECT l.person_id, l.case_id, min(r.reported_at) AS since
    FROM said_run l
    JOIN said_run r ON r.person_id = l.person_id AND r.run = l.run AND r.suspected = 1
    WHERE l.k = 1 AND l.suspected = 1
    GROUP BY l.person_id, l.case_id
)"""


def episode_ctes(
    scenario: Scenario,
    *,
    persons: str | None = None,
    until: str = "< :until",
    kept: date | None = None,
) -> str:
    """The CTEs (without the leading WITH) that define `episode` as of `until` (the events
    whose time is `until`: by default before :until), for `scenario` (binds its :scenario and
    :fork_day). With `persons` (a SQL subquery of person ids), only those people's episodes are
    read. With `kept` (`kept_day`: a run keeps the state of that day), `episode` is read from
    `engine_episode`; `until` must then be no later than the end of that day."""
    if kept is not None:
        return _kept_ctes(scenario, persons, until, kept)
    # one pass numbers the segments, one grouping reads each segment's opening, closing and
    # latest values (an event is never both opening and closing; a segment ends at its only
    # closing event), one more numbers the episodes: DuckDB plans a few operators faster than
    # a window and a join per value
    return f"""
{_case_event_cte(scenario, persons, until)},
seg AS (
    SELECT flagged.*,
           coalesce(sum(closing) OVER (
               PARTITION BY person_id ORDER BY reported_at, report_id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS seg
    FROM (
        SELECT case_event.*,
               CASE WHEN {_OPENING} THEN 1 ELSE 0 END AS opening,
               CASE WHEN {_CLOSING} THEN 1 ELSE 0 END AS closing
        FROM case_event
    ) flagged
),
segment AS (
    SELECT person_id, seg,
           {_first("case_id", "opening")} AS case_id,
           min(reported_at) FILTER (WHERE opening = 1) AS opened_at,
           {_first("batch_id", "opening")} AS opened_batch,
           {_first("run_day", "opening")} AS opened_run_day,
           {_latest("diagnosis")} AS diagnosis,
           {_latest("severity")} AS severity,
           {_latest("origin")} AS origin,
           {_latest("region_code")} AS region_code,
           {_latest("onset_date")} AS onset_date,
           min(reported_at) FILTER (WHERE closing = 1) AS closed_at,
           {_first("CASE WHEN event_type = 'outcome' THEN outcome ELSE 'excluded' END", "closing")}
               AS ended_by
    FROM seg
    GROUP BY person_id, seg
    HAVING count(*) FILTER (WHERE opening = 1) > 0
),
episode AS MATERIALIZED (
    SELECT person_id,
           row_number() OVER (PARTITION BY person_id ORDER BY seg) AS episode_no,
           case_id, opened_at, opened_batch, opened_run_day,
           CASE WHEN diagnosis IN ('confirmed', 'asymptomatic') THEN diagnosis
                ELSE 'confirmed' END AS diagnosis,
           severity, origin, region_code, onset_date, closed_at, ended_by,
           lag(closed_at) OVER (PARTITION BY person_id ORDER BY seg) AS prev_closed_at
    FROM segment
)"""


def active_at(alias: str, instant: str) -> str:
    """SQL: episode `alias` is active (open, not withdrawn) at `instant` (an SQL expression)."""
    return (
        f"({alias}.opened_at <= {instant}"
        f" AND ({alias}.closed_at IS NULL OR {alias}.closed_at > {instant}))"
    )


def _kept_ctes(scenario: Scenario, persons: str | None, until: str, day: date) -> str:
    """`episode` as of `until` from the rows kept by runs up to `day` (a date: a literal)."""
    only = f" AND x.person_id IN ({persons})" if persons else ""
    by = f"DATE '{day.isoformat()}'"
    cols = ", ".join(f"e.{c}" for c in EPISODE_COLUMNS if c not in ("closed_at", "ended_by"))
    return f"""
kept_snapshot AS (
    SELECT person_id, max(run_day) AS run_day FROM engine_episode x
    WHERE {scenario.visible("x")} AND x.run_day <= {by}{only}
    GROUP BY person_id
),
episode AS MATERIALIZED (
    SELECT {cols},
           CASE WHEN e.closed_at {until} THEN e.closed_at END AS closed_at,
           CASE WHEN e.closed_at {until} THEN e.ended_by END AS ended_by
    FROM engine_episode e
    JOIN kept_snapshot k ON k.person_id = e.person_id AND k.run_day = e.run_day
    WHERE {scenario.visible("e")} AND e.opened_at {until}
)"""


_COLS = ", ".join(EPISODE_COLUMNS)

EPISODE_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "episode_no": pl.Int32(),
    "case_id": pl.String(),
    "opened_at": TIME,
    "opened_batch": pl.Int32(),
    "opened_run_day": pl.Date(),
    "diagnosis": pl.String(),
    "severity": pl.String(),
    "origin": pl.String(),
    "region_code": pl.String(),
    "onset_date": pl.Date(),
    "closed_at": TIME,
    "ended_by": pl.String(),
    "prev_closed_at": TIME,
}

# a person's case now: their latest episode (`fangkong.engine.treatment.case_state`)
CASE_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "case_id": pl.String(),  # of the event that opened the episode
    "case_since": TIME,  # the episode's opening: first report as confirmed or asymptomatic
    "diagnosis": pl.String(),  # latest
    "severity": pl.String(),  # latest reported, null if none
    "region_code": pl.String(),  # of the latest event
    "outcome_at": TIME,  # the episode's end (outcome or withdrawal), null while open
    "ended_by": pl.String(),  # cured | released | died | excluded; null while open
}

# the frame of everyone's latest episode a run reads once (`fangkong.engine.treatment.
# case_state`), brought up to date when it writes episodes
CASES = "cases"


def case_rows(episodes: pl.DataFrame) -> pl.DataFrame:
    """Each person's latest episode of `episodes` (EPISODE_SCHEMA's columns), as CASE_SCHEMA."""
    return (
        episodes.sort("person_id", "episode_no")
        .group_by("person_id", maintain_order=True)
        .last()
        .select(
            "person_id",
            "case_id",
            pl.col("opened_at").alias("case_since"),
            "diagnosis",
            "severity",
            "region_code",
            pl.col("closed_at").alias("outcome_at"),
            "ended_by",
        )
        .cast(CASE_SCHEMA)  # type: ignore[arg-type]
    )


def refresh_episodes(
    store: Store, scenario: Scenario, day: date, persons: list[int] | None
) -> None:
    """Write the episodes of `persons` (None: everyone with a case event) as of the end of
    `day`, as rows of the run of `day` in `scenario` (replacing the run's earlier rows of them);
    the run's frame of everyone's case (`CASES`) gets theirs."""
    if persons is not None and not persons:
        return
    only = f" AND person_id IN ({IDS})" if persons is not None else ""
    ids: dict[str, Any] = {} if persons is None else {"ids": persons}
    store.execute(
        f"DELETE FROM engine_episode WHERE scenario = :s AND run_day = :d{only}",
        {"s": scenario.name, "d": day, **ids},
    )
    ctes = episode_ctes(scenario, persons=IDS if persons is not None else None)
    store.execute(
        f"INSERT INTO engine_episode (scenario, run_day, {_COLS})"
        f" WITH {ctes} SELECT :scenario, :d, {_COLS} FROM episode",
        {"d": day, "until": day_bounds(day)[1], **scenario.params(), **ids},
    )
    if persons is None:
        forget(store, scenario, CASES)
        return

    def update(every: pl.DataFrame) -> pl.DataFrame:
        # the rows just written, read back (a person whose events open no episode keeps the
        # rows of an earlier run: none, in practice)
        written = read(
            store,
            f"SELECT {_COLS} FROM engine_episode"
            f" WHERE scenario = :s AND run_day = :d AND person_id IN ({IDS})",
            {"s": scenario.name, "d": day, **ids},
            EPISODE_SCHEMA,
        )
        cases = case_rows(written)
        return pl.concat([every.join(cases, on="person_id", how="anti"), cases])

    revise(store, scenario, CASES, update)


_CHANGED_SQL = """
SELECT person_id FROM case_report
WHERE reported_at < :until
  AND (reported_at >= :fresh_since OR (batch_id > :w_prev AND batch_id <= :w_cur))
UNION
SELECT person_id FROM engine_case_event e
WHERE reported_at < :until AND reported_at >= :fresh_since AND {visible}
"""


def keep_episodes(
    store: Store, scenario: Scenario, day: date, marks: Watermarks
) -> list[int] | None:
    """At the start of the run of `day`: the kept episodes brought to the end of `day` for the
    people whose case events are new to the run (everyone's when no earlier run is seen, or
    the earlier run kept no state: a store of runs from before migration 7). A frame of
    everyone's case read before (the run removed its day's rows, on a rerun) is dropped.
    Returns those people (None: everyone): only their episodes can be new to the run, but for
    the case events the run derives itself."""
    forget(store, scenario, CASES)
    if marks.since is None or not marks.state_kept:
        refresh_episodes(store, scenario, day, None)
        return None
    changed = store.fetch(
        _CHANGED_SQL.format(visible=scenario.visible("e")),
        {"until": day_bounds(day)[1], **marks.params(), **scenario.params()},
    )
    people = ids_of(changed.get_column("person_id")) if changed.height else []
    if people:
        refresh_episodes(store, scenario, day, people)
    return people
