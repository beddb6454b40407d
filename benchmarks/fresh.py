"""Measurements in fresh processes, for the benchmark scripts: a script re-runs itself with
`--child ...` arguments, the child prints one JSON line (its figures, with `seconds` and its own
peak RSS), and the parent takes the median time and the largest peak over the repeats.
`measure_in_turn` runs two or more measurements in turn (a, b, a, b, ...), so that each round's
ratio compares runs made minutes apart on this shared machine, not a whole series apart."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
from typing import Any

__all__ = ["measure", "measure_in_turn", "peak_rss"]


def peak_rss() -> int:
    """This process's peak resident set size, in bytes: the high-water mark of its own memory
    (`VmHWM`). Not `getrusage`'s `ru_maxrss`: Linux carries that over an exec from the memory
    the process had before, so a child started by a parent that had generated 25 million rows
    reported the parent's 4.7 GB."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def measure(
    script: str, child_args: list[str], repeat: int, medians: tuple[str, ...] = ("seconds",)
) -> dict[str, Any]:
    """Run `script --child *child_args` `repeat` times; the first run's figures, with the median
    of each of `medians` (times) and the largest `rss`."""
    return _summary([_run(script, child_args) for _ in range(repeat)], medians)


def measure_in_turn(
    script: str,
    child_args: list[list[str]],
    repeat: int,
    medians: tuple[str, ...] = ("seconds",),
) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """Run `script --child *args` for each of `child_args` in turn, `repeat` rounds: each
    measurement's summary (as `measure`'s) and each round's figures, one per measurement."""
    rounds = [[_run(script, args) for args in child_args] for _ in range(repeat)]
    summaries = [_summary([r[i] for r in rounds], medians) for i in range(len(child_args))]
    return summaries, rounds


def _run(script: str, child_args: list[str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, script, "--child", *child_args],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return figures


def _summary(runs: list[dict[str, Any]], medians: tuple[str, ...]) -> dict[str, Any]:
    """The first run's figures, with the median of each of `medians` and the largest `rss`."""
    summary = dict(runs[0])
    for key in medians:
        summary[key] = statistics.median(r[key] for r in runs)
    summary["rss"] = max(r["rss"] for r in runs)
    return summary
