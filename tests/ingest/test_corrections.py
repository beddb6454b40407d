"""Corrections of the person registry as events: identity corrections and moves are appended,
never edited in; the person the engine sees is the latest correction in effect, whatever the
order of import; a persons file that changes a stored person is refused, pointing to the kind
that corrects it; malformed correction files are refused whole (both backends)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from fangkong.engine.assistance import residents_away
from fangkong.engine.frames import IDS
from fangkong.engine.tracing import CASE_SCHEMA, trace_contacts
from fangkong.errors import ImportFileError
from fangkong.ingest import import_file
from fangkong.policy import load_policy
from fangkong.store import Store
from fangkong.store.person_view import current_identity, current_person

DATA = Path(__file__).resolve().parents[1] / "data" / "import"
Z = ZoneInfo("Asia/Shanghai")
EVENT_TABLES = (
    "person",
    "person_identity",
    "person_correction",
    "person_identity_correction",
    "person_move",
    "import_batch",
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=Z)


def _counts(store: Store) -> dict[str, int]:
    return {t: store.count(t) for t in EVENT_TABLES}


def identity(store: Store, as_of: str) -> dict[int, tuple[Any, ...]]:
    frame = store.fetch(
        f"SELECT person_id, id_number, name, phone FROM {current_identity()} i",
        {"as_of": at(as_of)},
    )
    return {int(r[0]): tuple(r[1:]) for r in frame.rows()}


def person(store: Store, as_of: str) -> dict[int, dict[str, Any]]:
    frame = store.fetch(f"SELECT * FROM {current_person()} p", {"as_of": at(as_of)})
    return {int(r["person_id"]): r for r in frame.iter_rows(named=True)}


@pytest.fixture
def registry(store: Store) -> Store:
    import_file(store, "persons", DATA / "persons.csv")
    return store


def test_identity_correction_is_an_event_not_an_edit(registry: Store) -> None:
    result = import_file(registry, "person_corrections", DATA / "person_corrections.csv")
    assert result.rows_stored == {"person_correction": 3, "person_identity_correction": 3}
    # the registration is as it was
    stored = registry.fetch("SELECT name, phone FROM person_identity WHERE person_id = 1").row(0)
    assert stored == ("王芳", "13912345678")
    before, after = identity(registry, "2022-01-01 00:00"), identity(registry, "2022-03-10 00:00")
    assert before[1] == ("310104198503121235", "王芳", "13912345678")
    # the name (effective 1 February) and the phone (5 March) from two corrections
    assert after[1] == ("310104198503121235", "王芬", "13800000001")
    assert identity(registry, "2022-02-10 00:00")[1] == (
        "310104198503121235",
        "王芬",
        "13912345678",
    )
    # a corrected ID number brings the sex it encodes (GB 11643 digit 17: odd is male)
    assert after[2][0] == "310104198706054511"
    assert person(registry, "2022-01-01 00:00")[2]["sex"] == "F"
    assert person(registry, "2022-03-10 00:00")[2]["sex"] == "M"
    assert person(registry, "2022-03-10 00:00")[2]["birth_year"] == 1987
    # everyone else is as registered
    assert after[4] == before[4] and len(after) == 5


def test_correction_effective_earlier_imported_later_does_not_override(registry: Store) -> None:
    import_file(registry, "person_corrections", DATA / "person_corrections.csv")
    import_file(registry, "person_corrections", DATA / "person_corrections_earlier.csv")
    # effective 15 January: in effect until the later corrections of the name and the phone
    assert identity(registry, "2022-01-20 00:00")[1][1:] == ("王方", "13800000009")
    assert identity(registry, "2022-02-10 00:00")[1][1:] == ("王芬", "13800000009")
    assert identity(registry, "2022-03-10 00:00")[1][1:] == ("王芬", "13800000001")


def test_move_replaces_the_whole_residence_from_its_effective_time(registry: Store) -> None:
    import_file(registry, "moves", DATA / "moves.csv")
    stored = registry.fetch("SELECT region_code, household_id FROM person WHERE person_id = 3")
    assert stored.row(0) == ("310115", 101)  # the registration is never edited
    then, now = person(registry, "2022-04-01 00:00"), person(registry, "2022-04-10 00:00")
    assert (then[3]["region_code"], then[3]["household_id"]) == ("310115", 101)
    p3 = now[3]
    assert (p3["region_code"], p3["compound_id"], p3["building_id"], p3["household_id"]) == (
        "310104",
        "CP-0042",
        "B-7",
        100,
    )
    # a move without a household leaves the household: the residence is replaced as a whole
    assert (now[5]["region_code"], now[5]["household_id"]) == ("310115", None)
    assert now[1] == then[1]


def test_move_effective_earlier_imported_later_does_not_override(registry: Store) -> None:
    import_file(registry, "moves", DATA / "moves.csv")
    import_file(registry, "moves", DATA / "moves_earlier.csv")
    assert person(registry, "2022-03-15 00:00")[3]["household_id"] == 104
    assert person(registry, "2022-04-10 00:00")[3]["household_id"] == 100


def test_a_lookup_by_person_or_household_reads_the_whole_view(registry: Store) -> None:
    # a lookup by person reads the registration once, with the people's moves and corrections
    # joined; by household it keeps the branch of the people who moved; both give the rows of
    # the whole view, before, between and after the moves and corrections
    for name in ("moves.csv", "moves_earlier.csv", "person_corrections.csv"):
        import_file(
            registry, "moves" if name.startswith("moves") else "person_corrections", DATA / name
        )
    some, households = [1, 2, 3, 5, 99], [100, 101, 104]
    for when in ("2022-01-01 00:00", "2022-03-15 00:00", "2022-04-01 00:00", "2022-04-10 00:00"):
        whole = person(registry, when)
        by_id = registry.fetch(
            f"SELECT * FROM {current_person(person_ids=IDS)} p", {"as_of": at(when), "ids": some}
        )
        assert {int(r["person_id"]): r for r in by_id.iter_rows(named=True)} == {
            k: v for k, v in whole.items() if k in some
        }
        by_household = registry.fetch(
            f"SELECT * FROM {current_person(households=IDS)} p",
            {"as_of": at(when), "ids": households},
        )
        assert {int(r["person_id"]): r for r in by_household.iter_rows(named=True)} == {
            k: v for k, v in whole.items() if v["household_id"] in households
        }


def test_engine_traces_the_household_a_person_moved_into(registry: Store) -> None:
    import_file(registry, "moves", DATA / "moves.csv")
    policy = load_policy("cn-2022-06-28")
    assert policy.contacts is not None
    assert policy.contacts.household_always_close

    def household_of_case_1(day: str) -> set[int]:
        cases = pl.DataFrame(
            {
                "case_person_id": [1],
                "case_id": ["C1"],
                "anchor_at": [at(f"{day} 08:00")],
                "isolated_at": [at(f"{day} 12:00")],
            },
            schema=CASE_SCHEMA,
        )
        found = trace_contacts(registry, cases, policy)
        return set(found.filter(pl.col("via") == "household").get_column("contact_person_id"))

    assert household_of_case_1("2022-03-20") == {2}
    assert household_of_case_1("2022-04-10") == {2, 3}  # person 3 moved into household 100


def test_assistance_reads_the_residence_in_effect(registry: Store) -> None:
    import_file(registry, "moves", DATA / "moves.csv")

    def away(exposed: str) -> list[tuple[int, str]]:
        contacts = pl.DataFrame({"contact_person_id": [5], "exposed_at": [at(exposed)]})
        return residents_away(registry, contacts, "31").rows()

    assert away("2022-04-01 10:00") == [(5, "420106")]
    assert away("2022-04-06 10:00") == []  # moved to Shanghai on 5 April


def test_corrections_are_idempotent(registry: Store, tmp_path: Path) -> None:
    import_file(registry, "person_corrections", DATA / "person_corrections.csv")
    import_file(registry, "moves", DATA / "moves.csv")
    before = _counts(registry)
    copy = tmp_path / "moves-again.csv"
    copy.write_text((DATA / "moves.csv").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert import_file(registry, "moves", copy).rows_stored == {"person_move": 0}
    assert _counts(registry) == {**before, "import_batch": before["import_batch"] + 1}


def test_correction_id_reused_with_another_value_is_refused(
    registry: Store, tmp_path: Path
) -> None:
    """The changed value is the personal part (the name): it is compared too."""
    import_file(registry, "person_corrections", DATA / "person_corrections.csv")
    before = _counts(registry)
    changed = tmp_path / "corrections-changed.csv"
    text = (DATA / "person_corrections.csv").read_text(encoding="utf-8")
    changed.write_text(text.replace("王芬", "王芳"), encoding="utf-8")
    with pytest.raises(ImportFileError, match="already stored with another name") as info:
        import_file(registry, "person_corrections", changed)
    assert (info.value.row, info.value.field) == (3, "name")
    assert "王" not in str(info.value)
    assert _counts(registry) == before


@pytest.mark.parametrize(
    ("changed", "field", "kind"),
    [
        (("王芳", "王芬"), "name", "person_corrections"),
        (("13912345679", "13912345670"), "phone", "person_corrections"),
        (("310104198706054562", "310104198706054511"), "id_number", "person_corrections"),
        ((",101,310115", ",104,310115"), "household_id", "moves"),
    ],
)
def test_persons_file_that_changes_a_stored_person_is_refused(
    registry: Store, tmp_path: Path, changed: tuple[str, str], field: str, kind: str
) -> None:
    """Never silently dropped: the error names the field that differs and the kind to import
    the change as; nothing of the file is stored."""
    before = _counts(registry)
    path = tmp_path / "persons-again.csv"
    path.write_text(
        (DATA / "persons.csv").read_text(encoding="utf-8").replace(*changed), encoding="utf-8"
    )
    with pytest.raises(ImportFileError) as info:
        import_file(registry, "persons", path)
    message = str(info.value)
    assert info.value.field == field
    assert f"import the change as '{kind}'" in message
    assert changed[0] not in message and changed[1] not in message
    assert _counts(registry) == before


MALFORMED = [
    ("person_corrections_bad_check_digit.csv", 2, "id_number", "check digit is wrong"),
    ("person_corrections_nothing.csv", 2, None, "names at least one of id_number, name, phone"),
    ("person_corrections_unknown_person.csv", 2, "person_id", "no person with person_id 77"),
    ("person_corrections_truncated.csv", 2, None, "expected 5 fields, found 3"),
]


@pytest.mark.parametrize(("name", "row", "field", "message"), MALFORMED)
def test_malformed_corrections_file_is_refused_whole(
    registry: Store, name: str, row: int, field: str | None, message: str
) -> None:
    before = _counts(registry)
    with pytest.raises(ImportFileError) as info:
        import_file(registry, "person_corrections", DATA / name)
    err = info.value
    assert name in str(err) and message in str(err)
    assert (err.row, err.field) == (row, field)
    assert "31010419870605451" not in str(err) and "赵敏" not in str(err)
    assert _counts(registry) == before


@pytest.mark.parametrize(
    ("name", "row", "field", "message"),
    [
        ("moves_bad_reason.csv", 2, "reason", "not one of moved"),
        ("moves_building_without_compound.csv", 1, None, "a building is given with its compound"),
    ],
)
def test_malformed_moves_file_is_refused_whole(
    registry: Store, name: str, row: int, field: str | None, message: str
) -> None:
    before = _counts(registry)
    with pytest.raises(ImportFileError) as info:
        import_file(registry, "moves", DATA / name)
    assert message in str(info.value)
    assert (info.value.row, info.value.field) == (row, field)
    assert _counts(registry) == before
