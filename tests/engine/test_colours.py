"""Health-code colours (`fangkong.engine.colours`): the colour and reasons of each regime for the
same facts, the test validity window counted each way, and the stored rows of `run_day` —
recomputed only for the people whose facts changed, and equal to a full recompute after a
sequence of days with late events, reruns, a reinfection and an excluded case. Both backends."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from fangkong.cli.app import app
from fangkong.engine import colours
from fangkong.engine.colours import code_of, derive_colours
from fangkong.engine.day import run_day
from fangkong.engine.frames import day_bounds
from fangkong.engine.negatives import kept_negatives
from fangkong.engine.orders import TIME
from fangkong.engine.scenario import LIVE, Scenario, open_scenario
from fangkong.engine.testing import latest_negative
from fangkong.errors import NotFoundError
from fangkong.model.glossary import CodeColour
from fangkong.policy import Policy, ValidityCount, load_policy
from fangkong.store import Store, open_store

from .test_tracing import Events, at

NINTH, TWENTY, CLASS_B = "cn-2022-06-28", "cn-2022-11-11", "cn-2023-01-08"
D1 = date(2022, 7, 10)


def _pool(
    e: Events, tube: str, pids: list[int], sampled: str, result: str, ct: float | None = None
) -> Events:
    """A tube of `pids` (one person: a single-tube test), its result 6 hours after sampling."""
    for pid in pids:
        e.add(
            "sample", sample_id=f"{tube}-{pid}", person_id=pid, tube_id=tube, sampled_at=at(sampled)
        )
    return e.add(
        "tube_result",
        tube_id=tube,
        result=result,
        ct_value=ct,
        reported_at=at(sampled) + timedelta(hours=6),
    )


def _world() -> Events:
    """1 a case; 2 in 1's household (a close contact); 3 and 4 in a positive pooled tube, 4
    retested negative; 5 tested negative two days ago; 6 never tested; 7 arrived from abroad."""
    e = Events()
    for pid, household in ((1, 10), (2, 10), (3, 30), (4, 40), (5, 50), (6, 60), (7, 70)):
        e.person(pid, household)
    e.case(1, "2022-07-10 08:00")
    _pool(e, "P1", [3, 4], "2022-07-10 07:00", "positive", 30.0)
    e.sample(4, "2022-07-10 15:00", "negative")
    e.sample(5, "2022-07-08 09:00", "negative")
    e.arrival(7, "MU568", "2022-07-10 06:00", 12)
    return e


def _reasons(store: Store, pid: int, day: date, scenario: Scenario = LIVE) -> list[str]:
    return sorted(code_of(store, pid, day, scenario=scenario).reasons.get_column("reason"))


def _run(store: Store, day: date, pid: str) -> None:
    run_day(store, day, load_policy(pid))


def test_the_ninth_edition_colours_and_reasons(store: Store) -> None:
    _world().load(store, batch=1)
    _run(store, D1, NINTH)
    got = {pid: code_of(store, pid, D1) for pid in range(1, 8)}
    assert got[1].colour is CodeColour.RED
    assert "confirmed" in _reasons(store, 1, D1)
    case = got[1].reasons.filter(pl.col("reason") == "confirmed").row(0, named=True)
    assert case["source"] == "case_episode" and case["source_ref"] == "C1"
    assert case["since"] == at("2022-07-10 08:00")
    assert got[2].colour is CodeColour.RED  # close contact in centralized quarantine (7 + 3)
    assert _reasons(store, 2, D1) == ["close_contact_centralized", "no_recent_test"]
    # a pooled positive is red until the retest (Shanghai); 4's negative retest releases
    assert got[3].colour is CodeColour.RED
    pool = got[3].reasons.filter(pl.col("reason") == "pool_positive_awaiting_retest")
    assert pool.get_column("source_ref").to_list() == ["P1"]
    assert got[4].colour is CodeColour.GREEN and got[4].reasons.height == 0
    # 5: negative sampled on 07-08 09:00, counted from sampling, 72 h for venues, 48 h to leave
    assert got[5].colour is CodeColour.GREEN
    assert got[5].tested_at == at("2022-07-08 09:00")
    assert got[5].venue_valid_until == at("2022-07-11 09:00")
    assert got[5].leave_city_valid_until == at("2022-07-10 09:00")
    # 6 never tested: 应检未检 under Shanghai's weekly test
    assert got[6].colour is CodeColour.YELLOW
    assert _reasons(store, 6, D1) == ["no_recent_test"]
    assert got[7].colour is CodeColour.RED  # inbound, centralized
    assert "centralized_quarantine" in _reasons(store, 7, D1)


def test_the_twenty_measures_ask_no_weekly_test(store: Store) -> None:
    _world().load(store, batch=1)
    day = date(2022, 11, 20)
    _run(store, day, TWENTY)
    assert code_of(store, 6, day).colour is CodeColour.GREEN  # no 应检未检 rule
    assert code_of(store, 3, day).colour is CodeColour.RED  # pool positive: red (Shanghai, Sept)
    # counted from the report (sampled 07-08 09:00, reported an hour later): long lapsed
    five = code_of(store, 5, day)
    assert five.tested_at == at("2022-07-08 10:00")
    assert five.venue_valid_until == at("2022-07-11 10:00")


def test_the_2020_regime_makes_a_pool_positive_yellow(store: Store) -> None:
    e = Events().person(3, 30).person(4, 40).person(6, 60)
    _pool(e, "P1", [3, 4], "2020-08-01 07:00", "positive", 30.0)
    e.load(store, batch=1)
    day = date(2020, 8, 1)
    _run(store, day, "cn-2020-07-21")
    three = code_of(store, 3, day)
    assert three.colour is CodeColour.YELLOW  # Jiangsu: further screening
    assert three.venue_valid_until is None  # no test validity rule in 2020
    assert code_of(store, 6, day).colour is CodeColour.GREEN


def test_class_b_keeps_only_cases_red(store: Store) -> None:
    e = Events().person(1, 10).person(2, 10).person(3, 30).person(4, 40)
    e.case(1, "2023-01-10 08:00")
    _pool(e, "P1", [3, 4], "2023-01-10 07:00", "positive", 30.0)
    e.add("fever_clinic_visit", visit_id="V4", person_id=4, visited_at=at("2023-01-07 20:00"))
    e.load(store, batch=1)
    day = date(2023, 1, 10)
    _run(store, day, CLASS_B)
    assert code_of(store, 1, day).colour is CodeColour.RED
    assert code_of(store, 2, day).colour is CodeColour.GREEN  # no contacts, no quarantine
    assert code_of(store, 3, day).colour is CodeColour.GREEN  # the pool reason is not listed
    visit = code_of(store, 4, day)
    assert visit.colour is CodeColour.YELLOW  # a fever-clinic visit, 3 days ago
    assert visit.reasons.row(0, named=True)["source_ref"] == "V4"


def test_calendar_day_counting(store: Store) -> None:
    Events().person(5, 50).sample(5, "2022-07-08 21:00", "negative").load(store, batch=1)
    ninth = load_policy(NINTH)
    beijing = ninth.model_copy(
        update={
            "health_code": ninth.health_code.model_copy(
                update={"test_validity_counted_in": ValidityCount.CALENDAR_DAYS}
            )
        }
    )
    codes = derive_colours(store, D1, beijing).codes.row(0, named=True)
    # sampled on day 0 (07-08): "48 h" holds through day 2 (07-10), "72 h" through 07-11
    assert codes["leave_city_valid_until"] == at("2022-07-11 00:00")
    assert codes["venue_valid_until"] == at("2022-07-12 00:00")


def test_a_person_with_no_row_is_green_and_a_day_with_no_run_is_an_error(store: Store) -> None:
    Events().person(1, 10).load(store, batch=1)
    with pytest.raises(NotFoundError):
        code_of(store, 1, D1)
    _run(store, D1, TWENTY)
    nobody = code_of(store, 99, D1)
    assert nobody.colour is CodeColour.GREEN and nobody.reasons.height == 0
    assert not nobody.on_record and nobody.run_day == D1


# -- incremental equals full ---------------------------------------------------------------------


def _normal(codes: pl.DataFrame, reasons: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows comparable between a stored state and a recompute: a green row with no test and no
    reason says what no row says."""
    blank = (pl.col("colour") == "green") & pl.col("tested_at").is_null()
    codes = codes.filter(~blank).select(
        "person_id", "colour", "tested_at", "venue_valid_until", "leave_city_valid_until"
    )
    reasons = reasons.select("person_id", "reason", "source", "source_ref", "since")
    return (
        codes.sort("person_id"),
        reasons.sort("person_id", "reason", "source_ref", nulls_last=True),
    )


