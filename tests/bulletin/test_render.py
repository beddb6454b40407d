"""The bulletin's renderings: Chinese in the NHC's wording, English, JSON and CSV with the same
numbers. The 2020-11-24 bulletin (policy-notes.md) exercises the figures the seed lacks."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from datetime import date

from fangkong.bulletin.bulletin import (
    FIELD_NAMES,
    FIELDS,
    Bulletin,
    Figures,
    RegionFigures,
    bulletin_csv,
    bulletin_json,
)
from fangkong.bulletin.regions import region_name
from fangkong.bulletin.render import render_zh
from fangkong.bulletin.render_en import render_en


def rf(code: str, **figures: int) -> RegionFigures:
    return RegionFigures(code, region_name(code), Figures(**figures))


NOV24 = Bulletin(
    date(2020, 11, 24),
    rf(
        "000000",
        new_confirmed=5,
        new_confirmed_imported=5,
        new_confirmed_local=0,
        new_deaths=0,
        new_suspected=1,
        new_suspected_imported=0,
        new_suspected_local=1,
        new_cured=22,
        new_contacts_released=536,
        severe_change=0,
        imported_current_confirmed=286,
        imported_current_severe=2,
        imported_current_suspected=1,
        imported_cumulative_confirmed=3809,
        imported_cumulative_cured=3523,
        imported_cumulative_deaths=0,
        current_confirmed=305,
        current_severe=6,
        cumulative_cured=81530,
        cumulative_deaths=4634,
        cumulative_confirmed=86469,
        current_suspected=2,
        cumulative_contacts=877795,
        contacts_under_observation=11566,
        asymptomatic_new=6,
        asymptomatic_new_imported=4,
        new_converted=1,
        asymptomatic_released=18,
        asymptomatic_under_observation=335,
        asymptomatic_under_observation_imported=330,
    ),
    provinces=(
        rf("150000", new_confirmed_imported=1, new_suspected_local=1),
        rf("310000", new_confirmed_imported=2),
        rf("350000", new_confirmed_imported=1),
        rf("510000", new_confirmed_imported=1),
    ),
    hmt=(
        rf("810000", cumulative_confirmed=5781, cumulative_cured=5274, cumulative_deaths=108),
        rf("820000", cumulative_confirmed=46, cumulative_cured=46, cumulative_deaths=0),
        rf("710000", cumulative_confirmed=618, cumulative_cured=535, cumulative_deaths=7),
    ),
)


def test_chinese_in_the_nhc_wording() -> None:
    text = render_zh(NOV24)
    for phrase in (
        "截至11月24日24时，31个省（区、市）和新疆生产建设兵团累计报告确诊病例86469例，"
        "其中累计报告境外输入确诊病例3809例",
        "当日新增确诊病例5例，均为境外输入病例（上海2例，内蒙古1例，福建1例，四川1例）",
        "现有确诊病例305例，其中重症病例6例",
        "累计死亡病例4634例，当日无新增死亡病例",
        "累计治愈出院病例81530例，当日新增22例",
        "现有疑似病例2例，当日新增疑似病例1例，均为本土病例（内蒙古1例）。",
        "当日解除医学观察的密切接触者536人，重症病例与前一日持平。",
        "现有境外输入确诊病例286例（其中重症病例2例），现有境外输入疑似病例1例，"
        "累计治愈出院病例3523例，无死亡病例。",
        "截至11月24日24时，累计追踪到密切接触者877795人，尚在医学观察的密切接触者11566人。",
        "新增接受医学观察的无症状感染者6例（境外输入4例），当日转为确诊病例1例；"
        "当日解除医学观察18例。尚在接受医学观察的无症状感染者335例（境外输入330例）。",
        "累计收到港澳台地区通报确诊病例6445例。其中，香港特别行政区5781例（出院5274例，"
        "死亡108例），澳门特别行政区46例（出院46例），台湾地区618例（出院535例，死亡7例）。",
    ):
        assert phrase in text, phrase
    assert "湖北" not in text  # no Hubei row: no Hubei sentence


def test_english_has_the_same_numbers() -> None:
    text = render_en(NOV24)
    for phrase in (
        "As of 24:00 on 24 November 2020, the 31 provinces",
        "had reported 86,469 confirmed cases in total, 3,809 of them imported.",
        "5 new confirmed cases on the day, all imported (Shanghai 2, Inner Mongolia 1, Fujian 1,"
        " Sichuan 1).",
        "Current confirmed cases: 305, 6 of them severe.",
        "Deaths in total: 4,634; new deaths on the day: 0.",
        "Close contacts released from medical observation on the day: 536.",
        "Severe cases were unchanged from the day before.",
        "Imported cases: 286 current confirmed (2 severe), 1 current suspected, 3,523 cured in"
        " total, no deaths.",
        "Close contacts traced in total: 877,795; under medical observation: 11,566.",
        "Asymptomatic infections: 6 new under medical observation (4 imported); 1 converted",
        "Hong Kong, Macao and Taiwan had notified 6,445 confirmed cases in total: Hong Kong SAR"
        " 5,781 (5,274 discharged, 108 deaths), Macao SAR 46 (46 discharged), Taiwan 618",
    ):
        assert phrase in text, phrase


def test_missing_figures_are_left_out() -> None:
    b = Bulletin(date(2020, 1, 22), rf("000000", cumulative_confirmed=571, current_suspected=393))
    assert render_zh(b) == (
        "截至1月22日24时，31个省（区、市）和新疆生产建设兵团累计报告确诊病例571例；"
        "现有疑似病例393例。"
    )
    assert "None" not in render_en(b) and "deaths" not in render_en(b)
    empty = Bulletin(date(2020, 1, 22), rf("420000"))
    assert render_zh(empty) == "1月22日：湖北省无可通报的数字。"


def test_local_cases_by_city_from_2022() -> None:
    b = Bulletin(
        date(2022, 2, 24),
        rf("000000", new_confirmed=34, new_confirmed_imported=0, new_confirmed_local=34),
        provinces=(rf("110000", new_confirmed_local=4), rf("150000", new_confirmed_local=30)),
        cities=(rf("150100", new_confirmed_local=28), rf("150200", new_confirmed_local=2)),
    )
    assert "均为本土病例（内蒙古30例，其中呼和浩特市28例、包头市2例；北京4例）" in render_zh(b)
    assert "all local (Inner Mongolia 30: 呼和浩特市 28, 包头市 2; Beijing 4)" in render_en(b)


def test_a_province_bulletin_lists_cities() -> None:
    b = Bulletin(
        date(2020, 2, 1),
        rf("420000", new_confirmed=5, new_confirmed_imported=0, new_confirmed_local=5),
        cities=(rf("420100", new_confirmed_local=4), rf("429004", new_confirmed_local=1)),
    )
    text = render_zh(b)
    assert "累计" not in text  # no cumulative figure given
    assert "截至2月1日24时，湖北省当日新增确诊病例5例，均为本土病例（武汉市4例，仙桃市1例）" in text
    assert render_en(b).startswith("Hubei, 1 February 2020:")


def test_focus_sentence_of_the_seed() -> None:
    b = Bulletin(
        date(2020, 4, 7),
        rf("000000", new_confirmed=1, new_confirmed_imported=1, new_confirmed_local=0),
        provinces=(rf("420000", new_confirmed=0, new_suspected=0, current_suspected=0),),
    )
    assert "4月7日0~24时，湖北无新增确诊病例，无新增疑似病例、无现有疑似病例。" in render_zh(b)
    assert (
        "On 7 April 2020, Hubei reported no new confirmed case, no new suspected case and no"
        " current suspected case." in render_en(b)
    )
    assert "湖北" not in render_zh(b, focus=())


def test_json_and_csv_carry_the_same_numbers() -> None:
    doc = json.loads(bulletin_json(NOV24))
    assert doc["date"] == "2020-11-24"
    assert {k: doc["scope"][k] for k in FIELD_NAMES} == NOV24.figures.as_dict()
    assert [r["region_code"] for r in doc["provinces"]] == ["150000", "310000", "350000", "510000"]
    assert doc["hong_kong_macao_taiwan"][0]["cumulative_deaths"] == 108
    assert doc["scope"]["new_converted"] == 1 and doc["scope"]["new_confirmed_local"] == 0
    rows = list(csv.DictReader(io.StringIO(bulletin_csv(NOV24))))
    assert [r["region_code"] for r in rows][:2] == ["000000", "150000"]  # the nation first
    assert len(rows) == 1 + 4 + 3
    assert rows[0]["cumulative_contacts"] == "877795"
    assert rows[1]["current_confirmed"] == ""  # not given: empty, not 0
    assert rows[0]["date"] == "2020-11-24" and rows[0]["name"] == "全国"


def test_fields_are_the_figures_in_bulletin_order() -> None:
    assert tuple(f.name for f in dataclasses.fields(Figures)) == FIELD_NAMES
    assert [f.name for f in FIELDS][:4] == [
        "new_confirmed",
        "new_confirmed_imported",
        "new_confirmed_local",
        "new_converted",
    ]
    assert FIELD_NAMES[-1] == "asymptomatic_under_observation_imported"


def test_english_plurals() -> None:
    one = Bulletin(
        date(2020, 4, 7),
        rf(
            "000000",
            cumulative_confirmed=1,
            new_confirmed=1,
            new_confirmed_imported=1,
            new_confirmed_local=0,
            new_suspected=1,
            new_suspected_imported=0,
            new_suspected_local=1,
            new_converted=1,
            imported_cumulative_deaths=1,
        ),
        provinces=(rf("420000", new_confirmed=1, new_suspected=1, current_suspected=1),),
        hmt=(
            rf("810000", cumulative_confirmed=1, cumulative_deaths=1),
            rf("820000", cumulative_confirmed=0),
            rf("710000", cumulative_confirmed=0),
        ),
    )
    text = render_en(one)
    for phrase in (
        "had reported 1 confirmed case in total.",
        "1 new confirmed case on the day, all imported.",
        "1 new suspected case on the day, all local.",
        "Hubei reported 1 new confirmed case, 1 new suspected case and 1 current suspected case.",
        "1 death in total",
        "1 converted to a confirmed case on the day",
        "notified 1 confirmed case in total: Hong Kong SAR 1 (1 death)",
    ):
        assert phrase in text, (phrase, text)
    assert not re.search(r"\b1 [a-z ]*(cases|deaths)\b", text)  # no plural left on a 1
    two = dataclasses.replace(
        one,
        scope=rf("000000", cumulative_confirmed=2, new_converted=2, imported_cumulative_deaths=2),
        provinces=(),
        hmt=(
            rf("810000", cumulative_confirmed=2, cumulative_deaths=2),
            rf("820000", cumulative_confirmed=0),
            rf("710000", cumulative_confirmed=0),
        ),
    )
    text = render_en(two)
    for phrase in (
        "had reported 2 confirmed cases in total.",
        "2 deaths in total",
        "2 converted to confirmed cases on the day",
        "notified 2 confirmed cases in total: Hong Kong SAR 2 (2 deaths)",
    ):
        assert phrase in text, (phrase, text)
