"""The twin's frames carry the columns of the import kinds: they import, with every check of the
importer, into both stores."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from fangkong.ingest.importer import import_file
from fangkong.ingest.kinds import KINDS
from fangkong.sim import frames
from fangkong.sim.city import build_city
from fangkong.sim.transmission import Epidemic, Restrictions
from fangkong.sim.variant import load_variant
from fangkong.store import Store


def test_frames_import_with_full_validation(store: Store, tmp_path: Path) -> None:
    city = build_city(2_000, 5)
    epidemic = Epidemic(city, load_variant("omicron-ba2"), seed=5, beta=1.0)
    day = epidemic.step(Restrictions.none(city))
    written = {
        "regions": frames.regions_frame(city),
        "persons": frames.persons_frame(city),
        "venues": frames.venues_frame(city),
        "vaccinations": frames.vaccinations_frame(city),
        "checkins": frames.checkins_frame(day.visits, dt.date(2022, 4, 1)),
    }
    for kind, frame in written.items():
        declared = {f.name for f in KINDS[kind].fields}
        assert set(frame.columns) <= declared, kind
        path = tmp_path / f"{kind}.parquet"
        frame.write_parquet(path)
        result = import_file(store, kind, path)
        assert result.rows_read == frame.height > 0, kind
    assert store.count("person") == city.n
    assert store.count("checkin") == day.visits.n
    households = frames.households_frame(city)
    assert households.height == city.households.n
    assert households["size"].sum() == city.n


def test_slices_of_people_are_the_whole_frames() -> None:
    """The twin loads its people and their doses a slice of people at a time: the slices
    together are the frames of the whole city, the vaccination dates drawn alike."""
    city = build_city(3_000, 5)
    people = pl.concat(frames.person_slices(city, 2022, 700))
    whole = frames.persons_frame(city, 2022, identities=False).drop("id_number")
    assert_frame_equal(people, whole)
    doses = list(frames.vaccination_slices(city, 700))
    assert len(doses) == 5
    assert_frame_equal(pl.concat(doses), frames.vaccinations_frame(city))
