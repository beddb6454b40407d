"""Measurements in fresh processes, for the benchmark scripts: a script re-runs itself with
`--child ...` arguments, the child prints one JSON line (its figures, with `seconds` and its own
peak RSS), and the parent takes the median time and the largest peak over the repeats."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
from typing import Any

__all__ = ["measure", "peak_rss"]


def peak_rss() -> int:
    """This process's peak resident set size, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(
    script: str, child_args: list[str], repeat: int, medians: tuple[str, ...] = ("seconds",)
) -> dict[str, Any]:
    """Run `script --child *child_args` `repeat` times; the first run's figures, with the median
    of each of `medians` (times) and the largest `rss`."""
    runs = []
    for _ in range(repeat):
        proc = subprocess.run(
            [sys.executable, script, "--child", *child_args],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    summary = dict(runs[0])
    for key in medians:
        summary[key] = statistics.median(r[key] for r in runs)
    summary["rss"] = max(r["rss"] for r in runs)
    return summary
