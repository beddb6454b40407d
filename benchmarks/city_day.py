"""A megacity day through `run_day`: 25 million people, a citywide round of 2.5 million 10-in-1
tubes with 0.05% infected, 1,000 new cases, 200 million check-ins in the exposure window.

Printed beside it, the tracing part alone done two plain ways on the same check-ins: a bare
DuckDB join (the floor: venue overlap with the cases' visits, nothing else) and the same query
on PostgreSQL with indexes on the check-ins (what a SORMAS-style system on PostgreSQL would run).
Loading 200 million rows into PostgreSQL takes long, so by default PostgreSQL gets a share of the
check-ins (`--pg-share`), and the DuckDB floor is measured again on exactly that share, so the
ratio compares the same input.

The events are imported once into a store of their own (`city-SCALE-events.duckdb`, kept between
runs of the script); a copy of it with the day before run (untimed, by the code being measured;
`--new-base` runs it again after the code changed) is the base (`city-SCALE.duckdb`), as in
operations: the state kept between days and everyone's health-code colour exist. Each measured
run of the day runs on a fresh copy of the base (the copy untimed), so every repeat is the day's
first run: the round's results are new to it. Its colours step (the kept negatives and the
colours) is timed inside the run and printed on its own (its full recompute has its own figure,
`benchmarks/codes.py --only colours`).

Each measurement runs in a fresh process (peak RSS is its own); medians of `--repeat`.

    .venv/bin/python benchmarks/city_day.py                # full scale
    .venv/bin/python benchmarks/city_day.py --scale 0.01   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fresh import measure, peak_rss  # noqa: E402

DAY = "2022-04-05"
WINDOW_DAYS = 5  # the 9th protocol's 4 days before onset, and the day itself
POLICY = "cn-2022-06-28"

FLOOR_SQL = """
WITH c AS (
    SELECT person_id, CAST(onset_date AS TIMESTAMPTZ) - INTERVAL '4 days' AS since, reported_at
    FROM case_report WHERE event_type = 'report' AND reported_at >= CAST(:day AS TIMESTAMPTZ)
), visits AS (
    SELECT c.person_id AS case_id, k.venue_id, k.checkin_at, k.checkout_at
    FROM checkin k JOIN c ON k.person_id = c.person_id
    WHERE k.checkin_at BETWEEN c.since AND c.reported_at
)
SELECT count(*) FROM (
    SELECT DISTINCT v.case_id, k.person_id
    FROM visits v JOIN checkin k
      ON k.venue_id = v.venue_id
     AND k.checkin_at <= v.checkout_at + INTERVAL '30 minutes'
     AND coalesce(k.checkout_at, k.checkin_at) >= v.checkin_at - INTERVAL '30 minutes'
    WHERE k.person_id <> v.case_id
) pairs
"""


def _child(mode: str, store: str, extra: str) -> None:
    from fangkong.store import open_store

    if mode == "run_day":  # the day's first run, on a fresh copy of the base (untimed)
        store = _copy(Path(store), Path(store).with_name(Path(store).stem + "-run.duckdb"))
    st = open_store(store)
    start, cpu_start = time.perf_counter(), _cpu()
    out: dict[str, float | int | str] = {}
    if mode == "run_day":
        from datetime import date

        from fangkong.engine import day as engine_day
        from fangkong.engine.day import run_day
        from fangkong.policy import load_policy

        # the colours step's own time inside the run: the run's calls to it (the kept
        # negatives and the colours), each wrapped in a timer
        spent = [0.0, 0.0]  # wall, CPU

        def timed(step: Callable[..., Any]) -> Callable[..., Any]:
            def run(*args: Any, **kwargs: Any) -> Any:
                begin, cpu = time.perf_counter(), _cpu()
                try:
                    return step(*args, **kwargs)
                finally:
                    spent[0] += time.perf_counter() - begin
                    spent[1] += _cpu() - cpu

            return run

        for name in ("keep_negatives", "store_colours"):
            if hasattr(engine_day, name):  # the code before the negatives were kept has one
                setattr(engine_day, name, timed(getattr(engine_day, name)))
        result = run_day(st, date.fromisoformat(DAY), load_policy(POLICY), jurisdiction="31")
        out["orders"] = result.orders.height
        out["contacts"] = result.contacts.height
        out["colours"] = spent[0]
        out["colours_cpu"] = spent[1]
    elif mode == "tracing":  # fangkong's tracing step alone, every route and tier
        from datetime import date

        from fangkong.engine.tracing import cases_to_trace, trace_contacts
        from fangkong.policy import load_policy

        policy = load_policy(POLICY)
        cases = cases_to_trace(st, date.fromisoformat(DAY), policy)
        contacts = trace_contacts(st, cases, policy)
        out["contacts"] = contacts.height
        out["venue"] = contacts.filter(contacts["via"] == "venue").height
    else:  # a plain tracing join
        out["pairs"] = int(st.scalar(FLOOR_SQL, {"day": f"{DAY} 00:00:00+08"}))
    out["seconds"] = time.perf_counter() - start
    out["cpu"] = _cpu() - cpu_start
    out["rss"] = peak_rss()
    st.close()
    print(json.dumps(out))


def _cpu() -> float:
    """CPU seconds of this process, every thread (less sensitive to a loaded machine than the
    wall time: the other sessions' work is not counted)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _measure(mode: str, store: str, repeat: int, extra: str = "") -> dict[str, Any]:
    times = (
        ("seconds", "cpu", "colours", "colours_cpu") if mode == "run_day" else ("seconds", "cpu")
    )
    return measure(__file__, [mode, store, extra], repeat, times)


def _copy(source: Path, target: Path) -> str:
    """A copy of the DuckDB store `source` (a checkpointed file: no write-ahead log)."""
    for stale in (target, target.with_name(target.name + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return str(target)


def _build_events(path: Path, files: dict[str, Path]) -> None:
    from fangkong.ingest import import_file
    from fangkong.store import open_store

    if path.exists():
        return
    partial = path.with_suffix(".partial")
    if partial.exists():
        partial.unlink()
    with open_store(partial) as st:
        for kind, file in files.items():
            start = time.perf_counter()
            result = import_file(st, kind, file)
            print(
                f"  imported {result.rows_read:>13,} {kind} in {time.perf_counter() - start:.0f} s",
                flush=True,
            )
        st.execute("CHECKPOINT")
    partial.rename(path)


def _build_base(path: Path, events: Path, again: bool) -> None:
    """The events with the day before run (by the code being measured)."""
    from datetime import date, timedelta

    from fangkong.engine.day import run_day
    from fangkong.policy import load_policy
    from fangkong.store import open_store

    if path.exists() and not again:
        return
    partial = path.with_suffix(".partial")
    _copy(events, partial)
    with open_store(partial) as st:
        start = time.perf_counter()
        before = date.fromisoformat(DAY) - timedelta(days=1)
        run_day(st, before, load_policy(POLICY), jurisdiction="31")
        print(f"  ran {before} once in {time.perf_counter() - start:.0f} s", flush=True)
        st.execute("CHECKPOINT")
    path.unlink(missing_ok=True)
    partial.rename(path)


def _pg_store(pg_url: str, store: Path, share: float) -> str:
    """A PostgreSQL schema with `share` of the check-ins and the cases, indexed as a plain
    system would index them."""
    import psycopg

    from fangkong.store import open_store
    from fangkong.store.embedded import duckdb_connect
    from fangkong.store.postgres import PostgresStore

    schema = f"bench_city_{store.stem.replace('-', '_').replace('.', '_')}_{int(share * 1000)}"
    url = f"{pg_url}?schema={schema}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        exists = con.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = "
            "'checkin_ready'",
            [schema],
        ).fetchone()
    if exists:
        return url
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())
    pg = open_store(url)
    assert isinstance(pg, PostgresStore)
    duck = duckdb_connect(str(store))
    tmp = store.with_name(f"checkins-{share}.csv")
    modulo = max(1, round(1 / share))
    duck.execute(
        f"COPY (SELECT scan_id, person_id, venue_id, checkin_at, checkout_at, 0 AS batch_id "
        f"FROM checkin WHERE scan_id % {modulo} = 0 OR person_id IN "
        "(SELECT person_id FROM case_report)) "
        f"TO '{tmp}' (FORMAT csv, HEADER true)"
    )
    cases = duck.sql("SELECT * FROM case_report").pl()
    duck.close()
    start = time.perf_counter()
    pg.execute('DROP INDEX IF EXISTS "checkin_key"')  # a bulk load indexes afterwards
    with (
        pg.connection.cursor() as cur,
        cur.copy(
            b"COPY checkin (scan_id, person_id, venue_id, checkin_at, checkout_at, batch_id)"
            b" FROM STDIN (FORMAT csv, HEADER true)"
        ) as copy,
        tmp.open("rb") as fh,
    ):
        while chunk := fh.read(1 << 22):
            copy.write(chunk)
    pg.insert_frame("case_report", cases)
    pg.execute('CREATE INDEX "bench_checkin_person" ON checkin (person_id, checkin_at)')
    pg.execute('CREATE INDEX "bench_checkin_venue" ON checkin (venue_id, checkin_at)')
    pg.execute("ANALYZE")
    pg.execute("CREATE TABLE checkin_ready (done INTEGER)")
    print(
        f"  PostgreSQL loaded {pg.count('checkin'):,} check-ins in "
        f"{time.perf_counter() - start:.0f} s",
        flush=True,
    )
    pg.close()
    tmp.unlink()
    return url


def _share_store(store: Path, share: float) -> Path:
    """The DuckDB floor on exactly the share of check-ins PostgreSQL holds."""
    from fangkong.store.embedded import duckdb_connect

    path = store.with_name(f"{store.stem}-share-{share}.duckdb")
    if path.exists():
        return path
    modulo = max(1, round(1 / share))
    con = duckdb_connect(str(path))
    con.execute(f"ATTACH '{store}' AS full_store (READ_ONLY)")
    con.execute(
        "CREATE TABLE checkin AS SELECT * FROM full_store.checkin WHERE scan_id % "
        f"{modulo} = 0 OR person_id IN (SELECT person_id FROM full_store.case_report)"
    )
    con.execute("CREATE TABLE case_report AS SELECT * FROM full_store.case_report")
    con.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument(
        "--pg",
        default=os.environ.get("FANGKONG_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument(
        "--pg-share",
        type=float,
        default=0.1,
        help="share of the check-ins loaded into PostgreSQL (1 = all)",
    )
    parser.add_argument("--memory-limit", default="12GB")
    parser.add_argument(
        "--new-base",
        action="store_true",
        help="run the day before again on a copy of the events (after the code changed)",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    os.environ["FANGKONG_MEMORY_LIMIT"] = args.memory_limit
    from citydata import make_cases, make_persons, make_round, make_venues, make_window_checkins

    persons = int(25_000_000 * args.scale)
    checkins = int(200_000_000 * args.scale)
    venues = max(1000, int(500_000 * args.scale))
    cases = max(10, int(1000 * args.scale))
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    tag = f"{args.scale:g}"
    files = {
        "persons": work / f"persons-{persons}.parquet",
        "venues": work / f"venues-{venues}.parquet",
        "checkins": work / f"window-checkins-{checkins}.parquet",
        "samples": work / f"round-samples-{persons}.parquet",
        "results": work / f"round-results-{persons}.parquet",
        "cases": work / f"cases-{cases}-{persons}.parquet",
    }
    start = time.perf_counter()
    makers: dict[str, Callable[[Path], None]] = {
        "persons": lambda p: make_persons(p, persons),
        "venues": lambda p: make_venues(p, venues),
        "checkins": lambda p: make_window_checkins(p, checkins, persons, venues, DAY, WINDOW_DAYS),
        "samples": lambda p: make_round(p, files["results"], persons, 10, 5.0, DAY),
        "cases": lambda p: make_cases(p, cases, persons, DAY),
    }
    for kind, make in makers.items():
        if not files[kind].exists():
            make(files[kind])
    print(f"input ready in {time.perf_counter() - start:.0f} s; building the store", flush=True)
    events = work / f"city-{tag}-events.duckdb"
    _build_events(events, files)
    store = work / f"city-{tag}.duckdb"
    _build_base(store, events, args.new_base)
    print(
        f"machine: {os.cpu_count()} cores; DuckDB memory limit {args.memory_limit}; "
        f"median of {args.repeat}; {persons:,} persons, {checkins:,} check-ins in "
        f"{WINDOW_DAYS} days, {persons // 10:,} tubes, {cases:,} new cases",
        flush=True,
    )
    day = _measure("run_day", str(store), args.repeat)
    print(
        f"run_day ({POLICY})       {day['seconds']:8.1f} s  (CPU {day['cpu']:.1f} s)"
        f"  peak RSS {day['rss'] / 2**30:5.2f} GB"
        f"  orders {day['orders']:,}  contacts {day['contacts']:,}",
        flush=True,
    )
    tracing = _measure("tracing", str(store), args.repeat)
    print(
        f"tracing step of run_day   {tracing['seconds']:8.1f} s  ({tracing['contacts']:,} "
        f"contacts, {tracing['venue']:,} by venue)",
        flush=True,
    )
    floor = _measure("floor", str(store), args.repeat)
    print(
        f"tracing, bare DuckDB join {floor['seconds']:8.1f} s  (CPU {floor['cpu']:.1f} s;"
        f" {floor['pairs']:,} venue pairs)"
        f"  tracing step / floor = {tracing['seconds'] / floor['seconds']:.1f}x",
        flush=True,
    )
    rest = day["seconds"] - day["colours"]
    print(
        f"colours step of run_day   {day['colours']:8.1f} s  (CPU {day['colours_cpu']:.1f} s;"
        " inside the run above: the latest"
        " negatives kept, the round reaching every resident, and the colours)\n"
        f"run_day / floor = {day['seconds'] / floor['seconds']:.1f}x (target <= 3x); "
        f"without the colours step {rest / floor['seconds']:.1f}x; in CPU time"
        f" {day['cpu'] / floor['cpu']:.1f}x and"
        f" {(day['cpu'] - day['colours_cpu']) / floor['cpu']:.1f}x",
        flush=True,
    )
    share = _share_store(store, args.pg_share)
    share_floor = _measure("floor", str(share), args.repeat)
    pg_url = _pg_store(args.pg, store, args.pg_share)
    pg = _measure("floor", pg_url, args.repeat)
    print(
        f"on {args.pg_share:.0%} of the check-ins: DuckDB join {share_floor['seconds']:.2f} s, "
        f"PostgreSQL {pg['seconds']:.2f} s ({pg['pairs']:,} pairs; DuckDB "
        f"{share_floor['pairs']:,}): PostgreSQL / DuckDB = "
        f"{pg['seconds'] / share_floor['seconds']:.1f}x",
        flush=True,
    )


if __name__ == "__main__":
    main()
