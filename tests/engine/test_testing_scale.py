"""A whole-area round generated with DuckDB SQL (200,000 samples in 20,000 10-in-1 tubes): the
orders of the results day are exactly the ones the generator planted. No timing is asserted
(`plant_round` at 2.5 million tubes is how the day run's time was measured)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl
import pytest

from fangkong.engine.frames import day_bounds
from fangkong.engine.testing import latest_negative, pooled_testing_orders, round_progress
from fangkong.policy import load_policy
from fangkong.store import Store

POOL = 10
DAY = date(2022, 7, 1)  # the round is sampled on DAY-1; results and retests come on DAY

# Which tubes hold what, by tube number t (every condition is checked against the others):
TRUE_POOL = "t % 200 = 7"  # one infected member, at position 3
DOUBLE = "t % 1000 = 7"  # (a subset of TRUE_POOL) a second one, at position 8
FALSE_POOL = "t % 2000 = 1999"  # positive, but every retest is negative
INVALID = "t % 1000 = 500"
LOST = "t % 1000 = 900"  # never returns
INFECTED = f"({TRUE_POOL} AND k = 3) OR ({DOUBLE} AND k = 8)"


@dataclass(frozen=True)
class Planted:
    tubes: int

    @property
    def true_pools(self) -> int:
        return self.tubes // 200

    @property
    def infected(self) -> int:
        return self.tubes // 200 + self.tubes // 1000

    @property
    def false_pools(self) -> int:
        return self.tubes // 2000

    @property
    def invalid(self) -> int:
        return self.tubes // 1000

    @property
    def lost(self) -> int:
        return self.tubes // 1000


def plant_round(store: Store, tubes: int) -> Planted:
    """Persons, a round of `tubes` 10-in-1 tubes sampled on DAY-1, its results on DAY (none for
    the lost tubes) and the single-tube retests of the positive pools (sampled and reported on
    DAY), inserted with DuckDB SQL. `tubes` is a multiple of 2000."""
    assert tubes % 2000 == 0
    assert store.dialect == "duckdb"
    n = tubes * POOL
    d1 = f"TIMESTAMPTZ '{DAY - timedelta(days=1)} 08:00:00+08'"
    d = f"TIMESTAMPTZ '{DAY} 00:00:00+08'"
    store.execute(
        "INSERT INTO person (person_id, region_code, id_type, batch_id) "
        f"SELECT i + 1, '310104', 'passport', 1 FROM range({n}) r(i)"
    )
    people = f"(SELECT i, i // {POOL} AS t, i % {POOL} AS k FROM range({n}) r(i))"
    store.execute(
        "INSERT INTO sample (sample_id, person_id, tube_id, sampled_at, round_id, batch_id) "
        f"SELECT 'S' || i, i + 1, 'T' || t, {d1} + to_minutes(CAST(t % 720 AS BIGINT)), 'R1', 1 "
        f"FROM {people} p"
    )
    store.execute(
        "INSERT INTO tube_result (tube_id, result, ct_value, reported_at, lab_id, batch_id) "
        f"SELECT 'T' || t, "
        f"  CASE WHEN {TRUE_POOL} OR {FALSE_POOL} THEN 'positive' "
        f"       WHEN {INVALID} THEN 'invalid' ELSE 'negative' END, "
        f"  CASE WHEN {TRUE_POOL} OR {FALSE_POOL} THEN 30.0 END, "
        f"  {d} + INTERVAL 2 HOUR + to_minutes(CAST(t % 600 AS BIGINT)), 'LAB', 1 "
        f"FROM range({tubes}) r(t) WHERE NOT ({LOST})"
    )
    retested = f"SELECT * FROM {people} p WHERE {TRUE_POOL} OR {FALSE_POOL}"
    store.execute(
        "INSERT INTO sample (sample_id, person_id, tube_id, sampled_at, round_id, batch_id) "
        f"SELECT 'RS' || i, i + 1, 'RT' || i, {d} + INTERVAL 13 HOUR, NULL, 1 FROM ({retested}) x"
    )
    store.execute(
        "INSERT INTO tube_result (tube_id, result, ct_value, reported_at, lab_id, batch_id) "
        f"SELECT 'RT' || i, CASE WHEN {INFECTED} THEN 'positive' ELSE 'negative' END, "
        f"  CASE WHEN {INFECTED} THEN 25.0 END, {d} + INTERVAL 18 HOUR, 'LAB', 1 "
        f"FROM ({retested}) x"
    )
    return Planted(tubes)


@pytest.mark.slow
def test_a_round_of_20000_tubes_gives_exactly_the_planted_orders(duck: Store) -> None:
    planted = plant_round(duck, 20_000)
    policy = load_policy("cn-2022-06-28")
    orders = pooled_testing_orders(duck, DAY, policy)
    got = {(r, t): c for r, t, c in orders.group_by("rule", "order_type").len().iter_rows()}
    pools = planted.true_pools + planted.false_pools
    assert got == {
        ("testing.pool_positive", "temporary_control"): pools * POOL,
        ("testing.pool_positive", "retest"): pools * POOL,
        ("testing.retest_positive", "report_case"): planted.infected,
        ("testing.retest_negative", "release_control"): planted.true_pools * POOL
        - planted.infected,
        ("testing.pool_not_confirmed", "release_control"): planted.false_pools * POOL,
        ("testing.invalid", "retest"): planted.invalid * POOL,
        ("testing.tube_not_returned", "retest"): planted.lost * POOL,
    }
    assert got[("testing.pool_positive", "temporary_control")] == 1_100
    assert orders.get_column("person_id").null_count() == 0

    end = day_bounds(DAY)[1]
    progress = round_progress(duck, "R1", end, policy=policy)
    assert progress.persons_to_test == progress.sampled == 200_000
    assert progress.not_yet_sampled == 0
    assert progress.tubes == 20_000
    assert progress.tubes_outstanding == progress.tubes_overdue == planted.lost
    assert progress.tubes_tested == 20_000 - planted.lost
    assert progress.tubes_invalid == planted.invalid
    assert progress.positive_tubes == pools
    assert progress.positives_confirmed == planted.infected
    assert progress.awaiting_retest == 0

    negatives = latest_negative(duck, end)
    negative_tubes = 20_000 - pools - planted.invalid - planted.lost
    assert negatives.height == negative_tubes * POOL + pools * POOL - planted.infected
    assert negatives.filter(pl.col("reported_at") >= day_bounds(DAY)[0]).height == negatives.height
