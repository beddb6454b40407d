"""The engine on an ordinary day, not a tidy one: late reports and late lab results, reruns,
what-if scenarios beside live, reinfection, withdrawn (excluded) cases, trains by carriage and
venues by category. Every test runs `run_day` on both backends."""

from __future__ import annotations

import io
from datetime import date

import polars as pl
import pytest
from typer.testing import CliRunner

from fangkong.bulletin.registry import bulletin_from_registry
from fangkong.cli.app import app
from fangkong.engine.day import run_day
from fangkong.engine.scenario import LIVE, open_scenario, scenario_diff
from fangkong.engine.tracing import cases_to_trace, trace_contacts
from fangkong.policy import load_policy
from fangkong.store import Store, open_store

from .test_tracing import Events, at, policy

D1, D2, D3 = date(2022, 7, 10), date(2022, 7, 11), date(2022, 7, 12)
NINTH = "cn-2022-06-28"
WHATIF = "whatif-2022-06-28-close-contacts-5-3"


def _household(e: Events, *pairs: tuple[int, int]) -> Events:
    for pid, household in pairs:
        e.person(pid, household)
    return e


def _orders(store: Store, day: date, scenario: str = "live") -> pl.DataFrame:
    return store.fetch(
        "SELECT person_id, order_type, detail, rule FROM engine_order"
        " WHERE run_day = :d AND scenario = :s ORDER BY person_id, order_type, rule, detail",
        {"d": day, "s": scenario},
    )


def _has(orders: pl.DataFrame, person: int, order_type: str) -> bool:
    hits = orders.filter((pl.col("person_id") == person) & (pl.col("order_type") == order_type))
    return hits.height > 0


# -- late events ----------------------------------------------------------------------------------


def test_a_late_report_is_traced_with_its_own_dates(store: Store) -> None:
    _household(Events(), (1, 10), (2, 10), (3, 30), (4, 40)).load(store, batch=1)
    run_day(store, D1, load_policy(NINTH))
    # imported after D1 was run: a case reported on D1, its meal contacts before and after
    late = Events().case(1, "2022-07-10 10:00")
    late.declared(1, 3, "meal", "2022-07-08 12:00")  # in its window
    late.declared(1, 4, "meal", "2022-07-10 20:00")  # after it was isolated: not exposed
    late.load(store, batch=2)
    result = run_day(store, D2, load_policy(NINTH))
    traced = result.contacts.filter(pl.col("case_person_id") == 1)
    assert sorted(traced.get_column("contact_person_id").to_list()) == [2, 3]
    assert _has(result.orders, 2, "quarantine")
    assert _has(result.orders, 3, "quarantine")
    # the day after, it is not new any more
    assert cases_to_trace(store, D3, load_policy(NINTH)).height == 0


def test_a_late_lab_result_is_acted_on(store: Store) -> None:
    e = _household(Events(), (5, 50), (6, 50))
    e.sample(5, "2022-07-10 09:00")  # its result is not back when D1 is run
    e.load(store, batch=1)
    first = run_day(store, D1, load_policy(NINTH))
    assert not _has(first.orders, 5, "report_case")
    late = Events().add(
        "tube_result",
        tube_id="T0",
        result="positive",
        ct_value=28.0,
        reported_at=at("2022-07-10 20:00"),
    )
    late.load(store, batch=2)  # reported on D1, imported after D1 was run
    second = run_day(store, D2, load_policy(NINTH))
    assert _has(second.orders, 5, "report_case")
    # the engine writes the report it implies, and traces it the same run
    assert second.events.filter(pl.col("event_type") == "report").height == 1
    assert second.cases == 1
    assert _has(second.orders, 6, "quarantine")
    assert _has(second.orders, 5, "admit")


def test_a_day_not_run_is_not_skipped(store: Store) -> None:
    e = _household(Events(), (1, 10), (2, 10))
    e.case(1, "2022-07-11 10:00")  # on D2, which is not run
    e.load(store, batch=1)
    run_day(store, D1, load_policy(NINTH))
    got = run_day(store, D3, load_policy(NINTH))
    assert got.cases == 1
    assert _has(got.orders, 2, "quarantine")


