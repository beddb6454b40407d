"""The 2020-04-07 fixture: a synthetic case registry built so that its bulletin for 2020-04-07
gives the NHC's figures of that day. Generating it, importing it and computing its bulletin is a
round trip (tests/sample/test_bulletin_20200407_round_trip.py), not a reproduction: the figures
are the generator's target, not counted from real cases.

`write_bulletin_20200407(out_dir, canghailan_dir)` writes `persons.csv` and `cases.csv` (import
kinds "persons" and "cases") for about 90,000 people: every confirmed case of the 31 provinces
and the XPCC up to 2020-04-07 (81,802), the Hong Kong, Macao and Taiwan cases of that day, and
the suspected cases and asymptomatic infections the bulletin counts, with the history that makes
them (suspected cases excluded or confirmed, asymptomatic infections released or converted,
severity changes, cures and deaths), spread over December 2019 – April 2020.

What is the NHC's: every number of the 2020-04-07 bulletin as seed 002 prints it (`SEED_FIGURES`).
What is the data's: the split of confirmed cases, deaths and imported cases over provinces, the
dates of confirmation (each province's daily increments), the cities, and the Hong Kong, Macao,
Taiwan counts, from the canghailan daily files. What is chosen here (the seed does not give it,
and the values are not the NHC's): `CHOSEN`. Names are omitted; ID numbers are synthetic
(valid GB 11643 numbers of real counties); everything is fixed by the random seed.

The plan is in `bulletin_20200407_plan`, the cases and events in `bulletin_20200407_cases`, the
people in `fangkong.sample.residents`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from fangkong.sample.bulletin_20200407_cases import EVENT_COLUMNS, case_events, case_rows
from fangkong.sample.bulletin_20200407_plan import (
    BULLETIN_DAY,
    CHOSEN,
    DAY0,
    SEED_FIGURES,
    load_data,
)
from fangkong.sample.residents import residents

__all__ = ["BULLETIN_DAY", "CHOSEN", "SEED_FIGURES", "Fixture", "write_bulletin_20200407"]


@dataclass(frozen=True)
class Fixture:
    """The files written, and how many persons and case events they hold."""

    persons: Path
    cases: Path
    persons_count: int
    events_count: int


def write_bulletin_20200407(
    out_dir: str | Path, canghailan_dir: str | Path | None = None, *, seed: int = 20200407
) -> Fixture:
    """Write `persons.csv` and `cases.csv` into `out_dir` (created if missing). `canghailan_dir`
    is shared/data/canghailan-2020, or None for the extract bundled with fangkong (the same
    figures). The files depend only on the data and `seed`."""
    out = Path(out_dir)
    data_dir = None if canghailan_dir is None else Path(canghailan_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    data = load_data(data_dir)
    cases = case_rows(data, rng)
    persons = residents(cases.get_column("province").to_numpy(), data_dir, BULLETIN_DAY, rng)
    events = case_events(cases, persons.get_column("region_code").to_numpy(), rng)
    start = pl.lit(DAY0).cast(pl.Datetime("us"))
    events = (
        events.sort("day", "sec", "case", maintain_order=True)
        .with_row_index("n", offset=1)
        .select(
            pl.format("R{}", pl.col("n").cast(pl.String).str.zfill(8)).alias("report_id"),
            pl.format("C{}", (pl.col("case") + 1).cast(pl.String).str.zfill(7)).alias("case_id"),
            (pl.col("case") + 1).cast(pl.Int64).alias("person_id"),
            "region_code",
            (start + pl.duration(days=pl.col("day"), seconds=pl.col("sec")))
            .dt.strftime("%Y-%m-%d %H:%M:%S+08:00")
            .alias("reported_at"),
            "event_type",
            *EVENT_COLUMNS,
        )
    )
    persons_path, cases_path = out / "persons.csv", out / "cases.csv"
    persons.write_csv(persons_path)
    events.write_csv(cases_path)
    return Fixture(persons_path, cases_path, persons.height, events.height)
