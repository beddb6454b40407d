"""Timeliness of the four earlies (四早: 早发现、早报告、早隔离、早治疗), per case and per day, from
the stored events and the orders the daily runs stored.

For each case episode (`fangkong.engine.episode`: from its opening report; a withdrawn episode
is not a case), in a scenario (default live):

- `sampling_to_report_hours`: from the sampling of the person's latest sample taken at or
  before the report, to the report (早发现 → 早报告);
- `report_to_isolation_hours`: from the report to the start of the first order that isolates the
  person (transfer, admission, or conversion from quarantine); 0 when the person was already in
  quarantine when reported (早隔离 came first);
- `report_to_contacts_found_hours`: from the report to the end of the run day on which tracing
  found the case's contacts (the engine runs the chain once a day, at 24:00: this is the delay
  the daily cycle gives);
- `contact_found_to_quarantined_hours`: over the case's contacts, the median hours from the run
  day that found a contact to the run day that placed them in quarantine (a room, or home): 0
  when both were the same run; more when no room was free.

`daily_timeliness(store, day)` gives the medians over the cases reported on `day`: what the
bulletin's JSON carries.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from fangkong.engine.episode import episode_ctes
from fangkong.engine.frames import day_bounds, day_start, midnight
from fangkong.engine.orders import TIME
from fangkong.engine.scenario import LIVE, Scenario
from fangkong.store.base import Store

__all__ = ["MEASURES", "case_timeliness", "daily_timeliness"]

MEASURES = (
    "sampling_to_report_hours",
    "report_to_isolation_hours",
    "report_to_contacts_found_hours",
    "contact_found_to_quarantined_hours",
)


def _cases_sql(scenario: Scenario) -> str:
    return f"""
WITH {episode_ctes(scenario)},
first_report AS (
    SELECT case_id, person_id, episode_no, opened_at AS reported_at, prev_closed_at
    FROM episode WHERE ended_by IS NULL OR ended_by <> 'excluded'
), sampled AS (
    SELECT f.person_id, f.episode_no, max(s.sampled_at) AS sampled_at
    FROM first_report f JOIN sample s ON s.person_id = f.person_id
    WHERE s.sampled_at <= f.reported_at
      AND (f.prev_closed_at IS NULL OR s.sampled_at > f.prev_closed_at)
    GROUP BY f.person_id, f.episode_no
), isolated AS (
    SELECT f.person_id, f.episode_no, min(o.start_at) AS isolated_at
    FROM first_report f JOIN engine_order o ON o.person_id = f.person_id
    WHERE o.order_type IN ('transfer', 'admit', 'convert') AND o.start_at >= f.reported_at
      AND {scenario.visible("o")}
    GROUP BY f.person_id, f.episode_no
), quarantined_before AS (
    SELECT DISTINCT f.person_id, f.episode_no
    FROM first_report f JOIN engine_order o ON o.person_id = f.person_id
    WHERE o.order_type = 'quarantine' AND o.start_at <= f.reported_at
      AND (o.end_at IS NULL OR o.end_at > f.reported_at) AND {scenario.visible("o")}
), traced AS (
    SELECT f.person_id, f.episode_no, min(t.run_day) AS traced_day
    FROM first_report f JOIN traced_contact t ON t.case_person_id = f.person_id
    WHERE t.run_day >= CAST(f.reported_at AS DATE) - 1 AND {scenario.visible("t")}
    GROUP BY f.person_id, f.episode_no
)
SELECT f.case_id, f.person_id, f.reported_at, s.sampled_at, i.isolated_at,
       q.person_id IS NOT NULL AS quarantined_before, t.traced_day
FROM first_report f
LEFT JOIN sampled s ON s.person_id = f.person_id AND s.episode_no = f.episode_no
LEFT JOIN isolated i ON i.person_id = f.person_id AND i.episode_no = f.episode_no
LEFT JOIN quarantined_before q ON q.person_id = f.person_id AND q.episode_no = f.episode_no
LEFT JOIN traced t ON t.person_id = f.person_id AND t.episode_no = f.episode_no
"""


def _contacts_sql(scenario: Scenario) -> str:
    return f"""
