"""The state the engine keeps between days (`engine_episode`, `fangkong.engine.episode`): after
any sequence of runs it is what the case events give when derived whole, a rerun restores the
day before, a what-if keeps to its own rows, and a store whose earlier runs kept no state gets
it derived whole. Every test runs `run_day` on both backends."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from fangkong.engine.day import run_day
from fangkong.engine.episode import EPISODE_COLUMNS, episode_ctes
from fangkong.engine.frames import day_bounds
from fangkong.engine.scenario import LIVE, Scenario, open_scenario, watermarks
from fangkong.engine.state import kept_run, kept_state, note_watermarks
from fangkong.policy import load_policy
from fangkong.store import Store

from .test_tracing import Events

NINTH = "cn-2022-06-28"
WHATIF = "whatif-2022-06-28-close-contacts-5-3"
DAYS = [date(2022, 7, 10) + timedelta(days=k) for k in range(6)]
_COLS = ", ".join(EPISODE_COLUMNS)


def _derived(store: Store, day: date, scenario: Scenario = LIVE) -> pl.DataFrame:
    """The episodes as of the end of `day`, derived from every case event."""
    sql = f"WITH {episode_ctes(scenario)} SELECT {_COLS} FROM episode"
    params = {"until": day_bounds(day)[1], **scenario.params()}
    return store.fetch(sql, params).sort("person_id", "episode_no")


def _kept(store: Store, day: date, scenario: Scenario = LIVE) -> pl.DataFrame:
    """The episodes as of the end of `day` as the runs kept them."""
    sql = f"WITH {episode_ctes(scenario, kept=day)} SELECT {_COLS} FROM episode"
    params = {"until": day_bounds(day)[1], **scenario.params()}
    return store.fetch(sql, params).sort("person_id", "episode_no")


def _same(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.height == b.height
    assert a.select(pl.all().cast(pl.String)).equals(b.select(pl.all().cast(pl.String)))


def _world() -> Events:
    """A week of case events: reports, a reclassification, an exclusion, cures (one of them a
    discharge the engine derives), a reinfection, and a lab positive the engine reports."""
    e = Events()
    for pid in range(1, 9):
        e.person(pid, pid * 10)
    e.case(1, "2020-05-01 10:00", case_id="C2020")
    e.case(1, "2020-05-20 10:00", case_id="C2020", event="outcome", outcome="cured")
    e.case(2, "2022-07-10 09:00", diagnosis="asymptomatic")
    e.case(2, "2022-07-12 11:00", event="reclassify", diagnosis="confirmed")  # 无症状转确诊
    e.case(3, "2022-07-10 10:00")
    e.case(3, "2022-07-11 15:00", event="reclassify", diagnosis="excluded")  # a false positive
    e.case(4, "2022-07-11 10:00")
    e.case(4, "2022-07-14 10:00", event="outcome", outcome="cured")
    e.case(1, "2022-07-13 10:00", case_id="C2022")  # reinfected two years later
    e.sample(5, "2022-07-12 08:00", "positive")  # reported by the engine
    return e


def test_the_kept_state_is_the_state_derived_from_history(store: Store) -> None:
    _world().load(store, batch=1)
    late = Events().case(6, "2022-07-11 18:00")  # reported on the 11th, imported on the 13th
    for day in DAYS:
        if day == date(2022, 7, 13):
            late.load(store, batch=2)
        run_day(store, day, load_policy(NINTH))
        _same(_kept(store, day), _derived(store, day))
    # as of an earlier day, the state is what its run knew: the late report is not in it
    # until that day is run again
    eleventh = date(2022, 7, 11)
    assert 6 not in _kept(store, eleventh).get_column("person_id").to_list()
    assert 6 in _derived(store, eleventh).get_column("person_id").to_list()
    run_day(store, eleventh, load_policy(NINTH))
    _same(_kept(store, eleventh), _derived(store, eleventh))
    for day in DAYS[3:]:
        _same(_kept(store, day), _derived(store, day))
    assert _kept(store, DAYS[-1]).filter(pl.col("person_id") == 1).height == 2  # reinfection
    assert _kept(store, DAYS[-1]).filter(pl.col("person_id") == 5).height == 1  # lab report


def test_a_rerun_restores_the_day_before(store: Store) -> None:
    _city().load(store, batch=1)
    for day in DAYS:
        run_day(store, day, load_policy(NINTH))
    rows = (
        "SELECT * FROM engine_episode ORDER BY scenario, run_day, person_id, episode_no",
        "SELECT * FROM engine_state ORDER BY scenario, run_day, state, person_id",
    )
    orders = "SELECT order_id, person_id, order_type FROM engine_order ORDER BY order_id"
    before, before_orders = [store.fetch(q) for q in rows], store.fetch(orders)
    for day in DAYS[2:4]:  # days in the middle, later days already run
        run_day(store, day, load_policy(NINTH))
        _same(_kept(store, day), _derived(store, day))
    assert all(store.fetch(q).equals(b) for q, b in zip(rows, before, strict=True))
    assert store.fetch(orders).equals(before_orders)


def test_a_day_run_again_after_late_events_keeps_them(store: Store) -> None:
    _world().load(store, batch=1)
    for day in DAYS[:3]:
        run_day(store, day, load_policy(NINTH))
    # a cure of case 2, reported on the 11th, imported after the 12th was run
    Events().case(2, "2022-07-11 20:00", event="outcome", outcome="cured").load(store, batch=2)
    run_day(store, DAYS[1], load_policy(NINTH))
    _same(_kept(store, DAYS[1]), _derived(store, DAYS[1]))
    run_day(store, DAYS[3], load_policy(NINTH))
    _same(_kept(store, DAYS[3]), _derived(store, DAYS[3]))
    # cured on the 11th; the reclassification of the 12th then opens a new episode
    ended = _kept(store, DAYS[3]).filter(pl.col("person_id") == 2).sort("episode_no")
    assert ended.get_column("ended_by").to_list() == ["cured", None]


def test_a_what_if_starts_from_live_state_and_keeps_its_own(store: Store) -> None:
    _world().load(store, batch=1)
    for day in DAYS[:4]:
        run_day(store, day, load_policy(NINTH))
    live_rows = store.fetch(
        "SELECT * FROM engine_episode WHERE scenario = 'live'"
        " ORDER BY run_day, person_id, episode_no"
    )
    fork = DAYS[2]
    whatif = open_scenario(store, "w", WHATIF, fork)
    for day in DAYS[2:]:
        run_day(store, day, load_policy(WHATIF), scenario=whatif)
        _same(_kept(store, day, whatif), _derived(store, day, whatif))
    # nothing of live changed, and live's state is still its own
    assert store.fetch(
        "SELECT * FROM engine_episode WHERE scenario = 'live'"
        " ORDER BY run_day, person_id, episode_no"
    ).equals(live_rows)
    for day in DAYS[:4]:
        _same(_kept(store, day), _derived(store, day))
    # the what-if wrote no row before its fork day
    early = store.scalar(
        "SELECT count(*) FROM engine_episode WHERE scenario = 'w' AND run_day < :f", {"f": fork}
    )
    assert early == 0


def test_runs_that_kept_no_state_are_followed_by_a_whole_derivation(store: Store) -> None:
    _world().load(store, batch=1)
    for day in DAYS[:3]:
        run_day(store, day, load_policy(NINTH))
    # as a store of runs from before the state was kept
    store.execute("DELETE FROM engine_episode")
    store.execute("UPDATE engine_run SET state_kept = false")
    run_day(store, DAYS[3], load_policy(NINTH))
    _same(_kept(store, DAYS[3]), _derived(store, DAYS[3]))
    assert _kept(store, DAYS[3]).height >= 5


def _kept_flags(store: Store) -> dict[date, bool]:
    rows = store.fetch("SELECT run_day, state_kept FROM engine_run WHERE scenario = 'live'")
    return dict(rows.iter_rows())


def test_a_rerun_of_a_day_with_later_runs_forgets_them(store: Store) -> None:
    _world().load(store, batch=1)
    for day in DAYS[:4]:
        run_day(store, day, load_policy(NINTH))
    assert watermarks(store, LIVE, DAYS[1]).later
    assert not watermarks(store, LIVE, DAYS[3]).later
    run_day(store, DAYS[1], load_policy(NINTH))
    assert _kept_flags(store) == {DAYS[0]: True, DAYS[1]: True, DAYS[2]: False, DAYS[3]: False}


def test_a_first_run_of_a_day_before_later_runs_forgets_them(store: Store) -> None:
    _world().load(store, batch=1)
    for day in (DAYS[0], DAYS[2], DAYS[3]):
        run_day(store, day, load_policy(NINTH))
    marks = watermarks(store, LIVE, DAYS[1])
    assert not marks.rerun and marks.later  # a day skipped, run after the days after it
    run_day(store, DAYS[1], load_policy(NINTH))
    assert _kept_flags(store) == {DAYS[0]: True, DAYS[1]: True, DAYS[2]: False, DAYS[3]: False}
    assert store.count("engine_run") == 4  # one record per day


def test_the_watermarks_of_a_what_if(store: Store) -> None:
    _world().load(store, batch=1)
    for day in DAYS[:4]:
        run_day(store, day, load_policy(NINTH))
    first = watermarks(store, LIVE, DAYS[0])
    assert (first.previous_day, first.since, first.rerun, first.later) == (None, None, True, True)
    whatif = open_scenario(store, "w", WHATIF, DAYS[2])
    # before its first run: live's run of the day before the fork is its latest earlier run;
    # live's runs from the fork day on are not its own (neither run before nor later)
    marks = watermarks(store, whatif, DAYS[2])
    assert (marks.previous_day, marks.policy_id, marks.state_kept) == (DAYS[1], NINTH, True)
    assert not marks.rerun and not marks.later
    for day in DAYS[2:4]:
        run_day(store, day, load_policy(WHATIF), scenario=whatif)
    marks = watermarks(store, whatif, DAYS[2])
    assert (marks.previous_day, marks.rerun, marks.later) == (DAYS[1], True, True)
    marks = watermarks(store, whatif, DAYS[4])
    assert (marks.previous_day, marks.policy_id, marks.rerun, marks.later) == (
        DAYS[3],
        WHATIF,
        False,
        False,
    )
    # a rerun of the fork day forgets the what-if's later run, not live's
    run_day(store, DAYS[2], load_policy(WHATIF), scenario=whatif)
    assert all(_kept_flags(store).values())
    assert not watermarks(store, whatif, DAYS[4]).state_kept


def test_the_kept_run_the_watermarks_tell_is_the_one_the_store_gives(store: Store) -> None:
    _world().load(store, batch=1)
    for day in DAYS[:5]:
        run_day(store, day, load_policy(NINTH))
    run_day(store, DAYS[2], load_policy(NINTH))  # the runs of the two days after it forgotten
    whatif = open_scenario(store, "w", WHATIF, DAYS[3])
    run_day(store, DAYS[3], load_policy(WHATIF), scenario=whatif)

    def noted(scenario: Scenario, day: date) -> date | None:
        with kept_state(store, scenario, day):
            note_watermarks(store, scenario, day, watermarks(store, scenario, day))
            return kept_run(store, scenario, day)

    cases = [
        (LIVE, DAYS[0]),  # no earlier run
        (LIVE, DAYS[3]),  # the latest earlier run kept its state
        (LIVE, DAYS[5]),  # it did not (forgotten), one before it did
        (whatif, DAYS[3]),  # live's run before the fork
        (whatif, DAYS[4]),  # the what-if's own
    ]
    for scenario, day in cases:
        # outside a run, the latest run on or before the day before
        assert noted(scenario, day) == kept_run(store, scenario, day - timedelta(days=1))
    assert [noted(s, d) for s, d in cases] == [None, DAYS[2], DAYS[2], DAYS[2], DAYS[3]]


def _city() -> Events:
    """Cases, their household contacts in centralized quarantine (one tests negative on every
    day, one never does; a new case at home restarts the count), a contact who becomes a case,
    and rooms and beds."""
    e = Events()
    for pid, household in ((1, 10), (2, 10), (3, 10), (4, 40), (5, 40), (6, 60)):
        e.person(pid, household)
    for facility, kind, capacity in (
        ("QS-1", "quarantine_site", 50),
        ("H-1", "shelter_hospital", 50),
    ):
        e.add("facility", facility_id=facility, kind=kind, region_code="310101", capacity=capacity)
    e.case(1, "2022-07-10 10:00")
    e.case(4, "2022-07-12 10:00")
    e.case(3, "2022-07-14 10:00")  # under quarantine: converted, admitted
    for k in range(14):
        e.sample(2, f"2022-07-{11 + k} 08:00", "negative")
    return e


def _placed(store: Store, day: date, scenario: str = "live") -> pl.DataFrame:
    """The placements at the start of `day` as its run kept them (placement columns)."""
    return store.fetch(
        "SELECT person_id, place, order_type, detail, issued_day AS run_day, start_at, end_at"
        " FROM engine_state WHERE scenario = :s AND run_day = :d AND state = 'placed'"
        " ORDER BY person_id",
        {"d": day, "s": scenario},
    )


def _schedules(store: Store, day: date, scenario: str = "live") -> pl.DataFrame:
    """The open quarantines at the start of `day` as its run kept them (schedule columns)."""
    return store.fetch(
        "SELECT person_id, issued_day AS run_day, order_type, start_at, end_at, place, detail,"
        " rule, policy_id, reason, population, waiting_for, released FROM engine_schedule"
        " WHERE scenario = :s AND run_day = :d ORDER BY person_id, start_at",
        {"d": day, "s": scenario},
    )


def test_a_what_if_keeps_the_open_quarantines_its_own_orders_give(store: Store) -> None:
    from fangkong.engine.facility import placements
    from fangkong.engine.schedule import open_schedules

    _city().load(store, batch=1)
    days = [date(2022, 7, 10) + timedelta(days=k) for k in range(10)]
    for day in days:
        run_day(store, day, load_policy(NINTH))
    live = [_schedules(store, d) for d in days]
    whatif = open_scenario(store, "w", WHATIF, days[3])
    for day in days[3:]:
        run_day(store, day, load_policy(WHATIF), scenario=whatif)
    kept = {d: _schedules(store, d, "w") for d in days[3:]}
    placed = {d: _placed(store, d, "w") for d in days[3:]}
    early = "SELECT count(*) FROM engine_schedule WHERE scenario = 'w' AND run_day < :f"
    assert store.scalar(early, {"f": days[3]}) == 0  # nothing of the what-if before its fork
    # derived whole from every order the what-if sees: the same
    store.execute("UPDATE engine_run SET state_kept = false")
    for day in days[3:]:
        _same(kept[day], open_schedules(store, day, scenario=whatif))
        _same(placed[day], placements(store, day, scenario=whatif).sort("person_id"))
    # the what-if's shorter quarantine (5 + 3) shows in its schedules, live's are untouched
    assert any(not kept[d].equals(live[days.index(d)]) for d in days[4:])
    for day, rows in zip(days, live, strict=True):
        _same(rows, _schedules(store, day))


def test_who_is_in_quarantine_or_a_facility_is_what_history_gives(store: Store) -> None:
    from fangkong.engine.facility import placements
    from fangkong.engine.schedule import open_schedules

    _city().load(store, batch=1)
    days = [date(2022, 7, 10) + timedelta(days=k) for k in range(14)]
    for day in days:
        run_day(store, day, load_policy(NINTH))
    kept = {d: (_schedules(store, d), _placed(store, d)) for d in days}
    # derived whole: as if no run had kept any state
    store.execute("UPDATE engine_run SET state_kept = false")
    for day in days:
        _same(kept[day][0], open_schedules(store, day))
        _same(kept[day][1], placements(store, day).sort("person_id"))
    quarantined = {d: set(kept[d][0]["person_id"]) for d in days}
    assert any(quarantined.values()) and any(kept[d][1].height for d in days)
    assert not quarantined[days[0]] and 2 in quarantined[days[1]]
    # phases released while the schedule stays open are kept as released
    assert any(kept[d][0].filter(pl.col("released").cast(pl.Boolean)).height for d in days)
    assert all(6 not in quarantined[d] for d in days)
    assert all(6 not in set(placed["person_id"]) for _, placed in kept.values())
    # conversions and admissions: someone leaves a site for a hospital
    assert len({tuple(p["place"].to_list()) for _, p in kept.values() if p.height}) > 1


def test_class_b_management_ends_the_quarantines_and_isolations_ordered_before_it(
    store: Store,
) -> None:
    e = Events()
    for pid in (1, 2, 3):
        e.person(pid, 10)
    e.add("facility", facility_id="H-1", kind="shelter_hospital", region_code="310101", capacity=9)
    e.add(
        "facility", facility_id="D-1", kind="designated_hospital", region_code="310101", capacity=9
    )
    e.case(1, "2023-01-06 10:00", diagnosis="confirmed")
    e.load(store, batch=1)
    before = run_day(store, date(2023, 1, 6))
    assert before.orders.filter(pl.col("order_type") == "admit").height == 1
    quarantined = set(before.orders.filter(pl.col("order_type") == "quarantine")["person_id"])
    assert quarantined == {2, 3}
    run_day(store, date(2023, 1, 7))
    lifted = run_day(store, date(2023, 1, 8))  # class-B management from this day
    assert lifted.policy_id == "cn-2023-01-08"
    released = lifted.orders.filter(pl.col("rule") == "quarantine.regime_lifted")
    assert set(released["person_id"]) == {2, 3}
    discharged = lifted.orders.filter(pl.col("rule") == "treatment.isolation_lifted")
    assert discharged["person_id"].to_list() == [1]
    assert lifted.events.height == 0  # leaving isolation is not a recovery
    after = run_day(store, date(2023, 1, 9))
    assert after.orders.height == 0
    assert int(after.occupancy.filter(pl.col("facility_id").is_not_null())["occupied"].sum()) == 0
