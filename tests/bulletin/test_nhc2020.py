"""The real January 2020 bulletins: the transcriptions (canghailan-2020/Report/*.yaml) converted
into the reports format give, day by day, the bulletin's national totals and province lists.

The expected values are read from the transcriptions by this test's own parser, not by the
converter's."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from fangkong.bulletin.bulletin import Bulletin, RegionFigures
from fangkong.bulletin.nhc2020 import convert_nhc_2020, province_code
from fangkong.bulletin.reports import bulletin_from_reports
from fangkong.errors import ImportFileError, InputError

CANGHAILAN = Path(__file__).resolve().parents[1] / "data" / "real" / "canghailan-2020"

TOTALS = {"确诊": "cumulative_confirmed", "疑似": "current_suspected"}
TOTALS |= {"治愈": "cumulative_cured", "死亡": "cumulative_deaths"}
LISTS = {"确诊详情": "cumulative_confirmed", "疑似详情": "current_suspected"}
LISTS |= {"死亡详情": "cumulative_deaths"}
HMT = ("香港", "澳门", "台湾")


def transcription(path: Path) -> tuple[date, dict[str, tuple[int, bool]], dict[str, str]]:
    """(day, key -> (count, from another source), key -> raw text) of one YAML file."""
    values: dict[str, tuple[int, bool]] = {}
    raw: dict[str, str] = {}
    day = None
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, rest = line.partition(": ")
        value, _, comment = rest.partition("#")
        raw[key] = value.strip()
        if key == "时间":
            day = date.fromisoformat(value.strip())
        if key in TOTALS:
            values[key] = (int(value.strip().removesuffix("例")), "其他来源" in comment)
    assert day is not None
    return day, values, raw


def listed(text: str) -> dict[str, int]:
    return {name: int(n) for name, n in re.findall(r"([^，、,0-9]+?)(\d+)例", text)}


def by_name(regions: tuple[RegionFigures, ...], field: str) -> dict[str, int]:
    return {r.name: v for r in regions if (v := getattr(r.figures, field)) is not None}


def matches(expected: dict[str, int], got: dict[str, int]) -> bool:
    """Each transcribed name (湖北省, 江西, 香港) names exactly one region with its count."""
    pairs = {name: [g for g in got if g.startswith(name)] for name in expected}
    return len(got) == len(expected) and all(
        len(found) == 1 and got[found[0]] == expected[name] for name, found in pairs.items()
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    out = tmp_path_factory.mktemp("nhc2020")
    report_dir = CANGHAILAN / "Report"
    paths = {}
    for other in (False, True):
        paths[other] = out / f"nhc-other-sources-{other}.csv"
        convert_nhc_2020(report_dir, paths[other], other_sources=other)
    return paths


def files() -> list[Path]:
    """The NHC's national bulletins (the provinces' own are named after their province)."""
    return sorted(f for f in (CANGHAILAN / "Report").glob("*.yaml") if f.stem.endswith("日"))


def test_every_day_is_converted() -> None:
    assert len(files()) == 12
    converted = convert_nhc_2020(CANGHAILAN / "Report")
    # the provinces' own bulletins beside them are left out, and counted
    assert (converted.rows, converted.left_out) == (len(converted.text.splitlines()) - 1, 9)


@pytest.fixture(scope="module")
def provinces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("provinces") / "provinces.csv"
    converted = convert_nhc_2020(CANGHAILAN / "Report", out, provinces=True)
    assert converted.left_out == 12  # the NHC's
    return out


def city_list(b: Bulletin, field: str) -> dict[str, int]:
    return by_name(b.cities, field)


def test_a_provinces_own_bulletin_gives_its_cities(provinces: Path) -> None:
    """广东省 and 湖北省 of 1 February 2020, from their own bulletins: a province row and a row
    for each city the list names, whatever the form of its name."""
    gd = bulletin_from_reports(provinces, date(2020, 2, 1), region="440000")
    assert gd.figures.cumulative_confirmed == 604 and gd.figures.cumulative_cured == 12
    _, _, raw = transcription(CANGHAILAN / "Report" / "2020年2月1日广东省.yaml")
    assert city_list(gd, "cumulative_confirmed") == listed(raw["确诊详情"])
    hb = bulletin_from_reports(provinces, date(2020, 2, 1), region="420000")
    confirmed = city_list(hb, "cumulative_confirmed")
    # 随州市 is the prefecture 421300 (the table also keeps a county-level 随州市, 429001);
    # 恩施州 is 恩施土家族苗族自治州
    assert confirmed["随州市"] == 384 and confirmed["恩施土家族苗族自治州"] == 105
    assert sum(confirmed.values()) == hb.figures.cumulative_confirmed == 9074
    assert city_list(hb, "cumulative_deaths")["随州市"] == 3  # written 随州3例
    assert {r.region_code for r in hb.cities} >= {"421300", "422800", "429004", "429021"}


def test_names_that_are_no_city_stay_in_the_source(provinces: Path) -> None:
    """A municipality lists districts (not reporting units) and 外地来沪: no city rows, and
    every listed figure is in the province row's source."""
    sh = bulletin_from_reports(provinces, date(2020, 2, 1), region="310000")
    assert sh.figures.cumulative_confirmed == 177 and sh.cities == ()
    (source,) = [s for s in sh.sources if "上海市卫生健康委通报" in s]
    assert "确诊详情中未归入市的：外地来沪74例，浦东32例，静安9例" in source


