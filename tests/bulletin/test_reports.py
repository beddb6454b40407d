"""The bulletin assembled from per-province daily reports (docs/reports-format.md): the
assembly rules, the validation errors (file, row, line, field), and the round trip from the
registry through the bulletin's CSV."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from fangkong.bulletin.bulletin import bulletin_csv
from fangkong.bulletin.registry import bulletin_from_registry
from fangkong.bulletin.reports import bulletin_from_reports, read_reports
from fangkong.errors import ImportFileError, NotFoundError
from fangkong.store import Store

from .test_registry import load

DATA = Path(__file__).resolve().parents[1] / "data" / "bulletin"
D = date(2020, 4, 7)


def write(tmp_path: Path, text: str, name: str = "reports.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_documented_example() -> None:
    b = bulletin_from_reports(DATA / "reports-example.csv", D)
    f = b.figures
    assert (f.new_confirmed, f.new_confirmed_imported, f.new_confirmed_local) == (62, 59, 3)
    assert f.cumulative_confirmed == 81802
    assert f.current_confirmed is None  # not reported: None, never 0
    hubei = b.region("420000")
    assert hubei is not None  # no row of its own: the sum of its cities
    assert hubei.figures.new_confirmed == 0
    assert hubei.figures.cumulative_confirmed == 50008 + 1015
    assert [c.region_code for c in b.cities] == ["420100", "420200"]
    assert b.sources == (str(DATA / "reports-example.csv"), "国家卫生健康委 2020-04-08 通报")
    scoped = bulletin_from_reports(DATA / "reports-example.csv", D, region="420000")
    assert scoped.figures == hubei.figures
    assert [c.region_code for c in scoped.cities] == ["420100", "420200"]


def test_nation_is_the_sum_of_provinces_when_not_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "date,region_code,new_confirmed_imported,new_confirmed_local,current_severe\n"
        "2020-04-06,110000,,,5\n"
        "2020-04-06,440000,,,7\n"
        "2020-04-07,110000,2,1,4\n"
        "2020-04-07,440000,0,3,9\n"
        "2020-04-07,810000,,,\n",
    )
    f = bulletin_from_reports(path, D).figures
    # totals from their parts, the nation from its provinces, severe change from the day before
    assert (f.new_confirmed, f.new_confirmed_imported, f.new_confirmed_local) == (6, 2, 4)
    assert f.current_severe == 13 and f.severe_change == 1
    assert f.cumulative_confirmed is None
    beijing = bulletin_from_reports(path, D, region="110000").figures
    assert beijing.new_confirmed == 3 and beijing.severe_change == -1
    assert read_reports(path).days == [date(2020, 4, 6), D]


def test_a_missing_part_is_the_difference(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "date,region_code,new_confirmed,new_confirmed_imported,new_suspected,new_suspected_local\n"
        "2020-04-07,000000,62,59,12,1\n",
    )
    f = bulletin_from_reports(path, D).figures
    assert f.new_confirmed_local == 3 and f.new_suspected_imported == 11


HEADER = "date,region_code,new_confirmed,new_confirmed_imported,new_confirmed_local,current_severe"


@pytest.mark.parametrize(
    ("text", "row", "line", "field", "message"),
    [
        ("date,region_code,confirmed\n", None, None, "confirmed", "unknown column"),
        ("date,new_confirmed\n", None, None, "region_code", "missing column"),
        ("date,region_code,date\n", None, None, "date", "column given twice"),
        ("", None, None, None, "empty"),
        (f"{HEADER}\n2020-04-07,000000,1,1,0,0\n2020-4-7,110000,,,,\n", 2, 3, "date", "not a date"),
        (f"{HEADER}\n,000000,1,1,0,0\n", 1, 2, "date", "missing value"),
        (f"{HEADER}\n2020-04-07,11000,,,,\n", 1, 2, "region_code", "6 digits"),
        (f"{HEADER}\n2020-04-07,420102,,,,\n", 1, 2, "region_code", "through its city 420100"),
        (f"{HEADER}\n2020-04-07,110105,,,,\n", 1, 2, "region_code", "through 110000"),
        (f"{HEADER}\n2020-04-07,990000,,,,\n", 1, 2, "region_code", "not the nation"),
        (f"{HEADER}\n2020-04-07,000000,-1,,,\n", 1, 2, "new_confirmed", "not a whole number"),
        (f"{HEADER}\n2020-04-07,000000,1.5,,,\n", 1, 2, "new_confirmed", "'1.5'"),
        (f"{HEADER}\n2020-04-07,000000,1,1\n", 1, 2, None, "expected 6 fields, found 4"),
        (
            f"{HEADER}\n2020-04-07,110000,1,1,0,\n\n2020-04-07,110000,1,1,0,\n",
            2,
            4,
            "region_code",
            "the same date and region_code as row 1",
        ),
        (
            f"{HEADER}\n2020-04-07,000000,62,59,4,\n",
            1,
            2,
            "new_confirmed",
            "new_confirmed is not new_confirmed_imported + new_confirmed_local",
        ),
        (
            "date,region_code,current_confirmed,current_severe\n2020-04-07,000000,5,6\n",
            1,
            2,
            "current_severe",
            "current_severe exceeds current_confirmed",
        ),
        (
            "date,region_code,cumulative_confirmed,current_confirmed,cumulative_cured,"
            "cumulative_deaths\n2020-04-07,000000,10,1,8,0\n",
            1,
            2,
            "cumulative_confirmed",
            "is not current_confirmed + cumulative_cured + cumulative_deaths",
        ),
        (
            f"{HEADER}\n2020-04-07,420000,,,,3\n2020-04-07,420100,,,,2\n2020-04-07,420200,,,,2\n",
            1,
            2,
            "current_severe",
            "3 is less than the sum of its cities (4)",
        ),
        (
            f"{HEADER}\n2020-04-07,110000,2,2,0,\n2020-04-07,000000,1,1,0,\n",
            2,
            3,
            "new_confirmed",
            "1 is less than the sum of its provinces (2)",
        ),
    ],
)
def test_errors_name_file_row_line_field(
    tmp_path: Path,
    text: str,
    row: int | None,
    line: int | None,
    field: str | None,
    message: str,
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ImportFileError) as err:
        read_reports(path)
    e = err.value
    assert (e.path, e.row, e.line, e.field) == (str(path), row, line, field)
    assert message in str(e)


def test_no_such_file_day_or_region(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="no such file"):
        read_reports(tmp_path / "nothing.csv")
    with pytest.raises(NotFoundError, match="2020-04-08"):
        bulletin_from_reports(DATA / "reports-example.csv", date(2020, 4, 8))
    with pytest.raises(NotFoundError, match="650000"):
        bulletin_from_reports(DATA / "reports-example.csv", D, region="650000")
    with pytest.raises(NotFoundError, match="420102"):
        bulletin_from_reports(DATA / "reports-example.csv", D, region="420102")


def test_registry_bulletin_read_back_from_its_csv(store: Store, tmp_path: Path) -> None:
    load(store, tmp_path)
    for day in (date(2020, 4, 6), D):
        from_registry = bulletin_from_registry(store, day)
        path = write(tmp_path, bulletin_csv(from_registry), f"bulletin-{day}.csv")
        read_back = bulletin_from_reports(path, day)
        assert dataclasses.replace(read_back, sources=()) == dataclasses.replace(
            from_registry, sources=()
        )


@pytest.mark.parametrize(
    ("name", "row", "line", "field", "message"),
    [
        (
            "reports_deaths_exceed_confirmed.csv",
            2,
            3,
            "cumulative_deaths",
            "cumulative_deaths exceeds cumulative_confirmed",
        ),
        (
            "reports_cured_and_deaths_exceed_confirmed.csv",
            2,
            3,
            "cumulative_cured",
            "cumulative_cured + cumulative_deaths exceed cumulative_confirmed",
        ),
        # GBK, not UTF-8: the first byte that is not UTF-8 is in 广东省 (row 2, after a blank line)
        ("reports_gbk.csv", 2, 4, "name", "not UTF-8 text (byte 0xb9): save the file as UTF-8"),
    ],
)
def test_malformed_reports_files_are_refused(
    name: str, row: int, line: int, field: str | None, message: str
) -> None:
    path = DATA / name
    with pytest.raises(ImportFileError) as err:
        read_reports(path)
    e = err.value
    assert (e.path, e.row, e.line, e.field) == (str(path), row, line, field)
    assert message in str(e)


def test_a_byte_not_utf8_past_the_first_block_is_found_at_its_row(tmp_path: Path) -> None:
    # a reader decodes a file block by block: the decoder's offset is in the block, not the file
    rows = [b"date,region_code,name,cumulative_confirmed"]
    rows += [f"2020-02-10,110000,北京市,{i}".encode() for i in range(400)]
    rows.append("2020-02-10,440000,广东省,1177".encode("gbk"))
    path = tmp_path / "reports.csv"
    path.write_bytes(b"\n".join(rows) + b"\n")
    with pytest.raises(ImportFileError) as err:
        read_reports(path)
    assert (err.value.row, err.value.line, err.value.field) == (401, 402, "name")
