"""Border (外防输入 · 闭环管理): inbound travellers and the flight circuit breaker (航班熔断).

**Arrivals of the day** (`arrived_at` on the day, Beijing time) get a closed-loop `transfer` from
the port (start = the arrival; place = the quarantine room that `facility.assign_facilities`
gives, near the port) and the policy's inbound-traveller regime, built by the same code as a
contact's (`quarantine.issue_quarantine`): day 1 is the day after the arrival, the phases and
test days are the policy's, release and conversion are `quarantine`'s. The home phase is at the
destination (`destination_region_code`, else the person's residence). An arrival without a
flight is quarantined all the same; every one of its reasons says `no flight recorded: co-travel
tracing not possible`. A person who arrives twice on one day counts once (the later arrival).

**Circuit breaker**, only while `policy.inbound.circuit_breaker` is set. The unit is one flight
arrival: a flight number (airline code and number, as recorded) on an arrival date. Its positive
passengers are the passengers of that arrival who, within the inbound regime's length after
arriving (its `total_days`: a policy with a circuit breaker must have one), had a positive
single-tube result (Ct below the inbound cut-off) or became a confirmed or asymptomatic case;
a positive counts from when it was reported. A flight arrival whose count reaches the long
threshold on the day (it was below it at the day's start) suspends the route for the long
period; one that reaches the short threshold, for the short period. The `suspend_route` order
has no person, `place` = the flight number, start = 00:00 the next day, end = start + the
suspension's days; one per flight number and day (the longest).

**The reward**: a route (flight number) that, in the `reward_after_zero_positive_days` (21)
before the day (the day's own arrivals are not tested yet), had arrivals in every week (7 days
counted back from the day before) and no positive passenger known by the day's end (counted as
above), and fewer arrivals in the last of those weeks than `reward_max_weekly_flights`, gets a
`reward_route` (place = the flight number, start = 00:00 the next day, no end: the route may add
`reward_extra_weekly_flights` a week up to the cap), once per streak: not if it was rewarded in
those days.

The circuit breaker is a loader and a rule: `load_circuit_facts` reads the flight arrivals of
its window, their results and case episodes, and the routes rewarded (`CircuitFacts`);
`circuit_breaker_rule` reads no store, so a simulator drives it with frames of its own
(`CircuitFacts.of`). The window is one function (`_window`) for both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import ClassVar

import polars as pl

from fangkong.engine.facts import Facts
from fangkong.engine.frames import day_bounds, ids_of, midnight, read
from fangkong.engine.orders import TIME, check_orders, empty_orders, orders_from
from fangkong.engine.quarantine import issue_quarantine
from fangkong.engine.scenario import LIVE, Scenario, Watermarks, watermarks
from fangkong.engine.schedule import CENTRALIZED
from fangkong.engine.state import run_memo
from fangkong.engine.treatment import (
    CASE_SCHEMA,
    RESULT_SCHEMA,
    case_state,
    person_results,
    positive,
)
from fangkong.errors import PolicyError
from fangkong.model.glossary import OrderType
from fangkong.policy.schema import CircuitBreaker, Policy
from fangkong.policy.terms import Population
from fangkong.store import Store

__all__ = [
    "NO_FLIGHT",
    "CircuitFacts",
    "border_orders",
    "circuit_breaker_orders",
    "circuit_breaker_rule",
    "load_circuit_facts",
    "run_arrivals",
]

log = logging.getLogger(__name__)

NO_FLIGHT = "no flight recorded: co-travel tracing not possible"

_ARRIVAL_SCHEMA: dict[str, pl.DataType] = {
    "arrival_id": pl.String(),
    "person_id": pl.Int64(),
    "arrived_at": TIME,
    "port_region_code": pl.String(),
    "flight": pl.String(),
    "destination_region_code": pl.String(),
    "certificate": pl.String(),
}
_ARRIVALS_SQL = (
    "SELECT arrival_id, person_id, arrived_at, port_region_code, flight, destination_region_code,"
    " certificate FROM arrival WHERE arrived_at >= :since AND arrived_at < :until"
)
# the arrivals of a run: those of the day, and earlier ones new to the run (imported late)
_RUN_ARRIVALS_SQL = (
    _ARRIVALS_SQL + " OR (arrived_at < :since AND ((batch_id > :w_prev AND batch_id <= :w_cur)"
    " OR arrived_at >= :fresh_since))"
)


def _arrivals(store: Store, since: object, until: object) -> pl.DataFrame:
    return read(store, _ARRIVALS_SQL, {"since": since, "until": until}, _ARRIVAL_SCHEMA)


def run_arrivals(store: Store, day: date, marks: Watermarks) -> pl.DataFrame:
    """The arrivals a run of `day` takes: those of the day, and earlier ones new to the run
    (imported late), in arrival order (`_ARRIVAL_SCHEMA`). Read once per run of `day` with
    these watermarks (the border step and the certificate checks both take them)."""
    memo = run_memo(store, day)
    key = f"run_arrivals {marks}"
    if memo is not None and key in memo:
        found: pl.DataFrame = memo[key]
        return found
    start, end = day_bounds(day)
    params = {"since": start, "until": end, **marks.params()}
    arrivals = read(store, _RUN_ARRIVALS_SQL, params, _ARRIVAL_SCHEMA).sort(
        "arrived_at", "arrival_id"
    )
    if memo is not None:
        memo[key] = arrivals
    return arrivals


def border_orders(
    store: Store,
    day: date,
    policy: Policy,
    *,
    scenario: Scenario = LIVE,
    marks: Watermarks | None = None,
) -> pl.DataFrame:
    """Transfers and inbound quarantine for the day's arrivals (and earlier ones imported after
    the last run: their quarantine counts from the arrival), and route suspensions."""
    marks = marks or watermarks(store, scenario, day)
    arrivals = run_arrivals(store, day, marks).unique("person_id", keep="last", maintain_order=True)
    suspend = (
        circuit_breaker_orders(
            store, day, policy, policy.inbound.circuit_breaker, scenario=scenario
        )
        if policy.inbound.circuit_breaker is not None
        else empty_orders()
    )
    if arrivals.height == 0:
        return suspend
    if (missing := arrivals.filter(pl.col("flight").is_null()).height) > 0:
        log.info("%d arrivals without a flight: no co-travel tracing for them", missing)
    note = pl.when(pl.col("flight").is_null()).then(pl.lit(f"; {NO_FLIGHT}"))
    people = arrivals.select(
        "person_id",
        pl.lit(Population.INBOUND_TRAVELLER.value).alias("population"),
        pl.col("arrived_at").alias("exposed_at"),
        pl.col("destination_region_code").alias("address"),
        pl.lit("border.inbound_traveller").alias("rule"),
        note.alias("note"),
        pl.lit(False).alias("transfer"),
    )
    quarantine = issue_quarantine(store, day, policy, people, scenario=scenario)
    if quarantine.height == 0 and policy.regime(Population.INBOUND_TRAVELLER) is None:
        log.info("policy %s has no inbound regime: %d arrivals", policy.id, arrivals.height)
    first = (
        quarantine.filter(pl.col("order_type").is_in(["quarantine", "extend"]))
        .sort("start_at")
        .unique("person_id", keep="first")
        .select("person_id", "detail", pl.col("place").alias("phase_place"))
    )
    transfer = orders_from(
        arrivals.join(first, on="person_id"),
        OrderType.TRANSFER,
        start_at="arrived_at",
        place=pl.when(pl.col("detail") == CENTRALIZED).then(None).otherwise("phase_place"),
        detail=pl.format("closed-loop transfer from port {} to {}", "port_region_code", "detail"),
        rule="border.closed_loop_transfer",
        policy_id=policy.id,
        reason=pl.format("inbound traveller from {}", "port_region_code")
        + note.otherwise(pl.lit("")),
    )
    return check_orders(pl.concat([transfer, quarantine, suspend]))


@dataclass(frozen=True)
class CircuitFacts(Facts):
    """What the circuit breaker reads (`circuit_breaker_rule`), one frame per kind:

    - `arrivals`: the flight arrivals of the window the breaker looks back over (the inbound
      regime's days, or the reward's streak if longer) up to the end of the day;
    - `results`: their samples since the earliest of them, each with its tube's latest result
      (RESULT_SCHEMA: `treatment.person_results`);
    - `cases`: their latest case episodes (CASE_SCHEMA);
    - `rewarded`: the routes rewarded (`flight`) by the runs (`run_day`) of the reward's days
      before the day (one reward a streak).
    """

    arrivals: pl.DataFrame
    results: pl.DataFrame
    cases: pl.DataFrame
    rewarded: pl.DataFrame

    SCHEMAS: ClassVar[dict[str, dict[str, pl.DataType]]] = {
        "arrivals": _ARRIVAL_SCHEMA,
        "results": RESULT_SCHEMA,
        "cases": CASE_SCHEMA,
        "rewarded": {"flight": pl.String(), "run_day": pl.Date()},
    }


def _window(day: date, policy: Policy, breaker: CircuitBreaker) -> tuple[timedelta, datetime]:
    """How long after an arrival a positive passenger counts (the inbound regime's days), and
    the earliest arrival the breaker reads (that window, or the reward's streak if longer)."""
    regime = policy.regime(Population.INBOUND_TRAVELLER)
    if regime is None:  # refused when the policy is loaded (`Policy` validation)
        raise PolicyError(f"{policy.id}: a circuit breaker without an inbound regime")
    window = timedelta(days=regime.total_days)
    streak = timedelta(days=breaker.reward_after_zero_positive_days)
    return window, day_bounds(day)[0] - max(window, streak - timedelta(days=1))


def _streak(day: date, breaker: CircuitBreaker) -> tuple[date, date]:
    """The first and last days of the reward's streak before `day`: they end the day before
    (the arrivals of the day are not yet tested). A route rewarded by a run from the first day
    on is not rewarded again (the loader reads those runs' rewards, the rule keeps them)."""
    return day - timedelta(days=breaker.reward_after_zero_positive_days), day - timedelta(days=1)


def load_circuit_facts(
    store: Store, day: date, policy: Policy, breaker: CircuitBreaker, *, scenario: Scenario = LIVE
) -> CircuitFacts:
    """The facts of the circuit breaker's decisions of `day` from the store (`CircuitFacts`)."""
    _, since = _window(day, policy, breaker)
    flown = _arrivals(store, since, day_bounds(day)[1]).filter(pl.col("flight").is_not_null())
    if flown.height == 0:
        return CircuitFacts.of()
    ids = ids_of(flown.get_column("person_id"))
    first, _ = _streak(day, breaker)
    return CircuitFacts.of(
        arrivals=flown,
        results=person_results(store, day, ids, flown.get_column("arrived_at").min()),
        cases=case_state(store, day, ids, scenario=scenario),
        rewarded=read(
            store,
            "SELECT DISTINCT place AS flight, run_day FROM engine_order o"
            " WHERE order_type = 'reward_route' AND run_day >= :first AND run_day < :day"
            f" AND {scenario.visible('o')}",
            {"first": first, "day": day, **scenario.params()},
            {"flight": pl.String(), "run_day": pl.Date()},
        ),
    )


def circuit_breaker_orders(
    store: Store,
    day: date,
    policy: Policy,
    breaker: CircuitBreaker,
    *,
    scenario: Scenario = LIVE,
) -> pl.DataFrame:
    """`suspend_route` and `reward_route` of `day` (`circuit_breaker_rule` over
    `load_circuit_facts`)."""
    facts = load_circuit_facts(store, day, policy, breaker, scenario=scenario)
    return circuit_breaker_rule(facts, day, policy, breaker)


def circuit_breaker_rule(
    facts: CircuitFacts, day: date, policy: Policy, breaker: CircuitBreaker
) -> pl.DataFrame:
    """`suspend_route` for the flight arrivals whose positive passengers reach a threshold on
    `day`, and `reward_route` for the routes with no positive passenger for the reward's weeks
    (see the module docstring for the counting), from `facts`. Reads no store."""
    window, since = _window(day, policy, breaker)
    flown = facts.arrivals.filter(
        pl.col("flight").is_not_null()
        & (pl.col("arrived_at") >= since)
        & (pl.col("arrived_at") < day_bounds(day)[1])
    )
    if flown.height == 0:
        return empty_orders()
    cut = policy.testing.inbound_positive_ct_below
    tests = facts.results.filter((pl.col("members") == 1) & positive(cut)).select(
        "person_id", pl.col("sampled_at").alias("at"), pl.col("reported_at").alias("known")
    )
    cases = facts.cases.select(
        "person_id", pl.col("case_since").alias("at"), pl.col("case_since").alias("known")
    )
    # each positive passenger of a flight arrival, when it was known
    positives = (
        flown.join(pl.concat([tests, cases]), on="person_id")
        .filter(
            (pl.col("at") >= pl.col("arrived_at")) & (pl.col("at") < pl.col("arrived_at") + window)
        )
        .group_by("flight", pl.col("arrived_at").dt.date().alias("flown_on"), "person_id")
        .agg(pl.col("known").min())
    )
    return check_orders(
        pl.concat(
            [
                _suspensions(positives, day, policy, breaker),
                _rewards(flown, positives, facts.rewarded, day, policy, breaker),
            ]
        )
    )


def _suspensions(
    positives: pl.DataFrame, day: date, policy: Policy, breaker: CircuitBreaker
) -> pl.DataFrame:
    """`suspend_route` for the flight arrivals whose count of `positives` reaches a threshold on
    `day` (it was below it at the day's start): the longest suspension reached."""
    start, end = day_bounds(day)
    counts = positives.group_by("flight", "flown_on").agg(
        (pl.col("known") < end).sum().alias("now"),
        (pl.col("known") < start).sum().alias("before"),
    )
    levels = pl.DataFrame(
        {
            "level": ["long", "short"],
            "threshold": [
                breaker.long_suspension_min_positives,
                breaker.short_suspension_min_positives,
            ],
            "days": [breaker.long_suspension_days, breaker.short_suspension_days],
        }
    )
    hits = (
        counts.join(levels, how="cross")
        .filter((pl.col("now") >= pl.col("threshold")) & (pl.col("before") < pl.col("threshold")))
        .sort("days", descending=True)
        .unique("flight", keep="first")
        .sort("flight")
    )
    if hits.height:
        log.info("circuit breaker: %d routes suspended", hits.height)
    first = pl.lit(day + timedelta(days=1))
    return orders_from(
        hits.with_columns(pl.lit(None, pl.Int64).alias("person_id")),
        OrderType.SUSPEND_ROUTE,
        start_at=midnight(first),
        end_at=midnight(first + pl.duration(days=pl.col("days"))),
        place="flight",
        detail=pl.format("{} positive passengers", "now"),
        rule=pl.lit("border.circuit_breaker.") + pl.col("level"),
        policy_id=policy.id,
        reason=pl.format(
            "{} positive passengers on flight {} arriving {} (threshold {}): route"
            " suspended {} days",
            "now",
            "flight",
            "flown_on",
            "threshold",
            "days",
        ),
    )


def _rewards(
    flown: pl.DataFrame,
    positives: pl.DataFrame,
    rewarded: pl.DataFrame,
    day: date,
    policy: Policy,
    breaker: CircuitBreaker,
) -> pl.DataFrame:
    """`reward_route` for each route (flight number) that, in the reward's days before `day`,
    flew in every week of them and had no positive passenger known by the day's end, flew fewer
    arrivals in the last week than the reward's cap, and was not rewarded in those days
    (`rewarded`: one reward per streak)."""
    days = breaker.reward_after_zero_positive_days
    first, last = _streak(day, breaker)
    weeks = max(1, days // 7)
    recent = flown.with_columns(pl.col("arrived_at").dt.date().alias("flown_on")).filter(
        pl.col("flown_on").is_between(first, last)
    )
    _, end = day_bounds(day)
    positive_routes = positives.filter(
        pl.col("flown_on").is_between(first, last) & (pl.col("known") < end)
    ).select("flight")
    week = ((pl.lit(last) - pl.col("flown_on")).dt.total_days() // 7).alias("week")
    routes = (
        recent.select("flight", "flown_on")
        .unique()
        .with_columns(week)
        .group_by("flight")
        .agg(
            pl.col("week").filter(pl.col("week") < weeks).n_unique().alias("weeks_flown"),
            (pl.col("week") == 0).sum().alias("last_week"),
        )
        .filter(
            (pl.col("weeks_flown") == weeks)
            & (pl.col("last_week") < breaker.reward_max_weekly_flights)
        )
        .join(positive_routes.unique(), on="flight", how="anti")
    )
    if routes.height == 0:
        return empty_orders()
    once = rewarded.filter(pl.col("run_day").is_between(first, day, closed="left"))
    routes = routes.join(once.select("flight"), on="flight", how="anti").sort("flight")
    if routes.height:
        log.info("circuit breaker: %d routes rewarded", routes.height)
    return orders_from(
        routes.with_columns(pl.lit(None, pl.Int64).alias("person_id")),
        OrderType.REWARD_ROUTE,
        start_at=midnight(pl.lit(day + timedelta(days=1))),
        place="flight",
        detail=pl.lit(
            f"{breaker.reward_extra_weekly_flights} more weekly flight(s),"
            f" at most {breaker.reward_max_weekly_flights}"
        ),
        rule="border.circuit_breaker.reward",
        policy_id=policy.id,
        reason=pl.format(
            "no positive passenger on flight {} in the {} days to {}, with arrivals every week:"
            " the route may fly more",
            "flight",
            pl.lit(days),
            pl.lit(last.isoformat()),
        ),
    )
