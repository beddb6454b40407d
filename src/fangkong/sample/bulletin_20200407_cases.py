"""The cases and events of the 2020-04-07 fixture (`fangkong.sample.bulletin_20200407`): one
row per case with the days of its events, how it was first reported, its severities, and then
every event as a row of a cases import file. Vectorized over all cases with NumPy and Polars."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from fangkong.bulletin.regions import HMT_CODES
from fangkong.sample.bulletin_20200407_plan import (
    CHOSEN,
    MARCH_1,
    SEED_FIGURES,
    D,
    Data,
    plan_cases,
    seed_value,
)

__all__ = ["EVENT_COLUMNS", "case_events", "case_rows"]

_CONFIRMED_KINDS = ("died", "cured", "current")
_LAST_CONFIRM_DAY = {"died": D - 5, "cured": D - 3, "current": D - 1}


def _draw(
    rng: np.random.Generator, weights: npt.NDArray[np.float64], n: int, lo: int, hi: int
) -> npt.NDArray[np.int64]:
    """`n` days in [lo, hi], drawn with the given per-day weights (uniform where all are 0)."""
    w = weights[lo : hi + 1]
    if w.sum() <= 0:
        w = np.ones(hi - lo + 1)
    return lo + rng.choice(w.size, size=n, p=w / w.sum())


def _report_days(
    rng: np.random.Generator, data: Data, group: tuple[str, str, str], i: int, n: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(first report day, end day or -1) of `n` cases of one province (index `i`) and one
    (origin, kind, when) group."""
    origin, kind, when = group
    none = np.full(n, -1)
    if kind in _CONFIRMED_KINDS:
        if when == "new" and kind == "current":
            return np.full(n, D), none
        inc = data.inc_local[i] if origin == "local" else data.inc_imported[i]
        if origin == "imported" and inc.sum() == 0:
            inc = data.inc_imported.sum(axis=0)
        hi = _LAST_CONFIRM_DAY[kind] if when == "old" else D - 2
        return _draw(rng, inc, n, 0, hi), none
    if kind == "suspected":
        return (np.full(n, D) if when == "new" else rng.integers(D - 2, D, n)), none
    if kind == "excluded":
        if when == "new":
            return rng.integers(D - 2, D, n), np.full(n, D)
        day = _draw(rng, data.inc_local.sum(axis=0), n, 50, D - 3)
        return day, day + rng.integers(1, 3, n)
    if kind == "asymptomatic":
        return (np.full(n, D) if when == "new" else rng.integers(D - 14, D, n)), none
    # released
    if when == "new":
        return rng.integers(D - 28, D - 13, n), np.full(n, D)
    day = rng.integers(MARCH_1, D - 14, n)
    return day, np.minimum(day + rng.integers(14, 22, n), D - 1)


def _cases(data: Data, rng: np.random.Generator) -> pl.DataFrame:
    """One row per case: province, origin, kind (died, cured, current, suspected, excluded,
    asymptomatic, released), when (old/new), `day` (the case's confirmation for confirmed cases,
    else its first report) and `end_day` (-1: none yet)."""
    parts = []
    for (origin, kind, when), counts in plan_cases(data).items():
        for i in np.flatnonzero(counts):
            n = int(counts[i])
            day, end = _report_days(rng, data, (origin, kind, when), int(i), n)
            parts.append(
                pl.DataFrame(
                    {
                        "province": [data.provinces[i]] * n,
                        "origin": [origin] * n,
                        "kind": [kind] * n,
                        "when": [when] * n,
                        "day": day,
                        "end_day": end,
                    },
                    schema_overrides={"day": pl.Int64, "end_day": pl.Int64},
                )
            )
    for code in HMT_CODES:  # Hong Kong, Macao, Taiwan: confirmed cases and their outcomes
        row = data.hmt.filter(pl.col("province") == code)
        conf, cured, dead = (int(row.get_column(n).item()) for n in ("confirmed", "cured", "dead"))
        for kind, n in (("cured", cured), ("died", dead), ("current", conf - cured - dead)):
            day = _draw(rng, data.inc_hmt[code], n, 0, _LAST_CONFIRM_DAY[kind])
            parts.append(
                pl.DataFrame(
                    {
                        "province": [code] * n,
                        "origin": ["local"] * n,
                        "kind": [kind] * n,
                        "when": ["old"] * n,
                        "day": day,
                        "end_day": np.full(n, -1),
                    },
                    schema_overrides={"day": pl.Int64, "end_day": pl.Int64},
                )
            )
    cases = pl.concat(parts).with_row_index("case")
    n = cases.height
    day = cases.get_column("day").to_numpy()
    end = cases.get_column("end_day").to_numpy().copy()
    kinds = cases.get_column("kind").to_numpy()
    new = cases.get_column("when").to_numpy() == "new"
    # cures and deaths: a stay drawn from a gamma distribution, kept before the bulletin day
    stay = np.where(kinds == "died", 3, 7) + np.round(rng.gamma(2.0, 6.0, n)).astype(np.int64)
    later = day + 1 + rng.integers(0, np.maximum(D - 1 - day, 1))
    fate = np.where(day + stay <= D - 1, day + stay, later)
    outcome = np.isin(kinds, ["died", "cured"])
    end = np.where(outcome, np.where(new, D, np.minimum(fate, D - 1)), end)
    return cases.with_columns(pl.Series("end_day", end))


