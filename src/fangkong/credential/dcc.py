"""The EU Digital COVID Certificate payload: its JSON form, schema and key usage.

The payload is the map under claim -260 ("hcert"), key 1. It is validated against the EU DCC
JSON schema 1.3.3 (vendored in `data/`, Apache-2.0); a DCC holds exactly one of a vaccination
(`v`), test (`t`) or recovery (`r`) entry. Tagged CBOR dates inside it (tag 0 / tag 1, which
some issuers use for the test's sample time) are turned into RFC 3339 text before validation.

Validation is as tolerant as the EU's reference verifier (dgca-app-core-android, "Schema update
to support nullable values" and "Schema Validation Enhancements for 1.0.0") for what one member
state issued about a million certificates with (dgc-testdata issue #298): a property given as
null counts as absent ("r": null, "t": null), and a date given as a date-time at midnight
("dob": "1978-01-26T00:00:00") as that date; and, as that verifier's "SchemaRelaxing" (its
issue #32 and pull request #39), names and other text of any length (a Hungarian test centre's
name runs past the schema's 80 characters) and doses numbered from 0. The payload returned is the
certificate's own.

Key usage: a signer certificate may restrict itself, by extended key usage OIDs, to test,
vaccination or recovery certificates. The hcert specification's OIDs are
1.3.6.1.4.1.1847.2021.1.{1,2,3}; the conformance vectors' certificates carry the variant
1.3.6.1.4.1.0.1847.2021.1.{1,2,3}, and both are accepted. No DCC OID = no restriction.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from fangkong.credential.certificate import SignerCertificate
from fangkong.credential.cose import MAP_TYPES
from fangkong.credential.refusal import Refusal
from fangkong.errors import CredentialError

__all__ = [
    "DCC_ENTRY_KINDS",
    "check_key_usage",
    "dcc_from_hcert",
    "entry_kind",
    "to_json",
    "validate_schema",
]

DCC_ENTRY_KINDS = {"v": "vaccination", "t": "test", "r": "recovery"}
_USAGE_SUFFIX = {"t": "1", "v": "2", "r": "3"}
_USAGE_ROOTS = ("1.3.6.1.4.1.1847.2021.1.", "1.3.6.1.4.1.0.1847.2021.1.")


def to_json(value: Any) -> Any:
    """A decoded CBOR value as JSON-compatible data (dates as RFC 3339 text)."""
    if isinstance(value, MAP_TYPES):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
        return stamp.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def dcc_from_hcert(hcert: Any) -> dict[str, Any]:
    """The DCC payload (as JSON data) from the hcert claim; BAD_PAYLOAD if there is none."""
    if not isinstance(hcert, MAP_TYPES) or not isinstance(hcert.get(1), MAP_TYPES):
        raise CredentialError(Refusal.BAD_PAYLOAD, "no DCC payload under claim -260")
    data = to_json(hcert[1])
    assert isinstance(data, dict)
    return data


def _without_lengths(schema: Any) -> Any:
    """`schema` without its maximum lengths (module docstring)."""
    if isinstance(schema, dict):
        return {k: _without_lengths(v) for k, v in schema.items() if k != "maxLength"}
    if isinstance(schema, list):
        return [_without_lengths(v) for v in schema]
    return schema


@cache
def _validator() -> jsonschema.protocols.Validator:
    text = resources.files("fangkong.credential").joinpath("data/DCC.combined-schema.json")
    schema = _without_lengths(json.loads(text.read_text(encoding="utf-8")))
    schema["$defs"]["dose_posint"].pop("minimum")  # a dose number or series of 0 (NL's)
    cls = jsonschema.validators.validator_for(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


# the payload's date fields (birth, vaccination, first positive, validity of a recovery)
_DATE_FIELDS = frozenset({"dob", "dt", "fr", "df", "du"})
_MIDNIGHT = re.compile(r"^(\d{4}-\d{2}-\d{2})T00:00:00(?:\.0+)?(?:Z|[+-]00:?00)?$")


def _relaxed(value: Any, key: str | None = None) -> Any:
    """`value` as the schema is checked against it (module docstring): nulls dropped, dates at
    midnight as dates."""
    if isinstance(value, dict):
        return {k: _relaxed(v, k) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_relaxed(v) for v in value]
    if key in _DATE_FIELDS and isinstance(value, str) and (m := _MIDNIGHT.match(value)):
        return m[1]
    return value


def validate_schema(dcc: Any) -> None:
    """CredentialError(SCHEMA) naming the first violation, if `dcc` breaks the EU schema (read
    with the tolerance of the module docstring)."""
    error = jsonschema.exceptions.best_match(_validator().iter_errors(_relaxed(dcc)))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise CredentialError(Refusal.SCHEMA, f"DCC field {where}: {error.message[:200]}")


def entry_kind(dcc: dict[str, Any]) -> str:
    """'v', 't' or 'r': the kind of the DCC's one entry."""
    present = [k for k in DCC_ENTRY_KINDS if dcc.get(k)]
    if len(present) != 1:
        raise CredentialError(Refusal.SCHEMA, "a DCC holds exactly one v, t or r entry")
    return present[0]


def check_key_usage(certificate: SignerCertificate, kind: str) -> None:
    """CredentialError(KEY_USAGE) if the certificate's OIDs exclude DCCs of `kind`."""
    allowed = {
        oid.rsplit(".", 1)[1]
        for oid in certificate.extended_key_usages
        if any(oid.startswith(root) and oid.count(".") == root.count(".") for root in _USAGE_ROOTS)
    }
    if allowed and _USAGE_SUFFIX[kind] not in allowed:
        raise CredentialError(
            Refusal.KEY_USAGE,
            f"the signer may not sign {DCC_ENTRY_KINDS[kind]} certificates",
        )
