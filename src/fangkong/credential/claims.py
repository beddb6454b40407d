"""CWT claims (RFC 8392) of a code: issuer, issued-at, expiry, and the payload claim.

Dates are read in every encoding the CBOR spec allows for a time: an integer or a float of
seconds since the epoch, tag 1 around either (epoch time), or tag 0 around an RFC 3339 string
(cbor2 turns both tags into datetimes). They are kept as float seconds, so a far-future expiry
cannot overflow a datetime. A date that is none of these is a BAD_CLAIMS refusal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fangkong.credential.cose import MAP_TYPES, decode_cbor
from fangkong.credential.refusal import Refusal
from fangkong.errors import CredentialError

__all__ = [
    "CLAIM_EXP",
    "CLAIM_FANGKONG",
    "CLAIM_HCERT",
    "CLAIM_IAT",
    "CLAIM_ISS",
    "Claims",
    "read_claims",
    "read_time",
]

CLAIM_ISS = 1
CLAIM_EXP = 4
CLAIM_IAT = 6
CLAIM_HCERT = -260  # the EU DCC's health certificate claim: {1: DCC payload}
# fangkong's payload claim. RFC 8392 leaves keys below -65536 to private use; our choice.
CLAIM_FANGKONG = -65537


def read_time(value: Any, name: str) -> float:
    """Seconds since the epoch from any CBOR time encoding."""
    if type(value) is int:  # what nearly every issuer writes: the cheapest check first
        return float(value)
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=UTC)
        return stamp.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CredentialError(Refusal.BAD_CLAIMS, f"claim {name} is not a time")
    if not math.isfinite(value):
        raise CredentialError(Refusal.BAD_CLAIMS, f"claim {name} is not a finite time")
    return float(value)


# not frozen: one is made per code verified, and a frozen dataclass's __init__ costs more
@dataclass(slots=True)
class Claims:
    """The claims fangkong reads. Absent claims are None."""

    issuer: str | None
    issued_at: float | None
    expires: float | None
    fangkong: Any
    hcert: Any


def read_claims(payload: bytes) -> Claims:
    """The claims map of a COSE payload; CredentialError(BAD_CLAIMS) if it is not one."""
    item = decode_cbor(payload, Refusal.BAD_CLAIMS, "the CWT payload")
    if not isinstance(item, MAP_TYPES):
        raise CredentialError(Refusal.BAD_CLAIMS, "the CWT payload is not a map")
    issuer = item.get(CLAIM_ISS)
    if issuer is not None and not isinstance(issuer, str):
        raise CredentialError(Refusal.BAD_CLAIMS, "claim iss is not text")
    iat = item.get(CLAIM_IAT)
    exp = item.get(CLAIM_EXP)
    return Claims(
        issuer=issuer,
        issued_at=None if iat is None else read_time(iat, "iat"),
        expires=None if exp is None else read_time(exp, "exp"),
        fangkong=item.get(CLAIM_FANGKONG),
        hcert=item.get(CLAIM_HCERT),
    )
