"""The simulated serial interval under the ancestral parameters beside the 1,407 transmission pairs
of Ali et al. (Science 2020), copied in tests/data/real/transmission-pairs-ali2020.

Ali et al. showed that isolation shortened the serial interval over January-February 2020: pairs
whose infector fell ill by 22 January (before the strict measures) have a mean of 7.8 days, those
after 29 January 2.6 days, all pairs 5.1. The twin's transmission alone has no isolation, so its
serial interval (onset of the infectee - onset of the infector, both symptomatic) must lie between
the pooled mean and the pre-intervention mean, and its distribution must be at least as close to
the data as the data's own consecutive periods are to each other.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import numpy.typing as npt

from fangkong.sim.city import build_city
from fangkong.sim.transmission import Checkins, Epidemic, calibrate_beta
from fangkong.sim.variant import load_variant

PAIRS = (
    Path(__file__).resolve().parents[1] / "data/real/transmission-pairs-ali2020/pairs-onsets.csv"
)
BEFORE_MEASURES = dt.date(2020, 1, 22)  # Ali et al.'s first period ends on 22 January
SECOND_PERIOD_END = dt.date(2020, 1, 29)
DAYS = 70
SETTLED = 40  # infectors infected by day 40 have finished transmitting by day 70


def _date(text: str) -> dt.date | None:
    try:
        y, m, d = (int(x) for x in text.strip().split("/"))
    except ValueError:
        return None  # 'unknown'
    return dt.date(y, m, d)


def _observed() -> list[tuple[dt.date, int]]:
    out = []
    with PAIRS.open(newline="") as fh:
        for row in csv.DictReader(fh):
            a, b = _date(row["infector_onsetDate"]), _date(row["infectee_onsetDate"])
            if a is not None and b is not None:
                out.append((a, (b - a).days))
    return out


def _ks(x: npt.NDArray[np.int64], y: npt.NDArray[np.int64]) -> float:
    """Kolmogorov-Smirnov distance between two samples of whole days."""
    grid = np.arange(min(x.min(), y.min()), max(x.max(), y.max()) + 1)
    fx = np.searchsorted(np.sort(x), grid, side="right") / len(x)
    fy = np.searchsorted(np.sort(y), grid, side="right") / len(y)
    return float(np.abs(fx - fy).max())


def _simulated() -> npt.NDArray[np.int64]:
    variant = load_variant("ancestral-2020")
    city = build_city(200_000, 11, vaccinated=False)
    epidemic = Epidemic(city, variant, seed=11, beta=calibrate_beta(city, variant))
    epidemic.seed_random(20)
    for _ in range(DAYS):
        epidemic.step(checkins=Checkins.INFECTIOUS)
    c = epidemic.courses
    infectee = np.flatnonzero(c.infector >= 0)
    infector = c.infector[infectee]
    keep = (c.infected[infector] <= SETTLED) & (c.onset[infectee] >= 0) & (c.onset[infector] >= 0)
    return (c.onset[infectee[keep]] - c.onset[infector[keep]]).astype(np.int64)


def test_serial_interval_against_ali_2020() -> None:
    observed = _observed()
    everything = np.array([s for _, s in observed])
    early = np.array([s for a, s in observed if a <= BEFORE_MEASURES])
    middle = np.array([s for a, s in observed if BEFORE_MEASURES < a <= SECOND_PERIOD_END])
    late = np.array([s for a, s in observed if a > SECOND_PERIOD_END])
    simulated = _simulated()
    print(
        f"\nserial interval: simulated mean {simulated.mean():.2f} d (sd {simulated.std():.2f},"
        f" {len(simulated)} pairs); Ali et al. all pairs {everything.mean():.2f} d"
        f" ({len(everything)} pairs), before 23 Jan {early.mean():.2f} d ({len(early)} pairs);"
        f" KS distance to all pairs {_ks(simulated, everything):.3f},"
        f" to the pre-intervention pairs {_ks(simulated, early):.3f}"
    )
    assert len(everything) == 679  # pairs with both onset dates
    assert len(simulated) > 1000
    # the mean lies between the isolation-shortened pooled mean and the pre-intervention mean,
    # each widened by its 95% confidence half-width (1.96 standard errors)
    low = everything.mean() - 1.96 * everything.std() / np.sqrt(len(everything))
    high = early.mean() + 1.96 * early.std() / np.sqrt(len(early))
    assert low <= simulated.mean() <= high
    # the distribution is closer to the pooled and to the pre-intervention pairs than Ali et
    # al.'s consecutive periods are to each other (0.215 and 0.233)
    tolerance = min(_ks(early, middle), _ks(middle, late))
    assert _ks(simulated, everything) < tolerance
    assert _ks(simulated, early) < tolerance
