"""What each import kind reads and where it goes: every kind by name (`KINDS`, `kind`).

The kinds are declared by domain — the registry (regions, persons, venues, facilities) in
`kinds_registry`, events (check-ins, trips, arrivals, vaccinations, contacts, fever-clinic
visits, symptom reports) in `kinds_events`, samples, results and cases in `kinds_lab`,
assistance requests in `kinds_assistance`, corrections of the person registry (identity
corrections, moves) in `kinds_corrections` — with the vocabulary of
`fangkong.ingest.declaration` (`Kind`, `Field`, `Check`, `Target`), which this module
re-exports for the importer.
"""

from __future__ import annotations

from fangkong.ingest.declaration import INLINE_REFS, Check, Field, Kind, Target
from fangkong.ingest.kinds_assistance import ASSISTANCE
from fangkong.ingest.kinds_corrections import MOVES, PERSON_CORRECTIONS
from fangkong.ingest.kinds_events import (
    ARRIVALS,
    CHECKINS,
    CONTACTS,
    FEVER_CLINIC_VISITS,
    SYMPTOM_REPORTS,
    TRIPS,
    VACCINATIONS,
)
from fangkong.ingest.kinds_lab import CASES, RESULTS, SAMPLES
from fangkong.ingest.kinds_registry import FACILITIES, PERSONS, REGIONS, VENUES

__all__ = ["INLINE_REFS", "KINDS", "Check", "Field", "Kind", "Target", "kind"]

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        REGIONS,
        PERSONS,
        VENUES,
        CHECKINS,
        VACCINATIONS,
        SAMPLES,
        RESULTS,
        CASES,
        CONTACTS,
        ARRIVALS,
        FACILITIES,
        TRIPS,
        ASSISTANCE,
        PERSON_CORRECTIONS,
        MOVES,
        FEVER_CLINIC_VISITS,
        SYMPTOM_REPORTS,
    )
}


def kind(name: str) -> Kind:
    return KINDS[name]
