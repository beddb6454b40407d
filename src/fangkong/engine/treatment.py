"""Treatment (早治疗 · 应收尽收 · 应治尽治): cases to the care setting of their severity, with beds;
escalation; discharge by the policy's Ct criteria; monitoring after discharge.

- **Who is admitted**: every active case (latest diagnosis confirmed or asymptomatic, no outcome
  since it became a case) with no admission yet for this episode, or whose last admission found
  no bed (retried each day). The setting is `policy.treatment.setting_for(severity)`; an
  asymptomatic infection has no severity; a confirmed case whose severity is not reported is
  routed as mild, and the reason says so. Designated and shelter hospitals give beds here
  (nearest first, as `facility.allocate`); a centralized-isolation setting needs a quarantine-site
  room, which `facility.assign_facilities` gives; home isolation is at home.
- **Escalation**: an admitted case whose current severity (or diagnosis) calls for a stricter
  setting than the one they are in (e.g. severe in a 方舱) gets `transfer` + `admit` there. A
  milder severity never moves a case down.
- **Discharge**: an admitted case whose latest single-tube results (tubes holding only their
  sample, taken since admission) end with `discharge.tests` results of Ct >= `ct_at_least` (a
  negative without a Ct counts), each at least `tests_min_apart_hours` after the one before, with
  no disqualifying result after the first of them; with `release_test_days`, only results taken
  from that day of isolation on (day 1 = the day of admission) count. Clinical improvement is not
  in the data: a case whose current severity is severe or critical is not discharged.
  `discharge` on the day, from the moment the criteria were met (the latest report of the
  results that meet them; the day's start if that was before it: a result imported late), so
  the outcome it derives never precedes its evidence, then `monitor` from the next day (day 1)
  for `monitoring_days`, with `test` orders on `monitoring_test_days`.
- **Back to care**: during monitoring, a single-tube result with Ct below
  `monitoring_return_ct_below` (or the positive cut-off when the policy has none) sends the
  person back: `transfer` + `admit`.

- **Isolation lifted**: under a policy that orders no isolation of cases (class-B management),
  the cases admitted before it are discharged on the run day (`isolation_lifted`; no outcome
  is derived from it: leaving isolation is not a recovery).

The bulletin counts cured cases and deaths from the case registry's outcome events; these
orders are the engine's decisions and free a bed on discharge (an outcome event does too).

**A loader and a rule.** `load_treatment_facts` reads the facts (`TreatmentFacts`: the case
episodes, each person's latest care orders, the results of the people in care or under
monitoring, the beds); `treatment_rule` decides on them and reads no store, so a simulator
drives it with frames of its own (`TreatmentFacts.of`). Who is in care and under monitoring is
one function (`_in_care`) that bounds the loader's read of results and the rule's decisions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

import polars as pl

from fangkong.engine.episode import (
    CASE_SCHEMA,
    CASES,
    EPISODE_COLUMNS,
    EPISODE_SCHEMA,
    case_rows,
    episode_ctes,
)
from fangkong.engine.facility import NO_BED, OCCUPIED_SCHEMA, allocate, occupancy
from fangkong.engine.facts import Facts
from fangkong.engine.frames import IDS, day_bounds, day_start, ids_of, midnight, read
from fangkong.engine.orders import TIME, check_orders, empty_orders, orders_from
from fangkong.engine.scenario import LIVE, Scenario
from fangkong.engine.state import kept_day, read_once
from fangkong.model.glossary import Diagnosis, FacilityKind, OrderType, Severity, Waiting
from fangkong.policy.schema import Discharge, Policy, Treatment
from fangkong.policy.terms import STRICTNESS, CareSetting, QuarantineKind
from fangkong.store import Store

__all__ = [
    "CARE_SCHEMA",
    "CASE_SCHEMA",
    "RESULT_SCHEMA",
    "TreatmentFacts",
    "case_state",
    "isolation_lifted",
    "load_treatment_facts",
    "person_results",
    "treatment_orders",
    "treatment_rule",
]

log = logging.getLogger(__name__)

RESULT_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "sample_id": pl.String(),
    "sampled_at": TIME,
    "result": pl.String(),  # latest result of the tube; null while none is reported
    "ct_value": pl.Float64(),
    "reported_at": TIME,
    "members": pl.Int64(),  # samples in the tube: 1 = a single-tube test
}

_CASES = ("confirmed", "asymptomatic")


def case_state(
    store: Store, day: date, ids: list[int] | None = None, *, scenario: Scenario = LIVE
) -> pl.DataFrame:
    """Each person's latest case episode opened by the end of `day` (of `ids`, or everyone),
    with its diagnosis, severity, region and end (CASE_SCHEMA; `fangkong.engine.episode`). In
    a run of `day`, everyone's are read once from the kept episodes and kept up to date as the
    run writes episodes (`fangkong.engine.state`), and `ids` picked from them."""
    if kept_day(store, scenario) == day:
        every = read_once(
            store, scenario, day, CASES, lambda: _case_state(store, day, None, scenario)
        )
        return every if ids is None else every.filter(pl.col("person_id").is_in(ids))
    return _case_state(store, day, ids, scenario)


def _case_state(store: Store, day: date, ids: list[int] | None, scenario: Scenario) -> pl.DataFrame:
    persons = IDS if ids is not None else None
    sql = f"""
