"""The import kinds that correct the person registry: identity corrections (`person_corrections`)
and changes of residence (`moves`). Each row is an event with its own id, an effective time and
a reason code; the registration is never edited, and the person as the engine sees them is the
latest correction in effect (`fangkong.store.person_view`).

Why corrections are kinds of their own rather than a second `persons` file: a `persons` row is
a registration and says neither since when nor why a value changed, and the engine needs both
(a day run again must see the residence of that day; an epidemiologist must see why an ID
number changed). So a `persons` file that repeats a stored person with other values is refused,
naming the fields that differ and the kind to import them as (`fangkong.ingest.importer`).

How a kind is declared: `fangkong.ingest.declaration`.
"""

from __future__ import annotations

from dataclasses import replace

from fangkong.ingest.declaration import B, Check, Field, Kind, Target, V, unchanged
from fangkong.ingest.kinds_registry import PERSONS, RIC_DERIVED
from fangkong.ingest.ric import RIC_SEX, RIC_YEAR_OF_BIRTH
from fangkong.model.glossary import IdentityCorrectionReason, MoveReason

__all__ = ["MOVES", "PERSON_CORRECTIONS"]

# The same fields, and so the same checks (GB 11643 for a resident ID number, the phone's
# shape), as a registration; here each may be left empty: a correction names what it corrects.
_IDENTITY = tuple(
    replace(PERSONS.field(name), required=False, optional_column=True)
    for name in ("id_type", "id_number", "name", "phone")
)

PERSON_CORRECTIONS = Kind(
    "person_corrections",
    "Corrections of a person's identity (ID number, name, phone): from when, and why.",
    fields=(
        Field.id("correction_id", V),
        Field.person("person_id"),
        Field.time("effective_at"),
        Field("reason", V, values=IdentityCorrectionReason),
        *_IDENTITY,
    ),
    row_checks=(
        Check(
            "{id_number} IS NULL AND {name} IS NULL AND {phone} IS NULL",
            "a correction names at least one of id_number, name, phone",
        ),
        Check(
            "{id_type} IS NOT NULL AND {id_number} IS NULL",
            "an id_type is corrected together with its id_number",
        ),
    ),
    targets=(
        Target(
            "person_correction",
            {
                **unchanged("correction_id", "person_id", "effective_at", "reason"),
                # a corrected ID number brings its type, and for a resident ID number the sex
                # and birth year it encodes (GB 11643), as at registration
                "id_type": "CASE WHEN {id_number} IS NOT NULL THEN coalesce({id_type}, 'ric') END",
                "sex": f"CASE WHEN {{_ric}} THEN {RIC_SEX} END",
                "birth_year": f"CASE WHEN {{_ric}} THEN {RIC_YEAR_OF_BIRTH} END",
            },
        ),
        Target(
            "person_identity_correction",
            unchanged("correction_id", "person_id", "id_number", "name", "phone"),
        ),
    ),
    key=("correction_id",),
    derived=dict(RIC_DERIVED),
)

MOVES = Kind.one_table(
    "moves",
    "Changes of residence: the whole new residence (region, compound, building, household)"
    " from the effective time, and why.",
    table="person_move",
    fields=(
        Field.id("move_id", V),
        Field.person("person_id"),
        Field.time("effective_at"),
        Field("reason", V, values=MoveReason),
        Field.region("region_code"),
        Field.id("compound_id", V, required=False, optional_column=True),
        Field.id("building_id", V, required=False, optional_column=True),
        Field.id("household_id", B, required=False, optional_column=True),
    ),
    key=("move_id",),
    row_checks=(
        Check(
            "{building_id} IS NOT NULL AND {compound_id} IS NULL",
            "a building is given with its compound",
        ),
    ),
)
