"""Files holding personal data are written for their owner only: order documents and assistance
exchange files (0600, in directories fangkong creates 0700), through the one helper; a
file-system problem is an InputError naming the path."""

from __future__ import annotations

import os
import stat
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from fangkong.engine.orders import ORDER_SCHEMA
from fangkong.errors import InputError
from fangkong.ingest import import_file
from fangkong.output.documents import order_documents
from fangkong.output.exchange import write_assistance_file
from fangkong.private_files import private_directory, write_private
from fangkong.store import Store

DATA = Path(__file__).resolve().parent / "data" / "import"
Z = ZoneInfo("Asia/Shanghai")
AT = datetime(2022, 4, 10, 9, 0, tzinfo=Z)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def orders() -> pl.DataFrame:
    row = {
        "order_type": "quarantine",
        "start_at": AT,
        "end_at": datetime(2022, 4, 17, 9, 0, tzinfo=Z),
        "place": "home",
        "detail": "home_quarantine",
        "rule": "quarantine.close.home",
        "policy_id": "cn-2022-06-28",
        "reason": "close contact",
    }
    assist = {
        **row,
        "order_type": "assist",
        "end_at": None,
        "place": "420000",
        "detail": "close:household",
        "rule": "tracing.assistance",
    }
    return pl.DataFrame([{"person_id": 1, **row}, {"person_id": 5, **assist}], schema=ORDER_SCHEMA)


@pytest.fixture
def people(duck: Store) -> Store:
    import_file(duck, "persons", DATA / "persons.csv")
    return duck


def test_order_documents_are_private(people: Store, tmp_path: Path) -> None:
    import_file(people, "person_corrections", DATA / "person_corrections.csv")
    out = tmp_path / "new" / "orders"
    old = os.umask(0o022)  # a usual umask: files would be world-readable by default
    try:
        assert order_documents(people, orders(), out) == 1
    finally:
        os.umask(old)
    assert mode(out) == 0o700
    assert mode(out / "1.html") == 0o600
    # the name as it stands when the document is written: corrected on 1 February 2022
    assert "王芬" in (out / "1.html").read_text(encoding="utf-8")


def test_assistance_files_are_private_and_carry_the_corrected_identity(
    people: Store, tmp_path: Path
) -> None:
    import_file(people, "person_corrections", DATA / "person_corrections.csv")
    import_file(people, "moves", DATA / "moves.csv")
    path = tmp_path / "outbox" / "to-420000.csv"
    path.parent.mkdir(mode=0o755)
    path.write_text("an older file, world-readable\n", encoding="utf-8")
    path.chmod(0o644)
    n = write_assistance_file(people, orders(), path, from_region="310000", requested_at=AT)
    assert n == 1
    assert mode(path) == 0o600  # narrowed, though the file existed
    assert mode(path.parent) == 0o755  # a directory the user made is left as it is
    # person 5 as they stand when the request is written: moved to 310115 on 5 April
    row = pl.read_csv(path, infer_schema=False).row(0, named=True)
    assert row["region_code"] == "310115"


def test_an_existing_file_where_a_directory_should_be_is_an_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "orders"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="orders: cannot create the directory"):
        private_directory(blocker)
    with pytest.raises(InputError, match="cannot write the file"):
        write_private(blocker / "1.html", "<p>")
