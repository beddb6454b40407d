"""The twin loop: the engine's orders are obeyed, the events it is given are the model's, and
the twin's store is its own."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import psycopg
import pytest

from fangkong.engine.day import DERIVED_TABLES
from fangkong.engine.facility import placements
from fangkong.engine.scenario import Scenario
from fangkong.engine.zones_measures import residents_under_measures, venues_under_measures
from fangkong.policy import load_policy
from fangkong.policy.terms import AreaRestriction
from fangkong.sim.agent import AGENT_DTYPE, NEVER
from fangkong.sim.checkin import Visits
from fangkong.sim.event_frames import DAY_TABLES, stored_table
from fangkong.sim.transmission import DayEvents
from fangkong.sim.twin import TWIN_SCENARIO, Round, Twin
from fangkong.store import Store, open_store

POLICY = "cn-2022-06-28"


@pytest.fixture(scope="module")
def twin() -> Iterator[Twin]:
    """A city of 20,000 whose imported case starts chains the engine finds (seed 1), with a
    citywide testing round on day 12."""
    t = Twin(20_000, 1, load_policy(POLICY), rounds=(Round(12, "31"),))
    for _ in t.run(25):
        pass
    yield t
    t.close()


def test_the_engine_finds_real_infections_only(twin: Twin) -> None:
    assert twin.store is not None
    found = twin.store.fetch(
        "SELECT DISTINCT person_id FROM engine_case_event WHERE event_type = 'report'"
    )["person_id"].to_numpy()
    assert len(found) >= 2
    # every case the engine reported was infected in the model before the report
    assert (twin.epidemic.courses.infected[found] != NEVER).all()


def test_everything_written_is_in_the_twin_scenario(twin: Twin) -> None:
    assert twin.store is not None
    for table in DERIVED_TABLES:
        scenarios = twin.store.fetch(f"SELECT DISTINCT scenario FROM {table}")["scenario"]
        assert scenarios.to_list() in ([TWIN_SCENARIO], [])
    assert twin.store.scalar("SELECT count(*) FROM engine_order") > 0


def test_ordered_tests_are_taken_on_their_day(twin: Twin) -> None:
    assert twin.store is not None
    last = twin.days[-1].day
    missed = twin.store.fetch(
        """
        SELECT o.person_id, o.start_at FROM engine_order o
        WHERE o.order_type = 'test' AND o.start_at < :last
          AND CAST(o.start_at AS DATE) >= o.run_day + 1
          AND NOT EXISTS (SELECT 1 FROM sample s WHERE s.person_id = o.person_id
                AND CAST(s.sampled_at AS DATE) = CAST(o.start_at AS DATE))
          AND NOT EXISTS (SELECT 1 FROM engine_order c WHERE c.person_id = o.person_id
                AND c.order_type IN ('convert', 'release') AND c.run_day < CAST(o.start_at AS DATE))
        """,
        {"last": last},
    )
    assert twin.store.scalar("SELECT count(*) FROM engine_order WHERE order_type = 'test'") > 0
    assert missed.height == 0, missed


def test_people_placed_by_an_order_leave_the_venues(twin: Twin) -> None:
    """Nobody checks in at a venue on a day they are in a quarantine room or a hospital bed."""
    assert twin.store is not None

    for k in (10, 15, 20):
        day = twin.start + timedelta(days=k)
        placed = placements(twin.store, day, scenario=twin.scenario)
        if placed.height == 0:
            continue
        visits = twin.store.fetch(
            "SELECT DISTINCT person_id FROM checkin WHERE CAST(checkin_at AS DATE) = :d",
            {"d": day},
        )
        assert placed.join(visits, on="person_id").height == 0


def _held(twin: Twin, reader: Callable[..., pl.DataFrame], key: str, k: int) -> pl.DataFrame:
    """Those under an area measure on day k as the run of the day before stored it, and still
    by the run of day k: what the twin obeyed that day."""
    assert twin.store is not None
    day = twin.start + timedelta(days=k)
    before = reader(twin.store, day - timedelta(days=1), twin.scenario)
    return before.join(reader(twin.store, day, twin.scenario).select(key), on=key)


def _confined(store: Store, day: date, scenario: Scenario) -> pl.DataFrame:
    """The residents an area's measure confines (a low area's test to leave the city does
    not keep anyone in)."""
    confining = [AreaRestriction.STAY_HOME, AreaRestriction.STAY_IN_AREA]
    return residents_under_measures(store, day, scenario, confining)


def test_risk_area_measures_confine_residents_and_close_venues(twin: Twin) -> None:
    """The engine draws the found cases' compounds high (足不出户) and the venues they stayed at
    medium (closed): from the next day their residents make no visit and those venues get no
    check-in, though both had many before; and the figures count them. The round of day 7 the
    engine orders is taken, and the areas are lowered."""
    assert twin.store is not None
    checkins = twin.store.fetch(
        "SELECT person_id, venue_id, CAST(checkin_at AS DATE) AS d FROM checkin"
    )
    confined_days = closed_days = 0
    for k in range(1, len(twin.days)):
        day = twin.start + timedelta(days=k)
        people = _held(twin, _confined, "person_id", k)
        venues = _held(twin, venues_under_measures, "venue_id", k)
        today, before = checkins.filter(pl.col("d") == day), checkins.filter(pl.col("d") < day)
        assert today.join(people, on="person_id").height == 0, day
        assert today.join(venues, on="venue_id").height == 0, day
        if people.height:
            confined_days += 1
            assert before.join(people, on="person_id").height > 0  # they did go out before
            assert twin.days[k].area_restricted >= people.height
        if venues.height:
            closed_days += 1
            assert before.join(venues, on="venue_id").height > 0
            assert twin.days[k].venues_closed >= venues.height
    assert confined_days >= 5 and closed_days >= 5
    # the round each high area waits for is ordered, swabbed on its day, and lowers the area
    local = pl.col("at").dt.convert_time_zone("Asia/Shanghai").dt.date().alias("d")
    rounds = twin.store.fetch(
        "SELECT person_id, start_at AS at FROM engine_order WHERE order_type = 'area_round'"
    ).select("person_id", local)
    swabs = twin.store.fetch("SELECT person_id, sampled_at AS at FROM sample").select(
        "person_id", local
    )
    assert rounds.height > 0
    taken = rounds.filter(pl.col("d") <= twin.days[-1].day)
    assert taken.join(swabs, on=["person_id", "d"], how="anti").height == 0
    assert twin.days[-1].area_restricted < max(d.area_restricted for d in twin.days)
    outcomes = twin.outcomes()
    assert outcomes["area_person_days"] == sum(d.area_restricted for d in twin.days) > 0
    assert outcomes["venue_days_closed"] > 0


def test_quarantine_and_tests_are_counted(twin: Twin) -> None:
    f = twin.figures()
    assert f["quarantined"].sum() > 0
    assert f["samples"].sum() == twin.store.scalar("SELECT count(*) FROM sample")  # type: ignore[union-attr]


def test_the_simulated_days_are_frames_not_rows_of_the_store(twin: Twin) -> None:
    # the engine read each day's events in place (`fangkong.sim.event_frames`): the store's
    # event tables hold the city's load alone, while what the engine wrote is in its own tables
    st = twin.store
    assert st is not None
    for name in DAY_TABLES:
        assert st.scalar(f"SELECT count(*) FROM {stored_table(st, name)}") == (
            name == "import_batch"
        )
        assert st.scalar(f'SELECT count(*) FROM "{name}"') == twin.events.whole(name).height
    for name in ("checkin", "sample", "tube_result", "case_report", "declared_contact"):
        assert twin.events.whole(name).height > 0, name
    assert st.scalar("SELECT count(*) FROM engine_order") > 0


@pytest.mark.parametrize("memory_store_max", [2_000_000, 0])
def test_the_twin_store_is_saved_to_a_file(tmp_path: Path, memory_store_max: int) -> None:
    # a small city's store is in memory; a larger one's a file in a scratch directory
    t = Twin(5_000, 2, load_policy(POLICY), memory_store_max=memory_store_max)
    for _ in t.run(3):
        pass
    path = tmp_path / "twin.duckdb"
    t.save(str(path))
    assert t.store is not None
    orders = t.store.scalar("SELECT count(*) FROM checkin")
    if memory_store_max:
        assert t.store.url == ":memory:"
        t.close()
    else:
        scratch = Path(t.store.url).parent
        assert scratch.is_dir()
        t.close()
        assert not scratch.exists()  # the twin's own store goes with it
    with open_store(path) as st:
        assert st.scalar("SELECT count(*) FROM checkin") == orders
        assert st.scalar("SELECT count(*) FROM person") == 5_000
        assert st.fetch("SELECT scenario FROM scenario")["scenario"].to_list() == [TWIN_SCENARIO]


def test_no_control_runs_without_a_store() -> None:
    t = Twin(5_000, 2, None)
    days = list(t.run(5))
    assert t.store is None
    assert all(d.samples == 0 and d.quarantined == 0 for d in days)
    assert (t.epidemic.courses.infected != NEVER).sum() >= 1
    # the imported case and the infections of the days
    assert t.figures()["infected"].sum() + 1 == int((t.epidemic.courses.infected != NEVER).sum())


def test_field_investigation_names_classmates_and_coworkers(twin: Twin) -> None:
    assert twin.store is not None
    named = twin.store.fetch("SELECT person_id, contact_person_id FROM declared_contact")
    assert named.height > 0
    c = twin.city

    def shared(a: int, b: int) -> bool:
        return any(
            g.of_agent[a] >= 0 and g.of_agent[a] == g.of_agent[b] for g in (c.classes, c.workplaces)
        )

    assert all(shared(a, b) for a, b in named.iter_rows())
    traced = twin.store.scalar("SELECT count(*) FROM traced_contact WHERE via = 'declared'")
    assert traced > 0  # the tracing rules made close contacts of them


def test_a_round_pools_the_residents_and_positive_pools_are_retested(twin: Twin) -> None:
    assert twin.store is not None
    pools = twin.store.fetch(
        "SELECT tube_id, count(*) AS members FROM sample WHERE round_id IS NOT NULL"
        " GROUP BY tube_id"
    )
    pool_size = load_policy(POLICY).testing.pool_size
    assert pools["members"].max() == pool_size
    # nearly every resident not in a facility was swabbed
    assert pools["members"].sum() > 0.9 * twin.city.n
    positive = twin.store.fetch(
        "SELECT s.person_id FROM sample s JOIN tube_result r USING (tube_id)"
        " WHERE s.round_id IS NOT NULL AND r.result = 'positive'"
    )
    controlled = twin.store.fetch(
        "SELECT person_id FROM engine_order WHERE order_type = 'temporary_control'"
    )
    assert positive.height > 0
    assert set(controlled["person_id"]) <= set(positive["person_id"])
    # each retest ordered was taken: a single tube of the person after the round
    untaken = twin.store.fetch(
        """SELECT o.person_id FROM engine_order o WHERE o.order_type = 'retest'
           AND NOT EXISTS (SELECT 1 FROM sample s WHERE s.person_id = o.person_id
                           AND s.round_id IS NULL AND s.sampled_at > o.start_at - INTERVAL 1 DAY)"""
    )
    assert controlled.height > 0 and untaken.height == 0


def _small(store_url: str = ":memory:", people_per_slice: int = 1_000_000) -> Twin:
    t = Twin(
        5_000,
        3,
        load_policy(POLICY),
        store_url=store_url,
        rounds=(Round(4, "31"),),
        people_per_slice=people_per_slice,
    )
    for _ in t.run(8):
        pass
    return t


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "duckdb":
        yield str(tmp_path / "twin.duckdb")
        return
    pg_url = request.getfixturevalue("pg_url")
    schema = "t_" + uuid.uuid4().hex[:12]
    try:
        yield f"{pg_url}{'&' if '?' in pg_url else '?'}schema={schema}"
    finally:
        with psycopg.connect(pg_url, autocommit=True) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())


def test_the_twin_runs_the_same_on_either_backend(store_url: str) -> None:
    reference = _small()
    reference.close()
    assert sum(d.orders for d in reference.days) > 0  # the round found the imported case
    t = _small(store_url)
    t.close()
    assert t.days == reference.days


def test_a_city_loaded_in_slices_runs_the_same() -> None:
    reference = _small()
    reference.close()
    t = _small(people_per_slice=1_200)  # five slices, the last one short
    assert t.store is not None
    assert t.store.count("person") == t.city.n
    assert t.store.count("vaccination") == int(t.city.persons.doses.sum())
    t.close()
    assert t.days == reference.days


def _no_events(day: int) -> DayEvents:
    none = np.empty(0, dtype=AGENT_DTYPE)
    minutes = np.empty(0, dtype=np.int16)
    visits = Visits(
        day, none, none, minutes, minutes, np.zeros(1, dtype=np.int64), np.empty(0, dtype=np.bool_)
    )
    return DayEvents(
        day, visits, none, none, np.empty(0, dtype=np.uint8), none, none, none, none, 0
    )


def test_a_severe_case_is_reported_no_longer_severe_when_its_course_ends() -> None:
    # severe until the course ends, in the model: then the clinicians report the severity
    # down, which the discharge waits for (a severe case is not discharged)
    t = Twin(5_000, 2, load_policy(POLICY))
    for _ in t.run(4):
        pass
    c, k = t.epidemic.courses, t.epidemic.day - 1
    over, ill, dead = np.flatnonzero(c.infected == NEVER)[:3]
    for a, end, death in ((over, k, NEVER), (ill, k + 3, NEVER), (dead, k, k)):
        c.infected[a], c.onset[a], c.severe[a], c.end[a], c.death[a] = 0, 1, 2, end, death
        t._reported[a] = 2
    t._severe = np.array([over, ill, dead], dtype=np.int64)
    rows = t._case_reports(t.start + timedelta(days=k), _no_events(k))
    assert rows.select("person_id", "event_type", "severity").rows() == [
        (int(over), "severity", "moderate")
    ]
    assert t._severe.tolist() == [ill]  # the dead are not reported improved
    t.close()


def test_cases_isolated_at_a_quarantine_site_are_swabbed_and_discharged() -> None:
    # the 8th edition admits asymptomatic cases to centralized isolation at a quarantine site
    # (集中隔离医学观察): the wards' daily swab reaches them there as in a hospital, so they
    # meet the discharge criteria and free the room
    t = Twin(20_000, 1, load_policy("cn-2021-05-14"))
    for _ in t.run(30):
        pass
    assert t.store is not None
    isolated = t.store.fetch(
        "SELECT o.person_id, o.start_at,"
        " (SELECT min(d.run_day) FROM engine_order d WHERE d.person_id = o.person_id"
        "  AND d.order_type = 'discharge' AND d.run_day >= o.run_day) AS discharged,"
        " (SELECT count(*) FROM sample s WHERE s.person_id = o.person_id"
        "  AND s.sampled_at >= o.start_at) AS swabs"
        " FROM engine_order o JOIN facility f ON f.facility_id = o.place"
        " WHERE o.order_type = 'admit' AND f.kind = 'quarantine_site'"
    )
    t.close()
    assert isolated.height >= 1
    assert isolated.get_column("discharged").null_count() == 0, isolated
    assert (isolated.get_column("swabs") >= 2).all(), isolated
