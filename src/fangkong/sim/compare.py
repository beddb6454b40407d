"""Policy comparison (`fangkong compare`): the same city and the same imported case under each
policy, over several seeds, through the twin loop (`fangkong.sim.twin`).

One *run* is a policy and a seed: the seed draws the city, the imported case and every random
stream of the epidemic, so the runs of one seed differ only by what the policies order. `none`
runs the epidemic with no control (the engine does not run). A run returns its outcomes
(`OUTCOMES`) and its daily new infections; `compare` aggregates them per policy: the median and
the interval from the lowest to the highest seed (with K seeds, the range of K runs: no
distribution is assumed).

Runs are independent: they go to local processes (`concurrent.futures`, one per core), or, with
a cluster address, to Dask distributed. Dask rather than Ray: a run is a plain function of
plain values returning plain values, which `Client.map` schedules as it is, with no actor or
object store to set up; `distributed` installs from PyPI as pure Python (Ray ships a large
native runtime and its own object store process on every node); and a `LocalCluster` starts in
the test suite in seconds, so the cluster path is tested for real.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import numpy as np

from fangkong.errors import InputError
from fangkong.policy import load_policy
from fangkong.sim.population import MIN_POPULATION
from fangkong.sim.twin import HOSPITALS, Twin

__all__ = ["NO_CONTROL", "OUTCOMES", "Comparison", "Run", "compare", "run_one"]

NO_CONTROL = "none"
_ENGINE_LOG = "fangkong.engine"

# (key, what it measures)
OUTCOMES: tuple[tuple[str, str], ...] = (
    ("infections", "infections (the model's)"),
    ("symptomatic", "symptomatic"),
    ("severe", "severe"),
    ("deaths", "deaths"),
    ("peak_severe", "peak severe in hospital"),
    ("peak_in_beds", "peak in hospital beds by order"),
    ("quarantine_person_days", "quarantine person-days"),
    ("area_person_days", "person-days under area restrictions (residents confined)"),
    ("venue_days_closed", "venue-days closed by area measures"),
    ("tests", "swabs"),
    ("tubes", "tubes"),
)


@dataclass(frozen=True)
class Run:
    """One policy under one seed."""

    policy: str
    seed: int
    outcomes: dict[str, int]
    daily_infections: list[int]
    severe_beds: int  # designated-hospital beds of the city (where severe cases are treated)
    beds: int  # every hospital bed of the city (designated and shelter)


def run_one(population: int, days: int, policy: str, seed: int, variant: str) -> Run:
    """Run the twin for `days` under `policy` (`none`: no control) with `seed`."""
    twin = Twin(population, seed, None if policy == NO_CONTROL else load_policy(policy), variant)
    try:
        for _ in twin.run(days):
            pass
    finally:
        twin.close()
    everything = twin.outcomes()
    outcomes = {key: everything[key] for key, _ in OUTCOMES}
    return Run(
        policy,
        seed,
        outcomes,
        [d.infected for d in twin.days],
        twin.capacity("designated_hospital"),
        twin.capacity(*HOSPITALS),
    )


@dataclass(frozen=True)
class Comparison:
    population: int
    days: int
    variant: str
    policies: tuple[str, ...]
    seeds: tuple[int, ...]
    runs: tuple[Run, ...]

    def of(self, policy: str) -> list[Run]:
        return [r for r in self.runs if r.policy == policy]

    def summary(self, policy: str, key: str) -> tuple[float, int, int]:
        """Median, lowest and highest over the seeds."""
        values = np.array([r.outcomes[key] for r in self.of(policy)])
        return float(np.median(values)), int(values.min()), int(values.max())

    def median_curve(self, policy: str) -> list[float]:
        curves = np.array([r.daily_infections for r in self.of(policy)])
        return [float(x) for x in np.median(curves, axis=0)]

    def as_dict(self) -> dict[str, Any]:
        first = self.runs[0]
        return {
            "population": self.population,
            "days": self.days,
            "variant": self.variant,
            "seeds": list(self.seeds),
            "severe_beds": first.severe_beds,
            "beds": first.beds,
            "policies": {
                p: {
                    key: dict(zip(("median", "low", "high"), self.summary(p, key), strict=True))
                    for key, _ in OUTCOMES
                }
                for p in self.policies
            },
            "runs": [{"policy": r.policy, "seed": r.seed, **r.outcomes} for r in self.runs],
        }


def check_policies(names: Sequence[str]) -> tuple[str, ...]:
    """The policies named (each loaded once here, so that a wrong name fails before any run)."""
    out = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not out:
        raise InputError("--policies names at least one policy (or none)")
    for name in out:
        if name != NO_CONTROL:
            load_policy(name)
    return out


Mapper = Callable[[list[tuple[int, int, str, int, str]]], list[Run]]


def local_mapper(workers: int | None = None) -> Mapper:
    """Runs in local processes, one per core (spawned: no DuckDB or Numba state is forked)."""

    def run(jobs: list[tuple[int, int, str, int, str]]) -> list[Run]:
        n = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
        if n == 1:
            return [run_one(*job) for job in jobs]
        level = logging.getLogger(_ENGINE_LOG).level
        with ProcessPoolExecutor(
            n, mp_context=get_context("spawn"), initializer=_log_level, initargs=(level,)
        ) as pool:
            return list(pool.map(_run_job, jobs))

    return run


def dask_mapper(address: str) -> Mapper:
    """Runs on the Dask distributed cluster at `address` (`tcp://host:8786`)."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise InputError(
            "--cluster needs Dask distributed: pip install 'fangkong[cluster]'"
        ) from exc

    def run(jobs: list[tuple[int, int, str, int, str]]) -> list[Run]:
        try:
            client = Client(address, timeout=30)  # type: ignore[no-untyped-call]
        except OSError as exc:
            raise InputError(f"cannot reach the Dask cluster at {address}: {exc}") from exc
        with client:
            futures = client.map(_run_job, jobs, pure=False)
            return list(client.gather(futures))  # type: ignore[no-untyped-call]

    return run


def _log_level(level: int) -> None:
    """In a worker process: the engine's log level of the parent."""
    logging.getLogger(_ENGINE_LOG).setLevel(level)


def _run_job(job: tuple[int, int, str, int, str]) -> Run:
    return run_one(*job)


def compare(
    population: int,
    days: int,
    policies: Sequence[str],
    seeds: int,
    *,
    variant: str = "omicron-ba2",
    mapper: Mapper | None = None,
) -> Comparison:
    """Every policy under seeds 1..`seeds`."""
    if population < MIN_POPULATION or days < 1 or seeds < 1:
        raise InputError(
            f"--population is at least {MIN_POPULATION:,}, --days and --seeds at least 1"
        )
    names = check_policies(policies)
    seed_list = tuple(range(1, seeds + 1))
    jobs = [(population, days, p, s, variant) for p in names for s in seed_list]
    runs = (mapper or local_mapper())(jobs)
    return Comparison(population, days, variant, names, seed_list, tuple(runs))