_PEOPLE = """
SELECT person_id FROM person UNION SELECT person_id FROM sample
UNION SELECT person_id FROM case_report UNION SELECT person_id FROM health_code
UNION SELECT person_id FROM arrival UNION SELECT person_id FROM symptom_report
UNION SELECT person_id FROM fever_clinic_visit
"""


def _stored(store: Store, day: date, scenario: Scenario) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Everyone's colour as `code_of` reads it: their stored row, and the lapse and window
    derived from the latest negatives the runs kept."""
    people = sorted(store.fetch(_PEOPLE).get_column("person_id").to_list())
    read = [code_of(store, pid, day, scenario=scenario) for pid in people]
    codes = pl.DataFrame(
        [
            {
                "person_id": c.person_id,
                "colour": c.colour.value,
                "tested_at": c.tested_at,
                "venue_valid_until": c.venue_valid_until,
                "leave_city_valid_until": c.leave_city_valid_until,
            }
            for c in read
        ],
        schema=colours.CODE_SCHEMA,
    )
    reasons = pl.concat(
        [pl.DataFrame(schema=colours.REASON_SCHEMA)]
        + [c.reasons.with_columns(pl.lit(c.person_id, pl.Int64).alias("person_id")) for c in read],
        how="diagonal",
    )
    return _normal(codes, reasons)


def _full(
    store: Store, day: date, policy: Policy, scenario: Scenario
) -> tuple[pl.DataFrame, pl.DataFrame]:
    colours = derive_colours(store, day, policy, scenario=scenario)
    return _normal(colours.codes, colours.reasons)


def _same(store: Store, day: date, policy: Policy, scenario: Scenario = LIVE) -> None:
    """The colours read equal a full recompute, and the latest negatives the runs kept equal
    the rule over every test."""
    stored, full = _stored(store, day, scenario), _full(store, day, policy, scenario)
    for a, b in zip(stored, full, strict=True):
        assert a.equals(b), (day, scenario, a, b)
    kept = kept_negatives(store, day, scenario).sort("person_id")
    assert kept.equals(latest_negative(store, day_bounds(day)[1] - timedelta(microseconds=1)))


def _day(n: int) -> date:
    return D1 + timedelta(days=n)


def test_incremental_equals_a_full_recompute_day_after_day(store: Store) -> None:
    ninth = load_policy(NINTH)
    _world().load(store, batch=1)
    written: list[int] = []

    def run(n: int) -> None:
        before = store.count("health_code")
        run_day(store, _day(n), ninth)
        written.append(store.count("health_code") - before)
        _same(store, _day(n), ninth)

    run(0)
    # day 1: 3's retest comes back negative; a new case 8 reported and cured the same week
    e = Events().person(8, 80).person(9, 90)
    _pool(e, "R3", [3], "2022-07-11 09:00", "negative")
    e.case(8, "2022-07-11 10:00", case_id="C8")
    e.case(9, "2022-07-11 11:00", case_id="C9")
    # a fever-clinic visit reported late: it leaves the 14-day lookback on 07-12 (day 2)
    e.add("fever_clinic_visit", visit_id="V7", person_id=7, visited_at=at("2022-06-28 10:00"))
    e.load(store, batch=2)
    run(1)
    assert "fever_clinic_visit" in _reasons(store, 7, _day(1))
    assert code_of(store, 3, _day(1)).colour is CodeColour.GREEN  # released by the retest
    # day 2: 9 was a false positive (excluded, imported late, dated day 1); 8 cured
    late = Events()
    late.case(9, "2022-07-11 20:00", event="reclassify", diagnosis="excluded", case_id="C9")
    late.case(8, "2022-07-12 10:00", event="outcome", outcome="cured", case_id="C8")
    late.load(store, batch=3)
    run(2)
    assert "fever_clinic_visit" not in _reasons(store, 7, _day(2))
    assert code_of(store, 9, _day(2)).colour is not CodeColour.RED
    assert "confirmed" not in _reasons(store, 8, _day(2))
    # day 2 again after more events: a rerun replaces the day's rows
    _pool(Events(), "T6", [6], "2022-07-12 08:00", "negative").load(store, batch=4)
    run(2)
    assert "no_recent_test" not in _reasons(store, 6, _day(2))
    # days 3-9: quarantine phases change and end, tests lapse; 8 is reinfected on day 6
    for n in range(3, 10):
        if n == 6:
            Events().case(8, "2022-07-16 09:00", case_id="C8b").load(store, batch=5)
        run(n)
    assert "confirmed" in _reasons(store, 8, _day(6))
    # 5's negative of 07-08 lapsed on 07-15: yellow from then
    assert code_of(store, 5, _day(4)).colour is CodeColour.GREEN
    assert "no_recent_test" in _reasons(store, 5, _day(5))
    # the first run writes everyone with a reason but the lapse of a test (1 a case, 2 its
    # contact, 3 the pool, 7 inbound: 6's lapse and 5's window are read from the kept
    # negatives); later days only the people whose colour or reasons changed
    assert written[0] == 4, written
    assert max(written[3:]) < store.count("person"), written


def test_a_long_list_of_people_reads_everyone_and_keeps_those_asked_for(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the people to recompute are half the registry or more (a round that reached
    everyone), the colours are read for everyone and cut to those asked for: the same rows as
    the queries restricted to them, including someone asked for who has no fact at all."""
    ninth = load_policy(NINTH)
    _world().load(store, batch=1)
    run_day(store, D1, ninth)
    everyone = store.fetch("SELECT person_id FROM person").get_column("person_id").sort()
    asked = pl.concat([everyone.head(everyone.len() - 2), pl.Series("person_id", [999])])
    narrow = derive_colours(store, D1, ninth, ids=asked)
    monkeypatch.setattr(colours, "_LONG_LIST", 1)  # the first list long enough to be asked
    wide = derive_colours(store, D1, ninth, ids=asked)
    assert sorted(wide.codes.get_column("person_id")) == sorted(asked)
    assert wide.codes.sort("person_id").equals(narrow.codes.sort("person_id"))
    order = ["person_id", "reason", "source_ref"]
    assert wide.reasons.sort(order, nulls_last=True).equals(
        narrow.reasons.sort(order, nulls_last=True)
    )