def _paths(cases: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """How each confirmed case was first reported: `direct`, as a `suspected` case, or as an
    `asymptomatic` infection (then converted), and that first report's day (`first_day`)."""
    c = CHOSEN
    n = cases.height
    day = cases.get_column("day").to_numpy()
    kind = cases.get_column("kind").to_numpy()
    origin = cases.get_column("origin").to_numpy()
    new = cases.get_column("when").to_numpy() == "new"
    hmt = np.isin(cases.get_column("province").to_numpy(), HMT_CODES)
    confirmed = np.isin(kind, _CONFIRMED_KINDS) & ~hmt
    path = np.full(n, "direct", dtype=object)
    first = day.copy()
    # a quarter of the earlier local cases were suspected cases for one to three days first
    early = confirmed & ~new & (origin == "local") & (day >= 3) & (rng.random(n) < 0.25)
    path[early] = "suspected"
    first[early] = day[early] - rng.integers(1, 4, int(early.sum()))
    # the day's new cases: converted asymptomatic infections and suspected imported cases
    new_cases = confirmed & new & (kind == "current")
    pick_imp = rng.permutation(np.flatnonzero(new_cases & (origin == "imported")))
    pick_loc = rng.permutation(np.flatnonzero(new_cases & (origin == "local")))
    conv_imp = c["new_converted_imported"]
    converted = np.concatenate(
        [
            pick_imp[:conv_imp],
            pick_loc[: seed_value(SEED_FIGURES.new_converted) - conv_imp],
        ]
    )
    via_suspected = pick_imp[conv_imp : conv_imp + c["new_confirmed_via_suspected"]]
    path[converted] = "asymptomatic"
    first[converted] = D - rng.integers(1, 8, converted.size)
    path[via_suspected] = "suspected"
    first[via_suspected] = D - rng.integers(1, 3, via_suspected.size)
    # imported cases of late March found as asymptomatic infections first
    late = np.flatnonzero(
        confirmed & ~new & (kind == "current") & (origin == "imported") & (day >= D - 17)
    )
    before = rng.permutation(late)[: c["converted_before"]]
    path[before] = "asymptomatic"
    first[before] = day[before] - rng.integers(1, 6, before.size)
    return cases.with_columns(
        pl.Series("path", path.tolist(), pl.String), pl.Series("first_day", first)
    )


_SEVERITIES = np.array(["mild", "moderate", "severe", "critical"])


def _severities(cases: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """The severity of each confirmed case when confirmed (`severity`) and, for some, a change
    (`change_day`, `change_to`), such that 189 current cases are severe or critical at the end of
    the bulletin day (20 imported) and 212 the day before."""
    c = CHOSEN
    n = cases.height
    day = cases.get_column("day").to_numpy()
    end = cases.get_column("end_day").to_numpy()
    kind = cases.get_column("kind").to_numpy()
    origin = cases.get_column("origin").to_numpy()
    new = cases.get_column("when").to_numpy() == "new"
    sev = _SEVERITIES[rng.choice(4, size=n, p=[0.35, 0.5, 0.1, 0.05])].astype(object)
    change_day = np.full(n, -1)
    change_to = np.full(n, None, dtype=object)
    mild_or_moderate = _SEVERITIES[rng.choice(2, size=n)]
    hmt = np.isin(cases.get_column("province").to_numpy(), HMT_CODES)
    current = (kind == "current") & ~hmt
    sev[current | ((kind == "cured") & new)] = mild_or_moderate[current | ((kind == "cured") & new)]
    sev[kind == "died"] = "critical"
    # severe cured cases improve before they leave hospital
    cured_severe = (kind == "cured") & np.isin(sev, ["severe", "critical"])
    short = cured_severe & (end - day < 2)
    sev[short] = "moderate"
    improve = cured_severe & ~short
    change_day[improve] = day[improve] + 1 + rng.integers(0, np.maximum(end - day - 1, 1))[improve]
    change_to[improve] = "moderate"
    # current cases: severe throughout, improving on the day, worsening on the day
    severe_end = seed_value(SEED_FIGURES.current_severe)
    imp_severe = c["imported_current_severe"]
    for origin_name, n_improve, n_worsen, n_new in (
        ("imported", 1, 1, 1),
        ("local", c["severe_improved_on_day"] - 1, c["severe_worsened_on_day"] - 1, 0),
    ):
        old = rng.permutation(np.flatnonzero(current & ~new & (origin == origin_name)))
        steady = (imp_severe if origin_name == "imported" else severe_end - imp_severe) - (
            n_worsen + n_new
        )
        sev[old[:steady]] = np.where(rng.random(steady) < 0.7, "severe", "critical")
        improved = old[steady : steady + n_improve]
        sev[improved] = "severe"
        change_day[improved] = D
        change_to[improved] = "moderate"
        worsened = old[steady + n_improve : steady + n_improve + n_worsen]
        sev[worsened] = "moderate"
        change_day[worsened] = D
        change_to[worsened] = "severe"
        fresh = np.flatnonzero(current & new & (origin == origin_name))[:n_new]
        sev[fresh] = "severe"
    return cases.with_columns(
        pl.Series("severity", sev.tolist(), pl.String),
        pl.Series("change_day", change_day),
        pl.Series("change_to", change_to.tolist(), pl.String),
    )


EVENT_COLUMNS = ("diagnosis", "origin", "severity", "outcome")


def case_events(
    cases: pl.DataFrame, region: npt.NDArray[np.str_], rng: np.random.Generator
) -> pl.DataFrame:
    """Every event of every case, in the columns of a cases import file."""
    n = cases.height
    c = cases.with_columns(
        pl.Series("region_code", region),
        pl.Series("sec", rng.integers(8 * 3600, 21 * 3600, n)),
        pl.col("province").is_in(HMT_CODES).alias("hmt"),
        pl.col("kind").is_in(_CONFIRMED_KINDS).alias("confirmed"),
    )
    null = pl.lit(None, pl.String)
    first_diagnosis = (
        pl.when(pl.col("kind").is_in(["suspected", "excluded"]))
        .then(pl.lit("suspected"))
        .when(pl.col("kind").is_in(["asymptomatic", "released"]))
        .then(pl.lit("asymptomatic"))
        .when(pl.col("path") == "direct")
        .then(pl.lit("confirmed"))
        .otherwise(pl.col("path"))
    )
    indirect = pl.col("confirmed") & (pl.col("path") != "direct")

    def event(
        rows: pl.Expr, day: str, sec: pl.Expr, event_type: str, **values: pl.Expr
    ) -> pl.DataFrame:
        cols = {k: values.get(k, null) for k in EVENT_COLUMNS}
        return c.filter(rows).select(
            "case",
            "region_code",
            pl.col(day).alias("day"),
            sec.alias("sec"),
            pl.lit(event_type).alias("event_type"),
            *[v.alias(k) for k, v in cols.items()],
        )

    frames = [
        event(
            pl.lit(True),
            "first_day",
            pl.col("sec"),
            "report",
            diagnosis=first_diagnosis,
            origin=pl.col("origin"),
        ),
        event(indirect, "day", pl.col("sec"), "reclassify", diagnosis=pl.lit("confirmed")),
        event(
            pl.col("confirmed") & ~pl.col("hmt"),
            "day",
            pl.col("sec") + 60,
            "severity",
            severity=pl.col("severity"),
        ),
        event(
            pl.col("change_day") >= 0,
            "change_day",
            pl.lit(21 * 3600 + 600, pl.Int64),
            "severity",
            severity=pl.col("change_to"),
        ),
        event(
            pl.col("kind") == "excluded",
            "end_day",
            pl.col("sec"),
            "reclassify",
            diagnosis=pl.lit("excluded"),
        ),
        event(
            pl.col("kind").is_in(["died", "cured", "released"]),
            "end_day",
            pl.col("sec") + 1800,
            "outcome",
            outcome=pl.col("kind"),
        ),
    ]
    return pl.concat(frames)


def case_rows(data: Data, rng: np.random.Generator) -> pl.DataFrame:
    """Every case of the plan with its days, first report path and severities."""
    return _severities(_paths(_cases(data, rng), rng), rng)
