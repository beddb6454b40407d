"""A round trip, not a reproduction: the 2020-04-07 generator writes a registry built to give
the NHC's figures of that day (seed 002), the registry importer takes it into each backend, and
the bulletin computed from the registry gives those figures back, in the NHC's wording. It checks
the generator, the importer and the bulletin against each other; the figures are the generator's
target, so it cannot show that the bulletin counts a real registry the way the NHC did (the Hong
Kong replay, tests/bulletin/test_replay_hk.py, compares with figures nobody here constructed).
The generated events must also form possible case histories."""

from __future__ import annotations

import dataclasses
import filecmp
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from stdnum.cn import ric

from fangkong.bulletin.bulletin import Bulletin, bulletin_csv
from fangkong.bulletin.registry import bulletin_from_registry
from fangkong.bulletin.render import render_zh
from fangkong.bulletin.render_en import render_en
from fangkong.bulletin.reports import bulletin_from_reports
from fangkong.ingest import import_file
from fangkong.sample.bulletin_20200407 import CHOSEN, Fixture, write_bulletin_20200407
from fangkong.sample.canghailan import BUNDLE, write_bundle
from fangkong.store import Store

CANGHAILAN = Path(__file__).resolve().parents[1] / "data" / "real" / "canghailan-2020"

D = date(2020, 4, 7)

# seed 002 (the NHC bulletin of 2020-04-07 as published), read off the text by hand
SEED = {
    "cumulative_confirmed": 81802,
    "imported_cumulative_confirmed": 1042,
    "new_confirmed": 62,
    "new_confirmed_imported": 59,
    "new_confirmed_local": 3,
    "current_confirmed": 1190,
    "current_severe": 189,
    "cumulative_deaths": 3333,
    "new_deaths": 2,
    "cumulative_cured": 77279,
    "new_cured": 112,
    "current_suspected": 83,
    "new_suspected": 12,
    "new_suspected_imported": 11,
    "new_suspected_local": 1,
    "imported_current_confirmed": 714,
    "imported_current_suspected": 82,
    "imported_cumulative_cured": 328,
    "imported_cumulative_deaths": 0,
    "asymptomatic_new": 137,
    "new_converted": 11,
    "asymptomatic_released": 64,
    "asymptomatic_under_observation": 1095,
}
SEED_PHRASES = (
    "截至4月7日24时，31个省（区、市）和新疆生产建设兵团累计报告确诊病例81802例，"
    "其中累计报告境外输入确诊病例1042例；当日新增确诊病例62例，其中59例为境外输入病例",
    "3例为本土病例",
    "；现有确诊病例1190例，其中重症病例189例；累计死亡病例3333例，当日新增死亡病例2例",
    "；累计治愈出院病例77279例，当日新增112例；现有疑似病例83例，当日新增疑似病例12例，"
    "其中11例为境外输入病例",
    "1例为本土病例",
    "4月7日0~24时，湖北无新增确诊病例，无新增疑似病例、无现有疑似病例。",
    "截至4月7日24时，现有境外输入确诊病例714例",
    "现有境外输入疑似病例82例，累计治愈出院病例328例，无死亡病例。",
    "截至4月7日24时，新增接受医学观察的无症状感染者137例",
    "当日转为确诊病例11例；当日解除医学观察64例。尚在接受医学观察的无症状感染者1095例",
)
# Hong Kong, Macao, Taiwan on 2020-04-07 (canghailan-2020/Data/2020-04-07.csv)
HMT = {"810000": (935, 236, 4), "820000": (44, 10, 0), "710000": (376, 61, 5)}


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    return write_bulletin_20200407(tmp_path_factory.mktemp("fixture"), CANGHAILAN)


@pytest.fixture
def bulletin(store: Store, fixture: Fixture) -> Bulletin:
    import_file(store, "persons", fixture.persons)
    import_file(store, "cases", fixture.cases)
    return bulletin_from_registry(store, D)


