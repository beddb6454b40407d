"""Import benchmark: 25 million persons and 100 million check-ins into the embedded store, beside
a bare bulk load of the same files into the same database (DuckDB `CREATE TABLE AS SELECT *
FROM read_parquet(...)`, no checks) as the physical reference. For persons, fangkong writes two
tables (personal data apart), so a second reference is printed too: the same rows loaded into the
same two tables without any check ("split").

Each measurement runs in a fresh process (peak RSS is that process's own) with the same DuckDB
memory limit; the loads of a kind run in turn (bare, split, fangkong, bare, ...), `--repeat`
rounds, and the medians are printed with the ratio fangkong / bare, and each round's ratio.

    .venv/bin/python benchmarks/import.py                 # full scale (25M, 100M)
    .venv/bin/python benchmarks/import.py --scale 0.01    # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fresh import measure_in_turn, peak_rss  # noqa: E402


def _child(mode: str, kind: str, path: str, store: str, venues: str) -> None:
    """One measured load, in this (fresh) process."""
    from fangkong.ingest import import_file
    from fangkong.store import open_store
    from fangkong.store.embedded import EmbeddedStore, duckdb_connect

    if os.path.exists(store):
        os.remove(store)
    if mode == "bare":
        con = duckdb_connect(store)
        start = time.perf_counter()
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{path}')")
        con.execute("CHECKPOINT")
        con.close()
        elapsed = time.perf_counter() - start
        rows = None
    elif mode == "split":
        # The same rows fangkong stores for persons, in the same two tables, without a check.
        st = open_store(store)
        assert isinstance(st, EmbeddedStore)
        con = st.connection
        start = time.perf_counter()
        con.execute("BEGIN")
        con.execute(
            "INSERT INTO person (person_id, household_id, region_code, sex, birth_year, id_type,"
            " batch_id) SELECT person_id, household_id, region_code,"
            " CASE WHEN CAST(substr(id_number, 17, 1) AS INTEGER) % 2 = 1 THEN 'M' ELSE 'F' END,"
            " CAST(substr(id_number, 7, 4) AS SMALLINT), 'ric', 1"
            f" FROM read_parquet('{path}')"
        )
        con.execute(
            "INSERT INTO person_identity SELECT person_id, id_number, name, phone, 1"
            f" FROM read_parquet('{path}')"
        )
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
        st.close()
        elapsed = time.perf_counter() - start
        rows = None
    else:
        st = open_store(store)
        if kind == "checkins":
            import_file(st, "venues", venues)
        start = time.perf_counter()
        result = import_file(st, kind, path)
        st.execute("CHECKPOINT")
        st.close()
        elapsed = time.perf_counter() - start
        rows = result.rows_read
    rss = peak_rss()
    print(json.dumps({"seconds": elapsed, "rss": rss, "rows": rows}))


def _measure_in_turn(
    modes: tuple[str, ...], kind: str, path: Path, work: Path, venues: Path, repeat: int
) -> tuple[dict[str, dict[str, Any]], list[dict[str, float]]]:
    """Each mode's figures (medians over the rounds) and each round's seconds per mode."""
    args = [[mode, kind, str(path), str(work / "bench.duckdb"), str(venues)] for mode in modes]
    summaries, rounds = measure_in_turn(__file__, args, repeat)
    per_round = [{m: r["seconds"] for m, r in zip(modes, rnd, strict=True)} for rnd in rounds]
    return dict(zip(modes, summaries, strict=True)), per_round


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 25M / 100M")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--memory-limit", default="6GB", help="DuckDB memory limit, both sides")
    parser.add_argument("--kinds", nargs="+", default=["persons", "checkins"])
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    os.environ["FANGKONG_MEMORY_LIMIT"] = args.memory_limit
    from citydata import make_checkins, make_persons, make_venues

    n_persons = int(25_000_000 * args.scale)
    n_checkins = int(100_000_000 * args.scale)
    n_venues = max(1000, int(500_000 * args.scale))
    args.work.mkdir(parents=True, exist_ok=True)
    files = {
        "persons": args.work / f"persons-{n_persons}.parquet",
        "venues": args.work / f"venues-{n_venues}.parquet",
        "checkins": args.work / f"checkins-{n_checkins}.parquet",
    }
    t = time.perf_counter()
    if not files["persons"].exists():
        make_persons(files["persons"], n_persons)
    if not files["venues"].exists():
        make_venues(files["venues"], n_venues)
    if not files["checkins"].exists():
        make_checkins(files["checkins"], n_checkins, n_persons, n_venues)
    print(
        f"input files ready in {time.perf_counter() - t:.0f} s (cached in {args.work})", flush=True
    )
    print(
        f"machine: {os.cpu_count()} cores; DuckDB memory limit {args.memory_limit}; "
        f"median of {args.repeat}"
    )
    print(f"{'load':<22}{'rows':>13}{'median s':>10}{'rows/s':>13}{'peak RSS':>10}{'ratio':>8}")
    for kind, n in (("persons", n_persons), ("checkins", n_checkins)):
        if kind not in args.kinds:
            continue
        # for persons, also the same output without checks: the two tables fangkong writes
        modes = ("bare", "split", "fangkong") if kind == "persons" else ("bare", "fangkong")
        figures, rounds = _measure_in_turn(
            modes, kind, files[kind], args.work, files["venues"], args.repeat
        )
        for mode in modes:
            sec, rss = figures[mode]["seconds"], figures[mode]["rss"]
            ratio = f"{sec / figures['bare']['seconds']:.2f}x" if mode != "bare" else ""
            print(
                f"{mode + ' ' + kind:<22}{n:>13,}{sec:>10.1f}{n / sec:>13,.0f}"
                f"{rss / 2**30:>8.2f} GB{ratio:>8}",
                flush=True,
            )
        each = ", ".join(f"{r['fangkong'] / r['bare']:.2f}x" for r in rounds)
        print(f"{'':<22}fangkong / bare per round: {each}")
        if "split" in figures:
            split = figures["fangkong"]["seconds"] / figures["split"]["seconds"]
            each = ", ".join(f"{r['fangkong'] / r['split']:.2f}x" for r in rounds)
            print(
                f"{'':<22}fangkong / split (same two tables, no checks) = {split:.2f}x"
                f" (per round: {each})"
            )


if __name__ == "__main__":
    main()
