"""Import: valid files land whole, malformed files are refused whole with a message that names
the file, row and field, on both backends."""

from __future__ import annotations

import shutil
import threading
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fangkong.errors import ImportFileError, InputError
from fangkong.ingest import import_file
from fangkong.ingest.importer import ImportResult
from fangkong.store import Store, open_store
from fangkong.store.embedded import EmbeddedStore

DATA = Path(__file__).resolve().parents[1] / "data" / "import"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _counts(store: Store) -> dict[str, int]:
    tables = ("person", "person_identity", "venue", "checkin", "import_batch")
    return {t: store.count(t) for t in tables}


def test_persons_land_with_identity_apart(store: Store) -> None:
    result = import_file(store, "persons", DATA / "persons.csv")
    assert result.rows_read == 5
    assert result.rows_stored == {"person": 5, "person_identity": 5}
    person = store.fetch("SELECT * FROM person ORDER BY person_id")
    assert "id_number" not in person.columns and "name" not in person.columns
    # sex and birth year come from the ID number (GB 11643 digits 7-14 and 17)
    assert person.get_column("sex").to_list() == ["M", "F", "M", "F", "M"]
    assert person.get_column("birth_year").to_list() == [1985, 1987, 2015, 1949, 1985]
    ident = store.fetch("SELECT id_number FROM person_identity WHERE person_id = 4")
    assert ident.item() == "11010519491231002X"


def test_same_file_twice_changes_nothing(store: Store) -> None:
    import_file(store, "persons", DATA / "persons.csv")
    before = _counts(store)
    again = import_file(store, "persons", DATA / "persons.csv")
    assert again.already_imported_as == 1
    assert _counts(store) == before


