"""A reproduction nobody here constructed: CHP's Hong Kong line list (15,441 cases) replayed
through the case registry, and Hong Kong's bulletin, computed from the registry day by day,
compared with CHP's own daily situation series (tests/data/real/hongkong-chp;
docs/hongkong-replay.md). Every day that differs has a reason computed from the two files
(`fangkong.bulletin.replay_hk_compare`); the exact differing days and reasons are asserted, so a
change in the registry, the bulletin or the classification fails here.

The full replay (761 bulletins) runs on DuckDB; PostgreSQL computes the bulletins of the days
around every run of differences and must give the same figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from fangkong.bulletin.replay_hk import (
    import_line_list,
    read_line_list,
    read_situation,
    registry_figures,
)
from fangkong.bulletin.replay_hk_compare import Comparison, differing_runs, replay_hong_kong
from fangkong.cli.app import app
from fangkong.errors import ImportFileError
from fangkong.store import Store, open_store

HK = Path(__file__).resolve().parents[1] / "data" / "real" / "hongkong-chp"
LINE_LIST = HK / "enhanced_sur_covid_19_eng.csv"
SITUATION = HK / "latest_situation_of_reported_cases_covid_19_eng.csv"
# the line list as CHP published it in December 2020, its columns named as they were then
LINE_LIST_2020 = HK / "enhanced_sur_covid_19_eng-2020-12-17.csv"
MALFORMED = Path(__file__).resolve().parents[1] / "data" / "bulletin" / "hongkong"

# (first day, last day, reason) of every run of days whose figures differ
CUMULATIVE_RUNS = [
    ("2020-02-01", "2020-02-01", "situation_behind"),
    ("2020-02-18", "2020-02-20", "situation_published_midday"),
    ("2020-02-22", "2020-02-22", "situation_published_midday"),
    ("2020-02-24", "2020-02-24", "situation_published_midday"),
    ("2020-02-27", "2020-02-27", "situation_published_midday"),
    ("2020-02-29", "2020-03-02", "situation_published_midday"),
    ("2020-03-04", "2020-03-04", "situation_published_midday"),
    ("2020-03-06", "2020-03-08", "situation_published_midday"),
    ("2020-03-10", "2020-03-10", "situation_published_midday"),
    ("2020-03-12", "2020-03-20", "situation_published_midday"),
    ("2020-03-23", "2020-04-05", "situation_published_midday"),
    ("2020-07-19", "2020-07-20", "line_list_dates_later"),
    ("2020-07-29", "2020-07-31", "line_list_dates_later"),
    ("2020-08-02", "2020-08-02", "line_list_dates_later"),
    ("2021-02-26", "2021-02-26", "line_list_dates_later"),
    ("2021-03-13", "2021-05-06", "deleted_cases_counted"),
    ("2021-05-07", "2021-05-15", "deleted_cases_counted+line_list_dates_later"),
    ("2021-05-16", "2021-05-31", "deleted_cases_counted"),
    ("2021-06-01", "2021-06-01", "deleted_cases_counted+line_list_dates_later"),
    ("2021-06-02", "2021-09-02", "deleted_cases_counted"),
    ("2021-10-09", "2021-10-09", "situation_dip"),
    ("2022-01-13", "2022-01-21", "cases_numbered_later"),
    ("2022-01-24", "2022-01-28", "deleted_cases_counted+cases_numbered_later"),
    ("2022-01-29", "2022-02-06", "deleted_cases_counted+cases_numbered_later+not_in_situation"),
]
NEW_RUNS = [
    ("2020-02-01", "2020-02-01", "situation_behind"),
    ("2020-02-02", "2020-02-02", "situation_behind (day before)"),
    ("2020-02-18", "2020-02-19", "situation_published_midday"),
    ("2020-02-21", "2020-02-21", "situation_published_midday (day before)"),
    ("2020-02-22", "2020-02-22", "situation_published_midday"),
    ("2020-02-23", "2020-02-23", "situation_published_midday (day before)"),
    ("2020-02-24", "2020-02-24", "situation_published_midday"),
    ("2020-02-25", "2020-02-25", "situation_published_midday (day before)"),
    ("2020-02-27", "2020-02-27", "situation_published_midday"),
    ("2020-02-28", "2020-02-28", "situation_published_midday (day before)"),
    ("2020-02-29", "2020-02-29", "situation_published_midday"),
    ("2020-03-03", "2020-03-03", "situation_published_midday (day before)"),
    ("2020-03-04", "2020-03-04", "situation_published_midday"),
    ("2020-03-05", "2020-03-05", "situation_published_midday (day before)"),
    ("2020-03-06", "2020-03-06", "situation_published_midday"),
    ("2020-03-09", "2020-03-09", "situation_published_midday (day before)"),
    ("2020-03-10", "2020-03-10", "situation_published_midday"),
    ("2020-03-11", "2020-03-11", "situation_published_midday (day before)"),
    ("2020-03-12", "2020-03-15", "situation_published_midday"),
    ("2020-03-17", "2020-03-20", "situation_published_midday"),
    ("2020-03-21", "2020-03-21", "situation_published_midday (day before)"),
    ("2020-03-23", "2020-04-05", "situation_published_midday"),
    ("2020-04-06", "2020-04-06", "situation_published_midday (day before)"),
    ("2020-07-19", "2020-07-19", "line_list_dates_later"),
    ("2020-07-21", "2020-07-21", "line_list_dates_later (day before)"),
    ("2020-07-29", "2020-07-29", "line_list_dates_later"),
    ("2020-08-01", "2020-08-01", "line_list_dates_later (day before)"),
    ("2020-08-02", "2020-08-02", "line_list_dates_later"),
    ("2020-08-03", "2020-08-03", "line_list_dates_later (day before)"),
    ("2021-02-26", "2021-02-26", "line_list_dates_later"),
    ("2021-02-27", "2021-02-27", "line_list_dates_later (day before)"),
    ("2021-03-13", "2021-03-14", "deleted_cases_counted"),
    ("2021-03-19", "2021-03-19", "deleted_cases_counted"),
    ("2021-04-20", "2021-04-20", "deleted_cases_counted"),
    ("2021-04-23", "2021-04-23", "deleted_cases_counted"),
    ("2021-05-07", "2021-05-07", "line_list_dates_later"),
    ("2021-05-16", "2021-05-16", "line_list_dates_later (day before)"),
    ("2021-06-01", "2021-06-01", "line_list_dates_later"),
    ("2021-06-02", "2021-06-02", "line_list_dates_later (day before)"),
    ("2021-09-03", "2021-09-03", "deleted_cases_removed"),
    ("2021-10-09", "2021-10-09", "situation_dip"),
    ("2021-10-10", "2021-10-10", "situation_dip (day before)"),
    ("2022-01-13", "2022-01-13", "cases_numbered_later"),
    ("2022-01-22", "2022-01-22", "deleted_cases_counted"),
    ("2022-01-24", "2022-01-25", "cases_numbered_later"),
    ("2022-01-28", "2022-01-28", "cases_numbered_later"),
    ("2022-01-29", "2022-01-29", "cases_numbered_later+not_in_situation"),
    ("2022-01-31", "2022-02-01", "cases_numbered_later"),
    ("2022-02-05", "2022-02-06", "cases_numbered_later"),
]


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    tmp = tmp_path_factory.mktemp("hongkong")
    with open_store(tmp / "hk.duckdb") as store:
        return replay_hong_kong(store, LINE_LIST, SITUATION, tmp / "import")


def _runs(days: pl.DataFrame, what: str) -> list[tuple[str, str, str]]:
    return [(a.isoformat(), b.isoformat(), why) for a, b, why in differing_runs(days, what)]


@pytest.mark.slow
def test_every_day_compared_and_every_difference_explained(replay: Comparison) -> None:
    days = replay.days
    assert (days.get_column("date").min(), replay.last_day) == (date(2020, 1, 8), date(2022, 2, 6))
    assert days.height == 761  # every day of the situation up to the line list's last day
    # the registry holds every case but the 6 CHP deleted: 15,435 on the last day
    assert days.get_column("registry_cumulative").max() == 15435
    assert _runs(days, "reason") == CUMULATIVE_RUNS
    assert _runs(days, "new_reason") == NEW_RUNS
    assert replay.differing().height == 243  # 518 of 761 days equal
    assert replay.differing("new_reason").height == 73  # 687 of 760 days equal
    assert "unexplained" not in days.get_column("reason").to_list()
    # CHP kept counting its deleted cases until it revised them out of its count
    assert replay.revision_day == date(2021, 9, 3)
    # the expected CHP figure holds exactly on the days explained by deleted / late cases
    parts = ["deleted_cases_counted", "cases_numbered_later"]
    known = days.filter(pl.col("reason").is_in([*parts, "+".join(parts)]))
    assert known.height == 164 + 9 + 5
    assert (known.get_column("chp_cumulative") == known.get_column("expected")).all()
    # outcomes have no date in the line list: compared once, on its last day
    assert replay.deaths == (216, 213)
    assert replay.discharged == (14054, 13125)


@pytest.mark.slow
def test_the_line_list_of_december_2020(tmp_path: Path) -> None:
    """The same replay from the line list as CHP published it on 2020-12-17, with its columns
    named as then (`Case classification*`, `Confirmed/probable`): every difference explained,
    and fewer of them. CHP redated two cases afterwards: case 15 to 1 February (in the file of
    2022 the situation of that day is one case behind) and case 75 to 24 February (here it is
    reported on the 23rd, after that day's midday situation). Its outcomes then were those of
    its own situation."""
    with open_store(tmp_path / "hk.duckdb") as store:
        replay = replay_hong_kong(store, LINE_LIST_2020, SITUATION, tmp_path / "import")
        # the probable case, marked so then (`Confirmed` in the file of 2022), is a case
        assert store.count("case_report") == 7804
    days = replay.days
    assert (days.height, replay.last_day) == (344, date(2020, 12, 16))
    # the runs of the file of 2022 over those days, but 2020-02-01 (case 15), and 22 to 24
    # February one run (case 75 on the 23rd)
    midday = "situation_published_midday"
    runs = [r for r in CUMULATIVE_RUNS if "2020-02-18" <= r[0] <= "2020-08-02"]
    runs = [r for r in runs if r[0] not in ("2020-02-22", "2020-02-24")]
    assert _runs(days, "reason") == sorted([*runs, ("2020-02-22", "2020-02-24", midday)])
    assert replay.differing().height == 44
    assert replay.differing("new_reason").height == 46
    assert replay.revision_day is None  # no case deleted yet
    assert (replay.deaths, replay.discharged) == ((123, 123), (6439, 6439))


@pytest.mark.slow
def test_both_backends_give_the_same_bulletins(
    replay: Comparison, store: Store, tmp_path: Path
) -> None:
    import_line_list(store, read_line_list(LINE_LIST), tmp_path)
    compared = set(replay.days.get_column("date").to_list())
    around = sorted(
        {
            d
            for first, last, _ in differing_runs(replay.days)
            for d in (first - timedelta(days=1), first, last, last + timedelta(days=1))
        }
        & compared
    )
    assert len(around) == 67
    got = registry_figures(store, around)
    expected = replay.days.filter(pl.col("date").is_in(around)).select(got.columns)
    assert got.sort("date").equals(expected.sort("date"))


@pytest.mark.parametrize(
    ("reader", "name", "row", "field", "message"),
    [
        (read_line_list, "line_list_impossible_date.csv", 3, "Report date", "'31/02/2020'"),
        (read_line_list, "line_list_repeated_case.csv", 3, "Case no.", "the same case number"),
        (read_situation, "situation_not_a_count.csv", 3, "Number of confirmed cases", "'1.5'"),
        (read_line_list, "line_list_2020_unknown_status.csv", 3, "Confirmed/probable", "'Susp"),
        (
            read_line_list,
            "line_list_two_classification_columns.csv",
            None,
            "Case classification*",
            "two columns for one field: Classification* and Case classification*",
        ),
        (
            read_line_list,
            "line_list_2020_no_status.csv",
            None,
            "Case status*",
            "missing column (or Confirmed/probable)",
        ),
    ],
)
def test_malformed_chp_files_are_refused(
    reader: Callable[[Path], pl.DataFrame], name: str, row: int | None, field: str, message: str
) -> None:
    path = MALFORMED / name
    with pytest.raises(ImportFileError) as err:
        reader(path)
    e = err.value
    line = None if row is None else row + 1
    assert (e.path, e.row, e.line, e.field) == (str(path), row, line, field)
    assert message in str(e)


def test_a_situation_of_before_2022_has_no_nucleic_acid_column(tmp_path: Path) -> None:
    """CHP added the count of cases tested positive by nucleic acid tests in 2022: its situation
    file of 2021 is the same file without that column (and the rapid tests')."""
    frame = pl.read_csv(SITUATION, infer_schema=False)
    before = frame.filter(pl.col("As of date").str.ends_with("2021")).drop(
        "Number of cases tested positive for SARS-CoV-2 virus by nucleic acid tests"
    )
    path = tmp_path / "situation-2021.csv"
    before.write_csv(path)
    got = read_situation(path)
    full = read_situation(SITUATION).filter(pl.col("date").dt.year() == 2021)
    assert got.height == 365
    assert got.drop("_row").equals(full.drop("_row"))


def test_nothing_is_stored_from_a_malformed_line_list(tmp_path: Path) -> None:
    path = tmp_path / "hk.duckdb"
    result = CliRunner().invoke(
        app,
        [
            "bulletin",
            "replay-hk",
            str(MALFORMED / "line_list_impossible_date.csv"),
            str(SITUATION),
            "--store",
            str(path),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "line_list_impossible_date.csv, row 3 (line 4), field 'Report date'" in " ".join(
        result.output.split()
    )
    with open_store(path) as store:
        assert store.count("case_report") == 0 and store.count("person") == 0


def test_the_command_on_the_first_hundred_cases(tmp_path: Path) -> None:
    """The command's report, on the line list's first 100 cases (to 2020-03-01) and the
    situation up to then: the midday situations of February 2020 differ."""
    lines = tmp_path / "lines.csv"
    lines.write_text(
        "".join(LINE_LIST.read_text(encoding="utf-8").splitlines(keepends=True)[:101]),
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app,
        ["bulletin", "replay-hk", str(lines), str(SITUATION), "--store", str(tmp_path / "s.db")],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in result.output.splitlines()]
    # 2020-01-08 .. 2020-03-01: 54 days (53 with a day before for the new cases)
    assert ["cumulative confirmed", "54", "45", "9"] in rows
    assert ["new cases", "53", "41", "12"] in rows
    assert ["2020-02-01", "2020-02-01", "situation_behind"] in rows
    assert ["2020-02-29", "2020-03-01", "situation_published_midday"] in rows