WITH {episode_ctes(scenario, persons=persons, kept=kept_day(store, scenario))}
SELECT {", ".join(EPISODE_COLUMNS)} FROM episode"""
    params: dict[str, object] = {"until": day_bounds(day)[1], **scenario.params()}
    if ids is not None:
        params["ids"] = ids
    return case_rows(read(store, sql, params, EPISODE_SCHEMA))


def active_cases(cases: pl.DataFrame) -> pl.DataFrame:
    """The rows of `case_state` whose episode is open (not ended, not withdrawn)."""
    return cases.filter(pl.col("diagnosis").is_in(_CASES) & pl.col("outcome_at").is_null())


_RESULTS_SQL = f"""
WITH s AS (
    SELECT person_id, sample_id, tube_id, sampled_at FROM sample
    WHERE person_id IN ({IDS}) AND sampled_at >= :since AND sampled_at < :day_end
),
r AS (
    SELECT tube_id, "result", ct_value, reported_at,
           row_number() OVER (PARTITION BY tube_id ORDER BY reported_at DESC) AS rn
    FROM tube_result WHERE reported_at < :day_end AND tube_id IN (SELECT tube_id FROM s)
),
m AS (
    SELECT tube_id, count(*) AS members FROM sample
    WHERE tube_id IN (SELECT tube_id FROM s) GROUP BY tube_id
)
SELECT s.person_id, s.sample_id, s.sampled_at, r."result", r.ct_value, r.reported_at, m.members
FROM s JOIN m ON m.tube_id = s.tube_id LEFT JOIN r ON r.tube_id = s.tube_id AND r.rn = 1
ORDER BY s.person_id, s.sampled_at
"""


def person_results(store: Store, day: date, ids: list[int], since: object) -> pl.DataFrame:
    """The samples of `ids` taken from `since` to the end of `day`, each with the latest result
    of its tube reported by then (RESULT_SCHEMA)."""
    params = {"ids": ids, "since": since, "day_end": day_bounds(day)[1]}
    return read(store, _RESULTS_SQL, params, RESULT_SCHEMA)


def positive(ct_below: float | pl.Expr) -> pl.Expr:
    """A positive result at the cut-off (a positive without a Ct value counts)."""
    return (pl.col("result") == "positive") & (
        pl.col("ct_value").is_null() | (pl.col("ct_value") < ct_below)
    )


def negative(ct_at_least: float | pl.Expr) -> pl.Expr:
    """Negative, or a Ct value at or above the cut-off."""
    return (pl.col("ct_value").is_not_null() & (pl.col("ct_value") >= ct_at_least)) | (
        pl.col("ct_value").is_null() & (pl.col("result") == "negative")
    )


# Only the orders a decision of the day can turn on are read: an open episode's admission is
# on or after the day it opened (:since, the earliest open episode's), and a monitoring in force
# ends after the day's start, with the discharge of its run; a person's later orders are later
# still. Older orders (every case of the past) are left unread: the scan is of the latest days.
_CARE_SQL = """
SELECT person_id, order_type, place, detail, run_day, start_at, end_at
FROM engine_order o
WHERE order_type IN ('admit', 'discharge', 'monitor') AND person_id IS NOT NULL
  AND run_day < :day AND {visible}
  AND run_day >= least(CAST(:since AS DATE), (
      SELECT min(run_day) FROM engine_order m
      WHERE m.order_type = 'monitor' AND m.person_id IS NOT NULL AND m.run_day < :day
        AND m.end_at > :day_start AND {visible_m}))