def test_a_what_if_recomputes_in_its_own_scenario_and_leaves_live_alone(store: Store) -> None:
    ninth, whatif = load_policy(NINTH), load_policy("whatif-2022-06-28-close-contacts-5-3")
    _world().load(store, batch=1)
    for n in range(3):
        run_day(store, _day(n), ninth)
    live_rows = store.fetch("SELECT * FROM health_code ORDER BY run_day, person_id")
    scenario = open_scenario(store, "close-5-3", whatif.id, _day(1))
    for n in range(1, 5):
        run_day(store, _day(n), whatif, scenario=scenario)
        _same(store, _day(n), whatif, scenario)
    after = store.fetch(
        "SELECT * FROM health_code WHERE scenario = 'live' ORDER BY run_day, person_id"
    )
    assert after.equals(live_rows)
    assert code_of(store, 2, _day(3), scenario=scenario).colour is CodeColour.RED


# -- the command ----------------------------------------------------------------------------------


def test_fangkong_code_prints_reasons_and_signs_the_colour(tmp_path: Path) -> None:
    path = tmp_path / "city.duckdb"
    with open_store(path) as st:
        _world().load(st, batch=1)
        run_day(st, D1, load_policy(NINTH))
    runner = CliRunner()
    shown = runner.invoke(app, ["code", "2", "--date", "2022-07-10", "--store", str(path)])
    assert shown.exit_code == 0, shown.output
    assert "red" in shown.output and "close_contact_centralized" in shown.output
    assert "quarantine" in shown.output  # the fact's kind
    five = runner.invoke(app, ["code", "5", "--store", str(path)])  # the latest run
    assert "until 2022-07-11 09:00" in five.output
    keys = tmp_path / "keys"
    made = runner.invoke(app, ["keys", "generate", "--region", "310000", "--keys", str(keys)])
    assert made.exit_code == 0, made.output
    qr = tmp_path / "code.png"
    signed = runner.invoke(
        app, ["code", "2", "--store", str(path), "--keys", str(keys), "--qr", str(qr)]
    )
    assert signed.exit_code == 0, signed.output
    text = next(line for line in signed.output.splitlines() if line.startswith("FK1:"))
    assert qr.exists()
    trust = ["trust", "publish", "--keys", str(keys), "--out", str(tmp_path / "trust.cose")]
    assert runner.invoke(app, trust).exit_code == 0
    verified = runner.invoke(app, ["verify", text, "--keys", str(keys), "--format", "json"])
    assert verified.exit_code == 0, verified.output
    assert '"red"' in verified.output and "close_contact_centralized" in verified.output
    no_keys = runner.invoke(app, ["code", "2", "--store", str(path), "--qr", str(qr)])
    assert no_keys.exit_code == 2
    no_run = runner.invoke(app, ["code", "2", "--date", "2022-07-01", "--store", str(path)])
    assert no_run.exit_code == 2 and "no run" in no_run.output


