"""The daily epidemic curve of a transmission-only run (no control): what `fangkong simulate`
prints and what the fixed-seed baseline file records."""

from __future__ import annotations

from typing import Any

import numpy as np

from fangkong.sim.agent import Layer
from fangkong.sim.city import build_city
from fangkong.sim.transmission import Checkins, Epidemic, calibrate_beta
from fangkong.sim.variant import load_variant

__all__ = ["CURVE_COLUMNS", "run_curve"]

CURVE_COLUMNS = ("infected", "infectious", "onsets", "severe", "deaths")


def run_curve(
    population: int, days: int, variant: str, seed: int, *, seeds: int = 20
) -> dict[str, Any]:
    """Simulate `days` days of a city of `population` with `seeds` random infections on day 0:
    the daily counts (CURVE_COLUMNS), infections by layer and the attack rate."""
    v = load_variant(variant)
    city = build_city(population, seed, vaccinated=v.vaccination_in_effect)
    epidemic = Epidemic(city, v, seed=seed, beta=calibrate_beta(city, v))
    epidemic.seed_random(seeds)
    daily: dict[str, list[int]] = {name: [] for name in CURVE_COLUMNS}
    for _ in range(days):
        day = epidemic.step(checkins=Checkins.INFECTIOUS)
        daily["infected"].append(len(day.infected))
        daily["infectious"].append(day.infectious)
        daily["onsets"].append(len(day.onset))
        daily["severe"].append(len(day.severe))
        daily["deaths"].append(len(day.death))
    infected = epidemic.courses.infected >= 0
    by_layer = np.bincount(epidemic.courses.layer[infected], minlength=len(Layer))
    return {
        "population": population,
        "days": days,
        "variant": variant,
        "seed": seed,
        "seeds": seeds,
        "beta": round(epidemic.beta, 9),
        "daily": daily,
        "by_layer": {layer.name.lower(): int(by_layer[layer]) for layer in Layer},
        "attack_rate": round(float(infected.mean()), 6),
    }
