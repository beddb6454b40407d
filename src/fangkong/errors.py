"""The one error tree of fangkong. Only the CLI maps these to exit codes (and the API, later, to
HTTP statuses); library code raises them and never prints.

    FangkongError                 base of everything fangkong raises on purpose
    ├── InputError                a file or value given to fangkong is wrong
    │   ├── ImportFileError       an import file is malformed: names file, row, field
    │   ├── PolicyFileError       a policy file is malformed: names file and key
    │   ├── ModelFileError        a simulator data file is malformed: names file and key
    │   └── CredentialError       a health code, certificate, key, trust or revocation list is
    │                             unreadable or refused; `reason` is a typed `Refusal`
    ├── NotFoundError             a named thing (policy, person, region) does not exist
    │   └── NoPolicyInForceError  no encoded regime is in force on a date (also a PolicyError)
    ├── PolicyError               a policy cannot be applied as asked
    ├── StoreError                the store cannot be opened, or its schema is wrong
    └── ConflictError             an operation would contradict what is stored
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

__all__ = [
    "ConflictError",
    "CredentialError",
    "FangkongError",
    "ImportFileError",
    "InputError",
    "ModelFileError",
    "NoPolicyInForceError",
    "NotFoundError",
    "PolicyError",
    "PolicyFileError",
    "StoreError",
]


class FangkongError(Exception):
    """Base of every error fangkong raises on purpose."""


class InputError(FangkongError):
    """Something given to fangkong (a file, an option, a value) is wrong."""


class ImportFileError(InputError):
    """An import file is malformed. The message names the file, the row and the field.

    `row` is the 1-based data row (the header is not counted); `line` is the line in a CSV file
    (header = line 1), None for Parquet.
    """

    def __init__(
        self,
        path: str,
        message: str,
        *,
        row: int | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.path = path
        self.row = row
        self.field = field
        self.line = line
        self.detail = message
        where = [path]
        if row is not None:
            where.append(f"row {row}" + (f" (line {line})" if line is not None else ""))
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {message}")


class PolicyFileError(InputError):
    """A policy file is malformed. The message names the file and the key."""

    def __init__(self, path: str, message: str, *, key: str | None = None) -> None:
        self.path = path
        self.key = key
        where = f"{path}, key '{key}'" if key else path
        super().__init__(f"{where}: {message}")


class ModelFileError(InputError):
    """A data file of the simulator (census, city, variants) is malformed. The message names the
    file and the key."""

    def __init__(self, path: str, message: str, *, key: str | None = None) -> None:
        self.path = path
        self.key = key
        where = f"{path}, key '{key}'" if key else path
        super().__init__(f"{where}: {message}")


class CredentialError(InputError):
    """A credential (health code, DCC, certificate, key file, trust or revocation list) cannot be
    read, or is refused. `reason` is a member of `fangkong.credential.Refusal` (typed: decisions
    compare it, never the message). The message never holds personal data.
    """

    def __init__(self, reason: StrEnum, message: str) -> None:
        self.reason = reason
        self.detail = message
        super().__init__(f"{reason.value}: {message}")


class NotFoundError(FangkongError):
    """A named thing does not exist."""


class PolicyError(FangkongError):
    """A policy cannot be applied as asked."""


class NoPolicyInForceError(PolicyError, NotFoundError):
    """No encoded regime of a jurisdiction is in force on a date: the date is before the first
    one, or after a regime's declared end (`in_force_until`) with no encoded successor. Never a
    silent fallback to another regime."""

    def __init__(self, jurisdiction: str, on: date, message: str) -> None:
        self.jurisdiction = jurisdiction
        self.on = on
        super().__init__(message)


class StoreError(FangkongError):
    """The store cannot be opened or used."""


class ConflictError(FangkongError):
    """The operation would contradict what is stored."""
