"""A day with nothing to do: when no rule of `run_day` can order, derive or change anything, the
run records itself and stops (`idle_day`), instead of asking every step in turn.

Each step's work follows from three things: the events new to the run, the state carried from
the day before (open quarantines, placements, case episodes, risk areas, the health-code reasons
the next run asks again), and the events whose time, not their import, brings them to the day
(a result due today, an arrival of today imported ahead, a fever-clinic visit leaving its
lookback). A day is idle when all of them are empty:

- the previous run the scenario sees is of the day before, under the same policy, with its state
  kept, and the day has no run of its own yet and none after it (`Watermarks`: otherwise the run
  replaces or re-derives rows);
- no import batch since that run's watermark, or batches of check-ins and venues alone while
  no case was ever reported (in the registry, or derived by a run of the scenario): the rules
  read a check-in or a venue only through a case (its exposure window, the places it stayed,
  the areas drawn there), so until there is one a city's daily check-ins give a run nothing
  to do;
- no latest health-code row holds a reason the run asks again (`Watermarks.held_from`:
  `fangkong.engine.colours`);
- the previous run issued no order, and the state at the start of its day held no open
  quarantine and nobody in a facility (`engine_schedule`, `engine_state`): then nobody is in
  quarantine or a facility at the start of this day either;
- no case episode is open (the latest `engine_episode` rows), and no risk area was drawn by a
  run within the policy's departure lookback (a stay or a move reported late can still order a
  quarantine for an area listed then);
- no event is dated so as to fall on the day: a sample whose result comes due (`testing`'s lost
  tubes), a result, a case report, an arrival (or, where the policy has a flight circuit
  breaker, a flight arrival within its counting window: a route's reward comes by days without
  positives), a received assistance request, a move or a correction taking effect, a
  fever-clinic visit or a symptom report within the health code's lookback.

Check-ins, trips and vaccinations dated on the day are not asked: the rules read them only
through a case, an area or an arrival, which the checks above find.

The run of an idle day writes only its `engine_run` row, the one a full run of it writes, with no
health-code row holding a reason (`held_from` the next day). `tests/engine/test_idle.py` runs
histories both ways and compares every derived row.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from fangkong.engine.frames import day_bounds, named
from fangkong.engine.scenario import Scenario, Watermarks
from fangkong.engine.testing import result_deadline_of
from fangkong.model.tables import ALL_TABLES
from fangkong.policy import Policy
from fangkong.policy.terms import Population
from fangkong.store import Store

__all__ = ["idle_day"]

log = logging.getLogger(__name__)


def _checks(scenario: Scenario) -> dict[str, str]:
    """Each check: SQL that is true when the day may have something to do."""
    visible = scenario.visible

    def dated(table: str, column: str, since: str = ":day_start") -> str:
        return f"EXISTS (SELECT 1 FROM {table} WHERE {column} >= {since} AND {column} < :until)"

    return {
        "orders": f"EXISTS (SELECT 1 FROM engine_order o WHERE {visible('o')}"
        " AND o.run_day = :prev_day)",
        "quarantines": f"EXISTS (SELECT 1 FROM engine_schedule s WHERE {visible('s')}"
        " AND s.run_day = :prev_day)",
        "placed": f"EXISTS (SELECT 1 FROM engine_state s WHERE {visible('s')}"
        " AND s.run_day = :prev_day)",
        "areas": f"EXISTS (SELECT 1 FROM risk_area a WHERE {visible('a')}"
        " AND a.run_day >= :areas_from AND a.run_day <= :prev_day)",
        # a person's episodes are their rows of the latest run that wrote any
        "cases": f"""EXISTS (SELECT 1 FROM engine_episode e
            WHERE {visible("e")} AND e.run_day <= :prev_day AND e.closed_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM engine_episode l
                  WHERE {visible("l")} AND l.person_id = e.person_id
                    AND l.run_day > e.run_day AND l.run_day <= :prev_day))""",
        "samples": dated("sample", "sampled_at", ":samples_from"),
        "results": dated("tube_result", "reported_at"),
        "reports": dated("case_report", "reported_at"),
        "arrivals": dated("arrival", "arrived_at", ":arrivals_from"),
        "requests": dated("assistance_request", "requested_at"),
        "moves": dated("person_move", "effective_at"),
        "corrections": dated("person_correction", "effective_at"),
        "fever": dated("fever_clinic_visit", "visited_at", ":lookback_from"),
        "symptoms": dated("symptom_report", "observed_at", ":lookback_from"),
    }


# the imported tables no rule reads but through a case: tracing reads the cases' check-ins and
# their venues' categories, the risk areas the places the cases stayed and the venues in them.
# New rows of these alone leave a day idle while no case was ever reported.
_READ_THROUGH_CASES = frozenset({"checkin", "venue"})


def _new_batches_matter(store: Store, scenario: Scenario, marks: Watermarks) -> bool:
    """Whether the import batches new to the run may give it something to do: any new batch
    once a case was ever reported, and before that a batch with rows of a table other than
    the check-ins and venues (a batch of no rows at all changes nothing either)."""
    if marks.current == marks.previous:
        return False
    ever = (
        "SELECT EXISTS (SELECT 1 FROM case_report) OR EXISTS (SELECT 1 FROM engine_case_event"
        f" e WHERE {scenario.visible('e')})"
    )
    if store.scalar(ever, scenario.params()):
        return True
    new = [
        f'EXISTS (SELECT 1 FROM "{t.name}" WHERE batch_id > :w_prev AND batch_id <= :w_cur)'
        for t in ALL_TABLES
        if t.batched and t.name not in _READ_THROUGH_CASES
    ]
    sql = "SELECT " + " OR ".join(new)
    return bool(store.scalar(sql, named(sql, marks.params())))


def idle_day(
    store: Store, scenario: Scenario, day: date, policy: Policy, marks: Watermarks
) -> bool:
    """Whether the run of `day` in `scenario` under `policy` has nothing to do (module
    docstring); `marks` are its watermarks."""
    previous = day - timedelta(days=1)
    if (
        marks.rerun
        or marks.later
        or marks.previous_day != previous
        or not marks.state_kept
        or marks.policy_id != policy.id
        or marks.held_from is None
        or marks.held_from <= previous
        or _new_batches_matter(store, scenario, marks)
    ):
        return False
    start, until = day_bounds(day)
    areas = policy.risk_areas
    lookback = areas.departure_lookback_days if areas and areas.departure_lookback_days else 0
    arrivals_from = start
    breaker, regime = policy.inbound.circuit_breaker, policy.regime(Population.INBOUND_TRAVELLER)
    if breaker is not None and regime is not None:  # `border.circuit_breaker_orders`' window
        window = max(regime.total_days, breaker.reward_after_zero_positive_days)
        arrivals_from = start - timedelta(days=window)
    params = {
        **scenario.params(),
        "prev_day": previous,
        "day_start": start,
        "until": until,
        "areas_from": previous - timedelta(days=lookback),
        # a sample whose result comes due on the day, or later (a day's margin)
        "samples_from": start - result_deadline_of(policy) - timedelta(days=1),
        "arrivals_from": arrivals_from,
        "lookback_from": start - timedelta(days=policy.health_code.yellow_lookback_days + 1),
    }
    checks = _checks(scenario)
    sql = "SELECT " + ",\n  ".join(f"{v} AS {k}" for k, v in checks.items())
    found = store.fetch(sql, named(sql, params)).row(0, named=True)
    busy = [name for name, value in found.items() if value]
    if busy:
        log.debug("%s in %s: not idle (%s)", day, scenario.name, ", ".join(busy))
    return not busy
