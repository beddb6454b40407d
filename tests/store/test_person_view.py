"""The current view of a person is the one definition the engine reads: no engine query reads
the registration tables (`person`, `person_identity`) for a residence or an identity, and
neither do the outputs (documents, explanations, exchange files)."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "fangkong"
REGISTRATION = re.compile(r"\b(?:FROM|JOIN)\s+(person|person_identity)\b(?!_)", re.IGNORECASE)
# whether a person is registered at all (not what their residence or identity is)
ALLOWED = {
    ("output/explain.py", "SELECT count(*) FROM person WHERE person_id = :p"),
    ("engine/testing_sql.py", 'pop = "SELECT person_id FROM person"'),  # everyone registered
    ("engine/colour_facts.py", "(SELECT person_id FROM person{only})"),  # everyone asked to test
    ("engine/colours.py", "SELECT person_id FROM person WHERE batch_id"),  # new registrations
    ("engine/colours.py", "FROM person WHERE person_id = :p AND batch_id"),  # asked to test
    # whether any registration is new to a run (the kept risk areas must be drawn again)
    ("engine/zones_kept.py", '"registered": f"EXISTS (SELECT 1 FROM person p WHERE'),
}


def test_engine_reads_people_through_the_current_view() -> None:
    found = []
    for path in sorted([*(SRC / "engine").rglob("*.py"), *(SRC / "output").rglob("*.py")]):
        text = path.read_text(encoding="utf-8")
        for m in REGISTRATION.finditer(text):
            line = text[text.rfind("\n", 0, m.start()) + 1 : text.find("\n", m.end())]
            name = str(path.relative_to(SRC))
            if not any(name == f and snippet in line for f, snippet in ALLOWED):
                found.append(f"{name}: {line.strip()}")
    assert found == []


def test_the_guard_sees_a_direct_read() -> None:
    assert REGISTRATION.search("JOIN person p2 ON p2.household_id = p1.household_id")
    assert REGISTRATION.search("SELECT name FROM person_identity WHERE person_id = 1")
    assert not REGISTRATION.search("FROM person_move m")
    assert not REGISTRATION.search("FROM person_identity_correction i")