def _residents(people: list[tuple[int, int, str]]) -> Events:
    """People (person, household, building) living in compound C1 of street 310104001."""
    e = Events()
    for pid, household, building in people:
        e.add(
            "person",
            person_id=pid,
            household_id=household,
            region_code="310104001",
            id_type="ric",
            compound_id="C1",
            building_id=building,
        )
    return e


def test_residents_of_a_risk_area_are_red_until_it_is_lifted(store: Store) -> None:
    """Twenty measures: the building where a case lives is a high-risk area, lifted after 5
    days without a new infection; its residents are red (from_risk_area) while it holds, the
    next building's are not, and the rows a run writes equal a full recompute every day."""
    e = _residents([(1, 10, "B1"), (2, 20, "B1"), (3, 30, "B2")])
    e.case(1, "2022-11-15 10:00")
    e.load(store, batch=1)
    twenty = load_policy(TWENTY)
    days = [date(2022, 11, 15) + timedelta(days=k) for k in range(9)]
    red_days = []
    held_from = []  # the bound each run leaves the next one's colours (the rows it asks again)
    for day in days:
        run_day(store, day, twenty)
        _same(store, day, twenty)
        if "from_risk_area" in _reasons(store, 2, day):
            assert code_of(store, 2, day).colour is CodeColour.RED
            red_days.append(day)
        assert "from_risk_area" not in _reasons(store, 3, day)  # another building
        held_from.append(
            store.scalar("SELECT held_from FROM engine_run WHERE run_day = :d", {"d": day})
        )
    assert red_days[0] == days[0], red_days
    # while the area holds, its residents' rows of the day it was drawn; none after
    assert held_from[: len(red_days)] == [days[0]] * len(red_days), held_from
    assert held_from[len(red_days) :] == [d + timedelta(days=1) for d in days[len(red_days) :]]
    assert len(red_days) == 5  # lifted after 5 days without a new infection
    assert red_days == days[: len(red_days)]  # one span, from the day it was drawn
    reason = code_of(store, 2, days[0]).reasons.filter(pl.col("reason") == "from_risk_area")
    assert reason.get_column("source_ref").to_list() == ["building:B1"]


