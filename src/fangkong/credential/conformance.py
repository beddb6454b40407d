"""Runs DCC conformance vectors (the dgc-testdata format) and says, for each file and each
expected result, what was expected and what fangkong got.

Each `EXPECTEDxxx` is one step, run on the inputs the file gives (README of dgc-testdata):
    PICTUREDECODE  2DCODE (Base64 PNG) → QR text = PREFIX
    UNPREFIX       PREFIX without "HC1:" = BASE45
    B45DECODE      Base45(BASE45) = COMPRESSED
    COMPRESSION    zlib(COMPRESSED) = COSE
    VERIFY         COSE's signature verifies with TESTCTX.CERTIFICATE (key id included)
    EXPIRATIONCHECK  COSE's iat ≤ VALIDATIONCLOCK ≤ exp
    DECODE         CBOR decodes and matches JSON (and COSE's payload, when given, matches CBOR)
    VALIDJSON      the whole chain from PREFIX decodes and matches JSON
    SCHEMAVALIDATION  the decoded CBOR (else the chain's payload) follows the DCC schema
    KEYUSAGE       COSE verifies and the certificate's OIDs allow the DCC's kind
    VALIDOBJECT    JSON follows the DCC schema
    ENCODE         JSON encoded as CBOR equals CBOR (compared decoded)
B45DECODE compares with COMPRESSED where the file gives it, else (the README's table of Code
Validation tests names BASE45 and COSE as its fields) with COSE after decompression.

A step whose input the file lacks (or gives unreadable) is not run: the check is reported as
not run, with the field it lacks, and counts neither as met nor as failed — as the test runner
of dgc-testdata itself skips it. So is an expectation that names no step (a misspelt key such
as `EXPTECTEDEXPIRED`). Vectors whose expectation is wrong upstream are listed in
`data/dcc-upstream-errors.yaml` with the reason and reference (a file name there may be a
pattern: a country's files); they count apart, and only if fangkong gets exactly the listed
outcome: a failure for the listed reason, or a pass where the file expects a failure.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import cbor2
import yaml

from fangkong.credential import base45, dcc
from fangkong.credential.certificate import read_certificate
from fangkong.credential.claims import CLAIM_HCERT, Claims, read_claims
from fangkong.credential.cose import MAP_TYPES, decode_cbor, parse_sign1
from fangkong.credential.envelope import Prefix, decompress, unprefix, unwrap
from fangkong.credential.qr import read_qr
from fangkong.credential.refusal import Refusal
from fangkong.credential.trust import TrustedKey, TrustStore
from fangkong.credential.verify import Verifier, check_times
from fangkong.errors import CredentialError, InputError

__all__ = [
    "MISMATCH",
    "PASSES",
    "Check",
    "UpstreamError",
    "VectorResult",
    "known_upstream_errors",
    "run_vector",
    "run_vectors",
]

MISMATCH = "mismatch"  # the step ran but its output differs from the file's next layer
PASSES = "passes"  # a listed upstream error: fangkong passes where the file expects a failure


@dataclass(frozen=True, slots=True)
class Check:
    """One expected result of one file."""

    name: str  # e.g. "EXPECTEDVERIFY"
    expected: bool
    got: bool
    reason: str | None  # why the step failed: a Refusal value or MISMATCH
    # the listed outcome (a reason, or PASSES), when the expectation is wrong upstream
    upstream_error: str | None = None
    not_run: str | None = None  # why the step could not be run (the field the file lacks)

    @property
    def agrees(self) -> bool:
        return self.not_run is None and self.expected == self.got

    @property
    def excused(self) -> bool:
        """A listed upstream error where fangkong gets exactly the listed outcome."""
        if self.not_run is not None or self.agrees or self.upstream_error is None:
            return False
        return self.got if self.upstream_error == PASSES else self.reason == self.upstream_error


@dataclass(frozen=True, slots=True)
class VectorResult:
    path: str  # relative to the folder run
    description: str
    checks: tuple[Check, ...]
    # why the file is no test vector (JSON without EXPECTEDRESULTS, such as the stray sample
    # certificate at the top of dgc-testdata): left out of the run, and said
    not_a_vector: str | None = None


class _StepFailedError(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


class _NotRunError(Exception):
    """The step cannot be run on this file: it lacks the step's input, or gives it unreadable."""

    def __init__(self, why: str) -> None:
        self.why = why


def _has(vector: dict[str, Any], key: str) -> bool:
    return key in vector and vector[key] not in (None, "")


def _need(vector: dict[str, Any], key: str) -> Any:
    if not _has(vector, key):
        raise _NotRunError(f"lacks {key}")
    return vector[key]


def _hex(vector: dict[str, Any], key: str) -> bytes:
    try:
        return bytes.fromhex(str(_need(vector, key)))
    except ValueError:
        raise _NotRunError(f"{key} is not hexadecimal") from None


