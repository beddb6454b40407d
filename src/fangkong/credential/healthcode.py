"""fangkong's health-code payload, and the facts it is made from.

What is known, and what is our choice:
- GB/T 38961-2020 (reference model) gives the code's colours (green / yellow / red) and asks for
  cross-region mutual recognition; GB/T 38962-2020 (data format) structures the data as personal
  basic information (name, sex, nationality, document type and number, registered division,
  address, phone, history), personal health information (temperature, symptoms, stays in
  high-risk areas, ...) and refers to GB/T 2260 for division codes and GB/T 2659 for countries.
  Its element identifiers and value codes are not known to us (the text was not available), so
  none are claimed here.
- Our choice: the QR code is scanned offline by anyone, so it carries no personal basic
  information at all — only a pseudonymous subject identifier (a keyed hash of the person's id,
  which only the issuing instance can link back), the colour, the reasons as small integer
  codes, the issuing region as its GB/T 2260 code, the policy that made the colour, and a code
  identifier (the analogue of the DCC's UCI, used by revocation). Validity is in the CWT claims
  (iat, exp), from `health_code.signed_code_validity_hours` of the policy in force.

Payload (CBOR map under claim -65537, short keys as in the DCC):
    {"v": 1, "sid": text, "cid": text, "c": "g" | "y" | "r", "rs": [int, ...],
     "rg": "310000", "pol": "cn-2022-06-28"}
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fangkong.credential.cose import ARRAY_TYPES, MAP_TYPES
from fangkong.credential.refusal import Refusal
from fangkong.errors import CredentialError
from fangkong.model.glossary import CodeColour, CodeReason

__all__ = [
    "COLOUR_CODES",
    "PAYLOAD_VERSION",
    "REASON_CODES",
    "CodeFacts",
    "CodePayload",
    "payload_map",
    "pseudonym",
    "read_payload",
]

PAYLOAD_VERSION = 1
COLOUR_CODES: dict[CodeColour, str] = {
    CodeColour.GREEN: "g",
    CodeColour.YELLOW: "y",
    CodeColour.RED: "r",
}
_COLOURS = {code: colour for colour, code in COLOUR_CODES.items()}
# Reason codes are stable: a number is never reused or reordered, new reasons get new numbers.
REASON_CODES: dict[CodeReason, int] = {
    CodeReason.CONFIRMED: 1,
    CodeReason.SUSPECTED: 2,
    CodeReason.ASYMPTOMATIC: 3,
    CodeReason.CLOSE_CONTACT_CENTRALIZED: 4,
    CodeReason.FROM_RISK_AREA: 5,
    CodeReason.FEVER_CLINIC_VISIT: 6,
    CodeReason.FEVER_OR_RESPIRATORY_SYMPTOMS: 7,
    # 8 was "abnormal_record", a reason no rule could find (glossary.CodeReason): never reused
    CodeReason.CENTRALIZED_QUARANTINE: 9,
    CodeReason.HOME_QUARANTINE: 10,
    CodeReason.POOL_POSITIVE: 11,
    CodeReason.NO_RECENT_TEST: 12,
}
_REASONS = {code: reason for reason, code in REASON_CODES.items()}


@dataclass(frozen=True, slots=True)
class CodeFacts:
    """What the colour derivation hands to the signer for one person.

    `subject` is already pseudonymous (see `pseudonym`); `policy_id` names the policy whose
    rules gave the colour. For millions of people the same columns come as a Polars frame
    (`fangkong.credential.bulk.FACT_COLUMNS`).
    """

    subject: str
    colour: CodeColour
    reasons: tuple[CodeReason, ...]
    policy_id: str


# not frozen: one is made per code verified, and a frozen dataclass's __init__ costs more
@dataclass(slots=True)
class CodePayload:
    """A decoded fangkong payload."""

    subject: str
    code_id: str
    colour: CodeColour
    reasons: tuple[CodeReason, ...]
    region: str
    policy_id: str


def pseudonym(secret: bytes, person_id: int | str) -> str:
    """The subject identifier of a person: HMAC-SHA-256 under the instance's secret, 16 bytes
    in hex. Without the secret it cannot be linked to the person; with it, the issuer can."""
    return hmac.new(secret, str(person_id).encode(), hashlib.sha256).hexdigest()[:32]


def payload_map(facts: CodeFacts, *, code_id: str, region: str) -> dict[str, Any]:
    """The CBOR map of a code for `facts`."""
    return {
        "v": PAYLOAD_VERSION,
        "sid": facts.subject,
        "cid": code_id,
        "c": COLOUR_CODES[facts.colour],
        "rs": [REASON_CODES[r] for r in facts.reasons],
        "rg": region,
        "pol": facts.policy_id,
    }


def _text(payload: Mapping[Any, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise CredentialError(Refusal.BAD_PAYLOAD, f"payload field '{key}' is not text")
    return value


def read_payload(item: Any) -> CodePayload:
    """The payload of a fangkong code; CredentialError(BAD_PAYLOAD) if malformed."""
    if not isinstance(item, MAP_TYPES):
        raise CredentialError(Refusal.BAD_PAYLOAD, "no fangkong payload claim")
    if item.get("v") != PAYLOAD_VERSION:
        raise CredentialError(Refusal.BAD_PAYLOAD, "unknown payload version")
    code = item.get("c")
    colour = _COLOURS.get(code) if isinstance(code, str) else None
    if colour is None:
        raise CredentialError(Refusal.BAD_PAYLOAD, "payload field 'c' is not a colour")
    codes = item.get("rs")
    reasons: tuple[CodeReason, ...] = ()
    if not isinstance(codes, ARRAY_TYPES):
        raise CredentialError(Refusal.BAD_PAYLOAD, "payload field 'rs' is not a list")
    if codes:  # most codes are green with no reason: skip the work
        if not all(type(c) is int and c in _REASONS for c in codes):
            raise CredentialError(Refusal.BAD_PAYLOAD, "payload field 'rs' holds a non-reason")
        reasons = tuple(_REASONS[c] for c in codes)
    return CodePayload(
        subject=_text(item, "sid"),
        code_id=_text(item, "cid"),
        colour=colour,
        reasons=reasons,
        region=_text(item, "rg"),
        policy_id=_text(item, "pol"),
    )