def _symptom(e: Events, report: str, pid: int, observed: str, symptom: str = "fever") -> Events:
    return e.add(
        "symptom_report",
        report_id=report,
        person_id=pid,
        observed_at=at(observed),
        symptom=symptom,
        observed_by="temperature_check" if symptom == "fever" else "self_declaration",
        temperature=37.9 if symptom == "fever" else None,
    )


def test_suspected_cases_and_symptoms_late_and_corrected(store: Store) -> None:
    """Suspected cases (from the case registry's diagnosis) are red while suspected, and not
    once excluded or confirmed; fever or respiratory symptoms (symptom reports) are yellow for
    the policy's 14-day lookback. A late report and a correction (排除) are seen by the next
    run, which recomputes only the people they concern, equal to a full recompute each day."""
    ninth = load_policy(NINTH)
    e = Events()
    for pid in (10, 11, 12, 13, 14, 15):
        e.person(pid, pid * 10)
    e.case(10, "2022-07-10 09:00", diagnosis="suspected", case_id="S10")
    e.case(11, "2022-07-09 09:00", diagnosis="suspected", case_id="S11")
    e.case(11, "2022-07-10 10:00", event="reclassify", diagnosis="excluded", case_id="S11")
    e.case(14, "2022-07-09 15:00", diagnosis="suspected", case_id="S14")
    e.case(14, "2022-07-10 11:00", event="reclassify", diagnosis="confirmed", case_id="S14")
    _symptom(e, "Y12", 12, "2022-07-08 07:30")
    _symptom(e, "Y15", 15, "2022-06-20 07:30", "cough")  # 20 days ago: past the lookback
    for pid in (10, 11, 12, 13, 14, 15):  # everyone tested: no 应检未检 in the way
        _pool(e, f"T{pid}", [pid], "2022-07-09 08:00", "negative")
    e.load(store, batch=1)
    run_day(store, _day(0), ninth)
    _same(store, _day(0), ninth)

    ten = code_of(store, 10, _day(0))
    assert ten.colour is CodeColour.RED and _reasons(store, 10, _day(0)) == ["suspected"]
    row = ten.reasons.row(0, named=True)
    assert (row["source"], row["source_ref"]) == ("suspected_case", "S10")
    assert row["since"] == at("2022-07-10 09:00")
    assert code_of(store, 11, _day(0)).colour is CodeColour.GREEN  # excluded the next day
    assert _reasons(store, 14, _day(0)) == ["confirmed"]  # suspected, then confirmed
    twelve = code_of(store, 12, _day(0))
    assert twelve.colour is CodeColour.YELLOW
    assert _reasons(store, 12, _day(0)) == ["fever_or_respiratory_symptoms"]
    row = twelve.reasons.row(0, named=True)
    assert (row["source"], row["source_ref"]) == ("symptom_report", "Y12")
    assert row["since"] == at("2022-07-08 07:30")
    assert code_of(store, 15, _day(0)).colour is CodeColour.GREEN

    # day 1: a symptom of 13 observed on 06-28 arrives late (the lookback still holds it on
    # 07-11); 10's suspected case is excluded (the correction), reported late too
    late = _symptom(Events(), "Y13", 13, "2022-06-28 10:00", "sore_throat")
    late.add(
        "case_report", report_id="S10-excluded", case_id="S10", person_id=10,
        region_code="310101", reported_at=at("2022-07-10 22:00"), event_type="reclassify",
        diagnosis="excluded",
    )  # fmt: skip
    late.load(store, batch=2)
    before = store.count("health_code")
    run_day(store, _day(1), ninth)
    _same(store, _day(1), ninth)
    assert code_of(store, 13, _day(1)).colour is CodeColour.YELLOW
    assert code_of(store, 13, _day(0)).colour is CodeColour.GREEN  # what day 0's run knew
    assert code_of(store, 10, _day(1)).colour is CodeColour.GREEN
    assert code_of(store, 10, _day(0)).colour is CodeColour.RED
    written = store.count("health_code") - before
    assert {10, 13} <= set(
        store.fetch(
            "SELECT person_id FROM health_code WHERE run_day = :d", {"d": _day(1)}
        ).get_column("person_id")
    )
    assert written < store.count("person")  # only the people whose facts changed

    # day 2: 13's report leaves the 14-day lookback (observed 06-28 10:00; 07-12 ends it)
    run_day(store, _day(2), ninth)
    _same(store, _day(2), ninth)
    assert code_of(store, 13, _day(2)).colour is CodeColour.GREEN
    assert code_of(store, 12, _day(2)).colour is CodeColour.YELLOW  # 07-08: still inside


