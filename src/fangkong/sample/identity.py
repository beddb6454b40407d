"""Synthetic resident ID numbers (居民身份证号码, GB 11643-1999), made in bulk: the county code
of first registration (6 digits), the birth date (8), a sequence (3: odd for men, even for women)
and the check character, computed by the same compiled code the importer checks with
(`fangkong.ingest.ric`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from fangkong.ingest.ric import check_chars
from fangkong.store.regions import builtin_region_periods

__all__ = ["ric_check_chars", "ric_numbers", "valid_birthplaces"]


def ric_check_chars(first17: npt.NDArray[np.str_]) -> npt.NDArray[np.str_]:
    """The GB 11643 check character of each 17-digit string."""
    return check_chars(np.asarray(first17).astype(np.int64))


def ric_numbers(
    birthplaces: npt.NDArray[np.str_],
    birth_dates: npt.NDArray[np.datetime64],
    male: npt.NDArray[np.bool_],
    rng: np.random.Generator,
) -> npt.NDArray[np.str_]:
    """Distinct ID numbers for the given birthplaces (6-digit county codes), birth dates and
    sexes, with random sequence numbers and correct check characters."""
    n = len(birthplaces)
    born = np.char.replace(np.datetime_as_string(birth_dates.astype("datetime64[D]")), "-", "")
    seq = rng.integers(0, 500, size=n) * 2 + np.where(male, 1, 0)
    ids = np.empty(n, dtype="<U18")
    todo = np.arange(n)
    for _ in range(100):  # redraw the sequence of the (rare) duplicates until all are distinct
        first17 = np.char.add(
            np.char.add(birthplaces[todo].astype("<U6"), born[todo]),
            np.char.zfill(seq[todo].astype("<U3"), 3),
        )
        ids[todo] = np.char.add(first17, ric_check_chars(first17))
        _, first_index = np.unique(ids, return_index=True)
        dup = np.setdiff1d(np.arange(n), first_index)
        if dup.size == 0:
            return ids
        todo = dup
        seq[todo] = rng.integers(0, 500, size=todo.size) * 2 + np.where(male[todo], 1, 0)
    raise RuntimeError("could not draw distinct ID numbers")


def valid_birthplaces() -> pl.DataFrame:
    """County codes in use today with the first year of their current period (`since`, null
    when the code is older than the table): a code is a valid birthplace for births from then
    on (the importer checks the birthplace against the birth year)."""
    periods = builtin_region_periods()
    return (
        periods.filter(pl.col("end").is_null() & ~pl.col("code").str.ends_with("00"))
        .group_by("code")
        .agg(pl.col("start").max().alias("since"))
        .sort("code")
    )
