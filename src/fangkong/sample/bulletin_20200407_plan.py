"""The plan of the 2020-04-07 fixture (`fangkong.sample.bulletin_20200407`): the bulletin's
numbers, the choices the seed leaves open, and how many cases of each kind each province gets
(from the canghailan daily files)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from fangkong.bulletin.bulletin import Figures
from fangkong.bulletin.regions import HMT_CODES
from fangkong.sample.canghailan import province_series

__all__ = [
    "BULLETIN_DAY",
    "CHOSEN",
    "DAY0",
    "MARCH_1",
    "SEED_FIGURES",
    "D",
    "Data",
    "allocate",
    "load_data",
    "plan_cases",
    "seed_value",
]

DAY0 = date(2019, 12, 1)  # day index 0
BULLETIN_DAY = date(2020, 4, 7)
D = (BULLETIN_DAY - DAY0).days  # the bulletin day's index (128)
MARCH_1 = (date(2020, 3, 1) - DAY0).days
HUBEI = "420000"

# The bulletin of 2020-04-07 as seed 002 prints it.
SEED_FIGURES = Figures(
    cumulative_confirmed=81802,
    imported_cumulative_confirmed=1042,
    new_confirmed=62,
    new_confirmed_imported=59,
    new_confirmed_local=3,
    current_confirmed=1190,
    current_severe=189,
    cumulative_deaths=3333,
    new_deaths=2,
    cumulative_cured=77279,
    new_cured=112,
    current_suspected=83,
    new_suspected=12,
    new_suspected_imported=11,
    new_suspected_local=1,
    imported_current_confirmed=714,
    imported_current_suspected=82,
    imported_cumulative_cured=328,
    imported_cumulative_deaths=0,
    asymptomatic_new=137,
    new_converted=11,
    asymptomatic_released=64,
    asymptomatic_under_observation=1095,
)

# Figures the seed does not give, chosen for the fixture (synthetic, not the NHC's).
CHOSEN = {
    "imported_current_severe": 20,
    "severe_change": -23,
    "asymptomatic_new_imported": 40,
    "asymptomatic_under_observation_imported": 302,
    # further choices that shape the history, not printed in the bulletin
    "new_converted_imported": 9,
    "new_cured_imported": 20,
    "new_confirmed_via_suspected": 20,  # imported, suspected on 4-5/4-6
    "severe_improved_on_day": 25,  # severe on 4-6, moderate on 4-7 (1 imported)
    "severe_worsened_on_day": 3,  # moderate on 4-6, severe on 4-7 (1 imported)
    "suspected_excluded_on_day": 5,  # imported, suspected on 4-5/4-6
    "suspected_excluded_before": 4000,
    "asymptomatic_released_before": 1500,  # 300 imported
    "asymptomatic_released_on_day_imported": 10,
    "converted_before": 100,  # imported, in late March
}


# -- allocation ---------------------------------------------------------------------------------


def allocate(
    total: int, weights: npt.ArrayLike, caps: npt.ArrayLike | None = None
) -> npt.NDArray[np.int64]:
    """Split `total` into whole numbers proportional to `weights` (largest remainders), none
    above its cap; where the weights of the regions still below their cap are all zero, the
    room left under the caps is the weight."""
    w = np.clip(np.asarray(weights, dtype=float), 0, None)
    cap = np.full(w.size, total, dtype=np.int64) if caps is None else np.asarray(caps, np.int64)
    out = np.zeros(w.size, dtype=np.int64)
    for _ in range(w.size + 2):
        remaining = total - int(out.sum())
        if remaining == 0:
            return out
        room = cap - out
        ww = np.where(room > 0, w, 0.0)
        if ww.sum() == 0:
            ww = room.clip(0).astype(float)
        if ww.sum() == 0:
            break
        share = ww / ww.sum() * remaining
        add = np.floor(share).astype(np.int64)
        extra = remaining - int(add.sum())
        add[np.argsort(-(share - add), kind="stable")[:extra]] += 1
        out += np.minimum(add, room)
    raise ValueError(f"cannot allocate {total} under the caps {cap.tolist()}")


# -- the plan: how many cases of each kind in each province -------------------------------------


@dataclass
class Data:
    provinces: list[str]  # the 31 provinces, in code order
    inc_local: npt.NDArray[np.float64]  # [province, day] daily new local confirmed (>= 0)
    inc_imported: npt.NDArray[np.float64]  # [province, day] daily new imported confirmed
    at_day: pl.DataFrame  # canghailan's figures on the bulletin day, per province
    before: pl.DataFrame  # the day before
    hmt: pl.DataFrame  # the same, for Hong Kong, Macao and Taiwan
    inc_hmt: dict[str, npt.NDArray[np.float64]]


def load_data(canghailan_dir: Path | None) -> Data:
    series = province_series(canghailan_dir, DAY0, BULLETIN_DAY)
    provinces = sorted(p for p in series.get_column("province").unique() if p not in HMT_CODES)
    wide = series.sort("province", "date")

    def matrix(column: str, codes: list[str]) -> npt.NDArray[np.float64]:
        rows = [
            wide.filter(pl.col("province") == p).get_column(column).to_numpy().astype(float)
            for p in codes
        ]
        cumulative = np.vstack(rows)
        return np.clip(np.diff(cumulative, axis=1, prepend=0.0), 0, None)

    total = matrix("confirmed", provinces)
    imported = matrix("imported", provinces)
    hmt_codes = list(HMT_CODES)
    inc_hmt = dict(zip(hmt_codes, matrix("confirmed", hmt_codes), strict=True))
    day = series.filter(pl.col("date") == BULLETIN_DAY).sort("province")
    before = series.filter(pl.col("date") == BULLETIN_DAY.replace(day=6)).sort("province")
    return Data(
        provinces,
        np.clip(total - imported, 0, None),
        imported,
        day.filter(pl.col("province").is_in(provinces)),
        before.filter(pl.col("province").is_in(provinces)),
        day.filter(pl.col("province").is_in(hmt_codes)),
        inc_hmt,
    )


def plan_cases(data: Data) -> dict[tuple[str, str, str], npt.NDArray[np.int64]]:
    """Per province (in `data.provinces` order): how many cases of each (origin, kind, when),
    `when` being "new" (the bulletin day) or "old" (before it)."""
    s, c = SEED_FIGURES, CHOSEN
    col = data.at_day.get_column
    conf, cured, dead, imp = (col(n).to_numpy() for n in ("confirmed", "cured", "dead", "imported"))
    delta = {
        n: np.clip(col(n).to_numpy() - data.before.get_column(n).to_numpy(), 0, None)
        for n in ("confirmed", "cured", "dead", "imported")
    }
    away = np.array([p != HUBEI for p in data.provinces], dtype=np.int64)
    cum, cum_imp = seed_value(s.cumulative_confirmed), seed_value(s.imported_cumulative_confirmed)
    cur, cur_imp_n = seed_value(s.current_confirmed), seed_value(s.imported_current_confirmed)
    new_imp_n, new_loc_n = seed_value(s.new_confirmed_imported), seed_value(s.new_confirmed_local)
    new_cured_imp_n = c["new_cured_imported"]
    conf_p = allocate(cum, conf)
    dead_p = allocate(seed_value(s.cumulative_deaths), dead, conf_p)
    imp_p = allocate(cum_imp, imp, conf_p - dead_p)
    cur_imp = allocate(cur_imp_n, imp_p, imp_p)
    loc_p = conf_p - imp_p
    cur_loc = allocate(
        cur - cur_imp_n, np.clip(conf - cured - dead - cur_imp, 0, None), loc_p - dead_p
    )
    new_imp = allocate(new_imp_n, cur_imp * away, cur_imp * away)
    new_loc = allocate(new_loc_n, (delta["confirmed"] - delta["imported"]) * away, cur_loc * away)
    new_dead = allocate(seed_value(s.new_deaths), delta["dead"], dead_p)
    cured_imp = imp_p - cur_imp
    cured_loc = loc_p - dead_p - cur_loc
    new_cured_imp = allocate(new_cured_imp_n, cured_imp, cured_imp)
    new_cured_loc = allocate(seed_value(s.new_cured) - new_cured_imp_n, delta["cured"], cured_loc)
    travel = cur_imp * away  # where imported suspected cases and infections are found
    susp_new_imp = seed_value(s.new_suspected_imported)
    asym_new_imp = c["asymptomatic_new_imported"]
    asym_cur_imp = c["asymptomatic_under_observation_imported"]
    asym_new, asym_cur = (
        seed_value(s.asymptomatic_new),
        seed_value(s.asymptomatic_under_observation),
    )
    rel_new, rel_new_imp = (
        seed_value(s.asymptomatic_released),
        c["asymptomatic_released_on_day_imported"],
    )
    rel_old = c["asymptomatic_released_before"]
    return {
        ("local", "died", "old"): dead_p - new_dead,
        ("local", "died", "new"): new_dead,
        ("local", "cured", "old"): cured_loc - new_cured_loc,
        ("local", "cured", "new"): new_cured_loc,
        ("local", "current", "old"): cur_loc - new_loc,
        ("local", "current", "new"): new_loc,
        ("imported", "cured", "old"): cured_imp - new_cured_imp,
        ("imported", "cured", "new"): new_cured_imp,
        ("imported", "current", "old"): cur_imp - new_imp,
        ("imported", "current", "new"): new_imp,
        ("imported", "suspected", "old"): allocate(
            seed_value(s.current_suspected) - seed_value(s.new_suspected), travel
        ),
        ("imported", "suspected", "new"): allocate(susp_new_imp, travel),
        ("local", "suspected", "new"): allocate(seed_value(s.new_suspected_local), new_loc + away),
        ("imported", "excluded", "new"): allocate(c["suspected_excluded_on_day"], travel),
        ("local", "excluded", "old"): allocate(c["suspected_excluded_before"], conf_p),
        ("imported", "asymptomatic", "new"): allocate(asym_new_imp, travel),
        ("local", "asymptomatic", "new"): allocate(asym_new - asym_new_imp, loc_p),
        ("imported", "asymptomatic", "old"): allocate(asym_cur_imp - asym_new_imp, travel),
        ("local", "asymptomatic", "old"): allocate(
            asym_cur - asym_new - (asym_cur_imp - asym_new_imp), loc_p
        ),
        ("imported", "released", "new"): allocate(rel_new_imp, travel),
        ("local", "released", "new"): allocate(rel_new - rel_new_imp, loc_p),
        ("imported", "released", "old"): allocate(rel_old // 5, travel),
        ("local", "released", "old"): allocate(rel_old - rel_old // 5, loc_p),
    }


def seed_value(value: int | None) -> int:
    assert value is not None
    return value