def test_only_the_people_whose_risk_areas_changed_are_asked_again() -> None:
    """A run asks again the people whose risk-area reasons now differ from their row's: not the
    residents of an area unchanged since the previous run; under a policy that lists no such
    reason, none for living in an area."""
    residents = pl.DataFrame(
        {
            "person_id": [1, 2, 3],
            "area_id": ["building:B1", "building:B1", "building:B1"],
            "level_since": [date(2022, 11, 15), date(2022, 11, 15), date(2022, 11, 15)],
        }
    )
    midnight = day_bounds(date(2022, 11, 15))[0]
    held = pl.DataFrame(
        {
            "person_id": [1, 2, 4],
            "area_id": ["building:B1", "building:B1", "building:B9"],
            # 2's row holds the area at an earlier level; 4's area was lifted
            "since": [midnight, midnight - timedelta(days=3), midnight - timedelta(days=1)],
        },
        schema={"person_id": pl.Int64(), "area_id": pl.String(), "since": TIME},
    )
    changes = colours._area_changes(residents, held, load_policy(TWENTY))
    assert sorted(changes.to_list()) == [2, 2, 3, 4]  # 1: unchanged
    class_b = colours._area_changes(residents, held.clear(), load_policy(CLASS_B))
    assert class_b.len() == 0