def test_only_a_resident_id_number_is_held_to_gb_11643(store: Store, tmp_path: Path) -> None:
    """A passport number of 18 digits is not a resident ID number: no check digit is asked of
    it. The same digits given as a resident ID are refused for their check digit."""
    digits = "310104198503121230"  # 310104198503121235 with another last digit
    header = "person_id,id_type,id_number,household_id,region_code\n"
    passport = tmp_path / "passport.csv"
    passport.write_text(header + f"1,passport,{digits},100,310104\n", encoding="utf-8")
    assert import_file(store, "persons", passport).rows_stored["person"] == 1
    resident = tmp_path / "resident.csv"
    resident.write_text(header + f"2,ric,{digits},100,310104\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="check digit is wrong") as caught:
        import_file(store, "persons", resident)
    assert (caught.value.row, caught.value.field) == (1, "id_number")
    assert store.count("person") == 1


def test_same_events_in_another_file_change_nothing(store: Store, tmp_path: Path) -> None:
    import_file(store, "persons", DATA / "persons.csv")
    copy = tmp_path / "persons-again.csv"
    copy.write_text((DATA / "persons.csv").read_text() + "\n", encoding="utf-8")
    result = import_file(store, "persons", copy)
    assert result.rows_stored == {"person": 0, "person_identity": 0}
    assert store.count("person") == 5


def test_a_load_leaves_the_embedded_log_folded(duck: Store, tmp_path: Path) -> None:
    # an import checkpoints the store: the next commit (a run of the engine) does not pay for
    # the log the import filled
    wal = tmp_path / "store.duckdb.wal"
    duck.execute("INSERT INTO import_batch VALUES (99, 'day', 'x', 'x', 0, 0, now())")
    assert wal.exists() and wal.stat().st_size > 0  # a commit alone leaves its log
    import_file(duck, "persons", DATA / "persons.csv")
    assert not wal.exists() or wal.stat().st_size == 0
    assert duck.count("person") == 5


def test_a_load_beside_another_open_transaction_loses_nothing(duck: Store, tmp_path: Path) -> None:
    # another thread reads and writes through a connection of its own: an import's checkpoint
    # while it holds an open write neither fails the import nor touches that write,
    # which commits after it (DuckDB 2.0, pinned, checkpoints beside open transactions; its
    # documentation allows a refusal, which the store logs and leaves to a later commit)
    assert isinstance(duck, EmbeddedStore)
    other = duck.connection.cursor()
    other.execute("BEGIN TRANSACTION")
    other.execute("INSERT INTO import_batch VALUES (99, 'day', 'x', 'x', 0, 0, now())")
    import_file(duck, "persons", DATA / "persons.csv")
    assert duck.count("import_batch") == 1  # the other write is not seen before its commit
    other.execute("COMMIT")
    duck.close()
    with open_store(tmp_path / "store.duckdb") as again:  # both, from the file
        assert again.count("person") == 5
        assert again.count("import_batch") == 2


def _at_once(store: Store, *imports: tuple[str, str]) -> list[ImportResult]:
    """`imports` (kind, file of DATA) run at once, each through a store of its own on the same
    database, all of them reaching their load before any begins it."""
    ready = threading.Barrier(len(imports), timeout=60)
    results: list[ImportResult] = []
    errors: list[BaseException] = []

    def one(kind: str, name: str) -> None:
        def step(name: str) -> None:
            if name == "loading":
                ready.wait()

        try:
            with open_store(store.url) as mine:
                results.append(import_file(mine, kind, DATA / name, progress=step))
        except BaseException as exc:  # raised below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=a) for a in imports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def test_imports_at_once_take_turns(store: Store) -> None:
    # batch ids rise in the order batches are committed (a run's watermark counts on it): two
    # imports at once took the same id (two batches 1 here, a key failure on PostgreSQL)
    results = _at_once(store, ("persons", "persons.csv"), ("venues", "venues.csv"))
    assert sorted(r.batch_id for r in results if r.batch_id is not None) == [1, 2]
    assert store.fetch("SELECT batch_id FROM import_batch ORDER BY 1").rows() == [(1,), (2,)]
    assert (store.count("person"), store.count("venue")) == (5, 3)
    # the same file twice at once: imported once, the other sees it done
    twice = _at_once(store, ("checkins", "checkins.csv"), ("checkins", "checkins.csv"))
    assert {(r.batch_id, r.already_imported_as) for r in twice} == {(3, None), (None, 3)}
    assert store.count("checkin") == 4


def test_parquet_and_csv_give_the_same_rows(store: Store) -> None:
    import_file(store, "persons", DATA / "persons.parquet")
    assert store.count("person") == 5
    assert import_file(store, "persons", DATA / "persons.csv").rows_stored["person"] == 0


def test_checkins_keep_time_zones_and_visitors(store: Store) -> None:
    import_file(store, "venues", DATA / "venues.csv")
    result = import_file(store, "checkins", DATA / "checkins.csv")
    assert result.rows_read == 4
    assert result.rows_stored == {"checkin": 4}
    times = store.fetch("SELECT person_id, checkin_at FROM checkin ORDER BY person_id, checkin_at")
    got = {int(p): t.astimezone(SHANGHAI) for p, t in times.iter_rows()}
    assert got[2] == datetime(2022, 4, 1, 9, 10, tzinfo=SHANGHAI)
    assert got[99] == datetime(2022, 4, 2, 10, 0, tzinfo=SHANGHAI)  # 02:00Z is 10:00 in Beijing


MALFORMED = [
    ("persons", "persons_bad_check_digit.csv", 3, "id_number", "check digit is wrong"),
    ("persons", "persons_unknown_region.csv", 4, "region_code", "no region with region_code"),
    ("persons", "persons_bad_birthplace.csv", 5, "id_number", "birthplace"),
    ("persons", "persons_impossible_date.csv", 2, "id_number", "birth date"),
    ("persons", "persons_duplicate.csv", 6, "person_id", "duplicate event: the same person_id"),
    ("persons", "persons_missing_column.csv", None, "region_code", "missing column"),
    ("persons", "persons_truncated.csv", 5, None, "expected 6 fields, found 2"),
    ("persons", "persons_truncated.parquet", None, None, "cannot read the file"),
    ("venues", "venues_bad_category.csv", 2, "category", "not one of essential"),
    ("checkins", "checkins_impossible_date.csv", 2, "checkin_at", "not a time (ISO 8601"),
    ("checkins", "checkins_unknown_venue.csv", 2, "venue_id", "no venue with venue_id 7"),
    ("checkins", "checkins_duplicate.csv", 4, "scan_id", "the same scan_id as row 2"),
]


@pytest.mark.parametrize(("kind", "name", "row", "field", "message"), MALFORMED)
def test_malformed_file_is_refused_whole(
    store: Store, kind: str, name: str, row: int | None, field: str | None, message: str
) -> None:
    import_file(store, "venues", DATA / "venues.csv")
    before = _counts(store)
    with pytest.raises(ImportFileError) as info:
        import_file(store, kind, DATA / name)
    err = info.value
    assert name in str(err)
    assert err.row == row
    assert err.field == field
    assert message in str(err)
    if row is not None:
        assert f"row {row}" in str(err)
    assert _counts(store) == before


# a file saved in GBK: the bad byte in the first rows (found reading the header's block) or
# past the first megabyte (found only by the load, which reads the names: the checks do not)
@pytest.mark.parametrize("before", [0, 40_000])
def test_text_not_utf8_is_refused_at_its_row_and_field(
    store: Store, tmp_path: Path, before: int
) -> None:
    import_file(store, "venues", DATA / "venues.csv")
    counts = _counts(store)
    rows = [b"venue_id,region_code,category,name,capacity"]
    rows += [f"{10_000 + i},310104,essential,\u83dc\u573a{i},200".encode() for i in range(before)]
    rows.append("900,310104,essential,\u5f90\u6c47\u83dc\u573a,200".encode("gbk"))
    path = tmp_path / "venues-gbk.csv"
    path.write_bytes(b"\n".join(rows) + b"\n")
    with pytest.raises(ImportFileError) as info:
        import_file(store, "venues", path)
    err = info.value
    assert (err.row, err.line, err.field) == (before + 1, before + 2, "name")
    assert "not UTF-8 text" in str(err)
    assert _counts(store) == counts


def test_personal_data_never_in_messages(store: Store) -> None:
    with pytest.raises(ImportFileError) as info:
        import_file(store, "persons", DATA / "persons_bad_check_digit.csv")
    bad_id = (DATA / "persons_bad_check_digit.csv").read_text().splitlines()[3].split(",")[1]
    assert bad_id not in str(info.value)
    with pytest.raises(ImportFileError) as info2:
        import_file(store, "persons", DATA / "persons_truncated.csv")
    assert "420106" not in str(info2.value)  # DuckDB's message quotes the line: dropped


def test_conflicting_event_is_refused(store: Store, tmp_path: Path) -> None:
    import_file(store, "persons", DATA / "persons.csv")
    changed = tmp_path / "persons-moved.csv"
    text = (DATA / "persons.csv").read_text(encoding="utf-8")
    changed.write_text(text.replace(",101,310115", ",101,310104"), encoding="utf-8")
    with pytest.raises(ImportFileError, match="already stored with another region_code") as info:
        import_file(store, "persons", changed)
    assert info.value.row == 3
    assert info.value.field == "region_code"
    assert "import the change as 'moves'" in str(info.value)
    assert store.fetch("SELECT region_code FROM person WHERE person_id = 3").item() == "310115"


def test_rescanned_events_in_a_later_file_are_skipped(store: Store, tmp_path: Path) -> None:
    import_file(store, "venues", DATA / "venues.csv")
    import_file(store, "checkins", DATA / "checkins.csv")
    later = tmp_path / "checkins-later.csv"
    lines = (DATA / "checkins.csv").read_text(encoding="utf-8").splitlines()
    later.write_text(
        "\n".join([*lines[:1], *lines[3:], "1006,1,2,2022-04-02 11:00:00,"]) + "\n",
        encoding="utf-8",
    )
    result = import_file(store, "checkins", later)
    assert result.rows_read == 3
    assert result.rows_stored == {"checkin": 1}
    assert store.count("checkin") == 5


def test_unknown_column_and_unknown_type(store: Store, tmp_path: Path) -> None:
    odd = tmp_path / "venues.csv"
    odd.write_text("venue_id,region_code,category,colour\n1,310104,essential,red\n")
    with pytest.raises(ImportFileError, match="unknown column") as info:
        import_file(store, "venues", odd)
    assert info.value.field == "colour"
    other = tmp_path / "venues.xlsx"
    shutil.copy(DATA / "venues.csv", other)
    with pytest.raises(ImportFileError, match="unknown file type"):
        import_file(store, "venues", other)


def test_times_without_offset_follow_the_time_zone_given(store: Store, tmp_path: Path) -> None:
    import_file(store, "venues", DATA / "venues.csv")
    scans = tmp_path / "scans.csv"
    scans.write_text("scan_id,person_id,venue_id,checkin_at\n1,1,1,2022-04-01 09:00:00\n")
    import_file(store, "checkins", scans, timezone="UTC")
    got = store.fetch("SELECT checkin_at FROM checkin").item()
    assert got.astimezone(SHANGHAI) == datetime(2022, 4, 1, 17, 0, tzinfo=SHANGHAI)
    with pytest.raises(InputError, match="unknown time zone"):
        import_file(store, "checkins", scans, timezone="Mars/Olympus")
