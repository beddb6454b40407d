"""The 2020 county risk levels (`county_case_counts`), as the April 2020 criteria give them.

A county (the first six digits of the region a case was reported in, else of the case's
residence) is, on a day D, with the policy's `criteria_lookback_days` (14) and
`criteria_high_cumulative_cases_above` (50):

- **high** when it has more than 50 cumulative cases and a cluster within the lookback;
- **medium** when it has new cases within the lookback and is not high (50 or fewer cumulative,
  or more without a cluster);
- **low** (not published) when it has had no new case within the lookback.

New cases are case episodes reported in (D - lookback, D]; cumulative ones reported by D. A
**cluster** is `cluster_min_cases` cases or more (2 in 2020, 5 from the 7th edition) reported
within one lookback in one household or one residential compound: the criteria's "a small area
such as a home" read on the units the registry has.

An area's `drawn_on` is the first day of its current run of days at medium or high,
`level_since` the first day at its current level, and `next_level` / `next_change_on` the level
and day the criteria give it if no new case is reported (the counts only drop as the lookback
moves on).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from fangkong.model.glossary import AreaReason
from fangkong.policy.schema import RiskAreas
from fangkong.policy.terms import AreaUnit, RiskLevel

__all__ = ["county_areas"]


def _cluster_days(days: npt.NDArray[np.int64], size: int, lookback: int) -> set[int]:
    """The day numbers on which a group with cases on `days` (sorted) has `size` of them
    within the lookback (reported in (d - lookback, d])."""
    out: set[int] = set()
    for j in range(size - 1, len(days)):
        first, last = int(days[j - size + 1]), int(days[j])
        if last - first < lookback:
            out.update(range(last, first + lookback))
    return out


def county_areas(rules: RiskAreas, infections: pl.DataFrame, day: date) -> list[dict[str, object]]:
    """The medium and high counties on `day` (rows of the area columns, without the policy's)."""
    lookback = rules.criteria_lookback_days
    above = rules.criteria_high_cumulative_cases_above
    if lookback is None or above is None:
        return []
    cases = infections.filter(pl.col("on") <= day).with_columns(
        pl.coalesce("case_region", "region_code").str.slice(0, 6).alias("county"),
        (pl.col("on") - pl.lit(day)).dt.total_days().alias("n"),  # day numbers, D = 0
    )
    out: list[dict[str, object]] = []
    active = cases.filter(pl.col("n") > -lookback).get_column("county").drop_nulls().unique()
    for county in sorted(active.to_list()):
        mine = cases.filter(pl.col("county") == county)
        days = np.sort(mine.get_column("n").to_numpy().astype(np.int64))
        cluster: set[int] = set()
        for unit in ("household_id", "compound_id"):
            for _, group in mine.filter(pl.col(unit).is_not_null()).group_by(unit):
                group_days = np.sort(group.get_column("n").to_numpy().astype(np.int64))
                cluster |= _cluster_days(group_days, rules.cluster_min_cases, lookback)

        def level(d: int, days: npt.NDArray[np.int64] = days, cluster: set[int] = cluster) -> int:
            cumulative = int(np.searchsorted(days, d, side="right"))
            new = cumulative - int(np.searchsorted(days, d - lookback, side="right"))
            if cumulative > above and d in cluster:
                return 2
            return 1 if new > 0 else 0

        today = level(0)
        if today == 0:
            continue
        since = 0
        while level(since - 1) == today:
            since -= 1
        drawn = since
        while level(drawn - 1) > 0:
            drawn -= 1
        ahead = 1
        while ahead <= lookback and level(ahead) == today:
            ahead += 1
        later = level(ahead) if ahead <= lookback else today
        levels = (RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH)
        out.append(
            {
                "area_id": f"{AreaUnit.COUNTY.value}:{county}",
                "level": levels[today].value,
                "unit": AreaUnit.COUNTY.value,
                "reason": AreaReason.COUNTY_CASE_COUNTS.value,
                "region_code": county,
                "compound_id": None,
                "building_id": None,
                "venue_id": None,
                "drawn_on": day + timedelta(days=drawn),
                "level_since": day + timedelta(days=since),
                "last_infection_on": day + timedelta(days=int(days[-1])),
                "infections": int(((days >= drawn) & (days <= 0)).sum()),
                "next_level": None if later == 0 else levels[later].value,
                "next_change_on": day + timedelta(days=ahead) if later != today else None,
                "awaiting_round": False,
            }
        )
    return out