def _same(a: Any, b: Any) -> bool:
    """JSON equality where date-times compare as instants (a tagged CBOR date becomes text)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, str) and isinstance(b, str) and a != b and "T" in a and "T" in b:
        try:
            return datetime.fromisoformat(a) == datetime.fromisoformat(b)
        except ValueError:
            return False
    return (bool(a == b) and type(a) is type(b)) or (
        isinstance(a, int | float) and isinstance(b, int | float) and a == b
    )


def _certificate_trust(vector: dict[str, Any], region: str) -> TrustStore:
    """The file's signer certificate as the one key trusted for `region` (the code's issuer:
    a signature by another key is then refused as an unknown key of a trusted region)."""
    context = _need(vector, "TESTCTX")
    certificate = read_certificate(str(_need(context, "CERTIFICATE")))
    store = TrustStore()
    store.add_key(TrustedKey(region, certificate))
    return store


def _verified_message(vector: dict[str, Any]) -> tuple[Any, Claims, TrustedKey]:
    message = parse_sign1(_hex(vector, "COSE"))
    try:
        claims = read_claims(message.payload)
    except CredentialError:
        claims = Claims(None, None, None, None, None)
    trust = _certificate_trust(vector, claims.issuer or "DCC")
    signer = Verifier(trust).signer_of(message, claims)
    return message, claims, signer


def _clock(vector: dict[str, Any]) -> float:
    text = str(_need(_need(vector, "TESTCTX"), "VALIDATIONCLOCK"))
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # "+0200" → "+02:00"
        text = text[:-2] + ":" + text[-2:]
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise _NotRunError("its VALIDATIONCLOCK is not a date-time") from None


def _dcc_of_cose(cose: bytes) -> dict[str, Any]:
    return dcc.dcc_from_hcert(read_claims(parse_sign1(cose).payload).hcert)


def _decoded_cbor(vector: dict[str, Any]) -> Any:
    """The DCC in the CBOR field: the DCC map itself or, as several countries' files have it,
    the whole CWT claims map around it."""
    item = decode_cbor(_hex(vector, "CBOR"), Refusal.BAD_PAYLOAD, "the CBOR")
    if isinstance(item, MAP_TYPES) and CLAIM_HCERT in item:
        return dcc.dcc_from_hcert(item[CLAIM_HCERT])
    return dcc.to_json(item)


def _step_picture(v: dict[str, Any]) -> None:
    try:
        png = base64.b64decode(str(_need(v, "2DCODE")), validate=False)
    except (binascii.Error, ValueError):
        raise _StepFailedError(Refusal.UNREADABLE_IMAGE.value) from None
    if read_qr(png) != _need(v, "PREFIX"):
        raise _StepFailedError(MISMATCH)


def _step_unprefix(v: dict[str, Any]) -> None:
    prefix, body = unprefix(str(_need(v, "PREFIX")))
    if prefix is not Prefix.DCC:
        raise _StepFailedError(Refusal.BAD_PREFIX.value)
    if body != _need(v, "BASE45"):
        raise _StepFailedError(MISMATCH)


def _step_base45(v: dict[str, Any]) -> None:
    decoded = base45.decode(str(_need(v, "BASE45")))
    if not _has(v, "COMPRESSED") and _has(v, "COSE"):  # the README table's fields
        if decompress(decoded) != _hex(v, "COSE"):
            raise _StepFailedError(MISMATCH)
    elif decoded != _hex(v, "COMPRESSED"):
        raise _StepFailedError(MISMATCH)


def _step_compression(v: dict[str, Any]) -> None:
    if decompress(_hex(v, "COMPRESSED")) != _hex(v, "COSE"):
        raise _StepFailedError(MISMATCH)


def _step_verify(v: dict[str, Any]) -> None:
    _verified_message(v)


def _step_expiration(v: dict[str, Any]) -> None:
    check_times(read_claims(parse_sign1(_hex(v, "COSE")).payload), at=_clock(v))


def _step_decode(v: dict[str, Any]) -> None:
    decoded = _decoded_cbor(v)
    if not _same(decoded, _need(v, "JSON")):
        raise _StepFailedError(MISMATCH)
    if _has(v, "COSE") and not _same(_dcc_of_cose(_hex(v, "COSE")), decoded):
        raise _StepFailedError(MISMATCH)


def _step_valid_json(v: dict[str, Any]) -> None:
    prefix, cose = unwrap(str(_need(v, "PREFIX")))
    if prefix is not Prefix.DCC:
        raise _StepFailedError(Refusal.BAD_PREFIX.value)
    if not _same(_dcc_of_cose(cose), _need(v, "JSON")):
        raise _StepFailedError(MISMATCH)


def _step_schema(v: dict[str, Any]) -> None:
    payload = _decoded_cbor(v) if _has(v, "CBOR") else _dcc_of_cose(unwrap(_need(v, "PREFIX"))[1])
    dcc.validate_schema(payload)
    dcc.entry_kind(payload)


def _step_key_usage(v: dict[str, Any]) -> None:
    _, claims, signer = _verified_message(v)
    payload = dcc.dcc_from_hcert(claims.hcert)
    dcc.check_key_usage(signer.certificate, dcc.entry_kind(payload))


def _step_valid_object(v: dict[str, Any]) -> None:
    payload = _need(v, "JSON")
    dcc.validate_schema(payload)
    dcc.entry_kind(payload)


def _step_encode(v: dict[str, Any]) -> None:
    encoded = dcc.to_json(cbor2.loads(cbor2.dumps(_need(v, "JSON"))))
    if not _same(encoded, _decoded_cbor(v)):
        raise _StepFailedError(MISMATCH)


STEPS: dict[str, Callable[[dict[str, Any]], None]] = {
    "EXPECTEDPICTUREDECODE": _step_picture,
    "EXPECTEDUNPREFIX": _step_unprefix,
    "EXPECTEDB45DECODE": _step_base45,
    "EXPECTEDCOMPRESSION": _step_compression,
    "EXPECTEDVERIFY": _step_verify,
    "EXPECTEDEXPIRATIONCHECK": _step_expiration,
    "EXPECTEDDECODE": _step_decode,
    "EXPECTEDVALIDJSON": _step_valid_json,
    "EXPECTEDSCHEMAVALIDATION": _step_schema,
    "EXPECTEDKEYUSAGE": _step_key_usage,
    "EXPECTEDVALIDOBJECT": _step_valid_object,
    "EXPECTEDENCODE": _step_encode,
}


def _run_step(name: str, vector: dict[str, Any]) -> tuple[bool, str | None, str | None]:
    """Whether the step passed, why it failed, and why it could not be run."""
    step = STEPS.get(name)
    if step is None:
        return False, None, "no such step"
    try:
        step(vector)
    except _NotRunError as not_run:
        return False, None, not_run.why
    except _StepFailedError as failed:
        return False, failed.reason, None
    except CredentialError as exc:
        return False, str(exc.reason.value), None
    return True, None, None


@dataclass(frozen=True, slots=True)
class UpstreamError:
    """An entry of the shipped list of expectations wrong upstream."""

    file: str  # a path relative to the folder run, or a pattern (`fnmatch`) of paths
    expectation: str
    expected: bool | None  # the entry covers only the files expecting this (None: any)
    outcome: str  # what fangkong gets: the reason it fails for, or PASSES
    why: str
    reference: str

    def covers(self, path: str, expectation: str, expected: bool) -> bool:
        return (
            expectation == self.expectation
            and (self.expected is None or self.expected == expected)
            and fnmatch.fnmatchcase(path, self.file)
        )


def known_upstream_errors() -> list[UpstreamError]:
    """The shipped list of expectations wrong upstream (`data/dcc-upstream-errors.yaml`)."""
    text = resources.files("fangkong.credential").joinpath("data/dcc-upstream-errors.yaml")
    entries = yaml.safe_load(text.read_text(encoding="utf-8")) or []
    return [
        UpstreamError(
            file=str(e["file"]),
            expectation=str(e["expectation"]),
            expected=e.get("expected"),
            outcome=PASSES if e.get("passes") else str(e["fails_with"]),
            why=str(e["why"]),
            reference=str(e["reference"]),
        )
        for e in entries
    ]


def _listed(
    upstream: list[UpstreamError], path: str, expectation: str, expected: bool
) -> str | None:
    return next((u.outcome for u in upstream if u.covers(path, expectation, expected)), None)


def run_vector(path: Path, name: str, upstream: list[UpstreamError] | None = None) -> VectorResult:
    """Run every expected result of one vector file; `name` is its path relative to the run."""
    try:
        vector = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable JSON test vector ({exc})") from exc
    if not isinstance(vector, dict) or not isinstance(vector.get("EXPECTEDRESULTS"), dict):
        return VectorResult(name, "", (), "no EXPECTEDRESULTS object")
    known = upstream or []
    checks = []
    for key, expected in vector["EXPECTEDRESULTS"].items():
        got, reason, not_run = _run_step(key, vector)
        listed = _listed(known, name, key, bool(expected))
        checks.append(Check(key, bool(expected), got, reason, listed, not_run))
    description = str((vector.get("TESTCTX") or {}).get("DESCRIPTION", ""))
    return VectorResult(name, description, tuple(checks))


def run_vectors(directory: Path) -> list[VectorResult]:
    """Every *.json vector under `directory`, in path order."""
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory of test vectors")
    upstream = known_upstream_errors()
    files = sorted(p for p in directory.rglob("*.json") if p.is_file())
    return [run_vector(p, p.relative_to(directory).as_posix(), upstream) for p in files]
