"""Variant parameter sets (`data/variants.yaml`): the ancestral strain of 2020, Delta and Omicron
BA.2, each number with its published source. `load_variant(name)` reads one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from fangkong.errors import ModelFileError, NotFoundError
from fangkong.sim.parameter import ModelFile, bundled_path, read_model_file

__all__ = ["VARIANTS", "Variant", "load_variant"]

VARIANTS = ("ancestral-2020", "delta", "omicron-ba2")


@dataclass(frozen=True)
class Variant:
    key: str
    name: str
    vaccination_in_effect: bool
    r0: float
    incubation_mean_days: float
    incubation_p95_days: float
    proliferation_days: float
    clearance_days: float
    peak_ct: float
    peak_ct_sd: float
    asymptomatic_share: float
    asymptomatic_relative_infectiousness: float
    onset_to_severe_days: float
    onset_to_death_days: float
    severity_age_bands: npt.NDArray[np.int64]  # lower bounds, years
    severe_by_band: npt.NDArray[np.float64]  # of infections, unvaccinated
    death_by_band: npt.NDArray[np.float64]  # of infections, unvaccinated
    susceptibility_by_doses: npt.NDArray[np.float32]  # index = doses (0..3)
    severe_factor_by_doses: npt.NDArray[np.float64]  # 1 - VE against severe disease
    death_factor_by_doses: npt.NDArray[np.float64]

    @property
    def incubation_lognormal(self) -> tuple[float, float]:
        """(mu, sigma) of the log-normal with this mean and 95th percentile."""
        m, p95 = self.incubation_mean_days, self.incubation_p95_days
        # mu + 1.645 sigma = ln p95 and mu + sigma^2/2 = ln m
        a, b = np.log(p95), np.log(m)
        sigma = 1.6449 - np.sqrt(max(1.6449**2 - 2 * (a - b), 0.0))
        return float(b - sigma**2 / 2), float(sigma)


def _by_doses(f: ModelFile, key: str, what: str) -> npt.NDArray[np.float64]:
    two = f.number("variants", key, f"ve_{what}_2_doses")
    three = f.number("variants", key, f"ve_{what}_3_doses")
    return 1.0 - np.array([0.0, 0.0, two, three])


def load_variant(name: str, path: Path | None = None) -> Variant:
    """The parameters of variant `name` (one of VARIANTS in the bundled file)."""
    f = read_model_file(path or bundled_path("variants.yaml"))
    variants = f.node("variants")
    if not isinstance(variants, dict) or name not in variants:
        known = ", ".join(variants) if isinstance(variants, dict) else ""
        raise NotFoundError(f"no variant {name!r} (known: {known})")

    def num(key: str) -> float:
        return f.number("variants", name, key)

    bands = np.array(f.value("severity_age_bands"), dtype=np.int64)
    severe = np.array(f.numbers("severity_by_age", "hospitalised_of_infected"))
    death = np.array(f.numbers("severity_by_age", "fatality_of_infected"))
    if not (len(bands) == len(severe) == len(death)) or bands[0] != 0:
        raise ModelFileError(f.path, "one value per age band, bands from 0", key="severity_by_age")
    title = f.node("variants", name, "name")
    return Variant(
        key=name,
        name=str(title),
        vaccination_in_effect=f.flag("variants", name, "vaccination_in_effect"),
        r0=num("r0"),
        incubation_mean_days=num("incubation_mean_days"),
        incubation_p95_days=num("incubation_p95_days"),
        proliferation_days=num("proliferation_days"),
        clearance_days=num("clearance_days"),
        peak_ct=num("peak_ct"),
        peak_ct_sd=num("peak_ct_sd"),
        asymptomatic_share=num("asymptomatic_share"),
        asymptomatic_relative_infectiousness=num("asymptomatic_relative_infectiousness"),
        onset_to_severe_days=num("onset_to_severe_days"),
        onset_to_death_days=num("onset_to_death_days"),
        severity_age_bands=bands,
        severe_by_band=severe * num("severe_vs_ancestral"),
        death_by_band=death * num("death_vs_ancestral"),
        susceptibility_by_doses=_by_doses(f, name, "infection").astype(np.float32),
        severe_factor_by_doses=_by_doses(f, name, "severe"),
        death_factor_by_doses=_by_doses(f, name, "death"),
    )