def test_a_list_that_adds_up_to_more_than_its_total_is_not_converted(provinces: Path) -> None:
    """山东省, 27 January 2020: its cities add up to 87, its total is 63. The file would be
    refused by the reports reader; the list is left out and the source says why."""
    sd = bulletin_from_reports(provinces, date(2020, 1, 27), region="370000")
    assert sd.figures.cumulative_confirmed == 63
    assert city_list(sd, "cumulative_confirmed") == {}
    assert city_list(sd, "current_suspected")["青岛市"] == 19  # that list adds up: kept
    assert any("确诊详情合计87例，多于63例：未转换" in s for s in sd.sources)


def test_prose_after_a_list_is_not_read_as_the_list(provinces: Path) -> None:
    """浙江省 (23 January) and 江苏省 (4 February) go on after their list about the severe
    cases (。重症病例中，温州1例… / ；重症病例中，苏州市2例…): those are not confirmed cases
    of the cities, and the source keeps the text."""
    zj = bulletin_from_reports(provinces, date(2020, 1, 23), region="330000")
    assert city_list(zj, "cumulative_confirmed")["台州市"] == 18
    assert sum(city_list(zj, "cumulative_confirmed").values()) == 43
    assert any("确诊详情列表后未读：重症病例中，温州1例" in s for s in zj.sources)
    js = bulletin_from_reports(provinces, date(2020, 2, 4), region="320000")
    assert city_list(js, "cumulative_confirmed")["南通市"] == 25


def test_untidy_counts_are_read(provinces: Path) -> None:
    """Zero-width spaces pasted from a web page (内蒙古自治区), a count in persons (河南省)."""
    nm = bulletin_from_reports(provinces, date(2020, 1, 25), region="150000")
    assert city_list(nm, "cumulative_confirmed") == {
        "呼伦贝尔市": 2,
        "赤峰市": 1,
        "锡林郭勒盟": 2,
        "鄂尔多斯市": 2,
    }
    ha = bulletin_from_reports(provinces, date(2020, 1, 25), region="410000")
    assert ha.figures.current_suspected == 3
    assert city_list(ha, "cumulative_deaths") == {"南阳市": 1}


@pytest.mark.parametrize("n", range(12))
def test_day_matches_transcription(reports: dict[bool, Path], n: int) -> None:
    day, totals, raw = transcription(files()[n])
    for other, path in reports.items():
        b: Bulletin = bulletin_from_reports(path, day)
        for key, (count, elsewhere) in totals.items():
            got = getattr(b.figures, TOTALS[key])
            # a figure from another source is not the NHC's: left out unless asked for
            assert got == (count if other or not elsewhere else None), (day, key)
        for key, field in LISTS.items():
            expected = listed(raw.get(key, ""))
            national = {k: v for k, v in expected.items() if not k.startswith(HMT)}
            assert matches(national, by_name(b.provinces, field)), (day, key)
            hmt = {k: v for k, v in expected.items() if k.startswith(HMT)}
            assert matches(hmt, by_name(b.hmt, field)), (day, key)
        # Hong Kong, Macao, Taiwan are outside the national total; complete lists add up to it
        provinces = sum(by_name(b.provinces, "cumulative_confirmed").values())
        if day <= date(2020, 1, 21):
            assert provinces == b.figures.cumulative_confirmed
        else:
            assert provinces == 0
        # foreign countries (国外确诊详情) are outside the bulletin
        assert all(r.region_code[:2] in {"71", "81", "82"} for r in b.hmt)


