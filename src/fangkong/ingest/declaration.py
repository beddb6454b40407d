"""How an import kind is declared: `Kind`, `Field`, `Check`, `Target`, and the field
declarations several kinds share (`Field.time`, `Field.region`, `Field.id`, `Field.person`;
`Kind.one_table` for a kind that writes its fields as they are to one table). The kinds
themselves are in `kinds_registry`, `kinds_events`, `kinds_lab` and `kinds_assistance`;
`fangkong.ingest.kinds` collects them.

A kind declares the fields of its file (type, whether required, allowed values, checks,
references to stored tables) and, for each table it writes, the SQL expression of every column
over the staged fields. All checks are SQL predicates evaluated over the whole file at once; the
same predicate then finds the first offending row for the error message.

In predicates and expressions, `{f}` stands for the staged (typed) value of the field and
`{raw}` for its text as read.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from enum import StrEnum

from fangkong.model.tables import SqlType

__all__ = [
    "DATE",
    "EARLIEST_EVENT",
    "INLINE_REFS",
    "INT",
    "TS",
    "B",
    "Check",
    "D",
    "Field",
    "Kind",
    "S",
    "Target",
    "V",
    "unchanged",
]

B, INT, S, D, V = SqlType.BIGINT, SqlType.INTEGER, SqlType.SMALLINT, SqlType.DOUBLE, SqlType.VARCHAR
DATE, TS = SqlType.DATE, SqlType.TIMESTAMPTZ

# Earliest plausible event: the first cases of the epidemic were reported in December 2019.
EARLIEST_EVENT = "2019-12-01"


@dataclass(frozen=True)
class Check:
    """A predicate that is TRUE for a bad value, and the message that says why."""

    bad_when: str
    message: str


@dataclass(frozen=True)
class Field:
    name: str
    type: SqlType
    required: bool = True  # the column must be present and every value non-empty
    optional_column: bool = False  # the column may be absent from the file (values NULL)
    values: builtins.type[StrEnum] | None = None
    checks: tuple[Check, ...] = ()
    ref: tuple[str, str] | None = None  # (table, column) that must hold every value
    personal: bool = False  # never echoed in messages or logs

    # the field declarations several kinds share

    @classmethod
    def time(cls, name: str, *, required: bool = True, optional_column: bool = False) -> Field:
        """An event time, from EARLIEST_EVENT to tomorrow."""
        return cls(
            name,
            TS,
            required=required,
            optional_column=optional_column,
            checks=(
                Check(
                    f"{{{name}}} < TIMESTAMPTZ '{EARLIEST_EVENT} 00:00:00+08' "
                    f"OR {{{name}}} > now() + INTERVAL 1 DAY",
                    f"time outside {EARLIEST_EVENT} .. tomorrow",
                ),
            ),
        )

    @classmethod
    def region(cls, name: str, *, required: bool = True, optional_column: bool = False) -> Field:
        """A stored division code of 6, 9 or 12 digits."""
        return cls(
            name,
            V,
            required=required,
            optional_column=optional_column,
            checks=(
                Check(
                    f"NOT regexp_full_match({{{name}}}, '[0-9]{{6}}([0-9]{{3}}([0-9]{{3}})?)?')",
                    "a division code has 6, 9 or 12 digits",
                ),
            ),
            ref=("region", "region_code"),
        )

    @classmethod
    def id(
        cls,
        name: str,
        type_: SqlType = B,
        *,
        required: bool = True,
        optional_column: bool = False,
        ref: tuple[str, str] | None = None,
    ) -> Field:
        """An id: a number that is not negative, or a text of at most 64 characters."""
        if type_ is B:
            checks = (Check(f"{{{name}}} < 0", "an id is not negative"),)
        else:
            checks = (Check(f"length({{{name}}}) > 64", "an id is at most 64 characters"),)
        return cls(
            name, type_, required=required, optional_column=optional_column, checks=checks, ref=ref
        )

    @classmethod
    def person(cls, name: str) -> Field:
        """A person id that the person registry must hold."""
        return cls(name, B, ref=("person", "person_id"))


# Checks may name `_this_file`, the staged rows of the file being imported (e.g. a community
# whose street is in the same file).
# Reference tables small enough to be checked inside the one pass over the file (the importer
# exposes each as `_ref_<table>` to DuckDB); references to others are checked by their distinct
# values against the store.
INLINE_REFS = frozenset({"region"})


@dataclass(frozen=True)
class Target:
    table: str
    columns: dict[str, str]  # table column -> SQL expression over staged fields `{name}`
    where: str | None = None  # only rows for which this holds go to this table


@dataclass(frozen=True)
class Kind:
    name: str
    doc: str
    fields: tuple[Field, ...]
    targets: tuple[Target, ...]
    key: tuple[str, ...]  # fields that identify an event: twice in one file is an error
    # helper columns computed once per row over the fields (`{_name}` in checks and targets)
    derived: dict[str, str] = field(default_factory=dict)
    row_checks: tuple[Check, ...] = field(default_factory=tuple)  # checks across fields
    # stored column -> the kind whose events correct it (named when a file repeats a stored
    # event with another value there)
    corrected_by: dict[str, str] = field(default_factory=dict)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @classmethod
    def one_table(
        cls,
        name: str,
        doc: str,
        *,
        table: str,
        fields: tuple[Field, ...],
        key: tuple[str, ...],
        row_checks: tuple[Check, ...] = (),
    ) -> Kind:
        """A kind written to one table, each field as it is to the column of its name."""
        target = Target(table, unchanged(*(f.name for f in fields)))
        return cls(name, doc, fields=fields, targets=(target,), key=key, row_checks=row_checks)


def unchanged(*names: str) -> dict[str, str]:
    """Target columns, in this order, each taking the staged field of its name as it is."""
    return {n: f"{{{n}}}" for n in names}
