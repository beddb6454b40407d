"""The testing rule over a caller's own frames, no store (`pooled_testing_rule`, issue 6 item 5):
the same SQL the daily run runs on the store, over the round of tests/data/testing read straight
from its files with Polars (its README lists what each tube should give). The cut-offs are the
policy files' (cn-2022-06-28: Ct below 40; cn-2022-11-11: 35 for an inbound person, with a risk
assessment for Ct 35-40). tests/engine/test_testing.py checks the rule over frames against the
store's on each of its days."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl

from fangkong.engine.frames import ZONE
from fangkong.engine.testing import PooledTestingFacts, pooled_testing_rule
from fangkong.policy import load_policy

from .rule_frames import at, episodes

DATA = Path(__file__).resolve().parents[1] / "data" / "testing"
D = date(2022, 7, 1)  # the round was sampled on D-1; results and retests come on D and D+1
NINTH = load_policy("cn-2022-06-28")


def _csv(*names: str, times: tuple[str, ...]) -> pl.DataFrame:
    """The rows of the fixture files, their naive times read as Beijing time (as the importer
    reads them)."""
    frames = [pl.read_csv(DATA / name, infer_schema_length=0) for name in names]
    return pl.concat(frames).with_columns(
        pl.col(c).str.to_datetime("%Y-%m-%d %H:%M:%S").dt.replace_time_zone(ZONE) for c in times
    )


def facts(*, episode: pl.DataFrame | None = None) -> PooledTestingFacts:
    return PooledTestingFacts.of(  # the files have no import batch: batch_id is left out
        sample=_csv("samples.csv", "inbound_samples.csv", times=("sampled_at",)),
        tube_result=_csv("results.csv", "inbound_results.csv", times=("reported_at",)),
        arrival=_csv("inbound_arrivals.csv", times=("arrived_at",)),
        **({"episode": episode} if episode is not None else {}),
    )


def by_rule(orders: pl.DataFrame) -> dict[tuple[str, str], list[int | None]]:
    """(rule, order type) -> the persons ordered, sorted (None: no person known)."""
    grouped = orders.group_by("rule", "order_type").agg(pl.col("person_id").sort(nulls_last=True))
    return {(r, t): list(p) for r, t, p in grouped.iter_rows()}


def test_the_rounds_day_from_the_files() -> None:
    assert by_rule(pooled_testing_rule(facts(), D, NINTH)) == {
        ("testing.pool_positive", "temporary_control"): [1, 2, 3, 4, 5, 6, 7, 8, 17, 18],
        ("testing.pool_positive", "retest"): [1, 2, 3, 4, 5, 6, 7, 8, 17, 18],
        ("testing.retest_positive", "report_case"): [1],
        ("testing.retest_negative", "release_control"): [2, 3, 4, 5, 6],
        ("testing.invalid", "retest"): [9, 10, 11],
        ("testing.tube_not_returned", "retest"): [12, 13],
        ("testing.single_positive", "report_case"): [14],
        ("testing.pool_corrected", "release_control"): [15, 16],
        ("testing.unknown_tube", "retest"): [None],
    }


def test_the_next_day_names_the_pool_not_confirmed_and_no_repeat() -> None:
    """P2's last retests are negative (a positive pool contradicted); S2, person 14's second
    positive within 14 days, is no case report."""
    orders = pooled_testing_rule(facts(), D + timedelta(days=1), NINTH)
    assert by_rule(orders) == {("testing.pool_not_confirmed", "release_control"): [7, 8]}


def test_an_open_episode_is_not_reported_again() -> None:
    """Person 1, a case since the morning of D, is not reported from the retest R01."""
    known = episodes((1, "asymptomatic", None, "2022-07-01 11:00")).select(
        "person_id", opened_at="case_since", closed_at="outcome_at"
    )
    orders = by_rule(pooled_testing_rule(facts(episode=known), D, NINTH))
    assert ("testing.retest_positive", "report_case") not in orders
    assert orders[("testing.single_positive", "report_case")] == [14]
    # closed before the retest's report: a new infection, reported again
    cured = known.with_columns(closed_at=pl.lit(at("2022-07-01 11:30")))
    again = by_rule(pooled_testing_rule(facts(episode=cured), D, NINTH))
    assert again[("testing.retest_positive", "report_case")] == [1]


def test_inbound_ct_37_under_the_twenty_measures() -> None:
    orders = by_rule(pooled_testing_rule(facts(), date(2022, 11, 20), load_policy("cn-2022-11-11")))
    assert orders == {
        ("testing.weak_positive", "retest"): [31],
        ("testing.inbound_assessment", "assess"): [31],
        ("testing.single_positive", "report_case"): [32],
    }