def test_running_the_same_history_again_gives_the_same_orders(store: Store) -> None:
    e = _household(Events(), (1, 10), (2, 10), (3, 30))
    e.case(1, "2022-07-10 10:00").declared(1, 3, "meal", "2022-07-09 12:00")
    e.load(store, batch=1)
    for day in (D1, D2, D3):
        run_day(store, day, load_policy(NINTH))
    before = [_orders(store, day) for day in (D1, D2, D3)]
    ids = store.fetch("SELECT order_id FROM engine_order ORDER BY order_id")
    for day in (D1, D2, D3):
        run_day(store, day, load_policy(NINTH))
    for day, earlier in zip((D1, D2, D3), before, strict=True):
        assert _orders(store, day).equals(earlier)
    assert store.fetch("SELECT order_id FROM engine_order ORDER BY order_id").equals(ids)


# -- scenarios ------------------------------------------------------------------------------------


def _live_rows(store: Store) -> bytes:
    """Every live row the engine wrote, as bytes (CSV of each table, sorted)."""
    out = io.BytesIO()
    for table, key in (
        ("engine_order", "order_id"),
        ("traced_contact", "case_person_id, contact_person_id, run_day, tier"),
        ("engine_case_event", "report_id"),
        ("engine_episode", "run_day, person_id, episode_no"),
        ("engine_state", "run_day, state, person_id"),
        ("engine_run", "run_day"),
    ):
        cols = "*" if table != "engine_run" else "scenario, run_day, policy_id, batch_watermark"
        frame = store.fetch(f"SELECT {cols} FROM {table} WHERE scenario = 'live' ORDER BY {key}")
        frame.write_csv(out)
    return out.getvalue()


def test_a_what_if_never_touches_live_rows(store: Store) -> None:
    e = _household(Events(), (1, 10), (2, 10), (3, 30))
    e.case(1, "2022-07-10 10:00").declared(1, 3, "meal", "2022-07-09 12:00")
    e.load(store, batch=1)
    for day in (D1, D2):
        run_day(store, day, load_policy(NINTH))
    live = _live_rows(store)
    assert live.count(b"\n") > 10
    whatif = load_policy(WHATIF)
    with store.transaction():
        line = open_scenario(store, "close-5-3", whatif.id, D1)
        run_day(store, D1, whatif, scenario=line)
    run_day(store, D2, whatif, scenario=line)
    assert _live_rows(store) == live
    # the what-if quarantines close contacts 5 + 3, live 7 + 3: the difference is printable
    diff = scenario_diff(store, line, D1)
    assert set(diff.get_column("side")) == {"close-5-3", "live"}
    assert set(diff.get_column("person_id").drop_nulls()) >= {2, 3}
    # live goes on from its own history, not the what-if's
    run_day(store, D3, load_policy(NINTH))
    assert (
        store.scalar(
            "SELECT count(*) FROM engine_order WHERE scenario = 'live' AND policy_id = :w",
            {"w": whatif.id},
        )
        == 0
    )


def test_a_what_if_forks_from_live_history(store: Store) -> None:
    e = _household(Events(), (1, 10), (2, 10))
    e.case(1, "2022-07-10 10:00")
    e.load(store, batch=1)
    run_day(store, D1, load_policy(NINTH))
    whatif = load_policy(WHATIF)
    with store.transaction():
        line = open_scenario(store, "from-d2", whatif.id, D2)
    got = run_day(store, D2, whatif, scenario=line)
    # person 2 is in live's quarantine from D1: the what-if sees it and does not start again
    assert not _has(got.orders, 2, "quarantine")


def test_the_cli_refuses_a_what_if_without_a_scenario(tmp_path: object) -> None:
    path = f"{tmp_path}/s.duckdb"
    open_store(path).close()
    runner = CliRunner()
    res = runner.invoke(app, ["day", "--date", "2022-07-10", "--policy", WHATIF, "--store", path])
    assert res.exit_code == 2
    assert "--scenario" in res.output
    res = runner.invoke(
        app,
        [
            *["day", "--date", "2022-07-10", "--policy", WHATIF, "--scenario", "w"],
            *["--store", path, "--documents", f"{tmp_path}/docs"],
        ],
    )
    assert res.exit_code == 2
    assert "no order documents" in res.output
    res = runner.invoke(
        app, ["day", "--date", "2022-07-10", "--policy", WHATIF, "--scenario", "w", "--store", path]
    )
    assert res.exit_code == 0, res.output
    assert "scenario w" in res.output
    with open_store(path) as st:
        assert st.scalar("SELECT count(*) FROM engine_run WHERE scenario = 'live'") == 0
    res = runner.invoke(app, ["scenario", "diff", "w", "--date", "2022-07-10", "--store", path])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["scenario", "list", "--store", path], terminal_width=80)
    assert WHATIF in res.output.split()  # whole, not cut to fit the table


