"""Quarantine (早隔离 · 应隔尽隔 · 隔离转运): orders for contacts, release, conversion to a case.

**Counting days.** Day 1 of a regime is the calendar day (Beijing time) *after* the last exposure
— for an inbound traveller, after the arrival; the exposure day itself is day 0 and does not
count. Phases follow one another: under 7 + 3, centralized days 1-7, then home days 8-10 (the
home phase's own day 1 is day 8). A phase's `end_at` is 00:00 after its last day. Orders never
start before the day they are issued: the first phase still running starts at 00:00 of the run
day (a contact found on the day of exposure is held from that day, day 0); phases already over
when the contact is found are not ordered, and a contact whose whole period is over gets none.

**Orders for a contact**: `quarantine`, one per phase (detail = the QuarantineKind; place =
`home` for phases at home, null for centralized phases until `facility.assign_facilities` gives
a room); `test`, one per test day of each phase (detail `day N` of the phase; a test day already
past when the contact is found becomes one catch-up test on the run day); `transfer` (closed-loop
transfer, 隔离转运) when the first phase is centralized. A contact with no address (no person
record, or none with a region) still gets all of these, with place null and the reason starting
`no address: locate`; no room is reserved until they are found.

**Who**: close and secondary contacts (`quarantine_orders`, from tracing), people who left a
high- or medium-risk area (`departure_quarantine_orders`), inbound travellers
(`fangkong.engine.border`), each under the policy's regime for their population; nobody whose
population the policy does not manage (e.g. secondary contacts under the twenty measures), no
active case (treatment's), and no contact who arrives from abroad on the run day while the policy
has an inbound regime (the border quarantines them from the arrival, no earlier than any exposure).

**Extension**: a contact already in an open quarantine with a newer exposure gets the whole
regime again from the new exposure, as `extend` rows (one per phase, with their own test days,
which replace the earlier schedule's from the run day on), when the new regime's
`extension_on_new_exposure` is `restart` and the new period ends later; a secondary contact who
becomes a close contact gets the close-contact regime whatever the extension rule says. An
extended centralized phase keeps the person's room.

**Release** (`release_and_conversion_orders`): each phase is released on its last day (the
`release` starts at the phase's end) when every test day of the phase is satisfied: a negative
result (or Ct at or above the positive cut-off) of a sample taken on that day, or of a make-up
sample taken on or after the phase's last day. A missing result holds the release: the person
stays under quarantine (and in their room) and, unless a sample is awaiting its result or a test
is already ordered for the day, gets a make-up `test` on the run day; the release comes on the
first day the results are in. **Conversion**: a person under quarantine with a case report
(confirmed or asymptomatic) or a positive single-tube result (a tube holding only their sample;
Ct below the cut-off, the inbound one for inbound travellers) reported since the quarantine began
gets `convert`, which ends the quarantine; positive pooled tubes are the testing step's
(temporary control and single-tube retests).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import polars as pl

from fangkong.engine.facility import (
    CENTRALIZED,
    NO_ADDRESS,
    day_start,
    ids_of,
    midnight,
    open_schedules,
    orders_from,
    placements,
    read,
)
from fangkong.engine.orders import TIME, check_contacts, check_orders, empty_orders
from fangkong.engine.treatment import active_cases, case_state, negative, person_results, positive
from fangkong.model.glossary import ContactTier, OrderType
from fangkong.policy.schema import Policy
from fangkong.policy.terms import ExtensionRule, Population, RiskLevel
from fangkong.store import Store

__all__ = [
    "DEPARTURE_SCHEMA",
    "PEOPLE_SCHEMA",
    "departure_quarantine_orders",
    "issue_quarantine",
    "phase_table",
    "quarantine_orders",
    "release_and_conversion_orders",
    "schedule_orders",
]

log = logging.getLogger(__name__)

PEOPLE_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "population": pl.String(),  # Population
    "exposed_at": TIME,  # the last exposure (an arrival: its time); null = the run day
    "address": pl.String(),  # a region code where the person stays; null: look it up
    "rule": pl.String(),  # e.g. quarantine.close_contact
    "note": pl.String(),  # appended to every reason (e.g. no flight recorded)
    "transfer": pl.Boolean(),  # order a closed-loop transfer to a centralized first phase
}

DEPARTURE_SCHEMA: dict[str, pl.DataType] = {
    "person_id": pl.Int64(),
    "left_at": TIME,  # when the person left the area
    "risk_level": pl.String(),  # RiskLevel of the area they left: high | medium
}

_IDS = "SELECT unnest(CAST(:ids AS BIGINT[]))"
_PHASE_SCHEMA: dict[str, pl.DataType] = {
    "population": pl.String(),
    "phase": pl.Int64(),
    "kind": pl.String(),
    "days": pl.Int64(),
    "offset": pl.Int64(),
    "test_days": pl.List(pl.Int64()),
    "restart": pl.Boolean(),
}


def phase_table(policy: Policy) -> pl.DataFrame:
    """The phases of every population the policy manages: population, phase, kind, days, offset
    (days before the phase within the regime), test_days, restart."""
    rows = []
    for population in Population:  # the policy's handful of regimes, not people
        regime = policy.regime(population)
        if regime is None:
            continue
        restart = regime.extension_on_new_exposure is ExtensionRule.RESTART
        offset = 0
        for i, phase in enumerate(regime.phases()):
            test_days = list(phase.test_days)
            rows.append(
                (population.value, i, phase.kind.value, phase.days, offset, test_days, restart)
            )
            offset += phase.days
    return pl.DataFrame(rows, schema=_PHASE_SCHEMA, orient="row")


def _plus(date_expr: pl.Expr, days: pl.Expr | int) -> pl.Expr:
    return date_expr + pl.duration(days=days)


def schedule_orders(
    people: pl.DataFrame, day: date, policy: Policy, order_type: OrderType = OrderType.QUARANTINE
) -> pl.DataFrame:
    """The phase, test and transfer orders of `people` (PEOPLE_SCHEMA with `address` filled,
    plus `room`: a facility to keep) counted from their exposure (see the module docstring)."""
    today = pl.lit(day)
    p = (
        people.join(phase_table(policy), on="population")
        .with_columns(_plus(pl.col("exposed_at").dt.date().fill_null(day), 1).alias("day1"))
        .with_columns(_plus(pl.col("day1"), pl.col("offset")).alias("first"))
        .with_columns(_plus(pl.col("first"), pl.col("days") - 1).alias("last"))
        .filter(pl.col("last") >= today)
        .with_columns((pl.col("phase") == pl.col("phase").min().over("person_id")).alias("running"))
    )
    # a contact (to be fetched) with no address must be found first; an inbound traveller is
    # at the port already: only their phases at home lack an address
    unknown = pl.col("address").is_null() & ((pl.col("kind") != CENTRALIZED) | pl.col("transfer"))
    arrived = pl.col("population") == Population.INBOUND_TRAVELLER.value
    p = p.with_columns(
        pl.when(pl.col("running")).then(today).otherwise(pl.col("first")).alias("start"),
        pl.when(pl.col("kind") == CENTRALIZED)
        .then(pl.col("room"))
        .when(pl.col("address").is_not_null())
        .then(pl.lit("home"))
        .alias("place"),
        pl.when(unknown).then(pl.lit(f"{NO_ADDRESS}; ")).otherwise(pl.lit("")).alias("lead"),
        pl.col("note").fill_null(""),
    ).with_columns(
        pl.format(
            "{}{} ({} {}): {} days of {}, regime day 1 = {}{}",
            "lead",
            pl.col("population").str.replace_all("_", " "),
            pl.when(arrived).then(pl.lit("arrived")).otherwise(pl.lit("last exposure")),
            pl.col("exposed_at").dt.strftime("%Y-%m-%d %H:%M").fill_null("not recorded"),
            "days",
            "kind",
            "day1",
            "note",
        ).alias("reason")
    )
    suffix = ".extension" if order_type is OrderType.EXTEND else ""
    phases = orders_from(
        p,
        order_type,
        start_at=midnight(pl.col("start")),
        end_at=midnight(_plus(pl.col("last"), 1)),
        place="place",
        detail="kind",
        rule=pl.col("rule") + suffix,
        policy_id=policy.id,
        reason="reason",
    )
    tests = (
        p.explode("test_days")
        .filter(pl.col("test_days").is_not_null())
        .with_columns(
            _plus(pl.col("first"), pl.col("test_days") - 1).alias("on"), pl.lit("").alias("tag")
        )
    )
    # test days already past when the person is found: one catch-up test today instead
    late = tests.filter(pl.col("on") < today).select("person_id", "phase").unique()
    catch_up = (
        p.join(late, on=["person_id", "phase"])
        .join(tests.filter(pl.col("on") == today), on=["person_id", "phase"], how="anti")
        .with_columns(
            today.alias("on"),
            ((today - pl.col("first")).dt.total_days() + 1).alias("test_days"),
            pl.lit(" (catch-up)").alias("tag"),
        )
    )
    tests = pl.concat([tests.filter(pl.col("on") >= today), catch_up.select(tests.columns)])
    test_rows = orders_from(
        tests,
        OrderType.TEST,
        start_at=midnight(pl.col("on")),
        end_at=midnight(_plus(pl.col("on"), 1)),
        place="place",
        detail=pl.format("day {}{}", "test_days", "tag"),
        rule=pl.col("rule") + ".test",
        policy_id=policy.id,
        reason=pl.format("{}test day {} of {}{}", "lead", "test_days", "kind", "note"),
    )
    moving = pl.col("running") & (pl.col("kind") == CENTRALIZED) & pl.col("transfer")
    transfer = orders_from(
        p.filter(moving & pl.col("room").is_null()),
        OrderType.TRANSFER,
        start_at=midnight(pl.col("start")),
        detail=pl.lit(f"closed-loop transfer to {CENTRALIZED}"),
        rule=pl.col("rule") + ".transfer",
        policy_id=policy.id,
        reason="reason",
    )
    return pl.concat([phases, test_rows, transfer])


def _stored_tests(store: Store, day: date, ids: list[int], since: object) -> pl.DataFrame:
    return read(
        store,
        f"SELECT person_id, run_day, start_at, detail FROM engine_order WHERE order_type = 'test'"
        f" AND run_day < :day AND start_at >= :since AND person_id IN ({_IDS})",
        {"day": day, "since": since, "ids": ids},
        {"person_id": pl.Int64(), "run_day": pl.Date(), "start_at": TIME, "detail": pl.String()},
    )


def issue_quarantine(store: Store, day: date, policy: Policy, people: pl.DataFrame) -> pl.DataFrame:
    """Quarantine orders for `people` (PEOPLE_SCHEMA): new schedules for those not in an open
    quarantine, extensions for those who are; active cases and populations the policy does not
    quarantine get none (logged as counts). The one implementation behind contacts, people who
    left a risk area and inbound travellers."""
    people = people.select(pl.col(c).cast(t) for c, t in PEOPLE_SCHEMA.items())
    phases = phase_table(policy)
    managed = pl.col("population").is_in(phases.get_column("population").unique().implode())
    if (unmanaged := people.filter(~managed).height) > 0:
        log.info("%d people of populations policy %s does not quarantine", unmanaged, policy.id)
    people = people.filter(managed)
    if people.height == 0:
        return empty_orders()
    ids = ids_of(people.get_column("person_id"))
    cases = active_cases(case_state(store, day, ids)).select("person_id")
    if cases.height:
        log.info("%d people to quarantine are cases already: treatment's", cases.height)
    home = read(
        store,
        f"SELECT person_id, region_code FROM person WHERE person_id IN ({_IDS})",
        {"ids": ids},
        {"person_id": pl.Int64(), "region_code": pl.String()},
    )
    people = (
        people.join(cases, on="person_id", how="anti")
        .join(home, on="person_id", how="left")
        .with_columns(
            pl.coalesce("address", "region_code").alias("address"),
            pl.lit(None, pl.String).alias("room"),
        )
        .drop("region_code")
    )
    current = (
        open_schedules(store, day, ids)
        .group_by("person_id")
        .agg(
            pl.col("end_at").max().alias("current_end"),
            pl.col("rule").str.starts_with("quarantine.secondary_contact").any().alias("secondary"),
        )
    )
    new = schedule_orders(people.join(current, on="person_id", how="anti"), day, policy)
    if (over := people.height - current.height - new.get_column("person_id").n_unique()) > 0:
        log.info("%d people found after their whole quarantine period: no orders", over)
    rooms = placements(store, day).filter(pl.col("order_type") != OrderType.ADMIT.value)
    again = (
        people.drop("room")
        .join(current, on="person_id")
        .join(rooms.select("person_id", pl.col("place").alias("room")), on="person_id", how="left")
    )
    if again.height == 0:
        return check_orders(new)
    ext = schedule_orders(again, day, policy, OrderType.EXTEND)
    longer = (
        ext.filter(pl.col("order_type") == OrderType.EXTEND.value)
        .group_by("person_id")
        .agg(pl.col("end_at").max().alias("new_end"))
        .join(
            again.join(phases.select("population", "restart").unique(), on="population"),
            on="person_id",
        )
        .filter(
            (pl.col("restart") & (pl.col("new_end") > pl.col("current_end")))
            | (pl.col("secondary") & (pl.col("population") == Population.CLOSE_CONTACT.value))
        )
    )
    ext = ext.join(longer.select("person_id"), on="person_id").with_columns(
        (pl.lit("new exposure, the count restarts: ") + pl.col("reason")).alias("reason")
    )
    return check_orders(pl.concat([new, ext]))


def _people(
    store: Store, day: date, policy: Policy, frame: pl.DataFrame, population: pl.Expr, exposed: str
) -> pl.DataFrame:
    """PEOPLE_SCHEMA rows, without those who arrive from abroad today while the policy has an
    inbound regime: `border_orders` quarantines them today from the arrival, which is no earlier
    than any exposure of theirs (two schedules of one day would be one muddled schedule)."""
    people = frame.select(
        "person_id",
        population.alias("population"),
        pl.col(exposed).alias("exposed_at"),
        pl.lit(None, pl.String).alias("address"),
        (pl.lit("quarantine.") + population).alias("rule"),
        pl.lit(None, pl.String).alias("note"),
        pl.lit(True).alias("transfer"),
    )
    if policy.regime(Population.INBOUND_TRAVELLER) is None or people.height == 0:
        return people
    start = day_start(day)
    arriving = read(
        store,
        "SELECT DISTINCT person_id FROM arrival WHERE arrived_at >= :start AND arrived_at < :end"
        f" AND person_id IN ({_IDS})",
        {"start": start, "end": start + timedelta(days=1), "ids": ids_of(people["person_id"])},
        {"person_id": pl.Int64()},
    )
    if arriving.height:
        log.info("%d people arrive from abroad today: the inbound regime's", arriving.height)
    return people.join(arriving, on="person_id", how="anti")


def quarantine_orders(
    store: Store, day: date, policy: Policy, contacts: pl.DataFrame
) -> pl.DataFrame:
    """Orders for the day's traced contacts (CONTACT_SCHEMA): close contacts under the policy's
    close-contact regime, secondary contacts under its secondary-contact regime (none when the
    policy does not manage them). A person traced several times counts once: as a close contact
    if they are one, from their latest exposure of that tier; an unknown exposure counts as the
    run day."""
    close = pl.col("tier") == ContactTier.CLOSE.value
    population = (
        pl.when(close)
        .then(pl.lit(Population.CLOSE_CONTACT.value))
        .otherwise(pl.lit(Population.SECONDARY_CONTACT.value))
    )
    people = (
        check_contacts(contacts)
        .sort(close, "exposed_at", descending=True, nulls_last=True)
        .unique("contact_person_id", keep="first", maintain_order=True)
        .rename({"contact_person_id": "person_id"})
    )
    return issue_quarantine(
        store, day, policy, _people(store, day, policy, people, population, "exposed_at")
    )


def departure_quarantine_orders(
    store: Store, day: date, policy: Policy, departures: pl.DataFrame
) -> pl.DataFrame:
    """Orders for people who left a high- or medium-risk area (DEPARTURE_SCHEMA, found by zoning
    or declared), under the policy's regime for them (none where the policy has none), counted
    from the departure."""
    high = pl.col("risk_level") == RiskLevel.HIGH.value
    population = (
        pl.when(high)
        .then(pl.lit(Population.LEFT_HIGH_RISK_AREA.value))
        .otherwise(pl.lit(Population.LEFT_MEDIUM_RISK_AREA.value))
    )
    people = (
        departures.select(pl.col(c).cast(t) for c, t in DEPARTURE_SCHEMA.items())
        .filter(pl.col("risk_level").is_in([RiskLevel.HIGH.value, RiskLevel.MEDIUM.value]))
        .sort(high, "left_at", descending=True, nulls_last=True)
        .unique("person_id", keep="first", maintain_order=True)
    )
    return issue_quarantine(
        store, day, policy, _people(store, day, policy, people, population, "left_at")
    )


def _conversions(
    store: Store, day: date, policy: Policy, began: pl.DataFrame, results: pl.DataFrame
) -> pl.DataFrame:
    """`convert` for people under quarantine who are cases or have a positive single tube."""
    ids = ids_of(began.get_column("person_id"))
    by_case = active_cases(case_state(store, day, ids)).select(
        "person_id", pl.col("case_since").alias("at"), pl.lit("case report").alias("what")
    )
    by_test = (
        results.join(began, on="person_id")
        .filter(
            (pl.col("members") == 1)
            & (pl.col("reported_at") >= pl.col("began"))
            & positive(pl.col("cut"))
        )
        .select(
            "person_id",
            pl.col("reported_at").alias("at"),
            pl.format("positive single-tube result, Ct {}", pl.col("ct_value").fill_null(-1))
            .str.replace("Ct -1.0", "no Ct", literal=True)
            .alias("what"),
        )
    )
    evidence = (
        pl.concat([by_case, by_test])
        .sort("at")
        .unique("person_id", keep="first")
        .join(began, on="person_id")
    )
    return orders_from(
        evidence,
        OrderType.CONVERT,
        start_at=pl.max_horizontal("at", "began"),
        detail="what",
        rule="quarantine.convert",
        policy_id=policy.id,
        reason=pl.format("positive under quarantine ({}): the quarantine ends", "what"),
    )


def _test_days(
    store: Store, day: date, phases: pl.DataFrame, results: pl.DataFrame, since: object
) -> pl.DataFrame:
    """Per ended phase (person_id, detail): `gaps`, its test days with no negative result (null
    when none), `gap_from`, the first of them, and `late`, those covered by a later test."""
    neg = results.filter(
        pl.col("result").is_in(["negative", "positive"]) & negative(pl.col("cut"))
    ).select("person_id", "sampled_at", pl.col("sampled_at").dt.date().alias("d"))
    tests = (
        _stored_tests(store, day, ids_of(phases.get_column("person_id")), since)
        .join(
            phases.select("person_id", "run_day", "detail", "start_at", "end_at", "last_start"),
            on="person_id",
            suffix="_phase",
        )
        .filter(  # the tests of this schedule (an extension's replace those before it)
            (pl.col("start_at") >= pl.col("start_at_phase"))
            & (pl.col("start_at") < pl.col("end_at"))
            & (pl.col("run_day") >= pl.col("run_day_phase"))
        )
        .rename({"detail": "test", "detail_phase": "detail"})
    )
    on_time = pl.col("d") == pl.col("start_at").dt.date()
    met = tests.join(neg, on="person_id").filter(
        on_time | (pl.col("sampled_at") >= pl.col("last_start"))
    )
    key = ["person_id", "start_at"]

    def unmet(rows: pl.DataFrame, name: str) -> pl.DataFrame:
        return (
            tests.join(rows.select(key).unique(), on=key, how="anti")
            .group_by("person_id", "detail")
            .agg(
                pl.col("test").sort().str.join(", ").alias(name),
                pl.col("start_at").min().alias(f"{name}_from"),
            )
        )

    return unmet(met, "gaps").join(
        unmet(met.filter(on_time), "late"), on=["person_id", "detail"], how="full", coalesce=True
    )


def release_and_conversion_orders(store: Store, day: date, policy: Policy) -> pl.DataFrame:
    """`convert` for people under quarantine found positive; `release` of each phase whose last
    day has come and whose test days all have a negative result; a make-up `test` where a
    result is missing (the release waits for it). See the module docstring."""
    sched = open_schedules(store, day)
    if sched.height == 0:
        return empty_orders()
    start = day_start(day)
    ids = ids_of(sched.get_column("person_id"))
    inbound = pl.col("rule").str.starts_with("border.").any()
    began = sched.group_by("person_id").agg(
        pl.col("start_at").min().alias("began"),
        pl.when(inbound)
        .then(policy.testing.inbound_positive_ct_below)
        .otherwise(policy.testing.positive_ct_below)
        .cast(pl.Float64)
        .alias("cut"),
    )
    since = began.get_column("began").min()
    results = person_results(store, day, ids, since).join(began, on="person_id")
    converts = _conversions(store, day, policy, began, results)
    phases = (
        sched.join(converts.select("person_id"), on="person_id", how="anti")
        .sort("person_id", "start_at")
        .with_columns(pl.col("detail").shift(-1).over("person_id").alias("next"))
        .filter(~pl.col("released") & (pl.col("end_at") <= start + timedelta(days=1)))
        .with_columns(pl.col("end_at").dt.offset_by("-1d").alias("last_start"))
    )
    gaps = _test_days(store, day, phases, results, since)
    phases = (
        phases.join(gaps, on=["person_id", "detail"], how="left")
        .sort("person_id", "start_at")
        .with_columns(pl.col("gaps").is_null().cast(pl.Int8).alias("ok"))
        .with_columns((pl.col("ok").cum_min().over("person_id") == 1).alias("go"))
    )
    release = orders_from(
        phases.filter(pl.col("go")),
        OrderType.RELEASE,
        start_at=pl.max_horizontal("end_at", pl.lit(start).cast(TIME)),
        place="place",
        detail="detail",
        rule="quarantine.release",
        policy_id=policy.id,
        reason=pl.format("{} over, its tests negative; ", "detail")
        + pl.when(pl.col("next").is_null())
        .then(pl.lit("quarantine ends"))
        .otherwise(pl.lit("next: ") + pl.col("next"))
        + pl.when(pl.col("late").is_not_null())
        .then(pl.format(" ({} not taken on the day: covered by a later test)", "late"))
        .otherwise(pl.lit("")),
    )
    held = phases.filter(~pl.col("go")).unique("person_id", keep="first", maintain_order=True)
    awaited = (
        results.filter(pl.col("result").is_null())
        .join(held.select("person_id", "gaps_from"), on="person_id")
        .filter(pl.col("sampled_at") >= pl.col("gaps_from"))
    )
    today = _stored_tests(store, day, ids_of(held.get_column("person_id")), start).filter(
        pl.col("start_at") == start
    )
    makeup = orders_from(
        held.join(awaited.select("person_id"), on="person_id", how="anti").join(
            today.select("person_id"), on="person_id", how="anti"
        ),
        OrderType.TEST,
        start_at=start,
        end_at=start + timedelta(days=1),
        place="place",
        detail=pl.format("make-up for {}", "gaps"),
        rule="quarantine.release_held",
        policy_id=policy.id,
        reason=pl.format(
            "release of {} held: no negative result for {}; a make-up test counts for them",
            "detail",
            "gaps",
        ),
    )
    if held.height:
        log.info("%d releases held for missing test results", held.height)
    return check_orders(pl.concat([converts, release, makeup]))
