"""The daily run over the bundled sample outbreak: every order explained, days re-runnable,
the same events under three regimes (both backends)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from fangkong.engine.day import run_day
from fangkong.errors import NotFoundError
from fangkong.ingest import import_file
from fangkong.output.explain import explain_person
from fangkong.policy import load_policy
from fangkong.sample.outbreak import Outbreak, write_outbreak
from fangkong.store import Store, open_store


@pytest.fixture(scope="module")
def outbreak(tmp_path_factory: pytest.TempPathFactory) -> Outbreak:
    return write_outbreak(tmp_path_factory.mktemp("outbreak"), persons=4000, venues=120, days=14)


@pytest.fixture
def city(store: Store, outbreak: Outbreak) -> Store:
    for kind, path in outbreak.files.items():
        import_file(store, kind, path)
    return store


def _days(outbreak: Outbreak) -> list[date]:
    return [outbreak.first_day + timedelta(days=i) for i in range(outbreak.days)]


def test_every_day_runs_and_every_order_names_rule_and_policy(
    city: Store, outbreak: Outbreak
) -> None:
    policy = load_policy("cn-2022-06-28")
    total = 0
    for day in _days(outbreak):
        result = run_day(city, day, policy, jurisdiction="31")
        assert (
            result.orders.filter(pl.col("rule").is_null() | pl.col("reason").is_null()).height == 0
        )
        assert set(result.orders.get_column("policy_id").unique().to_list()) <= {policy.id}
        total += result.orders.height
    assert total > 0
    assert city.count("engine_order") == total


def test_running_a_day_again_replaces_it_exactly(city: Store, outbreak: Outbreak) -> None:
    policy = load_policy("cn-2022-06-28")
    days = _days(outbreak)
    for day in days[:-1]:
        run_day(city, day, policy)
    first = run_day(city, days[-1], policy)
    stored = city.count("engine_order")
    again = run_day(city, days[-1], policy)
    assert city.count("engine_order") == stored
    assert sorted(first.orders.get_column("order_id").to_list()) == sorted(
        again.orders.get_column("order_id").to_list()
    )


def test_explain_shows_the_chain(city: Store, outbreak: Outbreak) -> None:
    policy = load_policy("cn-2022-06-28")
    for day in _days(outbreak):
        run_day(city, day, policy)
    traced = city.fetch("SELECT contact_person_id FROM traced_contact LIMIT 1")
    assert traced.height, "the sample outbreak should produce traced contacts"
    person = int(traced.item())
    steps = explain_person(city, person)
    kinds = set(steps.get_column("what").to_list())
    assert {"contact", "order"} <= kinds
    orders = steps.filter(pl.col("what") == "order")
    assert orders.get_column("rule").null_count() == 0
    with pytest.raises(NotFoundError):
        explain_person(city, 10**12)


@pytest.mark.parametrize(
    ("policy_id", "total_days"),
    [("cn-2020-04-08", 14), ("cn-2022-06-28", 10), ("cn-2022-11-11", 8)],
)
def test_the_same_close_contacts_under_three_regimes(
    city: Store, outbreak: Outbreak, policy_id: str, total_days: int
) -> None:
    policy = load_policy(policy_id)
    orders = []
    for day in _days(outbreak):
        orders.append(run_day(city, day, policy).orders)
    quarantine = pl.concat(orders).filter(pl.col("order_type") == "quarantine")
    assert quarantine.height
    spans = quarantine.group_by("person_id").agg(
        ((pl.col("end_at").max() - pl.col("start_at").min()).dt.total_days()).alias("days")
    )
    longest = spans.get_column("days").max()
    assert isinstance(longest, int)
    assert longest >= total_days - 1


def test_cli_day_and_explain(tmp_path: Path, outbreak: Outbreak) -> None:
    from typer.testing import CliRunner

    from fangkong.cli.app import app

    store = str(tmp_path / "city.duckdb")
    runner = CliRunner()
    for kind, path in outbreak.files.items():
        assert runner.invoke(app, ["import", kind, str(path), "--store", store]).exit_code == 0
    day = str(_days(outbreak)[-1])
    result = runner.invoke(
        app,
        ["day", "--date", day, "--store", store, "--policy", "cn-2022-06-28"],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    assert "cn-2022-06-28" in result.output
    # in an 80-column terminal every rule, policy and facility is shown whole (a table too
    # narrow for its cells cut them to 'quarantine.clo…' and folded the facility names)
    narrow = runner.invoke(app, ["day", "--date", day, "--store", store], terminal_width=80)
    assert narrow.exit_code == 0, narrow.output
    with open_store(store) as st:
        orders = st.fetch("SELECT person_id, rule, place FROM engine_order")
        facilities = st.fetch("SELECT facility_id FROM facility").get_column("facility_id")
    assert "…" not in narrow.output
    assert all(f in narrow.output for f in facilities)
    person = orders.group_by("person_id").len().sort("len").get_column("person_id")[-1]
    explained = runner.invoke(app, ["explain", str(person), "--store", store], terminal_width=80)
    assert explained.exit_code == 0, explained.output
    assert "…" not in explained.output
    assert max(map(len, explained.output.splitlines())) <= 80
    mine = orders.filter(pl.col("person_id") == person)
    assert all(rule in explained.output for rule in mine.get_column("rule"))
    with open_store(store) as st:  # a registered person of whom nothing else is stored
        people = st.fetch("SELECT person_id FROM person ORDER BY person_id").get_column("person_id")
        quiet = next(p for p in people if explain_person(st, p).height == 0)
    nobody = runner.invoke(app, ["explain", str(quiet), "--store", store], terminal_width=80)
    assert f"person {quiet}: no event, order or contact on record" in nobody.output
    bad = runner.invoke(app, ["day", "--date", "2022-02-30", "--store", store])
    assert bad.exit_code == 2
    assert "not a date" in bad.output


def test_explain_marks_a_schedule_a_conversion_ended(store: Store) -> None:
    """A household contact quarantined on day 1 tests positive on day 3: the conversion ends
    their schedule, so its orders from then on are shown void (the home phase, the later test
    days) and the centralized phase under way cut short, not as still in force."""
    from .test_policy_cases import put

    put(store, "person", [
        {"person_id": p, "household_id": 10, "region_code": "310104"} for p in (1, 2)
    ])  # fmt: skip
    put(store, "case_report", [
        {"report_id": "R1", "case_id": "C1", "person_id": 1, "region_code": "310104",
         "reported_at": "2022-07-01 10:00", "event_type": "report", "diagnosis": "confirmed",
         "origin": "local"},
    ])  # fmt: skip
    policy = load_policy("cn-2022-06-28")
    first = date(2022, 7, 1)
    run_day(store, first, policy)
    run_day(store, first + timedelta(days=1), policy)
    put(store, "sample", [
        {"sample_id": "S2", "person_id": 2, "tube_id": "T2", "sampled_at": "2022-07-03 08:00"}
    ])  # fmt: skip
    put(store, "tube_result", [
        {"tube_id": "T2", "result": "positive", "ct_value": 25.0,
         "reported_at": "2022-07-03 14:00"},
    ])  # fmt: skip
    converted = run_day(store, first + timedelta(days=2), policy).orders
    assert "convert" in converted.filter(pl.col("person_id") == 2).get_column("order_type")
    orders = explain_person(store, 2).filter(pl.col("what") == "order")
    void = orders.filter(pl.col("summary").str.contains("[void:", literal=True))
    cut = orders.filter(pl.col("summary").str.contains("[cut short", literal=True))
    # the home phase and the test days after the conversion no longer apply
    assert void.filter(pl.col("summary").str.starts_with("quarantine home_")).height == 1
    assert void.filter(pl.col("summary").str.starts_with("test")).height >= 2
    assert (
        cut.filter(pl.col("summary").str.starts_with("quarantine centralized_quarantine")).height
        == 1
    )
    # the conversion itself and the orders of the case stand
    standing = orders.filter(~pl.col("summary").str.contains("[", literal=True))
    assert {"convert", "report_case"} <= {s.split()[0] for s in standing.get_column("summary")}