# -- case episodes --------------------------------------------------------------------------------


def test_a_reinfection_is_a_new_episode_reported_and_admitted(store: Store) -> None:
    e = _household(Events(), (1, 10), (2, 10))
    e.case(1, "2020-05-01 10:00", case_id="C2020")
    e.case(1, "2020-05-20 10:00", case_id="C2020", event="outcome", outcome="cured")
    e.sample(1, "2022-07-10 08:00", "positive")  # positive again, two years later
    e.load(store, batch=1)
    got = run_day(store, D1, load_policy(NINTH))
    assert _has(got.orders, 1, "report_case")
    assert got.cases == 1  # the new episode is traced
    assert _has(got.orders, 2, "quarantine")
    assert _has(got.orders, 1, "admit")


def test_a_reported_reinfection_is_admitted(store: Store) -> None:
    e = _household(Events(), (1, 10))
    e.case(1, "2020-05-01 10:00", case_id="C2020")
    e.case(1, "2020-05-20 10:00", case_id="C2020", event="outcome", outcome="cured")
    e.case(1, "2022-07-10 10:00", case_id="C2022")
    e.load(store, batch=1)
    got = run_day(store, D1, load_policy(NINTH))
    assert _has(got.orders, 1, "admit")
    assert got.cases == 1


def test_an_excluded_case_is_withdrawn_everywhere(store: Store) -> None:
    e = _household(Events(), (1, 10), (2, 10), (3, 30), (4, 30))
    e.case(1, "2022-07-10 09:00")
    e.case(1, "2022-07-10 15:00", event="reclassify", diagnosis="excluded")
    e.case(3, "2022-07-10 16:00")  # a real case, whose household member 4 is a contact
    e.declared(3, 1, "meal", "2022-07-09 12:00")  # and the false positive is its contact
    e.load(store, batch=1)
    got = run_day(store, D1, load_policy(NINTH))
    assert got.cases == 1
    # the excluded case is not traced (its household member 2 is only the secondary contact
    # of close contact 1), nor admitted
    traced_as_case = (pl.col("case_person_id") == 1) & (pl.col("tier") == "close")
    assert got.contacts.filter(traced_as_case).height == 0
    assert set(got.contacts.filter(pl.col("contact_person_id") == 2).get_column("tier")) == {
        "secondary"
    }
    assert not _has(got.orders, 1, "admit")
    assert _has(got.orders, 1, "quarantine")  # but can be a contact of a real case
    assert _has(got.orders, 4, "quarantine")


# -- tracing as the protocols define it -----------------------------------------------------------


def test_trains_by_carriage_flights_by_rows(store: Store) -> None:
    e = Events().case(1, "2022-07-10 09:00", onset=date(2022, 7, 9))
    e.trip(1, "G102", "2022-07-08 08:00", None, carriage=5)
    e.trip(2, "G102", "2022-07-08 08:00", None, carriage=5)  # same carriage, far away seat
    e.trip(3, "G102", "2022-07-08 08:00", None, carriage=6)  # the next carriage
    e.trip(1, "MU5101", "2022-07-07 08:00", 10)
    e.trip(4, "MU5101", "2022-07-07 08:00", 13)  # 3 rows behind
    e.trip(5, "MU5101", "2022-07-07 08:00", 14)  # 4 rows behind
    contacts = trace_contacts(e.load(store), cases_to_trace(store, D1, policy()), policy())
    close = contacts.filter(pl.col("tier") == "close")
    assert sorted(close.get_column("contact_person_id").to_list()) == [2, 4]
    assert set(close.get_column("via")) == {"co_travel"}


@pytest.mark.parametrize(
    ("category", "tier", "order"),
    [
        ("enclosed_entertainment", "close", "quarantine"),
        ("essential", "risk_person", "assess"),
        ("open_air", "risk_person", "assess"),
    ],
)
def test_venue_copresence_by_category(store: Store, category: str, tier: str, order: str) -> None:
    e = _household(Events(), (1, 10), (2, 20))
    e.case(1, "2022-07-10 09:00", onset=date(2022, 7, 9))
    e.checkin(1, 100, "2022-07-08 12:00", "2022-07-08 13:00", category=category)
    e.checkin(2, 100, "2022-07-08 12:30", "2022-07-08 14:00")
    e.load(store, batch=1)
    got = run_day(store, D1, load_policy(NINTH))
    assert got.contacts.filter(pl.col("contact_person_id") == 2).get_column("tier").to_list() == [
        tier
    ]
    assert _has(got.orders, 2, order)
    assert not _has(got.orders, 2, "quarantine" if order == "assess" else "assess")


