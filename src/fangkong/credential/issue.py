"""Issuing: a health code for one person's facts, and sealed (signed) documents.

A code is `FK1:` + Base45(zlib(COSE_Sign1(ES256, kid = signer key id)[CWT claims])), where the
claims are iss = the issuing region's GB/T 2260 code, iat, exp = iat + the policy's
`health_code.signed_code_validity_hours`, and the fangkong payload (`healthcode`).

The claims of the codes of one issuance (one region, issued-at and expiry) differ only in the
subject, the code id and the colour, reasons and policy: `CodeClaims` encodes everything else
once (with cbor2, from `healthcode.payload_map`) and splices each code's values in; the bytes are
those cbor2 writes for the whole map (a test checks it on varied facts).
"""

from __future__ import annotations

from typing import Any

import cbor2

from fangkong.credential.claims import CLAIM_EXP, CLAIM_FANGKONG, CLAIM_IAT, CLAIM_ISS
from fangkong.credential.cose import (
    ALG_ES256,
    HEADER_ALG,
    HEADER_KID,
    TEXT_HEADS,
    Sign1Writer,
    cbor_head,
)
from fangkong.credential.envelope import Prefix, wrap
from fangkong.credential.healthcode import CodeFacts, payload_map
from fangkong.credential.keys import Signer
from fangkong.model.glossary import CodeColour, CodeReason

__all__ = ["CodeClaims", "code_cose", "code_id", "issue_code", "protected_header", "seal"]


def protected_header(signer: Signer) -> bytes:
    """The protected header fangkong writes: algorithm ES256 and the signer's key id."""
    return cbor2.dumps({HEADER_ALG: ALG_ES256, HEADER_KID: signer.key_id})


def seal(signer: Signer, payload: bytes, *, protected: bytes | None = None) -> bytes:
    """A COSE_Sign1 over `payload` by `signer` (with `protected` as its protected header: by
    default the signer's, `protected_header`)."""
    header = protected if protected is not None else protected_header(signer)
    return Sign1Writer(signer.key, header).message(payload)


def code_id(region: str, subject: str, issued_at: int) -> str:
    """The code identifier (the DCC's UCI): the issuer can recompute it to revoke a code."""
    return f"{region}/{subject}/{issued_at}"


def _text(value: str) -> bytes:
    data = value.encode()
    n = len(data)
    return (TEXT_HEADS[n] if n < 256 else cbor_head(3, n)) + data


# the payload fields spliced per code (their values are the subject and the code id)
_SUBJECT, _CODE_ID = "sid", "cid"


class CodeClaims:
    """The encoded CWT claims of the codes of one issuance: `region`, `issued_at`, valid for
    `validity_hours`."""

    def __init__(self, region: str, issued_at: int, validity_hours: int) -> None:
        self.region = region
        self.issued_at = issued_at
        self.expires = issued_at + validity_hours * 3600
        self._parts: dict[tuple[str, tuple[str, ...], str], tuple[bytes, bytes, bytes]] = {}

    def claims(self, facts: CodeFacts) -> dict[int, Any]:
        """The claims map of `facts` (what `encode` writes, as a map)."""
        return {
            CLAIM_ISS: self.region,
            CLAIM_IAT: self.issued_at,
            CLAIM_EXP: self.expires,
            CLAIM_FANGKONG: payload_map(
                facts,
                code_id=code_id(self.region, facts.subject, self.issued_at),
                region=self.region,
            ),
        }

    def _split(self, key: tuple[str, tuple[str, ...], str]) -> tuple[bytes, bytes, bytes]:
        """The claims of a code of `key` (colour, reasons, policy) as the bytes before the
        subject's value, between it and the code id's, and after that; each part as cbor2
        writes it."""
        colour, reasons, policy = key
        facts = CodeFacts("", CodeColour(colour), tuple(CodeReason(r) for r in reasons), policy)
        claims = self.claims(facts)
        payload = claims.pop(CLAIM_FANGKONG)
        head = cbor_head(5, len(claims) + 1) + b"".join(
            cbor2.dumps(k) + cbor2.dumps(v) for k, v in claims.items()
        )
        parts = [head + cbor2.dumps(CLAIM_FANGKONG) + cbor_head(5, len(payload))]
        for name, value in payload.items():
            parts[-1] += cbor2.dumps(name)
            if name in (_SUBJECT, _CODE_ID):
                parts.append(b"")
            else:
                parts[-1] += cbor2.dumps(value)
        assert list(payload).index(_CODE_ID) == list(payload).index(_SUBJECT) + 1
        before, between, after = parts
        return before, between, after

    def encode(self, subject: str, colour: str, reasons: tuple[str, ...], policy: str) -> bytes:
        """The claims of one code (CBOR), from the values of a row of code facts."""
        key = (colour, reasons, policy)
        parts = self._parts.get(key)
        if parts is None:
            parts = self._parts[key] = self._split(key)
        before, between, after = parts
        return (
            before
            + _text(subject)
            + between
            + _text(code_id(self.region, subject, self.issued_at))
            + after
        )


def code_cose(
    facts: CodeFacts,
    *,
    signer: Signer,
    region: str,
    issued_at: int,
    validity_hours: int,
    protected: bytes | None = None,
) -> bytes:
    """The signed COSE message of one code (what the QR text wraps); `protected`: see
    `seal`."""
    claims = CodeClaims(region, issued_at, validity_hours)
    reasons = tuple(r.value for r in facts.reasons)
    payload = claims.encode(facts.subject, facts.colour.value, reasons, facts.policy_id)
    return seal(signer, payload, protected=protected)


def issue_code(
    facts: CodeFacts, *, signer: Signer, region: str, issued_at: int, validity_hours: int
) -> str:
    """The QR text of one person's code, valid from `issued_at` (epoch seconds)."""
    cose = code_cose(
        facts, signer=signer, region=region, issued_at=issued_at, validity_hours=validity_hours
    )
    return wrap(cose, Prefix.FANGKONG)