def test_round_trip_gives_back_every_number_of_the_seed(bulletin: Bulletin, tmp_path: Path) -> None:
    figures = bulletin.figures.as_dict()
    assert {k: figures[k] for k in SEED} == SEED
    # the figures the seed does not give are the fixture's stated choices
    for name in ("imported_current_severe", "severe_change", "asymptomatic_new_imported"):
        assert figures[name] == CHOSEN[name]
    assert figures["cumulative_contacts"] is None  # no tracing in the registry: not invented
    hmt = {r.region_code: r.figures for r in bulletin.hmt}
    assert {
        code: (f.cumulative_confirmed, f.cumulative_cured, f.cumulative_deaths)
        for code, f in hmt.items()
    } == HMT
    hubei = bulletin.region("420000")
    assert hubei is not None
    assert (hubei.figures.new_confirmed, hubei.figures.current_suspected) == (0, 0)
    assert sum(p.figures.cumulative_confirmed or 0 for p in bulletin.provinces) == 81802

    text = render_zh(bulletin)
    for phrase in SEED_PHRASES:
        assert phrase in text, phrase
    english = render_en(bulletin)
    assert "had reported 81,802 confirmed cases in total, 1,042 of them imported." in english
    assert "62 new confirmed cases on the day: 59 imported (" in english

    # the bulletin's CSV reads back as reports: the same bulletin
    path = tmp_path / "bulletin.csv"
    path.write_text(bulletin_csv(bulletin), encoding="utf-8")
    read_back = bulletin_from_reports(path, D)
    assert dataclasses.replace(read_back, sources=()) == dataclasses.replace(bulletin, sources=())


def test_events_are_possible_case_histories(fixture: Fixture) -> None:
    events = pl.read_csv(fixture.cases, infer_schema=False).with_columns(
        pl.col("reported_at").str.to_datetime("%Y-%m-%d %H:%M:%S%:z")
    )
    order = events.sort("case_id", "reported_at", "report_id").with_columns(
        pl.int_range(pl.len()).over("case_id").alias("k"),
        pl.len().over("case_id").alias("n"),
        (
            pl.col("diagnosis").is_in(["confirmed"])
            & pl.col("event_type").is_in(["report", "reclassify"])
        )
        .cum_max()
        .over("case_id")
        .alias("confirmed_yet"),
    )
    first = order.filter(pl.col("k") == 0)
    assert (first.get_column("event_type") == "report").all()  # every case starts with a report
    assert order.filter(pl.col("event_type") == "report").height == first.height
    outcomes = order.filter(pl.col("event_type") == "outcome")
    assert outcomes.get_column("case_id").n_unique() == outcomes.height  # one outcome at most
    assert (outcomes.get_column("k") == outcomes.get_column("n") - 1).all()  # and it is the last
    severity = order.filter(pl.col("event_type") == "severity")
    assert severity.get_column("confirmed_yet").all()  # severity only of confirmed cases
    reclassified = order.filter(pl.col("event_type") == "reclassify")
    assert set(reclassified.get_column("diagnosis").unique().to_list()) == {"confirmed", "excluded"}
    times = events.get_column("reported_at")
    assert times.min().isoformat().startswith("2019-12")  # type: ignore[union-attr]
    assert times.max().isoformat() < "2020-04-08"  # type: ignore[union-attr]
    assert events.select(pl.struct("case_id", "reported_at").n_unique()).item() == events.height
    # imported cases appear in 2020 only; Hubei holds most cases
    imported = events.filter(pl.col("origin") == "imported").get_column("reported_at").min()
    assert imported.isoformat() > "2020-01"  # type: ignore[union-attr]
    confirmed = events.filter(pl.col("diagnosis") == "confirmed")
    hubei = confirmed.filter(pl.col("region_code").str.starts_with("42")).height
    assert hubei > 0.8 * confirmed.height


def test_persons_have_valid_id_numbers(fixture: Fixture) -> None:
    persons = pl.read_csv(fixture.persons, infer_schema=False)
    assert persons.height == fixture.persons_count
    assert persons.get_column("id_number").n_unique() == persons.height
    ric_numbers = persons.filter(pl.col("id_type") == "ric").get_column("id_number").to_numpy()
    sample = np.random.default_rng(0).choice(ric_numbers, 2000, replace=False)
    assert all(ric.is_valid(str(n)) for n in sample)


def test_generation_is_deterministic(fixture: Fixture, tmp_path: Path) -> None:
    again = write_bulletin_20200407(tmp_path, CANGHAILAN)
    assert filecmp.cmp(again.persons, fixture.persons, shallow=False)
    assert filecmp.cmp(again.cases, fixture.cases, shallow=False)


def test_bundled_extract_equals_the_raw_files(tmp_path: Path) -> None:
    write_bundle(CANGHAILAN, tmp_path)
    for name in ("canghailan-provinces.csv", "canghailan-cities-2020-04-07.csv"):
        assert (tmp_path / name).read_bytes() == (BUNDLE / name).read_bytes()


def test_bundled_and_raw_data_give_the_same_fixture(tmp_path: Path) -> None:
    raw = write_bulletin_20200407(tmp_path / "raw", CANGHAILAN)
    bundled = write_bulletin_20200407(tmp_path / "bundled")
    assert raw.persons.read_bytes() == bundled.persons.read_bytes()
    assert raw.cases.read_bytes() == bundled.cases.read_bytes()
