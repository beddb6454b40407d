"""Every import kind: a valid file lands, a malformed one is refused whole (both backends)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fangkong.errors import ImportFileError
from fangkong.ingest import KINDS, import_file
from fangkong.model.tables import Table, table
from fangkong.store import Store

DATA = Path(__file__).resolve().parents[1] / "data" / "import"

VALID = [
    ("regions", "regions.csv", {"region": 2}),
    ("vaccinations", "vaccinations.csv", {"vaccination": 3}),
    ("samples", "samples.csv", {"sample": 4}),
    ("results", "results.csv", {"tube_result": 2}),
    ("cases", "cases.csv", {"case_report": 4}),
    ("contacts", "contacts.csv", {"declared_contact": 2}),
    ("arrivals", "arrivals.csv", {"arrival": 2}),
    ("facilities", "facilities.csv", {"facility": 3}),
    ("trips", "trips.csv", {"trip": 3}),
    (
        "assistance",
        "../tracing/assistance.csv",
        {"assistance_request": 2, "assistance_identity": 2},
    ),
    (
        "person_corrections",
        "person_corrections.csv",
        {"person_correction": 3, "person_identity_correction": 3},
    ),
    ("moves", "moves.csv", {"person_move": 2}),
    ("fever_clinic_visits", "fever_clinic_visits.csv", {"fever_clinic_visit": 2}),
    ("symptom_reports", "symptom_reports.csv", {"symptom_report": 3}),
]

MALFORMED = [
    ("regions", "regions_orphan.csv", 3, None, "parent division is neither stored nor in"),
    ("results", "results_bad_ct.csv", 2, "ct_value", "Ct value lies in (0, 50]"),
    ("cases", "cases_report_without_origin.csv", 2, None, "names its diagnosis"),
    ("contacts", "contacts_self.csv", 2, None, "not their own contact"),
    ("arrivals", "arrivals_bad_country.csv", 2, "origin_country", "ISO 3166"),
    ("trips", "trips_bad_service.csv", 2, "service", "flight or train number"),
    ("person_corrections", "person_corrections_bad_check_digit.csv", 2, "id_number", "GB 11643"),
    ("moves", "moves_building_without_compound.csv", 1, None, "a building is given with its"),
    ("fever_clinic_visits", "fever_clinic_visits_unknown_person.csv", 2, "person_id", "404"),
    ("symptom_reports", "symptom_reports_fahrenheit.csv", 2, "temperature", "[30, 45]"),
]


@pytest.fixture
def people(store: Store) -> Store:
    import_file(store, "persons", DATA / "persons.csv")
    return store


def test_every_kind_has_a_valid_fixture() -> None:
    covered = {k for k, _, _ in VALID} | {"persons", "venues", "checkins"}
    assert covered == set(KINDS)


@pytest.mark.parametrize(("kind", "name", "stored"), VALID)
def test_valid_file_lands(people: Store, kind: str, name: str, stored: dict[str, int]) -> None:
    result = import_file(people, kind, DATA / name)
    assert result.rows_stored == stored
    assert import_file(people, kind, DATA / name).already_imported_as == result.batch_id


@pytest.mark.parametrize(("kind", "name", "row", "field", "message"), MALFORMED)
def test_malformed_file_is_refused(
    people: Store, kind: str, name: str, row: int, field: str | None, message: str
) -> None:
    before = {t.name: people.count(t.name) for t in _tables(kind)}
    with pytest.raises(ImportFileError) as info:
        import_file(people, kind, DATA / name)
    assert (info.value.row, info.value.field) == (row, field)
    assert message in str(info.value)
    assert {t.name: people.count(t.name) for t in _tables(kind)} == before


def _tables(kind: str) -> list[Table]:
    return [table(t.table) for t in KINDS[kind].targets]