"""
# each person's latest care order of a kind (`TreatmentFacts.care`)
CARE_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "order_type": pl.String(),
    "place": pl.String(),
    "detail": pl.String(),
    "run_day": pl.Date(),
    "start_at": TIME,
    "end_at": TIME,
}

_RANK = {s.value: i for i, s in enumerate(STRICTNESS[CareSetting])}


def _setting(care: Treatment) -> pl.Expr:
    """The care setting for each case's diagnosis and severity (unknown severity: mild)."""
    table = {s.value: care.setting_for(s).value for s in Severity}
    table["asymptomatic"] = care.setting_for(None).value
    key = (
        pl.when(pl.col("diagnosis") == Diagnosis.ASYMPTOMATIC.value)
        .then(pl.lit("asymptomatic"))
        .otherwise(pl.col("severity").fill_null(Severity.MILD.value))
    )
    return key.replace_strict(table, return_dtype=pl.String)


def _admissions(beds: pl.DataFrame, day: date, who: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """`transfer` + `admit` for `who` (person_id, region_code, setting, rule, why), with the
    free `beds` (OCCUPIED_SCHEMA), served in the frame's order."""
    if who.height == 0:
        return empty_orders()
    beds = beds.with_columns((pl.col("capacity") - pl.col("occupied")).alias("free"))
    hospital = pl.col("setting").is_in(
        [FacilityKind.DESIGNATED_HOSPITAL.value, FacilityKind.SHELTER_HOSPITAL.value]
    )
    demand = who.with_row_index("row").with_columns(pl.col("setting").alias("kind"))
    rows = demand.join(allocate(demand.filter(hospital), beds), on="row", how="left").with_columns(
        pl.when(hospital)
        .then(pl.col("facility_id"))
        .when(pl.col("setting") == CareSetting.HOME_ISOLATION.value)
        .then(pl.lit("home"))
        .alias("place"),
        pl.when(hospital & pl.col("facility_id").is_null())
        .then(pl.lit(f"{NO_BED}; ") + pl.col("why"))
        .otherwise(pl.col("why"))
        .alias("reason"),
    )
    if unplaced := rows.filter(hospital & pl.col("place").is_null()).height:
        log.warning("%d cases need a hospital bed and none is free", unplaced)
    start = day_start(day)
    moving = (pl.col("setting") != CareSetting.HOME_ISOLATION.value) & (
        pl.col("place").is_not_null() | ~hospital
    )
    transfer = orders_from(
        rows.filter(moving),
        OrderType.TRANSFER,
        start_at=start,
        place="place",
        detail=pl.lit("closed-loop transfer to ") + pl.col("setting"),
        rule="treatment.transfer",
        policy_id=policy.id,
        reason="reason",
    )
    admit = orders_from(
        rows,
        OrderType.ADMIT,
        start_at=start,
        place="place",
        detail="setting",
        rule=pl.col("rule"),
        policy_id=policy.id,
        reason="reason",
        waiting_for=pl.when(hospital & pl.col("facility_id").is_null()).then(
            pl.lit(Waiting.BED.value)
        ),
    )
    return pl.concat([transfer, admit])


def _discharged(results: pl.DataFrame, admitted: pl.DataFrame, rule: Discharge) -> pl.DataFrame:
    """The admitted people whose results meet the discharge criteria: person_id, `last` (the
    sampling of the chain's last test) and `met_at` (when the criteria were met: the latest
    report of the chain's tests)."""
    first_day = min(rule.release_test_days) if rule.release_test_days else 1
    ok = negative(rule.ct_at_least)
    r = (
        results.join(admitted.select("person_id", "start_at"), on="person_id")
        .filter(
            (pl.col("members") == 1)
            & pl.col("result").is_in(["positive", "negative"])
            & (pl.col("sampled_at") >= pl.col("start_at").dt.offset_by(f"{first_day - 1}d"))
        )
        .with_columns(ok.alias("ok"))
    )
    last_bad = (
        r.filter(~pl.col("ok")).group_by("person_id").agg(pl.col("sampled_at").max().alias("bad"))
    )
    run = (
        r.filter(pl.col("ok"))
        .join(last_bad, on="person_id", how="left")
        .filter(pl.col("bad").is_null() | (pl.col("sampled_at") > pl.col("bad")))
        .select("person_id", "sampled_at", "reported_at")
        .sort("sampled_at", "reported_at")
    )
    gap = timedelta(hours=rule.tests_min_apart_hours)
    chain = run.group_by("person_id").agg(
        pl.col("sampled_at").first().alias("last"), pl.col("reported_at").first().alias("met_at")
    )
    for _ in range(rule.tests - 1):  # one whole-frame step per test the policy asks for
        chain = (
            chain.with_columns((pl.col("last") + gap).alias("due"))
            .sort("due")
            .join_asof(
                run.rename({"sampled_at": "next", "reported_at": "next_reported"}),
                left_on="due",
                right_on="next",
                by="person_id",
                strategy="forward",
                check_sortedness=False,
            )
            .filter(pl.col("next").is_not_null())
            .select(
                "person_id",
                pl.col("next").alias("last"),
                pl.max_horizontal("met_at", "next_reported").alias("met_at"),
            )
        )
    return chain


def _monitoring(day: date, who: pl.DataFrame, policy: Policy, rule: Discharge) -> pl.DataFrame:
    """`discharge` today, `monitor` from tomorrow (its day 1), and its test days."""
    kind = rule.monitoring_kind.value
    home = None if rule.monitoring_kind is QuarantineKind.CENTRALIZED_QUARANTINE else "home"
    start = day_start(day)
    met = pl.format(
        "{} single-tube results Ct >= {} at least {} h apart (the last sampled {})",
        pl.lit(rule.tests),
        pl.lit(rule.ct_at_least),
        pl.lit(rule.tests_min_apart_hours),
        pl.col("last").dt.strftime("%Y-%m-%d %H:%M"),
    )
    # discharged when the criteria were met on the day (not before the evidence: the outcome
    # it derives closes the case episode then, and a report of the same infection made earlier
    # that day is not a new episode), or from the day's start when they were met before it
    discharge = orders_from(
        who,
        OrderType.DISCHARGE,
        start_at=pl.max_horizontal(pl.col("met_at"), pl.lit(start).cast(TIME)),
        place="place",
        detail=pl.lit("discharge criteria met"),
        rule="treatment.discharge",
        policy_id=policy.id,
        reason=met,
    )
    monitor = orders_from(
        who,
        OrderType.MONITOR,
        start_at=start + timedelta(days=1),
        end_at=start + timedelta(days=1 + rule.monitoring_days),
        place=pl.lit(home),
        detail=pl.lit(kind),
        rule="treatment.monitor",
        policy_id=policy.id,
        reason=pl.lit(f"after discharge: {rule.monitoring_days} days of {kind} from the next day"),
    )
    days = pl.DataFrame({"n": list(rule.monitoring_test_days or ())}, schema={"n": pl.Int64})
    on = pl.lit(day) + pl.duration(days=pl.col("n"))
    tests = orders_from(
        who.join(days, how="cross"),
        OrderType.TEST,
        start_at=midnight(on),
        end_at=midnight(on + pl.duration(days=1)),
        place=pl.lit(home),
        detail=pl.format("day {}", "n"),
        rule="treatment.monitor.test",
        policy_id=policy.id,
        reason=pl.format("test day {} of {} after discharge", "n", pl.lit(kind)),
    )
    return pl.concat([discharge, monitor, tests])


def _care(store: Store, day: date, scenario: Scenario, cases: pl.DataFrame) -> pl.DataFrame:
    """Each person's latest admission or discharge, and latest monitoring, before `day`: of the
    people with an open episode of `cases` (`case_state`) and those under monitoring on `day`
    (others may be left out)."""
    since = active_cases(cases).get_column("case_since").dt.date().min()
    orders = read(
        store,
        _CARE_SQL.format(visible=scenario.visible("o"), visible_m=scenario.visible("m")),
        {"day": day, "day_start": day_start(day), "since": since, **scenario.params()},
        CARE_SCHEMA,
    )
    monitor = (pl.col("order_type") == OrderType.MONITOR.value).alias("monitor")
    return (
        orders.sort("run_day", "start_at", "order_type", descending=True, nulls_last=True)
        .group_by("person_id", monitor, maintain_order=True)
        .first()
        .select(*CARE_SCHEMA)
    )


def _admitted(active: pl.DataFrame) -> pl.DataFrame:
    """The active cases (joined to their latest care order) admitted in this episode."""
    return active.filter(
        (pl.col("order_type") == OrderType.ADMIT.value)
        & pl.col("place").is_not_null()
        & (pl.col("run_day") >= pl.col("case_since").dt.date())
    )


# -- the step: a loader and a rule ---------------------------------------------------------------


@dataclass(frozen=True)
class TreatmentFacts(Facts):
    """What the treatment rule reads (`treatment_rule`), one frame per kind:

    - `cases`: each person's latest case episode (CASE_SCHEMA: `case_state`);
    - `care`: each person's latest admission or discharge, and latest monitoring, ordered
      before the day (CARE_SCHEMA: of the people with an open episode and those under
      monitoring on the day; others may be left out);
    - `results`: the samples of the people in care or under monitoring after a discharge, since
      the earliest start of the two, each with its tube's latest result (RESULT_SCHEMA:
      `person_results`);
    - `beds`: every facility with its capacity and the people in it at the start of the day
      (OCCUPIED_SCHEMA: `facility.occupancy`).
    """

    cases: pl.DataFrame
    care: pl.DataFrame
    results: pl.DataFrame
    beds: pl.DataFrame

    SCHEMAS: ClassVar[dict[str, dict[str, pl.DataType]]] = {
        "cases": CASE_SCHEMA,
        "care": CARE_SCHEMA,
        "results": RESULT_SCHEMA,
        "beds": OCCUPIED_SCHEMA,
    }


@dataclass(frozen=True)
class _InCare:
    """The people a decision of the day is about (`_in_care`)."""

    active: pl.DataFrame  # the open episodes, each with its latest admission or discharge
    last: pl.DataFrame  # everyone's latest admission or discharge
    admitted: pl.DataFrame  # the open episodes admitted in this episode
    monitor: pl.DataFrame  # the monitorings in force on the day, after a discharge


def _in_care(cases: pl.DataFrame, care: pl.DataFrame, day: date) -> _InCare:
    """Who is in care and who is under monitoring on `day`: the rule decides on them, and the
    loader reads the results of `admitted` and `monitor` (one definition for both)."""
    start = day_start(day)
    last = care.filter(pl.col("order_type") != OrderType.MONITOR.value)
    active = active_cases(cases).join(last, on="person_id", how="left")
    in_force = (
        (pl.col("order_type") == OrderType.MONITOR.value)
        & (pl.col("start_at") < start + timedelta(days=1))
        & (pl.col("end_at") > start)
    )
    monitor = care.filter(in_force).join(
        last.filter(pl.col("order_type") == OrderType.DISCHARGE.value).select("person_id"),
        on="person_id",
    )
    return _InCare(active, last, _admitted(active), monitor)


def load_treatment_facts(
    store: Store, day: date, policy: Policy, *, scenario: Scenario = LIVE
) -> TreatmentFacts:
    """The facts of the treatment decisions of `day` from the store (`TreatmentFacts`): no
    results or beds under a policy without treatment (class-B management: who is in care is
    all `isolation_lifted` asks) or on a day with nobody in care and nobody under
    monitoring."""
    cases = case_state(store, day, scenario=scenario)
    care = _care(store, day, scenario, cases)
    treats = policy.treatment is not None and policy.discharge is not None
    who = _in_care(cases, care, day) if treats else None  # else who leaves isolation is enough
    if who is None or (who.active.height == 0 and who.monitor.height == 0):
        return TreatmentFacts.of(cases=cases, care=care)
    ids = ids_of(
        pl.concat([who.admitted.get_column("person_id"), who.monitor.get_column("person_id")])
    )
    since = min(
        [*who.admitted.get_column("start_at").to_list(), *who.monitor["start_at"].to_list()],
        default=day_start(day),
    )
    results = person_results(store, day, ids, since) if ids else None
    return TreatmentFacts.of(
        cases=cases,
        care=care,
        # a new case, an escalation or a return from monitoring may need one (in a run, read
        # once with the facilities step's)
        beds=occupancy(store, day, scenario=scenario),
        **({} if results is None else {"results": results}),
    )


def treatment_orders(
    store: Store, day: date, policy: Policy, *, scenario: Scenario = LIVE
) -> pl.DataFrame:
    """Admissions, escalations, discharges with monitoring, and returns to care, for `day`
    (`treatment_rule` over `load_treatment_facts`)."""
    return treatment_rule(load_treatment_facts(store, day, policy, scenario=scenario), day, policy)


def isolation_lifted(facts: TreatmentFacts, day: date, policy: Policy) -> pl.DataFrame:
    """Under a policy that orders no isolation of cases (class-B management), the cases still
    admitted by earlier orders are discharged today: `discharge` (the isolation by order ends;
    the bed is freed). Not a recovery: `run_day` derives no outcome event from these (it
    derives them from `treatment_rule`'s discharges only). Reads no store."""
    if policy.treatment is not None and policy.discharge is not None:
        return empty_orders()
    admitted = _in_care(facts.cases, facts.care, day).admitted
    if admitted.height:
        log.info("%d cases leave isolation: policy %s orders none", admitted.height, policy.id)
    return orders_from(
        admitted,
        OrderType.DISCHARGE,
        start_at=day_start(day),
        place="place",
        detail=pl.lit("isolation by order lifted"),
        rule="treatment.isolation_lifted",
        policy_id=policy.id,
        reason=pl.format(
            "policy {} orders no isolation of cases: leaves {}", pl.lit(policy.id), "detail"
        ),
    )


def treatment_rule(facts: TreatmentFacts, day: date, policy: Policy) -> pl.DataFrame:
    """Admissions, escalations, discharges with monitoring, and returns to care, for `day`,
    from `facts` (the module docstring gives the rules). No orders under a policy without
    treatment (class-B management: no isolation by order). Reads no store."""
    routing, rule = policy.treatment, policy.discharge
    if routing is None or rule is None:
        log.info("policy %s orders no isolation or admission of cases", policy.id)
        return empty_orders()
    cases = (  # first reported, first served when beds are short
        facts.cases.sort("case_since", "person_id").with_columns(_setting(routing).alias("setting"))
    )
    who = _in_care(cases, facts.care, day)
    if who.active.height == 0 and who.monitor.height == 0:
        return empty_orders()  # no case in care, none under monitoring: nothing to decide
    active, admitted, monitor = who.active, who.admitted, who.monitor
    new = active.filter(
        pl.col("order_type").is_null()
        | (pl.col("run_day") < pl.col("case_since").dt.date())
        | ((pl.col("order_type") == OrderType.ADMIT.value) & pl.col("place").is_null())
    )
    stricter = pl.col("setting").replace_strict(_RANK, default=-1) > pl.col(
        "detail"
    ).replace_strict(_RANK, default=-1)
    escalate = admitted.filter(stricter)
    unknown = pl.col("severity").is_null() & (pl.col("diagnosis") == Diagnosis.CONFIRMED.value)
    note = pl.when(unknown).then(pl.lit(" (severity not reported: routed as mild)"))
    why_new = pl.format(
        "new {} case{}: {}", pl.col("diagnosis"), note.otherwise(pl.lit("")), pl.col("setting")
    )
    why_up = pl.format(
        "{} ({}): moved from {} to {}",
        pl.col("diagnosis"),
        pl.col("severity").fill_null("no severity"),
        pl.col("detail"),
        pl.col("setting"),
    )
    # monitoring after discharge: a low Ct sends the person back
    back_ct = rule.monitoring_return_ct_below or policy.testing.positive_ct_below
    results = facts.results
    returning = (
        results.join(monitor.select("person_id", "start_at"), on="person_id")
        .filter(
            (pl.col("members") == 1)
            & (pl.col("sampled_at") >= pl.col("start_at"))
            & positive(back_ct)
        )
        .select("person_id")
        .unique()
        .join(cases, on="person_id")
    )
    calm = ~pl.col("severity").is_in([Severity.SEVERE.value, Severity.CRITICAL.value]).fill_null(
        False
    )
    done = _discharged(results, admitted.filter(calm & ~stricter), rule).join(
        admitted.select("person_id", "place"), on="person_id"
    )
    cols = ["person_id", "region_code", "setting"]
    back = pl.lit(f"monitoring test Ct < {back_ct}: back to care")
    needs = pl.concat(
        [  # served in this order when beds are short: escalations first
            escalate.select(
                *cols, pl.lit("treatment.escalation").alias("rule"), why_up.alias("why")
            ),
            new.select(*cols, pl.lit("treatment.admit").alias("rule"), why_new.alias("why")),
            returning.select(
                *cols, pl.lit("treatment.monitor_return").alias("rule"), back.alias("why")
            ),
        ]
    ).unique("person_id", keep="first", maintain_order=True)
    return check_orders(
        pl.concat(
            [_admissions(facts.beds, day, needs, policy), _monitoring(day, done, policy, rule)]
        )
    )