_QUARANTINE = {"close_contact_centralized", "centralized_quarantine", "home_quarantine"}


def _take_ordered_tests(store: Store, pid: int, day: date, k: int) -> None:
    """`pid` takes the tests ordered for `day` (one swab at 08:00, negative at 14:00)."""
    start, end = day_bounds(day)
    due = store.fetch(
        "SELECT DISTINCT start_at FROM engine_order WHERE person_id = :p"
        " AND order_type = 'test' AND start_at >= :s AND start_at < :e",
        {"p": pid, "s": start, "e": end},
    )
    if due.height:
        e = Events()
        e.add(
            "sample",
            sample_id=f"Q{pid}-{k}",
            person_id=pid,
            tube_id=f"TQ{pid}-{k}",
            sampled_at=start + timedelta(hours=8),
        )
        e.add(
            "tube_result",
            tube_id=f"TQ{pid}-{k}",
            result="negative",
            reported_at=start + timedelta(hours=14),
        )
        e.load(store, batch=100 + k)


def test_a_phase_shows_on_the_code_to_its_last_day(store: Store) -> None:
    """2, a close contact exposed 07-10: centralized 07-11..07-17, at home 07-18..07-20, each
    phase released on its last day from the next midnight. The code shows each phase all of
    its last day (it was green on the last day before), and no phase from 07-21."""
    ninth = load_policy(NINTH)
    _world().load(store, batch=1)
    shown = {}
    for k in range(12):
        day = D1 + timedelta(days=k)
        _take_ordered_tests(store, 2, day, k)
        run_day(store, day, ninth)
        _same(store, day, ninth)
        shown[day] = sorted(set(_reasons(store, 2, day)) & _QUARANTINE)
    assert shown[date(2022, 7, 17)] == ["close_contact_centralized"]
    assert code_of(store, 2, date(2022, 7, 17)).colour is CodeColour.RED
    assert shown[date(2022, 7, 18)] == ["home_quarantine"]
    assert shown[date(2022, 7, 20)] == ["home_quarantine"]
    assert shown[date(2022, 7, 21)] == []
    # each phase was released on its last day, from the next midnight
    releases = store.fetch(
        "SELECT run_day, detail FROM engine_order WHERE person_id = 2 AND order_type = 'release'"
        " ORDER BY run_day"
    )
    assert releases.rows() == [
        (date(2022, 7, 17), "centralized_quarantine"),
        (date(2022, 7, 20), "home_health_monitoring"),
    ]