def test_sources_say_where_figures_come_from(reports: dict[bool, Path]) -> None:
    b = bulletin_from_reports(reports[False], date(2020, 1, 20))
    assert any("nhc.gov.cn" in s and "治愈、死亡：其他来源（未采用）" in s for s in b.sources)
    b = bulletin_from_reports(reports[True], date(2020, 1, 20))
    assert any("治愈、死亡：其他来源（已采用）" in s for s in b.sources)
    assert b.figures.cumulative_deaths == 6


def test_names_as_written() -> None:
    assert province_code("湖北省") == "420000"
    assert province_code("江西") == "360000"
    assert province_code("黑龙江") == "230000"
    assert province_code("香港特别行政区") == province_code("香港") == "810000"
    assert province_code("台湾") == "710000"
    with pytest.raises(KeyError):
        province_code("日本")


def test_bad_transcription(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("时间: 2020-01-20\n确诊: 很多\n", encoding="utf-8")
    with pytest.raises(InputError, match="确诊"):
        convert_nhc_2020(tmp_path)
    (tmp_path / "bad.yaml").write_text("时间: 2020-01-20\n确诊详情: 火星1例\n", encoding="utf-8")
    with pytest.raises(InputError, match="火星"):
        convert_nhc_2020(tmp_path)
    with pytest.raises(InputError, match="no"):
        convert_nhc_2020(tmp_path / "empty")


MALFORMED = Path(__file__).resolve().parents[1] / "data" / "bulletin" / "nhc2020"


@pytest.mark.parametrize(
    ("case", "row", "field", "message"),
    [
        ("impossible_date", 2, "时间", "not a date written YYYY-MM-DD (value '2020-01-32')"),
        ("date_written_otherwise", 2, "时间", "not a date written YYYY-MM-DD (value '2020/1/20')"),
        ("repeated_key", 10, "确诊", "the key is given twice (first on line 3)"),
        ("not_utf8", 1, None, "not UTF-8 text (byte 0xb5): save the file as UTF-8"),
    ],
)
def test_malformed_transcriptions_are_refused(
    tmp_path: Path, case: str, row: int, field: str | None, message: str
) -> None:
    out = tmp_path / "nhc.csv"
    with pytest.raises(ImportFileError) as err:
        convert_nhc_2020(MALFORMED / case, out)
    e = err.value
    assert (e.path, e.row, e.line, e.field) == (
        str(MALFORMED / case / "2020年1月20日.yaml"),
        row,
        row,
        field,
    )
    assert message in str(e)
    assert not out.exists()  # nothing written


def test_two_transcriptions_of_one_day(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_bytes((CANGHAILAN / "Report" / "2020年1月20日.yaml").read_bytes())
    with pytest.raises(ImportFileError, match=r"b\.yaml, field '时间': a second transcription"):
        convert_nhc_2020(tmp_path)


def test_a_provinces_transcription_naming_no_province_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "时间: 2020-02-01\n省: 火星省\n确诊: 3例\n确诊详情: 深圳市3例\n", encoding="utf-8"
    )
    out = tmp_path / "provinces.csv"
    with pytest.raises(ImportFileError) as err:
        convert_nhc_2020(tmp_path, out, provinces=True)
    assert (err.value.row, err.value.field) == (2, "省")
    assert "unknown province '火星省'" in str(err.value)
    assert not out.exists()  # nothing written
    (tmp_path / "a.yaml").write_text("时间: 2020-02-01\n确诊: 3例\n", encoding="utf-8")
    with pytest.raises(InputError, match="no transcription of a province's bulletin"):
        convert_nhc_2020(tmp_path, out, provinces=True)
    assert not out.exists()
