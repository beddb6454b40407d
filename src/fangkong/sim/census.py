"""The census figures the city is drawn from (`data/census-2020.yaml`): the age pyramid of
China's 2020 census, household sizes, the city's districts with their weights, and vaccination
coverage by age in April 2022."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from fangkong.errors import ModelFileError
from fangkong.sim.parameter import ModelFile, bundled_path, read_model_file

__all__ = ["Census", "load_census"]

MAX_AGE = 99


@dataclass(frozen=True)
class Census:
    age_share: npt.NDArray[np.float64]  # share of people at each age 0..99
    male_share: float
    household_size_share: npt.NDArray[np.float64]  # index = size (0 unused)
    mean_household_size: float
    district_codes: tuple[str, ...]
    district_weight: npt.NDArray[np.float64]
    vaccine_eligible_age: int
    booster_age: int
    primary_by_age: npt.NDArray[np.float64]  # share with a full primary course, by age 0..99
    booster_of_vaccinated_adults: float


def _span(path: str, key: str) -> tuple[int, int]:
    try:
        lo, hi = (int(x) for x in key.split("-"))
    except ValueError:
        raise ModelFileError(path, "an age group is written 'from-to'", key=key) from None
    if not 0 <= lo <= hi <= MAX_AGE:
        raise ModelFileError(path, f"ages are 0 to {MAX_AGE}", key=key)
    return lo, hi


def _age_share(f: ModelFile) -> npt.NDArray[np.float64]:
    """Five-year groups spread evenly over their ages, rescaled inside each of the bulletin's
    broad groups to its share."""
    per_age = np.zeros(MAX_AGE + 1)
    for key, millions in f.table("age_groups_millions").items():
        lo, hi = _span(f.path, key)
        per_age[lo : hi + 1] += millions / (hi - lo + 1)
    out = np.zeros_like(per_age)
    covered = np.zeros(MAX_AGE + 1, dtype=bool)
    for key, share in f.table("broad_age_shares").items():
        lo, hi = _span(f.path, key)
        part = per_age[lo : hi + 1]
        if part.sum() <= 0 or covered[lo : hi + 1].any():
            raise ModelFileError(f.path, "broad groups must not overlap", key=key)
        out[lo : hi + 1] = part / part.sum() * share
        covered[lo : hi + 1] = True
    if not covered.all():
        raise ModelFileError(
            f.path, "the broad groups must cover ages 0-99", key="broad_age_shares"
        )
    result: npt.NDArray[np.float64] = out / out.sum()
    return result


def _load(path: Path) -> Census:
    f = read_model_file(path)
    sizes = f.table("household_size_shares")
    size_share = np.zeros(max(int(k) for k in sizes) + 1)
    for k, v in sizes.items():
        size_share[int(k)] = v
    size_share /= size_share.sum()
    districts = f.table("district_population_10k")
    weight = np.array(list(districts.values()))
    eligible = int(f.number("vaccination", "eligible_from_age"))
    ages = np.arange(MAX_AGE + 1)
    primary = np.select(
        [ages < eligible, ages < 60, ages < 80],
        [
            0.0,
            f.number("vaccination", "primary_3_59"),
            f.number("vaccination", "primary_60_79"),
        ],
        f.number("vaccination", "primary_80_plus"),
    )
    return Census(
        age_share=_age_share(f),
        male_share=f.number("population", "male_share"),
        household_size_share=size_share,
        mean_household_size=f.number("population", "mean_household_size"),
        district_codes=tuple(districts),
        district_weight=weight / weight.sum(),
        vaccine_eligible_age=eligible,
        booster_age=int(f.number("vaccination", "booster_from_age")),
        primary_by_age=primary,
        booster_of_vaccinated_adults=f.number("vaccination", "booster_of_vaccinated_adults"),
    )


@cache
def load_census(path: Path | None = None) -> Census:
    """The census figures (the bundled file unless `path` is given)."""
    return _load(path or bundled_path("census-2020.yaml"))
