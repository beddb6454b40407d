"""Testing (`fangkong.engine.testing`): each rule on the small round of tests/data/testing (its
README lists the tubes and what each should give), on both backends."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from fangkong.engine.episode import episode_ctes
from fangkong.engine.frames import day_bounds, named
from fangkong.engine.orders import ORDER_SCHEMA, check_orders
from fangkong.engine.scenario import LIVE, watermarks
from fangkong.engine.state import kept_state
from fangkong.engine.testing import (
    RULES,
    PooledTestingFacts,
    _cutoff_params,
    _facts,
    latest_negative,
    pooled_testing_orders,
    pooled_testing_rule,
    result_deadline_of,
    round_progress,
    under_temporary_control,
    validity_column,
)
from fangkong.engine.testing_sql import MAY_ORDER_SQL, PARTS
from fangkong.errors import InputError, NotFoundError
from fangkong.ingest import import_file
from fangkong.policy import Policy, load_policy
from fangkong.store import Store

DATA = Path(__file__).resolve().parents[1] / "data" / "testing"
D = date(2022, 7, 1)  # the round R1 was sampled on D-1; results and retests come on D and D+1
TZ = day_bounds(D)[0].tzinfo
NOT_RETURNED = "testing.tube_not_returned"


@pytest.fixture(scope="module")
def ninth() -> Policy:
    return load_policy("cn-2022-06-28")


@pytest.fixture(scope="module")
def twenty() -> Policy:
    return load_policy("cn-2022-11-11")


def load(store: Store) -> Store:
    for kind, name in (
        ("persons", "persons.csv"),
        ("samples", "samples.csv"),
        ("results", "results.csv"),
        ("arrivals", "inbound_arrivals.csv"),
        ("samples", "inbound_samples.csv"),
        ("results", "inbound_results.csv"),
    ):
        import_file(store, kind, DATA / name)
    return store


@pytest.fixture
def loaded(store: Store) -> Store:
    return load(store)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def rows(orders: pl.DataFrame, rule: str, order_type: str | None = None) -> pl.DataFrame:
    out = orders.filter(pl.col("rule") == rule)
    if order_type is not None:
        out = out.filter(pl.col("order_type") == order_type)
    return out.sort("person_id")


def orders_of(store: Store, day: date, policy: Policy) -> pl.DataFrame:
    """The day's testing orders on the store; the same rule over the store's rows as frames
    (`pooled_testing_rule`, no store) must give the same."""
    on_store = pooled_testing_orders(store, day, policy)
    until = day_bounds(day)[1]
    kinds = {k: ", ".join(c) for k, c in PooledTestingFacts.SCHEMAS.items() if k != "episode"}
    frames = {k: store.fetch(f"SELECT {cols} FROM {k}") for k, cols in kinds.items()}
    frames["episode"] = store.fetch(
        f"WITH {episode_ctes(LIVE)} SELECT person_id, opened_at, closed_at FROM episode",
        {"until": until, **LIVE.params()},
    )
    marks = watermarks(store, LIVE, day)
    over_frames = pooled_testing_rule(PooledTestingFacts.of(**frames), day, policy, marks=marks)
    assert_frame_equal(over_frames, on_store)
    return on_store


def persons(frame: pl.DataFrame) -> list[int | None]:
    return frame.get_column("person_id").to_list()


def test_orders_have_the_contract_shape(loaded: Store, ninth: Policy) -> None:
    orders = orders_of(loaded, D, ninth)
    assert orders.schema == pl.Schema(ORDER_SCHEMA)
    check_orders(orders)
    assert set(orders.get_column("rule").unique()) <= set(RULES)
    assert orders.get_column("policy_id").unique().to_list() == ["cn-2022-06-28"]
    assert orders.get_column("reason").null_count() == 0
    # no personal data in a reason: no person id, no document number
    assert not orders.get_column("reason").str.contains("E000").any()
    assert orders.height == 35
    # the same day again gives the same orders
    assert orders_of(loaded, D, ninth).equals(orders)


def test_a_day_without_results_gives_no_order(loaded: Store, ninth: Policy) -> None:
    orders = orders_of(loaded, date(2022, 6, 20), ninth)
    assert orders.height == 0
    assert orders.schema == pl.Schema(ORDER_SCHEMA)


def test_pool_positive_controls_and_retests_every_member(loaded: Store, ninth: Policy) -> None:
    orders = orders_of(loaded, D, ninth)
    for order_type in ("temporary_control", "retest"):
        got = rows(orders, "testing.pool_positive", order_type)
        assert persons(got.filter(pl.col("detail") == "P1")) == [1, 2, 3, 4, 5]
        assert persons(got.filter(pl.col("detail") == "P2")) == [6, 7, 8]
        assert persons(got.filter(pl.col("detail") == "P6")) == [17, 18]
    control = rows(orders, "testing.pool_positive", "temporary_control")
    p1 = control.filter(pl.col("detail") == "P1")
    assert p1.get_column("start_at").unique().to_list() == [at("2022-07-01 02:00:00")]
    assert p1.get_column("reason")[0].startswith("pooled tube of 5 samples positive (Ct 30 < 40)")
    assert control.get_column("end_at").null_count() == control.height
    # the day before: the pool P5, positive on D-1
    before = orders_of(loaded, D - timedelta(days=1), ninth)
    assert persons(rows(before, "testing.pool_positive", "temporary_control")) == [15, 16]
    assert before.height == 4


def test_retest_positive_becomes_a_case_report(loaded: Store, ninth: Policy) -> None:
    orders = orders_of(loaded, D, ninth)
    case = rows(orders, "testing.retest_positive")
    assert persons(case) == [1]
    assert case.row(0, named=True) | {"reason": None} == {
        "person_id": 1,
        "order_type": "report_case",
        "start_at": at("2022-07-01 12:00:00"),
        "end_at": None,
        "place": None,
        "detail": "R01",
        "rule": "testing.retest_positive",
        "policy_id": "cn-2022-06-28",
        "reason": None,
        "population": None,
        "waiting_for": None,
    }
    assert "Ct 25 < 40" in case.get_column("reason")[0]
    single = rows(orders, "testing.single_positive")
    assert persons(single) == [14]
    assert single.get_column("detail").to_list() == ["S1"]
    assert "no Ct reported" in single.get_column("reason")[0]
    assert orders.filter(pl.col("order_type") == "report_case").height == 2


def test_retest_negative_releases(loaded: Store, ninth: Policy) -> None:
    orders = orders_of(loaded, D, ninth)
    released = rows(orders, "testing.retest_negative", "release_control")
    assert persons(released) == [2, 3, 4, 5, 6]
    assert released.get_column("detail").to_list() == ["P1"] * 4 + ["P2"]
    assert released.get_column("start_at").unique().to_list() == [at("2022-07-01 12:00:00")]


def test_all_retests_negative_contradict_the_pool(loaded: Store, ninth: Policy) -> None:
    # P2 (Ct 35): member 6 negative on D, members 7 and 8 negative on D+1
    orders = orders_of(loaded, D + timedelta(days=1), ninth)
    assert persons(orders) == [7, 8]
    assert orders.get_column("order_type").unique().to_list() == ["release_control"]
    assert orders.get_column("rule").unique().to_list() == ["testing.pool_not_confirmed"]
    assert orders.get_column("detail").unique().to_list() == ["P2"]
    reason = orders.get_column("reason")[0]
    assert "all 3 members" in reason
    assert "not confirmed" in reason
    assert "every member is released" in reason
    # on D the pool was still open: no contradiction yet
    assert rows(orders_of(loaded, D, ninth), "testing.pool_not_confirmed").height == 0


def test_a_repeat_positive_is_not_reported_again(loaded: Store, ninth: Policy) -> None:
    # S2: person 14's second single-tube positive, a day after S1
    orders = orders_of(loaded, D + timedelta(days=1), ninth)
    assert orders.filter(pl.col("order_type") == "report_case").height == 0


def test_a_known_case_is_not_reported_again(loaded: Store, ninth: Policy, tmp_path: Path) -> None:
    cases = tmp_path / "cases.csv"
    cases.write_text(
        "report_id,case_id,person_id,region_code,reported_at,event_type,diagnosis,origin\n"
        "CR1,C1,1,310104,2022-07-01 11:00:00,report,asymptomatic,local\n"
    )
    import_file(loaded, "cases", cases)
    orders = orders_of(loaded, D, ninth)
    assert rows(orders, "testing.retest_positive").height == 0
    assert persons(rows(orders, "testing.single_positive")) == [14]


def test_inbound_ct_37_is_not_positive_under_the_twenty_measures(
    loaded: Store, twenty: Policy, ninth: Policy
) -> None:
    day = date(2022, 11, 20)
    orders = orders_of(loaded, day, twenty)
    # person 31 arrived three days before sampling: cut-off 35, Ct 37 is a weak positive
    weak = rows(orders, "testing.weak_positive", "retest")
    assert persons(weak) == [31]
    reason = weak.get_column("reason")[0]
    assert "Ct 37, not below the cut-off 35 (the inbound cut-off)" in reason
    # Ct 35-40 at release from inbound quarantine: a risk assessment too (item 9)
    assessed = rows(orders, "testing.inbound_assessment", "assess")
    assert persons(assessed) == [31]
    assert assessed["detail"].to_list() == weak["detail"].to_list()  # the tube
    assert "below 40" in assessed.get_column("reason")[0]
    # person 32, a resident: cut-off 40, a case
    assert persons(rows(orders, "testing.single_positive", "report_case")) == [32]
    assert orders.height == 3
    # under the 9th edition the inbound cut-off is 40 too: both are cases
    before = orders_of(loaded, day, ninth)
    assert persons(rows(before, "testing.single_positive", "report_case")) == [31, 32]


def test_invalid_orders_a_retest(loaded: Store, ninth: Policy) -> None:
    got = rows(orders_of(loaded, D, ninth), "testing.invalid")
    assert persons(got) == [9, 10, 11]
    assert got.get_column("order_type").unique().to_list() == ["retest"]
    assert got.get_column("detail").unique().to_list() == ["P3"]


def test_a_tube_that_never_returns_orders_a_retest(loaded: Store, ninth: Policy) -> None:
    got = rows(orders_of(loaded, D, ninth), NOT_RETURNED)
    assert persons(got) == [12, 13]
    assert got.get_column("order_type").unique().to_list() == ["retest"]
    assert got.get_column("detail").unique().to_list() == ["P4"]
    # from the deadline: 24 h after the tube's last sample
    assert got.get_column("start_at").unique().to_list() == [at("2022-07-01 09:03:10")]
    assert got.get_column("reason")[0].startswith("tube not returned: no result 24 h after")
    # once: not again the next day, nor before the deadline's day
    for day in (D - timedelta(days=1), D + timedelta(days=1)):
        later = orders_of(loaded, day, ninth)
        assert rows(later, NOT_RETURNED).height == 0
    # with a 6 h deadline every tube of the round still out at the end of D-1 is overdue then
    six = ninth.model_copy(
        update={"testing": ninth.testing.model_copy(update={"result_deadline_hours": 6})}
    )
    early = rows(orders_of(loaded, D - timedelta(days=1), six), NOT_RETURNED)
    assert set(early.get_column("detail")) == {"P1", "P2", "P3", "P4", "P6", "S1", "N1", "N2"}
    assert "no result 6 h after" in early.get_column("reason")[0]


def test_a_later_report_supersedes(loaded: Store, ninth: Policy) -> None:
    orders = orders_of(loaded, D, ninth)
    # P5: positive on D-1, corrected to negative on D: its members are released
    corrected = rows(orders, "testing.pool_corrected")
    assert persons(corrected) == [15, 16]
    assert corrected.get_column("order_type").unique().to_list() == ["release_control"]
    assert "superseded by a later report (negative)" in corrected.get_column("reason")[0]
    # P6: invalid then positive on D: the positive stands, no retest for the invalid
    assert orders.filter(
        (pl.col("detail") == "P6") & (pl.col("rule") == "testing.invalid")
    ).is_empty()
    assert orders.filter(pl.col("detail") == "P5").height == 2


def test_a_result_for_an_unknown_tube_is_flagged(loaded: Store, ninth: Policy) -> None:
    got = rows(orders_of(loaded, D, ninth), "testing.unknown_tube")
    assert got.height == 1
    assert got.row(0, named=True)["person_id"] is None
    assert got.get_column("detail").to_list() == ["X9"]
    assert got.get_column("reason")[0].startswith("positive result for a tube with no registered")


def test_latest_negative(loaded: Store) -> None:
    end = day_bounds(D + timedelta(days=1))[1]
    latest = latest_negative(loaded, end)
    assert latest.columns == ["person_id", "sampled_at", "reported_at"]
    assert persons(latest) == [2, 3, 4, 5, 6, 7, 8, 15, 16, 19, 20, 22]
    by_person = {r["person_id"]: r for r in latest.iter_rows(named=True)}
    # a negative pooled tube counts for each member
    assert by_person[20]["sampled_at"] == at("2022-06-30 09:07:10")
    assert by_person[20]["reported_at"] == at("2022-07-01 02:00:00")
    # the latest of several: 19's round tube, not the older single test
    assert by_person[19]["sampled_at"] == at("2022-06-30 09:07:00")
    assert by_person[7]["reported_at"] == at("2022-07-02 10:00:00")
    # as of earlier instants
    early = latest_negative(loaded, at("2022-06-28 00:00:00"))
    assert early.rows() == [(19, at("2022-06-25 10:00:00"), at("2022-06-25 18:00:00"))]
    start_of_d = latest_negative(loaded, day_bounds(D)[0])
    assert persons(start_of_d) == [19]  # P5 was still positive then
    # a report at exactly as_of counts
    assert 20 in persons(latest_negative(loaded, at("2022-07-01 02:00:00")))


def test_validity_column(ninth: Policy, twenty: Policy) -> None:
    assert validity_column(ninth) == "sampled_at"  # Shanghai, June 2022
    assert validity_column(twenty) == "reported_at"  # national notice


def test_under_temporary_control(loaded: Store, ninth: Policy) -> None:
    end_of_d = day_bounds(D)[1]
    open_ = under_temporary_control(loaded, end_of_d, ninth)
    assert open_.rows() == [
        (7, "P2", at("2022-07-01 02:00:00")),
        (8, "P2", at("2022-07-01 02:00:00")),
        (17, "P6", at("2022-07-01 06:00:00")),
        (18, "P6", at("2022-07-01 06:00:00")),
    ]
    # before noon on D: P1's members are all still under control; P5's are not (corrected)
    morning = under_temporary_control(loaded, at("2022-07-01 09:00:00"), ninth)
    assert persons(morning) == [1, 2, 3, 4, 5, 6, 7, 8, 17, 18]
    after = under_temporary_control(loaded, day_bounds(D + timedelta(days=1))[1], ninth)
    assert persons(after) == [17, 18]


def test_round_progress(loaded: Store, ninth: Policy) -> None:
    end_of_d = day_bounds(D)[1]
    progress = round_progress(loaded, "R1", end_of_d, policy=ninth)
    assert progress.as_dict() == {
        "round_id": "R1",
        "region": None,
        "as_of": end_of_d.isoformat(),
        "persons_to_test": 25,
        "sampled": 21,
        "not_yet_sampled": 4,  # 21, 23 and the two inbound people of November
        "tubes": 9,
        "tubes_tested": 8,
        "tubes_outstanding": 1,  # P4
        "tubes_overdue": 1,
        "tubes_invalid": 1,  # P3
        "positive_tubes": 4,  # P1, P2, P6, S1 (P5 corrected)
        "positives_confirmed": 2,  # 14 (single), 1 (retest)
        "awaiting_retest": 4,  # 7, 8 (retests not back), 17, 18 (not retested)
    }
    xuhui = round_progress(loaded, "R1", day_bounds(D + timedelta(days=1))[1], region="310104")
    assert (xuhui.persons_to_test, xuhui.sampled, xuhui.not_yet_sampled) == (21, 20, 1)
    assert (xuhui.tubes, xuhui.tubes_tested, xuhui.positives_confirmed) == (8, 7, 2)
    assert xuhui.awaiting_retest == 2
    huangpu = round_progress(loaded, "R1", end_of_d, region="310101", policy=ninth)
    assert (huangpu.persons_to_test, huangpu.sampled, huangpu.not_yet_sampled) == (2, 1, 1)
    assert (huangpu.tubes, huangpu.tubes_tested, huangpu.positive_tubes) == (1, 1, 0)
    # mid-round: sampling done, no result back yet
    morning = round_progress(loaded, "R1", at("2022-06-30 12:00:00"), policy=ninth)
    assert (morning.tubes, morning.tubes_tested, morning.tubes_outstanding) == (9, 0, 9)
    assert morning.tubes_overdue == 0


def test_round_progress_errors(loaded: Store) -> None:
    with pytest.raises(NotFoundError, match="R9"):
        round_progress(loaded, "R9", day_bounds(D)[1])
    with pytest.raises(InputError, match="timezone-aware"):
        round_progress(loaded, "R1", datetime(2022, 7, 2))
    with pytest.raises(InputError, match="division code"):
        round_progress(loaded, "R1", day_bounds(D)[1], region="31%")
    with pytest.raises(InputError, match="timezone-aware"):
        latest_negative(loaded, datetime(2022, 7, 2))


@pytest.mark.parametrize("policy_id", ["cn-2022-06-28", "cn-2022-11-11"])
def test_only_the_rules_that_can_order_are_read(loaded: Store, policy_id: str) -> None:
    """Each day's facts are read for the groups of rules whose necessary condition holds
    (`MAY_ORDER_SQL`); reading every group gives the same facts, on every day of the round."""
    policy = load_policy(policy_id)
    found: set[str] = set()
    for offset in range(-2, 4):
        day = D + timedelta(days=offset)
        marks = watermarks(loaded, LIVE, day)
        params = {
            **_cutoff_params(policy),
            **marks.params(),
            **LIVE.params(),
            "day_start": day_bounds(day)[0],
            "until": day_bounds(day)[1],
            "lost_from": day_bounds(day)[0] - result_deadline_of(policy),
            "lost_to": day_bounds(day)[1] - result_deadline_of(policy),
        }
        may = loaded.fetch(MAY_ORDER_SQL, named(MAY_ORDER_SQL, params)).row(0, named=True)
        found |= {part for part, holds in may.items() if holds}
        every = _facts(loaded, day, policy, LIVE, marks, PARTS)
        assert _facts(loaded, day, policy, LIVE, marks).equals(every), day
    # the round has a result of every group: each was read on some day
    assert found == PARTS


def test_temporary_control_in_a_run_reads_what_the_testing_step_found(
    loaded: Store, ninth: Policy
) -> None:
    """In a run, whether a positive pool exists by the day's end is what the testing step
    found (`MAY_ORDER_SQL`): the controls open at the day's last instant are the same."""
    for day in (D - timedelta(days=2), D, D + timedelta(days=1)):
        last = day_bounds(day)[1] - timedelta(microseconds=1)
        with kept_state(loaded, LIVE, day):
            orders_of(loaded, day, ninth)
            inside = under_temporary_control(loaded, last, ninth)
        assert inside.equals(under_temporary_control(loaded, last, ninth)), day
        assert inside.height == (0 if day < D else 4 if day == D else 2)