def test_areas_drawn_on_different_days_keep_the_earliest_bound(store: Store) -> None:
    """Twenty measures: building B1's area drawn on 11-15, B2's on 11-17 while B1's holds. Each
    run leaves the next the earliest day of a row holding an area's reason (B1's residents'
    rows of 11-15 while B1 holds, though the run of 11-17 wrote B2's), and the rows every run
    writes equal a full recompute."""
    e = _residents([(1, 10, "B1"), (2, 20, "B1"), (3, 30, "B2"), (4, 40, "B2")])
    e.case(1, "2022-11-15 10:00")
    e.load(store, batch=1)
    twenty = load_policy(TWENTY)
    days = [date(2022, 11, 15) + timedelta(days=k) for k in range(12)]
    bounds = {}
    for day in days:
        if day == days[2]:
            Events().case(3, "2022-11-17 10:00", case_id="C3").load(store, batch=2)
        run_day(store, day, twenty)
        _same(store, day, twenty)
        bounds[day] = store.scalar(
            "SELECT held_from FROM engine_run WHERE run_day = :d", {"d": day}
        )
    b1 = [d for d in days if "from_risk_area" in _reasons(store, 2, d)]
    b2 = [d for d in days if "from_risk_area" in _reasons(store, 4, d)]
    assert b1[0] == days[0] and b2[0] == days[2] and b1[-1] < b2[-1], (b1, b2)
    for day in days:
        if day <= b1[-1]:
            assert bounds[day] == days[0], (day, bounds)
        elif day <= b2[-1]:
            assert bounds[day] == days[2], (day, bounds)
        else:
            assert bounds[day] == day + timedelta(days=1), (day, bounds)


def test_an_extension_on_a_phase_s_last_day_is_not_released(store: Store) -> None:
    """2's centralized phase ends on 07-17; that day 11, of 2's household, is reported a case:
    2 is a close contact again and the count restarts. The run's release of the phase that
    ended would release the extension's centralized phase too (same kind): the run issues
    the extension and no release, and 2 stays in centralized quarantine (red) from 07-18."""
    ninth = load_policy(NINTH)
    _world().load(store, batch=1)
    for k in range(9):
        day = D1 + timedelta(days=k)
        _take_ordered_tests(store, 2, day, k)
        if day == date(2022, 7, 17):
            Events().person(11, 10).case(11, "2022-07-17 09:00", case_id="C11").load(store, 20)
        run_day(store, day, ninth)
        _same(store, day, ninth)
    last = store.fetch(
        "SELECT order_type, detail FROM engine_order WHERE person_id = 2 AND run_day = :d"
        " AND order_type IN ('extend', 'release') ORDER BY order_type, detail",
        {"d": date(2022, 7, 17)},
    )
    assert last.rows() == [
        ("extend", "centralized_quarantine"),
        ("extend", "home_health_monitoring"),
    ]
    assert "close_contact_centralized" in _reasons(store, 2, date(2022, 7, 18))
    assert code_of(store, 2, date(2022, 7, 18)).colour is CodeColour.RED


def test_a_run_with_no_bound_before_it_reads_every_held_row(store: Store) -> None:
    """A run whose previous run left no bound (a store migrated from before migration 14)
    reads the rows holding a reason from the first day: the residents of B1's area, drawn
    before the bound existed, are asked again when it is lifted."""
    e = _residents([(1, 10, "B1"), (2, 20, "B1")])
    e.case(1, "2022-11-15 10:00")
    e.load(store, batch=1)
    twenty = load_policy(TWENTY)
    days = [date(2022, 11, 15) + timedelta(days=k) for k in range(8)]
    run_day(store, days[0], twenty)
    # as migrated from version 13: no run left a bound; a wrong one would miss B1's residents
    store.execute("UPDATE engine_run SET held_from = NULL")
    for day in days[1:]:
        run_day(store, day, twenty)
        _same(store, day, twenty)
    assert "from_risk_area" in _reasons(store, 2, days[1])
    assert "from_risk_area" not in _reasons(store, 2, days[-1])  # lifted
    assert store.scalar(
        "SELECT held_from FROM engine_run WHERE run_day = :d", {"d": days[-1]}
    ) == days[-1] + timedelta(days=1)