def test_live_reads_only_live(store: Store) -> None:
    e = _household(Events(), (1, 10), (2, 10))
    e.case(1, "2022-07-10 10:00")
    e.load(store, batch=1)
    whatif = load_policy(WHATIF)
    with store.transaction():
        line = open_scenario(store, "first", whatif.id, D1)
    mine = run_day(store, D1, whatif, scenario=line)
    live = run_day(store, D1, load_policy(NINTH), scenario=LIVE)
    # the same day in both lines: each has its own orders, under its own policy
    assert set(mine.orders.get_column("policy_id")) == {whatif.id}
    assert set(live.orders.get_column("policy_id")) == {NINTH}
    assert store.scalar("SELECT count(*) FROM engine_order WHERE scenario = 'first'") == (
        mine.orders.height
    )


def test_a_discharge_writes_the_outcome_and_closes_the_episode(store: Store) -> None:
    e = _household(Events(), (1, 10))
    e.add("facility", facility_id="H1", kind="shelter_hospital", region_code="310101", capacity=10)
    e.case(1, "2022-07-10 09:00", diagnosis="asymptomatic")
    e.sample(1, "2022-07-12 08:00", "negative").sample(1, "2022-07-13 09:00", "negative")
    e.load(store, batch=1)
    ninth = load_policy(NINTH)
    days = [date(2022, 7, 10 + k) for k in range(5)]
    results = [run_day(store, day, ninth) for day in days]
    assert _has(results[0].orders, 1, "admit")
    discharged = [r for r in results if _has(r.orders, 1, "discharge")]
    assert len(discharged) == 1
    outcome = discharged[0].events.filter(pl.col("event_type") == "outcome")
    assert outcome.get_column("outcome").to_list() == ["released"]  # an asymptomatic infection
    # the episode is closed: no admission again, and a new positive is a new episode
    assert not any(_has(r.orders, 1, "admit") for r in results[1:])
    stored = store.fetch("SELECT outcome, rule FROM engine_case_event WHERE event_type = 'outcome'")
    assert stored.rows() == [("released", "treatment.discharge")]


# -- the bulletin counts infections, whoever reported them ----------------------------------------


def test_the_bulletin_counts_a_lab_found_case_once(store: Store) -> None:
    e = _household(Events(), (1, 10), (2, 20))
    e.sample(1, "2022-07-10 09:00", "positive")  # found by the lab: the engine reports it
    e.load(store, batch=1)
    ninth = load_policy(NINTH)
    first = run_day(store, D1, ninth)
    assert first.events.filter(pl.col("event_type") == "report").height == 1
    day1 = bulletin_from_registry(store, D1).figures
    assert (day1.asymptomatic_new, day1.new_confirmed) == (1, 0)
    # the hospital reports the same person as a confirmed case (its own case id) the next day
    Events().case(1, "2022-07-11 10:00", case_id="HOSP-1").load(store, batch=2)
    run_day(store, D2, ninth)
    day2 = bulletin_from_registry(store, D2).figures
    # one infection: an asymptomatic infection that became confirmed (无症状转确诊), not two cases
    assert (day2.new_confirmed, day2.new_converted, day2.asymptomatic_new) == (1, 1, 0)
    assert (day2.cumulative_confirmed, day2.asymptomatic_under_observation) == (1, 0)


def test_the_bulletin_reads_the_engine_events_of_its_scenario_only(store: Store) -> None:
    e = _household(Events(), (1, 10))
    e.sample(1, "2022-07-10 09:00", "positive")
    e.load(store, batch=1)
    what_if = open_scenario(store, "lab-only", WHATIF, D1)
    run_day(store, D1, load_policy(WHATIF), scenario=what_if)
    assert bulletin_from_registry(store, D1).figures.asymptomatic_new == 0  # live has not run
    assert bulletin_from_registry(store, D1, scenario="lab-only").figures.asymptomatic_new == 1
