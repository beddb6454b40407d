"""Assistance requests (协查): a Shanghai instance traces a case whose contacts live in Shenzhen
and Beijing, writes the exchange file for Guangdong, and Guangdong's instance imports it (both
backends on each side)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from fangkong.engine.assistance import assistance_requests, received_requests
from fangkong.errors import ImportFileError, InputError
from fangkong.ingest import import_file
from fangkong.output.exchange import ASSISTANCE_COLUMNS, write_assistance_file
from fangkong.store import Store, open_store

from .test_tracing import Events, at, trace

DATA = Path(__file__).resolve().parents[1] / "data" / "tracing"
SENT_AT = at("2022-07-10 20:00")


def _shanghai(store: Store) -> Store:
    """Case 1 (Shanghai); close contacts 2 (household, Shanghai), 3 (venue, Shenzhen),
    5 (train, Beijing); secondary contact 4 (a meal with 3, Shenzhen)."""
    import_file(store, "persons", DATA / "shanghai_persons.csv")
    e = Events().case(1, "2022-07-10 09:00", onset=date(2022, 7, 8))
    e.checkin(1, 100, "2022-07-08 12:00", "2022-07-08 13:00")
    e.checkin(3, 100, "2022-07-08 12:30", "2022-07-08 14:00")
    e.trip(1, "G102", "2022-07-07 08:00", 5).trip(5, "G102", "2022-07-07 08:00", 6)
    e.declared(3, 4, "meal", "2022-07-09 19:00")
    return e.load(store)


@pytest.fixture
def sender(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "shanghai.duckdb") as st:
        yield _shanghai(st)


def test_requests_for_contacts_living_elsewhere(store: Store) -> None:
    contacts = trace(_shanghai(store))
    orders = assistance_requests(store, contacts, "31")
    got = orders.select("person_id", "order_type", "start_at", "place", "detail", "rule").rows()
    assert got == [
        (3, "assist", at("2022-07-08 13:30"), "440000", "close:venue", "tracing.assistance"),
        (4, "assist", at("2022-07-09 19:00"), "440000", "secondary:declared", "tracing.assistance"),
        (5, "assist", at("2022-07-07 08:00"), "110000", "close:co_travel", "tracing.assistance"),
    ]
    assert set(orders.get_column("policy_id")) == {"cn-2022-06-28"}
    assert orders.item(0, "reason") == (
        "close contact (venue) living in 440000, outside 31: assistance request (协查)"
    )
    assert assistance_requests(store, contacts, "3101").height == 3
    assert assistance_requests(store, contacts, "44").get_column("person_id").to_list() == [2, 5]
    with pytest.raises(InputError):
        assistance_requests(store, contacts, "3")


def test_one_request_per_person_strongest_tier(store: Store) -> None:
    e = Events().case(1, "2022-07-10 09:00", onset=date(2022, 7, 8))
    e.case(9, "2022-07-10 10:00", onset=date(2022, 7, 8))
    e.declared(9, 3, "meal", "2022-07-09 19:00")  # 3: close contact of case 9 (declared) ...
    import_file(store, "persons", DATA / "shanghai_persons.csv")
    e.checkin(1, 100, "2022-07-08 12:00", "2022-07-08 13:00")  # ... and of case 1 (venue)
    e.checkin(3, 100, "2022-07-08 12:30", "2022-07-08 14:00")
    e.load(store)
    contacts = trace(store)
    assert contacts.filter(pl.col("contact_person_id") == 3).height == 2
    orders = assistance_requests(store, contacts, "31")
    assert orders.select("person_id", "start_at", "detail").rows() == [
        (3, at("2022-07-09 19:00"), "close:declared"),  # the latest exposure
    ]
    # a close contact of one case who is also a secondary contact through another: close
    both = pl.DataFrame(
        {
            "case_person_id": [1, 2],
            "contact_person_id": [4, 4],
            "tier": ["close", "secondary"],
            "via": ["venue", "household"],
            "exposed_at": [at("2022-07-08 13:00"), at("2022-07-10 09:00")],
            "rule": ["tracing.close.venue", "tracing.secondary.household"],
            "policy_id": ["cn-2022-06-28"] * 2,
        }
    )
    orders = assistance_requests(store, both, "31")
    assert orders.select("person_id", "start_at", "detail").rows() == [
        (4, at("2022-07-08 13:00"), "close:venue")
    ]


def test_exchange_file_round_trip(sender: Store, store: Store, tmp_path: Path) -> None:
    orders = assistance_requests(sender, trace(sender), "31")
    path = tmp_path / "to-440000.csv"
    n = write_assistance_file(
        sender, orders, path, from_region="310000", to_region="440000", requested_at=SENT_AT
    )
    assert n == 2
    # the format, as documented (docs/assistance-format.md), byte for byte
    assert path.read_text(encoding="utf-8") == (DATA / "assistance.csv").read_text("utf-8")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == ASSISTANCE_COLUMNS
    # written again at the same time: the same ids; sent again an hour later: new requests
    same = tmp_path / "same.csv"
    write_assistance_file(
        sender, orders, same, from_region="310000", to_region="440000", requested_at=SENT_AT
    )
    assert pl.read_csv(same)["request_id"].to_list() == [r["request_id"] for r in rows]
    again = tmp_path / "again.csv"
    write_assistance_file(
        sender,
        orders,
        again,
        from_region="310000",
        to_region="440000",
        requested_at=at("2022-07-10 21:00"),
    )
    assert set(pl.read_csv(again)["request_id"]).isdisjoint(r["request_id"] for r in rows)

    # Guangdong's instance: its own residents, with its own person ids
    import_file(store, "persons", DATA / "guangdong_persons.csv")
    result = import_file(store, "assistance", path)
    assert result.rows_stored == {"assistance_request": 2, "assistance_identity": 2}
    assert import_file(store, "assistance", path).already_imported_as == result.batch_id
    assert import_file(store, "assistance", same).already_imported_as == result.batch_id
    import_file(store, "assistance", again)
    assert store.count("assistance_request") == 4
    received = received_requests(store, date(2022, 7, 10), "44")  # the repeats left out
    assert received.sort("person_id").select(
        "request_id", "person_id", "tier", "via", "exposed_at", "from_region"
    ).rows() == [
        (rows[1]["request_id"], 501, "close", "venue", at("2022-07-08 13:30"), "310000"),
        (rows[0]["request_id"], 502, "secondary", "declared", at("2022-07-09 19:00"), "310000"),
    ]
    assert received_requests(store, date(2022, 7, 11)).height == 0
    assert received_requests(store, date(2022, 7, 10), "11").height == 0


def test_all_destinations_in_one_file(sender: Store, tmp_path: Path) -> None:
    orders = assistance_requests(sender, trace(sender), "31")
    path = tmp_path / "all.csv"
    assert write_assistance_file(sender, orders, path, from_region="310000") == 3
    assert set(pl.read_csv(path, infer_schema=False)["to_region"]) == {"440000", "110000"}
    with pytest.raises(InputError):
        write_assistance_file(sender, orders, path, from_region="31")


def _broken(tmp_path: Path, row: int, column: str, value: str) -> Path:
    lines = (DATA / "assistance.csv").read_text("utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)
    path = tmp_path / f"broken-{column}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("row", "column", "value", "field", "message"),
    [
        (2, "id_number", "440305199207150025", "id_number", "check digit"),
        (1, "tier", "household", "tier", "not one of close, secondary"),
        (2, "to_region", "440300", "to_region", "province code"),
        (1, "exposed_at", "2022-07-11T08:00:00+08:00", None, "exposed_at is after requested_at"),
        (2, "region_code", "110105", None, "not in the province to_region"),
        (1, "requested_at", "2022-07-32T20:00:00+08:00", "requested_at", "not a time (ISO 8601"),
    ],
)
def test_malformed_exchange_file_is_refused(
    store: Store,
    tmp_path: Path,
    row: int,
    column: str,
    value: str,
    field: str | None,
    message: str,
) -> None:
    path = _broken(tmp_path, row, column, value)
    with pytest.raises(ImportFileError) as info:
        import_file(store, "assistance", path)
    assert (info.value.path, info.value.row, info.value.field) == (str(path), row, field)
    assert message in str(info.value)
    if column == "id_number":
        assert value not in str(info.value)  # personal data never in a message
    assert store.count("assistance_request") == store.count("assistance_identity") == 0


def test_exchange_file_missing_a_column(store: Store, tmp_path: Path) -> None:
    frame = pl.read_csv(DATA / "assistance.csv", infer_schema=False).drop("via")
    path = tmp_path / "no-via.csv"
    frame.write_csv(path)
    with pytest.raises(ImportFileError) as info:
        import_file(store, "assistance", path)
    assert info.value.field == "via"
    assert store.count("assistance_request") == 0


def test_a_late_exchange_file_is_acted_on(sender: Store, store: Store, tmp_path: Path) -> None:
    """A file requested on 10 July but imported after the receiver ran 10 July is taken by the
    receiver's next run: its residents are quarantined, not forgotten."""
    from fangkong.engine.day import run_day
    from fangkong.engine.scenario import LIVE, Watermarks, watermarks
    from fangkong.policy import load_policy

    orders = assistance_requests(sender, trace(sender), "31")
    path = tmp_path / "late.csv"
    write_assistance_file(
        sender, orders, path, from_region="310000", to_region="440000", requested_at=SENT_AT
    )
    import_file(store, "persons", DATA / "guangdong_persons.csv")
    ninth = load_policy("cn-2022-06-28")
    run_day(store, date(2022, 7, 10), ninth, jurisdiction="44")
    import_file(store, "assistance", path)  # late
    got = run_day(store, date(2022, 7, 11), ninth, jurisdiction="44")
    quarantined = got.orders.filter(pl.col("order_type") == "quarantine")
    assert set(quarantined.get_column("person_id")) == {501, 502}
    # and only once: to the run after, the file is not new any more
    later = date(2022, 7, 12)
    assert received_requests(store, later, "44", marks=watermarks(store, LIVE, later)).height == 0
    assert received_requests(store, later, "44", marks=Watermarks(0, 99)).height == 2
