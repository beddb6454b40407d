"""Issuing: a health code for one person's facts, and sealed (signed) documents.

A code is `FK1:` + Base45(zlib(COSE_Sign1(ES256, kid = signer key id)[CWT claims])), where the
claims are iss = the issuing region's GB/T 2260 code, iat, exp = iat + the policy's
`health_code.signed_code_validity_hours`, and the fangkong payload (`healthcode`).
"""

from __future__ import annotations

import cbor2

from fangkong.credential.claims import CLAIM_EXP, CLAIM_FANGKONG, CLAIM_IAT, CLAIM_ISS
from fangkong.credential.cose import (
    ALG_ES256,
    HEADER_ALG,
    HEADER_KID,
    encode_sign1,
    sign_es256,
    to_be_signed,
)
from fangkong.credential.envelope import Prefix, wrap
from fangkong.credential.healthcode import CodeFacts, payload_map
from fangkong.credential.keys import Signer

__all__ = ["code_cose", "code_id", "issue_code", "protected_header", "seal"]


def protected_header(signer: Signer) -> bytes:
    """The protected header fangkong writes: algorithm ES256 and the signer's key id."""
    return cbor2.dumps({HEADER_ALG: ALG_ES256, HEADER_KID: signer.key_id})


def seal(signer: Signer, payload: bytes, *, protected: bytes | None = None) -> bytes:
    """A COSE_Sign1 over `payload` by `signer`."""
    header = protected if protected is not None else protected_header(signer)
    return encode_sign1(header, payload, sign_es256(signer.key, to_be_signed(header, payload)))


def code_id(region: str, subject: str, issued_at: int) -> str:
    """The code identifier (the DCC's UCI): the issuer can recompute it to revoke a code."""
    return f"{region}/{subject}/{issued_at}"


def code_cose(
    facts: CodeFacts,
    *,
    signer: Signer,
    region: str,
    issued_at: int,
    validity_hours: int,
    protected: bytes | None = None,
) -> bytes:
    """The signed COSE message of one code (what the QR text wraps)."""
    claims = {
        CLAIM_ISS: region,
        CLAIM_IAT: issued_at,
        CLAIM_EXP: issued_at + validity_hours * 3600,
        CLAIM_FANGKONG: payload_map(
            facts, code_id=code_id(region, facts.subject, issued_at), region=region
        ),
    }
    return seal(signer, cbor2.dumps(claims), protected=protected)


def issue_code(
    facts: CodeFacts, *, signer: Signer, region: str, issued_at: int, validity_hours: int
) -> str:
    """The QR text of one person's code, valid from `issued_at` (epoch seconds)."""
    cose = code_cose(
        facts, signer=signer, region=region, issued_at=issued_at, validity_hours=validity_hours
    )
    return wrap(cose, Prefix.FANGKONG)
