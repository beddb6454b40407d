"""The cost of a day of `run_day` as history grows: a city of `--residents` (1 million) run day
by day for `--days` (120) under cn-2022-06-28, with the same activity every day — venue check-ins,
new cases on active days (none on quiet days), and the tests the engine ordered the day before
taken and negative (residents obey their test orders, so quarantines end; cases test negative
from their 9th day, so they are discharged). Only `run_day` is timed; the events of each day are
stored before it, and the store checkpointed after them, as an import does (`Store.checkpoint`).

Printed: the median cost of a quiet day (no new case) early and late, of an active day around
day 10 and around the last day, their ratios (cost should follow the day's events and the open
state, not the length of history), the share of fixed overhead: `run_day` on an empty
store, over a quiet day's cost, and the slowest day against the days around it (a query plan
gone wrong shows as one day several times its neighbours).

    .venv/bin/python benchmarks/day_cost.py                      # 1 M residents, 120 days
    .venv/bin/python benchmarks/day_cost.py --residents 100000 --days 30   # a quick look
    .venv/bin/python benchmarks/day_cost.py --residents 100000 --days 30 \
        --postgres postgresql://postgres@127.0.0.1:5432/test   # on PostgreSQL (schemas day_cost_*)
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from fangkong.engine.day import run_day
from fangkong.policy import load_policy
from fangkong.store import Store, open_store

HERE = Path(__file__).resolve().parent
ZONE = ZoneInfo("Asia/Shanghai")
TIME = pl.Datetime("us", "Asia/Shanghai")
FIRST = date(2022, 7, 1)
POLICY = "cn-2022-06-28"
DISTRICTS = ["310101", "310104", "310105", "310106", "310107", "310110", "310112", "310115"]
CATEGORIES = ["essential", "open_air", "enclosed_entertainment"]


def _batch(store: Store, batch: int, kind: str) -> None:
    store.execute(
        "INSERT INTO import_batch VALUES (:b, :k, 'day_cost', :h, 0, 0, :t)",
        {"b": batch, "k": kind, "h": f"{kind}-{batch}", "t": datetime.now(UTC)},
    )


def _city(store: Store, residents: int, rng: np.random.Generator) -> None:
    ids = np.arange(1, residents + 1, dtype=np.int64)
    store.insert_frame(
        "person",
        pl.DataFrame(
            {
                "person_id": ids,
                "household_id": ids // 3,  # households of about 3 (2.62 in the 2020 census)
                "region_code": np.array(DISTRICTS)[rng.integers(0, len(DISTRICTS), residents)],
                "sex": np.where(ids % 2 == 0, "F", "M"),
                "birth_year": rng.integers(1935, 2020, residents).astype(np.int16),
                "id_type": "ric",
                "batch_id": np.full(residents, 1, dtype=np.int32),
            }
        ),
    )
    venues = max(1000, residents // 50)
    store.insert_frame(
        "venue",
        pl.DataFrame(
            {
                "venue_id": np.arange(1, venues + 1, dtype=np.int64),
                "region_code": np.array(DISTRICTS)[rng.integers(0, len(DISTRICTS), venues)],
                "category": np.array(CATEGORIES)[rng.integers(0, 3, venues)],
                "name": None,
                "capacity": None,
                "batch_id": np.full(venues, 1, dtype=np.int32),
            },
            schema_overrides={"name": pl.String, "capacity": pl.Int32},
        ),
    )
    sites = [(f"Q{d}", "quarantine_site", d, residents // 200) for d in DISTRICTS]
    sites += [(f"H{d}", "shelter_hospital", d, residents // 1000) for d in DISTRICTS]
    store.insert_frame(
        "facility",
        pl.DataFrame(
            sites, schema=["facility_id", "kind", "region_code", "capacity"], orient="row"
        ).with_columns(
            pl.lit(None, pl.String).alias("name"), pl.lit(1, pl.Int32).alias("batch_id")
        ),
    )
    _batch(store, 1, "city")


def _day_events(
    store: Store,
    day: date,
    batch: int,
    rng: np.random.Generator,
    residents: int,
    checkins: int,
    cases: int,
) -> None:
    """The day's check-ins, new cases, and the tests ordered for the day (negative)."""
    start = datetime.combine(day, datetime.min.time(), ZONE)
    venues = max(1000, residents // 50)
    offset = rng.integers(7 * 3600, 22 * 3600, checkins).astype("timedelta64[s]")
    checkin_at = (np.datetime64(start.astimezone(UTC).replace(tzinfo=None), "s") + offset).astype(
        "datetime64[us]"
    )
    store.insert_frame(
        "checkin",
        pl.DataFrame(
            {
                "scan_id": np.arange(checkins, dtype=np.int64) + batch * 10_000_000,
                "person_id": rng.integers(1, residents + 1, checkins, dtype=np.int64),
                "venue_id": rng.integers(1, venues + 1, checkins, dtype=np.int64),
                "checkin_at": checkin_at,
            }
        ).with_columns(
            pl.col("checkin_at").dt.replace_time_zone("UTC").dt.convert_time_zone(str(ZONE)),
            (pl.col("checkin_at").dt.replace_time_zone("UTC") + pl.duration(minutes=40))
            .dt.convert_time_zone(str(ZONE))
            .alias("checkout_at"),
            pl.lit(batch, pl.Int32).alias("batch_id"),
        ),
    )
    if cases:
        who = rng.choice(np.arange(1, residents + 1, dtype=np.int64), cases, replace=False)
        store.insert_frame(
            "case_report",
            pl.DataFrame(
                {
                    "report_id": [f"R{day:%m%d}-{p}" for p in who],
                    "case_id": [f"C{day:%m%d}-{p}" for p in who],
                    "person_id": who,
                    "region_code": "310101",
                    "reported_at": [start + timedelta(hours=10)] * cases,
                    "event_type": "report",
                    "diagnosis": "confirmed",
                    "origin": "local",
                    "severity": "mild",
                    "outcome": None,
                    "onset_date": [day - timedelta(days=2)] * cases,
                    "batch_id": batch,
                },
                schema_overrides={"outcome": pl.String, "batch_id": pl.Int32},
            ).with_columns(pl.col("reported_at").cast(TIME)),
        )
    # the tests ordered for today, and the cases of the 9th day on: negative single tubes
    due = store.fetch(
        "SELECT DISTINCT person_id FROM engine_order WHERE order_type = 'test'"
        " AND scenario = 'live' AND start_at = :s AND person_id IS NOT NULL"
        " UNION SELECT person_id FROM case_report"
        " WHERE reported_at < :old AND reported_at >= :older",
        {"s": start, "old": start - timedelta(days=8), "older": start - timedelta(days=20)},
    )
    if due.height:
        n = due.height
        tubes = [f"D{day:%m%d}-{i}" for i in range(n)]
        store.insert_frame(
            "sample",
            due.select(
                pl.Series("sample_id", tubes),
                pl.col("person_id").cast(pl.Int64),
                pl.Series("tube_id", tubes),
                pl.lit(start + timedelta(hours=8)).cast(TIME).alias("sampled_at"),
                pl.lit(None, pl.String).alias("round_id"),
                pl.lit(batch, pl.Int32).alias("batch_id"),
            ),
        )
        store.insert_frame(
            "tube_result",
            pl.DataFrame(
                {
                    "tube_id": tubes,
                    "result": "negative",
                    "ct_value": None,
                    "reported_at": [start + timedelta(hours=14)] * n,
                    "lab_id": None,
                    "batch_id": batch,
                },
                schema_overrides={
                    "ct_value": pl.Float64,
                    "lab_id": pl.String,
                    "batch_id": pl.Int32,
                },
            ).with_columns(pl.col("reported_at").cast(TIME)),
        )
    _batch(store, batch, "day")


def _empty_store_cost(store_at: str | Path, repeat: int) -> float:
    """`run_day` on a store with no events at all: the fixed overhead of a run."""
    with open_store(store_at) as st:
        policy = load_policy(POLICY)
        times = []
        for k in range(repeat):
            t = time.perf_counter()
            run_day(st, FIRST + timedelta(days=k), policy)
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def _fresh(work: Path, postgres: str | None, name: str) -> str | Path:
    """Where a fresh store `name` is: a DuckDB file in `work`, or a schema of that name on the
    PostgreSQL server `postgres` (dropped first)."""
    if postgres is None:
        path = work / f"{name}.duckdb"
        path.unlink(missing_ok=True)
        return path
    import psycopg

    schema = name.replace("-", "_")
    with psycopg.connect(postgres, autocommit=True) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())
    return f"{postgres}{'&' if '?' in postgres else '?'}schema={schema}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--cases-per-day", type=int, default=10)
    parser.add_argument("--quiet-every", type=int, default=3, help="every Nth day has no case")
    parser.add_argument("--checkins-per-resident", type=float, default=0.3)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--memory-limit", default="6GB")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run on fresh schemas of this PostgreSQL server instead of embedded stores",
    )
    args = parser.parse_args()
    import os

    os.environ.setdefault("FANGKONG_MEMORY_LIMIT", args.memory_limit)
    args.work.mkdir(parents=True, exist_ok=True)
    store_at = _fresh(args.work, args.postgres, f"day-cost-{args.residents}")
    rng = np.random.default_rng(20220701)
    policy = load_policy(POLICY)
    checkins = int(args.residents * args.checkins_per_resident)
    rows = []
    with open_store(store_at) as st:
        _city(st, args.residents, rng)
        for k in range(args.days):
            day = FIRST + timedelta(days=k)
            quiet = k % args.quiet_every == args.quiet_every - 1
            cases = 0 if quiet else args.cases_per_day
            _day_events(st, day, k + 2, rng, args.residents, checkins, cases)
            st.checkpoint()
            t = time.perf_counter()
            result = run_day(st, day, policy)
            seconds = time.perf_counter() - t
            rows.append((k + 1, quiet, seconds, result.orders.height))
            if (k + 1) % 10 == 0:
                print(
                    f"  day {k + 1:>3}: {seconds:.2f} s, {result.orders.height:,} orders",
                    flush=True,
                )
    empty = _empty_store_cost(_fresh(args.work, args.postgres, "day-cost-empty"), 5)
    frame = pl.DataFrame(rows, schema=["day", "quiet", "seconds", "orders"], orient="row")

    def median(quiet: bool, lo: int, hi: int, column: str = "seconds") -> float:
        part = frame.filter((pl.col("quiet") == quiet) & pl.col("day").is_between(lo, hi))
        return float(part.get_column(column).median())  # type: ignore[arg-type]

    n = args.days
    quiet_early, quiet_late = median(True, 1, 15), median(True, n - 14, n)
    active_early, active_late = median(False, 5, 15), median(False, n - 10, n)
    print(
        f"machine: {os.cpu_count()} cores; {args.residents:,} residents, {checkins:,} check-ins"
        f" a day, {args.cases_per_day} new cases on active days, {n} days under {POLICY}"
    )
    print(
        f"quiet day (no new case), days 1-15: {quiet_early * 1000:.0f} ms;"
        f" days {n - 14}-{n}: {quiet_late * 1000:.0f} ms (target <= 100 ms)"
    )
    print(
        f"active day around day 10: {active_early:.2f} s; around day {n}: {active_late:.2f} s;"
        f" day {n} / day 10 = {active_late / active_early:.2f}x (target <= 1.2x)"
    )
    # the open state is not the same on both: quarantines and cases in care build up over the
    # first weeks, so the days' orders say how much of the ratio is activity, not history
    orders_early, orders_late = median(False, 5, 15, "orders"), median(False, n - 10, n, "orders")
    print(
        f"orders of those active days (median): {orders_early:,.0f} and {orders_late:,.0f}"
        f" ({orders_late / orders_early:.2f}x); cost per 1,000 orders:"
        f" {active_early / orders_early * 1e6:.0f} ms and {active_late / orders_late * 1e6:.0f} ms"
    )
    if n >= 60:
        # the same comparison once the open state has built up (orders about day 120's)
        settled, settled_orders = median(False, 35, 45), median(False, 35, 45, "orders")
        print(
            f"active days 35-45: {settled:.2f} s, {settled_orders:,.0f} orders (median);"
            f" day {n} / days 35-45 = {active_late / settled:.2f}x"
        )
    print(
        f"fixed overhead (run_day on an empty store): {empty * 1000:.0f} ms ="
        f" {empty / quiet_late:.0%} of a late quiet day"
    )
    # a day far slower than the days around it is a plan gone wrong, not history's weight
    around = frame.with_columns(
        pl.col("seconds").rolling_median(window_size=11, center=True, min_samples=1).alias("m")
    ).with_columns((pl.col("seconds") / pl.col("m")).alias("ratio"))
    worst = around.sort("ratio", descending=True).row(0, named=True)
    print(
        f"store: {'PostgreSQL' if args.postgres else 'embedded DuckDB'}; the slowest day against"
        f" the median of the 11 days around it: day {worst['day']}, {worst['seconds']:.2f} s ="
        f" {worst['ratio']:.2f}x"
    )


if __name__ == "__main__":
    main()
