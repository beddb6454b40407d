"""The digital twin's transmission beside Covasim (the peer): 1 million agents for 120 days with
no control, both at an Omicron-like R0 of about 6, in the same run; then fangkong alone at 25
million agents (Covasim cannot hold 25 million people in 24 GB). With `--control`, the twin with
the whole control chain beside Covasim's test-trace-quarantine run instead (below).

Printed: each run's simulated days' wall time (the loop over days; the population build is
printed apart), agent-days per second, the ratio fangkong / Covasim, infections per agent
(Covasim counts reinfections, fangkong has none within 120 days), and peak RSS.
Each measurement runs in a fresh process; with `--repeat N` the peer and fangkong run in turn
(peer, fangkong, peer, ...) and the medians are printed, with each round's ratio and their
median. Only the ratio measured in one run counts: this machine's speed varies from run to run.

Covasim is an optional dependency (the `bench` extra):

    .venv/bin/pip install -e ".[bench]"          # or: bash scripts/setup.sh, then that line
    flock /tmp/fangkong-bench.lock .venv/bin/python benchmarks/twin.py
    flock /tmp/fangkong-bench.lock .venv/bin/python benchmarks/twin.py --agents 100000 --large 0

Covasim's setting: the hybrid population (households, schools, workplaces, community), its
default disease parameters, beta raised from its default 0.016 by 6 / 2.5 (its default R0 is
about 2.5; the early effective R it reports is printed), 20 seed infections. fangkong's: the
synthetic city, variant omicron-ba2 (R0 6), 20 seed infections, each day's check-ins drawn only
for the infectious agents (`Checkins.INFECTIOUS`: transmission is the same whichever check-ins are
asked for, and Covasim's run draws none; the control chain's check-ins are its own cost).

`--control`: the twin loop of `fangkong demo` (`fangkong.sim.twin.Twin`: one imported Omicron BA.2
case, the city obeying each day what `run_day` ordered under cn-2022-06-28 the day before, the day's
swabs, reports and check-ins appended to the twin's DuckDB store (a file of its own in a temporary
directory), then `run_day` for the day) beside Covasim's test-trace-quarantine scenario on the same
number of agents and days: the setting above plus `cv.test_prob(symp_prob=0.2, asymp_prob=0.001,
symp_quar_prob=1.0, asymp_quar_prob=1.0)` and `cv.contact_tracing(trace_probs=0.8, trace_time=1)`
(traced contacts are quarantined, as Covasim does with tracing). The target is fangkong's
agent-days/s at least 5x Covasim's. The two runs do different work per day (Covasim tests and traces
by probabilities over its contact network; fangkong derives and stores every order of the engine,
contacts from check-ins and households, rooms and beds), so the ratio compares the cost of a
controlled day in each, not equal work. `--large N` then runs the twin alone at N agents (the
25-million target: <= 15 min, <= 8 GB).

    flock /tmp/fangkong-bench.lock .venv/bin/python benchmarks/twin.py --control --large 0
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fresh import measure, measure_in_turn, peak_rss  # noqa: E402

COVASIM_BETA = 0.016 * 6 / 2.5
SEEDS = 20
CONTROL_POLICY = "cn-2022-06-28"
TWIN_SEED = 6  # the demo's city and imported case


def _covasim(agents: int, days: int, *, ttq: bool = False) -> dict[str, float]:
    """Covasim's run; with `ttq`, its test-trace-quarantine scenario (module docstring)."""
    import covasim as cv

    cv.options.set(verbose=0, show=False)
    interventions = (
        [
            cv.test_prob(symp_prob=0.2, asymp_prob=0.001, symp_quar_prob=1.0, asymp_quar_prob=1.0),
            cv.contact_tracing(trace_probs=0.8, trace_time=1),
        ]
        if ttq
        else []
    )
    t0 = time.perf_counter()
    sim = cv.Sim(
        pop_size=agents,
        n_days=days,
        pop_type="hybrid",
        beta=COVASIM_BETA,
        pop_infected=SEEDS,
        rand_seed=1,
        verbose=0,
        interventions=interventions,
    )
    sim.initialize()
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim.run()
    seconds = time.perf_counter() - t0
    r = sim.results
    early = [float(x) for x in r["r_eff"].values[5:15] if not math.isnan(x)]
    return {
        "build": built,
        "seconds": seconds,
        "attack": float(r["cum_infections"].values[-1]) / agents,
        "early_r_eff": sum(early) / len(early) if early else float("nan"),
        "diagnoses": float(r["cum_diagnoses"].values[-1]),
        "quarantined": float(r["cum_quarantined"].values[-1]),
    }


def _fangkong(agents: int, days: int) -> dict[str, float]:
    from fangkong.sim.city import build_city
    from fangkong.sim.transmission import Checkins, Epidemic, calibrate_beta
    from fangkong.sim.variant import load_variant

    variant = load_variant("omicron-ba2")
    warm = build_city(2000, 2)  # compiled kernels come from Numba's cache; load them untimed
    Epidemic(warm, variant, seed=2, beta=calibrate_beta(warm, variant)).step()
    t0 = time.perf_counter()
    city = build_city(agents, 1)
    epidemic = Epidemic(city, variant, seed=1, beta=calibrate_beta(city, variant))
    epidemic.seed_random(SEEDS)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(days):
        epidemic.step(checkins=Checkins.INFECTIOUS)
    seconds = time.perf_counter() - t0
    return {
        "build": built,
        "seconds": seconds,
        "attack": float((epidemic.courses.infected >= 0).mean()),
    }


