"""The bulletin from the case registry: each rule of `fangkong.bulletin.registry`'s docstring
on a small registry, on both backends."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest

from fangkong.bulletin.bulletin import Bulletin, Figures
from fangkong.bulletin.regions import NATION_CODE
from fangkong.bulletin.registry import (
    REGISTRY_FIGURES,
    bulletin_from_registry,
    bulletins_from_registry,
)
from fangkong.errors import NotFoundError
from fangkong.ingest import import_file
from fangkong.store import Store

D = date(2020, 4, 7)
COLUMNS = (
    "report_id",
    "case_id",
    "person_id",
    "region_code",
    "reported_at",
    "event_type",
    "diagnosis",
    "origin",
    "severity",
    "outcome",
)

# (case, region, time, event_type, diagnosis, origin, severity, outcome); times are Beijing time
Event = tuple[str, str, str, str, str, str, str, str]
EVENTS: list[Event] = [
    # 1: suspected on D-1, confirmed on D (a new local confirmed case)
    ("c01", "420102", "2020-04-06 10:00:00", "report", "suspected", "local", "", ""),
    ("c01", "420102", "2020-04-07 09:00:00", "reclassify", "confirmed", "", "", ""),
    ("c01", "420102", "2020-04-07 09:01:00", "severity", "", "", "moderate", ""),
    # 2: asymptomatic just before midnight, converted just before the next (无症状转确诊)
    ("c02", "310101", "2020-04-06 23:59:59", "report", "asymptomatic", "imported", "", ""),
    ("c02", "310101", "2020-04-07 23:59:59", "reclassify", "confirmed", "", "", ""),
    # 3: confirmed at 00:00 exactly: the day's; one at D+1 00:00: not yet
    ("c03", "310101", "2020-04-07 00:00:00", "report", "confirmed", "imported", "mild", ""),
    ("c04", "310101", "2020-04-08 00:00:00", "report", "confirmed", "imported", "", ""),
    # 5: confirmed earlier, removed on D (订正核减)
    ("c05", "440106", "2020-03-01 10:00:00", "report", "confirmed", "local", "", ""),
    ("c05", "440106", "2020-04-07 10:00:00", "reclassify", "excluded", "", "", ""),
    # 6: imported corrected to local on D
    ("c06", "440106", "2020-04-05 10:00:00", "report", "confirmed", "imported", "", ""),
    ("c06", "440106", "2020-04-07 11:00:00", "reclassify", "", "local", "", ""),
    # 7: severe the day before, moderate on D; 8: critical, dies on D
    ("c07", "420102", "2020-03-01 10:00:00", "report", "confirmed", "local", "severe", ""),
    ("c07", "420102", "2020-04-07 12:00:00", "severity", "", "", "moderate", ""),
    ("c08", "420102", "2020-03-01 10:00:00", "report", "confirmed", "local", "", ""),
    ("c08", "420102", "2020-03-02 10:00:00", "severity", "", "", "critical", ""),
    ("c08", "420102", "2020-04-07 13:00:00", "outcome", "", "", "", "died"),
    # 9: cured on D; 10: cured long before
    ("c09", "429004", "2020-03-01 10:00:00", "report", "confirmed", "local", "", ""),
    ("c09", "429004", "2020-04-07 14:00:00", "outcome", "", "", "", "cured"),
    ("c10", "429004", "2020-02-01 10:00:00", "report", "confirmed", "local", "", ""),
    ("c10", "429004", "2020-02-20 14:00:00", "outcome", "", "", "", "cured"),
    # 11: asymptomatic released on D; 12: asymptomatic imported still under observation
    ("c11", "110105", "2020-03-20 10:00:00", "report", "asymptomatic", "local", "", ""),
    ("c11", "110105", "2020-04-07 15:00:00", "outcome", "", "", "", "released"),
    ("c12", "110105", "2020-04-07 16:00:00", "report", "asymptomatic", "imported", "", ""),
    # 13: suspected excluded on D; 14: suspected imported new on D; 15: suspected still
    ("c13", "660000", "2020-04-06 10:00:00", "report", "suspected", "local", "", ""),
    ("c13", "660000", "2020-04-07 10:00:00", "reclassify", "excluded", "", "", ""),
    ("c14", "660000", "2020-04-07 10:00:00", "report", "suspected", "imported", "", ""),
    ("c15", "110105", "2020-04-05 10:00:00", "report", "suspected", "imported", "", ""),
    # 16, 17: Hong Kong and Taiwan: outside the national figures
    ("c16", "810000", "2020-04-07 10:00:00", "report", "confirmed", "local", "", ""),
    ("c17", "710000", "2020-02-07 10:00:00", "report", "confirmed", "imported", "", ""),
    ("c17", "710000", "2020-03-07 10:00:00", "outcome", "", "", "", "died"),
]

NATIONAL = {
    "new_confirmed": 3,  # c01, c02, c03
    "new_confirmed_imported": 2,
    "new_confirmed_local": 1,
    "new_converted": 1,
    "new_deaths": 1,
    "new_suspected": 1,  # c14
    "new_suspected_imported": 1,
    "new_suspected_local": 0,
    "new_cured": 1,
    "severe_change": -2,  # c07 improved, c08 died (both severe the day before)
    "imported_current_confirmed": 2,  # c02, c03
    "imported_current_severe": 0,
    "imported_current_suspected": 2,  # c14, c15
    "imported_cumulative_confirmed": 2,
    "imported_cumulative_cured": 0,
    "imported_cumulative_deaths": 0,
    "current_confirmed": 5,  # c01, c02, c03, c06, c07
    "current_severe": 0,
    "cumulative_cured": 2,
    "cumulative_deaths": 1,
    "cumulative_confirmed": 8,  # + c08, c09, c10; not c05 (removed), c04 (later), c16, c17
    "current_suspected": 2,
    "asymptomatic_new": 1,
    "asymptomatic_new_imported": 1,
    "asymptomatic_released": 1,
    "asymptomatic_under_observation": 1,
    "asymptomatic_under_observation_imported": 1,
}


def load(store: Store, tmp_path: Path, events: Sequence[Event] = EVENTS) -> None:
    """Import `events` (with one person per case) into `store` through the cases importer."""
    cases = sorted({e[0] for e in events})
    persons = tmp_path / "persons.csv"
    with persons.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["person_id", "id_type", "id_number", "region_code"])
        w.writerows([i + 1, "other", f"P{i + 1:06d}", ""] for i in range(len(cases)))
    path = tmp_path / "cases.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for n, (case, region, at, kind, diag, origin, sev, outcome) in enumerate(events):
            person = cases.index(case) + 1
            row = (f"r{n:03d}", case, person, region, at + "+08:00", kind, diag, origin, sev)
            w.writerow((*row, outcome))
    import_file(store, "persons", persons)
    import_file(store, "cases", path)


@pytest.fixture
def bulletin(store: Store, tmp_path: Path) -> Bulletin:
    load(store, tmp_path)
    return bulletin_from_registry(store, D)


def figures(b: Bulletin, code: str) -> dict[str, int | None]:
    region = b.region(code)
    assert region is not None, code
    return region.figures.as_dict()


def test_national_figures(bulletin: Bulletin) -> None:
    got = bulletin.figures.as_dict()
    assert {k: got[k] for k in NATIONAL} == NATIONAL
    # tracing is not in the case registry: those figures are None, not 0
    assert got["cumulative_contacts"] is None
    assert got["contacts_under_observation"] is None
    assert got["new_contacts_released"] is None
    assert set(NATIONAL) == set(REGISTRY_FIGURES)


def test_provinces_cities_and_hmt(bulletin: Bulletin) -> None:
    assert bulletin.national
    assert [r.region_code for r in bulletin.provinces] == [
        "110000",
        "310000",
        "420000",
        "440000",
        "660000",
    ]
    hubei = figures(bulletin, "420000")
    assert hubei["cumulative_confirmed"] == 5  # c01, c07, c08 in Wuhan; c09, c10 in 仙桃
    assert hubei["new_deaths"] == 1 and hubei["new_cured"] == 1
    # cities: prefectures, and 仙桃 (429004), a county-level city directly under Hubei
    assert [r.region_code for r in bulletin.cities] == ["420100", "429004", "440100"]
    assert figures(bulletin, "420100")["cumulative_confirmed"] == 3
    assert figures(bulletin, "429004")["cumulative_cured"] == 2
    # Shanghai is a municipality: no city rows; the XPCC has only suspected cases
    assert figures(bulletin, "310000")["new_confirmed"] == 2
    assert figures(bulletin, "660000")["new_suspected"] == 1
    assert figures(bulletin, "660000")["current_suspected"] == 1
    # Hong Kong and Taiwan: in their block, not in the nation
    assert [r.region_code for r in bulletin.hmt] == ["810000", "710000"]
    assert figures(bulletin, "810000")["cumulative_confirmed"] == 1
    assert figures(bulletin, "710000")["cumulative_deaths"] == 1
    provinces = sum(r.figures.cumulative_confirmed or 0 for r in bulletin.provinces)
    assert provinces == bulletin.figures.cumulative_confirmed


def test_region_scope(store: Store, tmp_path: Path) -> None:
    load(store, tmp_path)
    hubei = bulletin_from_registry(store, D, region="420000")
    assert hubei.scope.region_code == "420000" and not hubei.national
    assert hubei.provinces == () and hubei.hmt == ()
    assert [c.region_code for c in hubei.cities] == ["420100", "429004"]
    assert hubei.figures.new_confirmed_local == 1
    wuhan = bulletin_from_registry(store, D, region="420100")
    assert wuhan.figures.current_confirmed == 2 and wuhan.cities == ()
    # a region with no case: zeros
    assert bulletin_from_registry(store, D, region="650000").figures.cumulative_confirmed == 0
    with pytest.raises(NotFoundError, match="420102"):
        bulletin_from_registry(store, D, region="420102")  # a district is not a bulletin region


def test_days_before_and_after(store: Store, tmp_path: Path) -> None:
    load(store, tmp_path)
    before = bulletin_from_registry(store, date(2020, 4, 6)).figures
    after = bulletin_from_registry(store, date(2020, 4, 8)).figures
    today = bulletin_from_registry(store, D).figures
    assert before.current_suspected == 3  # c01, c13, c15
    assert before.asymptomatic_under_observation == 2  # c02, c11
    assert after.new_confirmed == 1 and after.new_converted == 0  # c04
    # what the day adds and removes explains the change of the cumulative count
    removed = 1  # c05
    assert before.cumulative_confirmed is not None and today.new_confirmed is not None
    assert today.cumulative_confirmed == before.cumulative_confirmed + today.new_confirmed - removed


def test_many_days_read_at_once_equal_each_day_alone(store: Store, tmp_path: Path) -> None:
    # one read of the events up to the last day gives each day what a read up to that day
    # gives: a case's later events do not change an earlier day; days in any order, repeated,
    # and before the first event are answered in the order asked
    load(store, tmp_path)
    days = [date(2020, 4, 8), date(2020, 2, 1), D, date(2020, 3, 2), D, date(2020, 4, 6)]
    for region in (None, "420100"):
        alone = [bulletin_from_registry(store, d, region=region) for d in days]
        assert bulletins_from_registry(store, days, region=region) == alone
    assert [b.day for b in alone] == days
    assert alone[1].figures.cumulative_confirmed == 0 and alone[2].figures.current_severe == 0
    # Wuhan on 2 March: c07 severe since the day before, c08 critical that day
    assert alone[3].figures.current_severe == 2 and alone[3].figures.severe_change == 1
    assert bulletins_from_registry(store, []) == []


def test_empty_registry(store: Store) -> None:
    b = bulletin_from_registry(store, D)
    assert b.scope.region_code == NATION_CODE
    assert b.figures == Figures(**dict.fromkeys(REGISTRY_FIGURES, 0))
    assert b.provinces == () and b.hmt == ()
