"""The bulletin's close-contact figures from the engine's stored facts: a small outbreak
(tests/data/bulletin/contacts, see its README) imported, run day by day through `run_day`, and
the bulletin of each day read from the registry and the engine's orders, on both backends."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest

from fangkong.bulletin import bulletin_csv, bulletin_from_registry, bulletin_from_reports
from fangkong.bulletin.contacts import first_engine_day
from fangkong.bulletin.registry import bulletins_from_registry
from fangkong.bulletin.render import render_zh
from fangkong.bulletin.render_en import render_en
from fangkong.engine.day import run_day
from fangkong.engine.scenario import open_scenario
from fangkong.errors import NotFoundError
from fangkong.ingest import import_file
from fangkong.policy import load_policy
from fangkong.store import Store

DATA = Path(__file__).resolve().parents[1] / "data" / "bulletin" / "contacts"
FIRST = date(2022, 7, 1)

# (cumulative traced, released on the day, under observation at 24:00) for the nation:
# 1, 2, 3, 5, 6 traced on 07-01 (6 lives in Hubei: traced, not quarantined here); 3 converted on
# 07-04; 1 and 2 restarted from 07-04 and released on 07-14; 5's release held (no tests)
EXPECTED = {
    date(2022, 7, 1): (5, 0, 4),
    date(2022, 7, 3): (5, 0, 4),
    date(2022, 7, 4): (5, 0, 3),
    date(2022, 7, 11): (5, 0, 3),  # the first schedule would have ended here: extended
    date(2022, 7, 13): (5, 0, 3),
    date(2022, 7, 14): (5, 2, 1),
    date(2022, 7, 15): (5, 0, 1),
}


@pytest.fixture
def outbreak(store: Store) -> Store:
    for kind in ("persons", "facilities", "cases", "contacts", "samples", "results"):
        import_file(store, kind, DATA / f"{kind}.csv")
    return store


def test_close_contact_figures_follow_the_engine(outbreak: Store, tmp_path: Path) -> None:
    # before the engine has run, the figures are not known: None, not 0
    assert bulletin_from_registry(outbreak, date(2022, 6, 30)).figures.cumulative_contacts is None
    policy = load_policy("cn-2022-06-28")
    for i in range((max(EXPECTED) - FIRST).days + 1):
        day = FIRST + timedelta(days=i)
        run_day(outbreak, day, policy, jurisdiction="31")
        if day not in EXPECTED:
            continue
        b = bulletin_from_registry(outbreak, day)
        f = b.figures
        got = (f.cumulative_contacts, f.new_contacts_released, f.contacts_under_observation)
        assert got == EXPECTED[day], day
        # each person counts where they live: Shanghai 1, 2, 3, 5; Hubei (Wuhan) 6
        shanghai, hubei = b.region("310000"), b.region("420000")
        assert shanghai is not None and hubei is not None
        assert shanghai.figures.cumulative_contacts == 4
        assert shanghai.figures.contacts_under_observation == EXPECTED[day][2]
        assert (hubei.figures.cumulative_contacts, hubei.figures.contacts_under_observation) == (
            1,
            0,
        )
        # the bulletin's CSV is a valid reports file (observation <= traced in every region)
        path = tmp_path / f"{day}.csv"
        path.write_text(bulletin_csv(b), encoding="utf-8")
        back = bulletin_from_reports(path, day)
        assert dataclasses.replace(back, sources=()) == dataclasses.replace(b, sources=())

    b = bulletin_from_registry(outbreak, date(2022, 7, 14))
    text = render_zh(b)
    assert "当日解除医学观察的密切接触者2人" in text
    assert "累计追踪到密切接触者5人，尚在医学观察的密切接触者1人" in text
    english = render_en(b)
    assert "Close contacts released from medical observation on the day: 2." in english
    own = render_zh(bulletin_from_registry(outbreak, date(2022, 7, 14), region="310000"))
    assert "截至7月14日24时，上海市累计追踪到密切接触者4人，尚在医学观察的密切接触者1人" in own

    # a run of a day again replaces its orders: the figures do not change
    run_day(outbreak, date(2022, 7, 14), policy, jurisdiction="31")
    f = bulletin_from_registry(outbreak, date(2022, 7, 14)).figures
    assert (f.cumulative_contacts, f.new_contacts_released, f.contacts_under_observation) == (
        5,
        2,
        1,
    )
    # only the live engine's facts are stored so far
    with pytest.raises(NotFoundError, match="what-if"):
        bulletin_from_registry(outbreak, date(2022, 7, 14), scenario="what-if")


def test_many_days_read_the_engine_once_and_give_each_days_bulletin(outbreak: Store) -> None:
    # the first fact of the engine decides which days have contact figures: before any run
    # there is none, then the first run day (orders or traced contacts alike) is it
    assert first_engine_day(outbreak) is None
    policy = load_policy("cn-2022-06-28")
    for i in range(4):
        run_day(outbreak, FIRST + timedelta(days=i), policy, jurisdiction="31")
    assert first_engine_day(outbreak) == FIRST
    days = [date(2022, 7, 3), date(2022, 6, 30), FIRST, date(2022, 7, 4), date(2022, 6, 30)]
    many = bulletins_from_registry(outbreak, days)
    assert [b.day for b in many] == days
    for day, b in zip(days, many, strict=True):
        assert b == bulletin_from_registry(outbreak, day), day
    assert many[1].figures.cumulative_contacts is None  # the day before the first run
    assert many[2].figures.cumulative_contacts == EXPECTED[FIRST][0]
    # a what-if forked after live's first run sees live's facts before its fork day; one
    # forked on the first run day sees none of live's, and has none of its own yet
    later = open_scenario(outbreak, "later", policy.id, date(2022, 7, 3))
    assert first_engine_day(outbreak, scenario=later.name) == FIRST
    early = open_scenario(outbreak, "early", policy.id, FIRST)
    assert first_engine_day(outbreak, scenario=early.name) is None
    seen = bulletin_from_registry(outbreak, FIRST, scenario=early.name).figures
    assert (seen.cumulative_contacts, seen.contacts_under_observation) == (None, None)
    run_day(outbreak, date(2022, 7, 2), policy, jurisdiction="31", scenario=early)
    assert first_engine_day(outbreak, scenario=early.name) == date(2022, 7, 2)
