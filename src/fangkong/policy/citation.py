"""Citations of the policy sources: the research notes copied into `policies/sources/`
(`policies/sources/README.md` says where they come from).

A policy file's `sources` table cites them in two ways:

- `facts: "Quarantine regimes"` names a `##` section of `sources/policy-facts.md`;
- `read_at: "sources/policy-notes.md § 2020 regime; § Contacts definition (9th ed)"` names one
  or more sections of a file of the sources directory: `sources/<file> § <section>`, and further
  sections of the same file as `; § <section>` (another file: `; sources/<file> § <section>`).

A cited section matches a `##` heading of the file when it is the heading, or the start of the
heading followed by a space; quotation marks are ignored on both sides ("Dec 7 2022 新十条"
matches `## Dec 7 2022 "新十条" (联防联控机制综发〔2022〕113号)`). It must match exactly one
heading. `citation_problems` lists every citation that does not resolve, so that a policy file
whose citation dangles is rejected on load.

The sources directory of a policy file is `sources/` beside it; a file in a directory without
one (a draft, a test library) is checked against the default policies directory's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Protocol

__all__ = [
    "FACTS_FILE",
    "SOURCES_DIR",
    "citation_problems",
    "fact_sections",
    "headings",
    "match_section",
    "sources_dir_for",
]

SOURCES_DIR = "sources"
FACTS_FILE = "policy-facts.md"
_PREFIX = f"{SOURCES_DIR}/"
_SEGMENT = re.compile(r"^(?:(?P<file>\S+)\s+)?§\s*(?P<section>.+)$")


class _Cited(Protocol):
    @property
    def facts(self) -> str | None: ...

    @property
    def read_at(self) -> str | None: ...


def _normal(text: str) -> str:
    return " ".join(text.replace('"', " ").replace("“", " ").replace("”", " ").split())


@lru_cache(maxsize=32)
def _headings(path: Path, mtime_ns: int) -> tuple[str, ...]:
    del mtime_ns  # part of the cache key only: an edited file is read again
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(line[3:].strip() for line in lines if line.startswith("## "))


def headings(path: Path) -> tuple[str, ...]:
    """The `##` headings of a Markdown file, in order."""
    return _headings(path, path.stat().st_mtime_ns)


def match_section(cited: str, found: tuple[str, ...]) -> list[str]:
    """The headings a cited section matches (see the module docstring)."""
    want = _normal(cited)
    return [h for h in found if (n := _normal(h)) == want or n.startswith(want + " ")]


def sources_dir_for(policy_file: Path, default: Path | None) -> Path | None:
    """`sources/` beside a policy file, else the default policies directory's, else None."""
    beside = policy_file.parent / SOURCES_DIR
    if beside.is_dir():
        return beside
    if default is not None and (default / SOURCES_DIR).is_dir():
        return default / SOURCES_DIR
    return None


def fact_sections(folder: Path) -> tuple[str, ...]:
    """The sections of `policy-facts.md` in a sources directory."""
    return headings(folder / FACTS_FILE)


def _section_problem(folder: Path, name: str, section: str) -> str | None:
    path = folder / name
    if not path.is_file():
        return f"no file {name} in {folder}"
    found = match_section(section, headings(path))
    if len(found) == 1:
        return None
    if not found:
        return f"{_PREFIX}{name} has no section {section!r}"
    return f"{section!r} names several sections of {_PREFIX}{name}: " + "; ".join(found)


def _read_at_problems(folder: Path, read_at: str) -> Iterator[str]:
    current: str | None = None
    for part in (p.strip() for p in read_at.split(";")):
        m = _SEGMENT.match(part)
        if m is None:
            yield (
                f"cite a section of a file of {_PREFIX} as '{_PREFIX}<file> § <section>', "
                f"found {part!r}"
            )
            continue
        named = m.group("file")
        if named is not None:
            if not named.startswith(_PREFIX) or "/" in named.removeprefix(_PREFIX):
                yield f"{named!r} is not a file of {_PREFIX} (write '{_PREFIX}<file> § <section>')"
                current = None
                continue
            current = named.removeprefix(_PREFIX)
        if current is None:
            yield f"{part!r}: name the file first ('{_PREFIX}<file> § <section>')"
            continue
        problem = _section_problem(folder, current, m.group("section").strip())
        if problem:
            yield problem


def citation_problems(
    sources: Mapping[str, _Cited], folder: Path | None
) -> Iterator[tuple[str, str]]:
    """(dotted key, message) for every citation of a `sources` table that does not resolve in
    the sources directory `folder`."""
    if folder is None:
        if sources:
            yield "sources", f"no {SOURCES_DIR}/ directory to check the citations against"
        return
    for name, source in sources.items():
        if source.facts is not None:
            problem = _section_problem(folder, FACTS_FILE, source.facts)
            if problem:
                yield f"sources.{name}.facts", problem
        if source.read_at is not None:
            for problem in _read_at_problems(folder, source.read_at):
                yield f"sources.{name}.read_at", problem
