"""Why a credential is refused: one typed reason per failure, so that callers (the CLI's exit
code, the border step, tests) decide on the member, never on the wording of a message.

The layers of a code, outermost first, and the reasons each can give:

    QR image ─ text with a prefix ─ Base45 ─ zlib ─ COSE_Sign1 ─ CWT claims ─ payload
    UNREADABLE_IMAGE  BAD_PREFIX   BAD_BASE45  BAD_COMPRESSION  BAD_COSE  BAD_CLAIMS  BAD_PAYLOAD

then the checks of a decoded code against the verifier's trust and clock: UNKNOWN_REGION,
UNKNOWN_KEY, KEY_WITHDRAWN, UNSUPPORTED_ALGORITHM, BAD_SIGNATURE, ISSUER_MISMATCH,
KEY_USAGE, NOT_YET_VALID, EXPIRED, REVOKED, and SCHEMA for a DCC whose content does not follow
the EU schema. Files of the key store, trust lists and revocation lists give BAD_FILE or, when
their own signature fails, BAD_SIGNATURE.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Refusal"]


class Refusal(StrEnum):
    """The reason a code (or a signed list) is not accepted."""

    UNREADABLE_IMAGE = "unreadable_image"  # no QR code found in the picture
    BAD_PREFIX = "bad_prefix"  # neither fangkong's prefix nor the DCC's HC1:
    BAD_BASE45 = "bad_base45"  # characters outside Base45, or a group out of range
    BAD_COMPRESSION = "bad_compression"  # not a complete zlib stream
    BAD_COSE = "bad_cose"  # not CBOR, or not a COSE_Sign1 structure
    BAD_CLAIMS = "bad_claims"  # the payload is not a CWT claims map, or a claim is mistyped
    BAD_PAYLOAD = "bad_payload"  # the health-code or DCC payload is missing or mistyped
    SCHEMA = "schema"  # a DCC payload that does not follow the EU DCC JSON schema
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"  # neither ES256 nor PS256
    NO_KEY_ID = "no_key_id"  # no key id in either header, or not 8 bytes
    UNKNOWN_REGION = "unknown_region"  # the issuing region is on no imported trust list
    UNKNOWN_KEY = "unknown_key"  # the region is trusted but this key id is not on its list
    KEY_WITHDRAWN = "key_withdrawn"  # the key was withdrawn from the trust list (e.g. leaked)
    BAD_SIGNATURE = "bad_signature"  # forged, tampered with, or signed with another key
    ISSUER_MISMATCH = "issuer_mismatch"  # the code names another region than its key's
    KEY_USAGE = "key_usage"  # the signer certificate may not sign this kind of DCC
    NOT_YET_VALID = "not_yet_valid"  # issued after the verification time
    EXPIRED = "expired"  # past its expiry
    REVOKED = "revoked"  # on a revocation list (identifier, region + identifier, signature)
    BAD_FILE = "bad_file"  # a key, certificate, trust or revocation file cannot be read
