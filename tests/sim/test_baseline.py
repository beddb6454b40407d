"""A fixed-seed baseline guards the simulator's results against silent change: the daily curve,
infections by layer and the attack rate of a 20,000-person Omicron BA.2 run must equal the file.
After an intended change, regenerate it with FANGKONG_UPDATE_BASELINE=1 and say why in the
commit."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from fangkong.cli.app import app
from fangkong.sim.curve import run_curve

BASELINE = Path(__file__).resolve().parents[1] / "data/sim/baseline-omicron-ba2-20k.json"


def test_results_equal_the_baseline() -> None:
    result = run_curve(20_000, 60, "omicron-ba2", 2022)
    if os.environ.get("FANGKONG_UPDATE_BASELINE") == "1":
        BASELINE.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    expected = json.loads(BASELINE.read_text(encoding="utf-8"))
    assert result == expected
    assert expected["attack_rate"] > 0.5  # an Omicron epidemic with no control


def test_simulate_command_prints_the_curve() -> None:
    out = CliRunner().invoke(
        app, ["simulate", "--population", "3000", "--days", "12", "--variant", "delta"]
    )
    assert out.exit_code == 0, out.output
    assert "attack rate" in out.output
    assert "infectious" in out.output
    bad = CliRunner().invoke(app, ["simulate", "--population", "3000", "--variant", "alpha"])
    assert bad.exit_code == 2
    assert "no variant 'alpha'" in bad.output
    # a city too small says so, before any other bound it makes no sense of
    for command in ("simulate", "compare", "demo"):
        small = CliRunner().invoke(app, [command, "--population", "0", "--days", "2"])
        assert small.exit_code == 2, small.output
        assert "--population is at least 1,000" in small.output