def _covasim_ttq(agents: int, days: int) -> dict[str, float]:
    return _covasim(agents, days, ttq=True)


def _twin(agents: int, days: int) -> dict[str, float]:
    from fangkong.policy import load_policy
    from fangkong.sim.twin import Twin

    policy = load_policy(CONTROL_POLICY)
    warm = Twin(2000, 2, policy)  # Numba's cached kernels and the engine's imports, untimed
    for _ in warm.run(2):
        pass
    warm.close()
    t0 = time.perf_counter()
    twin = Twin(agents, TWIN_SEED, policy)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in twin.run(days):
        pass
    seconds = time.perf_counter() - t0
    d = twin.days
    close_contacts = twin.outcomes()["close_contacts"]
    twin.close()
    return {
        "build": built,
        "seconds": seconds,
        "attack": sum(x.infected for x in d) / agents,
        "infections": float(sum(x.infected for x in d)),
        "diagnoses": float(sum(x.cases_found for x in d)),
        "contacts": float(sum(x.contacts for x in d)),
        "close_contacts": float(close_contacts),
        "orders": float(sum(x.orders for x in d)),
        "swabs": float(sum(x.samples for x in d)),
    }


CHILDREN = {"covasim": _covasim, "fangkong": _fangkong, "covasim-ttq": _covasim_ttq, "twin": _twin}


def _child(model: str, agents: int, days: int) -> None:
    figures = CHILDREN[model](agents, days)
    figures["rss"] = peak_rss()
    print(json.dumps(figures))


def _line(name: str, agents: int, days: int, r: dict[str, float]) -> str:
    rate = agents * days / r["seconds"]
    return (
        f"{name:<28} {r['seconds']:8.2f} s  {rate / 1e6:8.2f} M agent-days/s  "
        f"infections/agents {r['attack']:.1%}  build {r['build']:.1f} s  "
        f"peak RSS {r['rss'] / 2**30:.2f} GB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--large", type=int, default=25_000_000, help="0: skip the large run")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--compare", type=int, default=1, help="0: skip the comparison")
    parser.add_argument(
        "--control",
        action="store_true",
        help="the twin with the control chain beside Covasim's test-trace-quarantine run",
    )
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "AGENTS", "DAYS"))
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    script = str(Path(__file__).resolve())
    n, days = args.agents, args.days
    ours_model = "twin" if args.control else "fangkong"
    if args.compare:
        (_compare_control if args.control else _compare)(script, n, days, args.repeat)
    if args.large:
        big = measure(script, [ours_model, str(args.large), str(days)], 1)
        print(_line(f"fangkong at {args.large:,}", args.large, days, big))
        if args.control:
            print(f"{'':<28} {_work(big)}")


def _compare(script: str, n: int, days: int, repeat: int) -> None:
    peer, ours, ratios = _pair(script, ("covasim", "fangkong"), n, days, repeat)
    print(f"transmission alone, no control: {n:,} agents, {days} days, R0 about 6")
    print(_line("Covasim 4.0.1 (hybrid)", n, days, peer))
    print(f"{'':<28} Covasim's effective R, days 5-14: {peer['early_r_eff']:.2f}")
    print(_line("fangkong (omicron-ba2)", n, days, ours))
    print(
        f"ratio fangkong / Covasim agent-days/s: {peer['seconds'] / ours['seconds']:.1f}x"
        f" (of the median times{_ratios(ratios)})"
    )


def _compare_control(script: str, n: int, days: int, repeat: int) -> None:
    peer, ours, ratios = _pair(script, ("covasim-ttq", "twin"), n, days, repeat)
    lines = [
        f"with control: {n:,} agents, {days} days",
        _line("Covasim 4.0.1 TTQ (hybrid)", n, days, peer),
        f"{'':<28} diagnosed {peer['diagnoses']:,.0f}, quarantined {peer['quarantined']:,.0f}",
        _line(f"fangkong twin ({CONTROL_POLICY})", n, days, ours),
        f"{'':<28} {_work(ours)}",
        f"ratio fangkong twin / Covasim TTQ agent-days/s: {peer['seconds'] / ours['seconds']:.2f}x"
        f" (of the median times{_ratios(ratios)}; target >= 5x)",
    ]
    print("\n".join(lines))


def _work(twin: dict[str, float]) -> str:
    """What the twin's control chain did in a run."""
    return (
        f"infections after the imported case {twin['infections']:,.0f},"
        f" cases found {twin['diagnoses']:,.0f}, close contacts {twin['close_contacts']:,.0f}"
        f" (traced-contact records {twin['contacts']:,.0f}),"
        f" swabs {twin['swabs']:,.0f}, orders {twin['orders']:,.0f}"
    )


def _pair(
    script: str, models: tuple[str, str], n: int, days: int, repeat: int
) -> tuple[dict[str, float], dict[str, float], list[float]]:
    """The peer's and fangkong's figures, each measured in fresh processes, in turn (peer,
    fangkong, peer, ...), and each round's ratio of the peer's time to fangkong's."""
    (peer, ours), rounds = measure_in_turn(script, [[m, str(n), str(days)] for m in models], repeat)
    return peer, ours, [p["seconds"] / o["seconds"] for p, o in rounds]


def _ratios(ratios: list[float]) -> str:
    """Each round's ratio and their median, when there are several rounds."""
    if len(ratios) < 2:
        return ""
    each = ", ".join(f"{r:.2f}x" for r in ratios)
    return f"; per round {each}: median {statistics.median(ratios):.2f}x"


if __name__ == "__main__":
    main()
