"""Frames for driving the engine's rules with no store (the `test_*_rule*.py` tests), as a
simulator holding its own facts would build them."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from fangkong.engine.frames import LOCAL_ZONE


def at(text: str) -> datetime:
    """'2022-07-10 08:00' in Beijing time."""
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_ZONE)


def episodes(
    *rows: tuple[int, str, str | None, str], ended: dict[int, tuple[str, str]] | None = None
) -> pl.DataFrame:
    """Case episodes (CASE_SCHEMA): (person, diagnosis, severity, opened at), each case id
    `C<person>`; `ended`: per person, when the episode ended and by what (cured, ...)."""
    ends = ended or {}
    return pl.DataFrame(
        {
            "person_id": [r[0] for r in rows],
            "case_id": [f"C{r[0]}" for r in rows],
            "case_since": [at(r[3]) for r in rows],
            "diagnosis": [r[1] for r in rows],
            "severity": [r[2] for r in rows],
            "region_code": ["310101"] * len(rows),
            "outcome_at": [at(ends[r[0]][0]) if r[0] in ends else None for r in rows],
            "ended_by": [ends[r[0]][1] if r[0] in ends else None for r in rows],
        }
    )
