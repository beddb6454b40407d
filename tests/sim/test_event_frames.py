"""The twin's days as frames the engine reads in place of the event tables
(`fangkong.sim.event_frames`): what a statement on the store sees, what the tables keep, and a
day refused whole when one of its frames does not fit its table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from fangkong.sim.event_frames import DAY_TABLES, EventFrames, stored_table
from fangkong.store import Store, open_store

TIME = pl.Datetime("us", "Asia/Shanghai")


@pytest.fixture
def embedded() -> Iterator[Store]:
    with open_store(":memory:") as st:
        st.insert_frame("import_batch", _batch(1, "city"))  # loaded before the first day
        yield st


def _batch(batch_id: int, kind: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "batch_id": [batch_id],
            "kind": [kind],
            "source": ["test"],
            "sha256": [f"{kind}-{batch_id}"],
            "rows_read": [1],
            "rows_stored": [1],
            "imported_at": [datetime(2022, 7, 1, tzinfo=UTC)],
        },
        schema_overrides={"batch_id": pl.Int32},
    )


def _checkins(batch_id: int, *people: int) -> pl.DataFrame:
    # no checkout_at: the column may be left out, and is then null
    return pl.DataFrame(
        {
            "scan_id": [batch_id * 100 + i for i in range(len(people))],
            "person_id": list(people),
            "venue_id": [7] * len(people),
            "checkin_at": [datetime(2022, 7, batch_id, 9, 30)] * len(people),
            "batch_id": [batch_id] * len(people),
        }
    ).with_columns(pl.col("checkin_at").dt.replace_time_zone("Asia/Shanghai"))


def _count(store: Store, name: str) -> int:
    return int(store.scalar(f"SELECT count(*) FROM {name}"))


def test_the_days_are_read_in_place_of_the_tables(embedded: Store) -> None:
    store = embedded
    frames = EventFrames(store)
    frames.append({"import_batch": _batch(2, "day"), "checkin": _checkins(2, 11, 12)})
    frames.append({"import_batch": _batch(3, "day"), "checkin": _checkins(3, 13)})
    seen = store.fetch("SELECT person_id, checkin_at, checkout_at, batch_id FROM checkin")
    assert seen.sort("person_id")["person_id"].to_list() == [11, 12, 13]
    assert seen["checkout_at"].null_count() == 3
    assert seen.schema["checkin_at"] == TIME  # the table's type, in Beijing time
    assert store.scalar("SELECT max(batch_id) FROM import_batch") == 3  # a run's watermark
    # the tables hold what was loaded before the days, and nothing of them
    assert _count(store, stored_table(store, "checkin")) == 0
    assert _count(store, stored_table(store, "import_batch")) == 1
    assert frames.whole("checkin").height == 3
    assert frames.whole("sample").height == 0  # a kind no day had yet: empty, in its columns
    assert store.fetch("SELECT * FROM sample").columns == frames.whole("sample").columns


def test_a_day_with_a_frame_that_does_not_fit_is_refused_whole(store: Store) -> None:
    # on either backend (a PostgreSQL store's days are inserted: the same faults refused)
    store.insert_frame("import_batch", _batch(1, "city"))
    frames = EventFrames(store)
    bad_column = pl.DataFrame({"sample_id": ["S1"], "swab_site": ["throat"]})
    with pytest.raises(
        ValueError, match=r"sample: columns that are not the table's: \['swab_site'\]"
    ):
        frames.append({"import_batch": _batch(2, "day"), "sample": bad_column})
    no_person = _checkins(2, 11).with_columns(pl.lit(None, pl.Int64).alias("person_id"))
    with pytest.raises(ValueError, match="checkin: column person_id is required"):
        frames.append({"import_batch": _batch(2, "day"), "checkin": no_person})
    no_venue = _checkins(2, 11).drop("venue_id")
    with pytest.raises(ValueError, match="checkin: column venue_id is required"):
        frames.append({"import_batch": _batch(2, "day"), "checkin": no_venue})
    with pytest.raises(ValueError, match=r"not a table of a simulated day: \['person'\]"):
        frames.append({"person": pl.DataFrame({"person_id": [1]})})
    # none of the refused days' frames was kept: not even their import batches
    assert _count(store, "import_batch") == 1
    assert _count(store, "checkin") == 0
    frames.append({"import_batch": _batch(2, "day"), "checkin": _checkins(2, 11)})
    assert _count(store, "checkin") == 1


def test_saving_writes_the_frames_into_the_tables(embedded: Store, tmp_path: Path) -> None:
    store = embedded
    frames = EventFrames(store)
    frames.append({"import_batch": _batch(2, "day"), "checkin": _checkins(2, 11, 12)})
    con = store.connection  # type: ignore[attr-defined]
    con.execute("ATTACH ? AS copy", [str(tmp_path / "copy.duckdb")]).fetchall()
    (name,) = con.execute("SELECT current_database()").fetchall()[0]
    con.execute(f'COPY FROM DATABASE "{name}" TO copy').fetchall()
    frames.write_into("copy")
    con.execute("DETACH copy").fetchall()
    with open_store(str(tmp_path / "copy.duckdb")) as saved:
        for name in DAY_TABLES:
            assert _count(saved, name) == frames.whole(name).height
        assert _count(saved, "import_batch") == 2  # the city's row once