WITH found AS (
    SELECT case_person_id, contact_person_id, min(run_day) AS found_day
    FROM traced_contact t WHERE run_day <= :day AND {scenario.visible("t")}
    GROUP BY case_person_id, contact_person_id
), placed AS (
    SELECT f.case_person_id, f.contact_person_id, f.found_day, min(o.run_day) AS placed_day
    FROM found f JOIN engine_order o ON o.person_id = f.contact_person_id
    WHERE o.order_type = 'quarantine' AND o.place IS NOT NULL AND o.run_day >= f.found_day
      AND {scenario.visible("o")}
    GROUP BY f.case_person_id, f.contact_person_id, f.found_day
)
SELECT case_person_id, found_day, placed_day FROM placed
"""


def _hours(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    return (later - earlier).dt.total_seconds() / 3600.0


def case_timeliness(store: Store, day: date, *, scenario: Scenario = LIVE) -> pl.DataFrame:
    """One row per case episode opened up to the end of `day` (not withdrawn): case_id,
    person_id, reported_at and the MEASURES (null where the events to measure are missing)."""
    cases = store.fetch(_cases_sql(scenario), {"until": day_bounds(day)[1], **scenario.params()})
    if cases.height == 0:
        return pl.DataFrame(
            schema={
                "case_id": pl.String,
                "person_id": pl.Int64,
                "reported_at": TIME,
                **dict.fromkeys(MEASURES, pl.Float64),
            }
        )
    cases = cases.with_columns(
        pl.col("reported_at", "sampled_at", "isolated_at").cast(TIME),
        pl.col("traced_day").cast(pl.Date),
        pl.col("quarantined_before").cast(pl.Boolean),
    )
    contacts = store.fetch(_contacts_sql(scenario), {"day": day, **scenario.params()})
    if contacts.height:
        per_case = (
            contacts.with_columns(pl.col("found_day", "placed_day").cast(pl.Date))
            .group_by("case_person_id")
            .agg(
                ((pl.col("placed_day") - pl.col("found_day")).dt.total_days() * 24.0)
                .median()
                .alias("contact_found_to_quarantined_hours")
            )
        )
    else:
        per_case = pl.DataFrame(
            schema={"case_person_id": pl.Int64, "contact_found_to_quarantined_hours": pl.Float64}
        )
    traced_end = midnight(pl.col("traced_day")) + pl.duration(days=1)
    return (
        cases.join(per_case, left_on="person_id", right_on="case_person_id", how="left")
        .select(
            "case_id",
            pl.col("person_id").cast(pl.Int64),
            "reported_at",
            _hours(pl.col("reported_at"), pl.col("sampled_at")).alias("sampling_to_report_hours"),
            pl.when(pl.col("quarantined_before"))
            .then(0.0)
            .otherwise(_hours(pl.col("isolated_at"), pl.col("reported_at")))
            .alias("report_to_isolation_hours"),
            _hours(traced_end, pl.col("reported_at")).alias("report_to_contacts_found_hours"),
            pl.col("contact_found_to_quarantined_hours").cast(pl.Float64),
        )
        .sort("reported_at", "case_id")
    )


def daily_timeliness(
    store: Store, day: date, *, scenario: Scenario = LIVE
) -> dict[str, float | int | None]:
    """The medians of MEASURES over the case episodes opened on `day`, and how many."""
    start = day_start(day)
    today = case_timeliness(store, day, scenario=scenario).filter(pl.col("reported_at") >= start)
    out: dict[str, float | int | None] = {"cases": today.height}
    for name in MEASURES:
        value = today.get_column(name).median() if today.height else None
        out[f"median_{name}"] = None if value is None else round(float(value), 1)  # type: ignore[arg-type]
    return out
