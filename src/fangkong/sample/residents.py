"""Synthetic residents for sample cases: a residence county drawn from where cases were (the
canghailan city counts of a day), a birth date and sex, and a valid ID number (GB 11643) whose
birthplace code existed in the birth year. Hong Kong, Macao and Taiwan residents get a synthetic
travel-permit number instead."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from fangkong.bulletin.regions import HMT_CODES
from fangkong.sample.canghailan import city_counts
from fangkong.sample.identity import ric_numbers, valid_birthplaces

__all__ = ["residence_weights", "residents"]


def residence_weights(
    canghailan_dir: Path | None, day: date, provinces: list[str]
) -> dict[str, tuple[list[str], list[float]]]:
    """Per province, the counties where its cases live and their weights: the cities of the
    canghailan files on the bulletin day (a prefecture's weight shared by its counties), or every
    county of the province when the files name none."""
    counties = valid_birthplaces().get_column("code")
    cities = city_counts(canghailan_dir, day)
    places: dict[str, tuple[list[str], list[float]]] = {}
    for province in provinces:
        weights: dict[str, float] = {}
        rows = cities.filter((pl.col("province") == province) & (pl.col("confirmed") > 0))
        for code, confirmed in rows.select("city_code", "confirmed").iter_rows():
            inside = counties.filter(
                counties.str.starts_with(code[:4]) if code.endswith("00") else counties == code
            ).to_list()
            for county in inside:
                weights[county] = weights.get(county, 0.0) + confirmed / len(inside)
        if not weights:
            weights = dict.fromkeys(counties.filter(counties.str.starts_with(province[:2])), 1.0)
        places[province] = (list(weights), list(weights.values()))
    return places


def residents(
    province: npt.NDArray[np.str_],
    canghailan_dir: Path | None,
    day: date,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """One person per entry of `province` (a province code each): residence county (drawn per
    province from the cases of `day`), sex, birth date, and an ID number born in that county
    when its code existed in the birth year, else in a county of the same province whose code
    is older. Columns of a persons import file: person_id (1..n), id_type, id_number,
    region_code."""
    n = province.size
    region = np.empty(n, dtype="<U6")
    provinces = sorted(set(province.tolist()) - set(HMT_CODES))
    places = residence_weights(canghailan_dir, day, provinces)
    for p in provinces:
        rows = np.flatnonzero(province == p)
        codes, weights = places[p]
        w = np.asarray(weights)
        region[rows] = np.asarray(codes)[rng.choice(len(codes), size=rows.size, p=w / w.sum())]
    hmt = np.isin(province, HMT_CODES)
    region[hmt] = province[hmt]
    birth_year = np.clip(np.round(rng.normal(1972, 17, n)), 1925, 2019).astype(np.int64)
    since = valid_birthplaces().with_columns(pl.col("since").fill_null(0))
    oldest = (
        since.sort("since", "code")
        .group_by(pl.col("code").str.slice(0, 2).alias("p2"), maintain_order=True)
        .agg(pl.col("code").first().alias("oldest"), pl.col("since").first().alias("oldest_since"))
    )
    people = (
        pl.DataFrame({"region": region, "year": birth_year})
        .with_row_index("i")
        .with_columns(pl.col("region").str.slice(0, 2).alias("p2"))
        .join(since, left_on="region", right_on="code", how="left")
        .join(oldest, on="p2", how="left")
        .sort("i")
        .with_columns(
            (pl.col("since").fill_null(9999) <= pl.col("year")).alias("native"),
        )
    )
    native = people.get_column("native").to_numpy()
    birthplace = np.where(native, region, people.get_column("oldest").fill_null("").to_numpy())
    birthplace = birthplace.astype("<U6")
    oldest_since = people.get_column("oldest_since").fill_null(0).to_numpy()
    birth_year = np.where(native, birth_year, np.maximum(birth_year, oldest_since))
    born = (birth_year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + rng.integers(
        0, 365, n
    ).astype("timedelta64[D]")
    male = rng.random(n) < 0.51
    ric = ~hmt
    id_number = np.empty(n, dtype="<U18")
    id_number[ric] = ric_numbers(birthplace[ric], born[ric], male[ric], rng)
    # Hong Kong, Macao, Taiwan residents: a synthetic travel-permit number (H..., M..., T...)
    letter = np.select(
        [province == "810000", province == "820000"], ["H", "M"], default="T"
    ).astype("<U1")
    serial = np.char.zfill((10_000_000 + np.arange(n)).astype("<U8"), 8)
    id_number[hmt] = np.char.add(letter[hmt], serial[hmt])
    return pl.DataFrame(
        {
            "person_id": np.arange(1, n + 1),
            "id_type": np.where(hmt, "other", "ric"),
            "id_number": id_number,
            "region_code": region,
        }
    )
