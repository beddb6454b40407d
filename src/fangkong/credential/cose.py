"""COSE_Sign1 (RFC 9052) as the DCC uses it: read liberally, verify strictly.

Read: the message may carry the COSE_Sign1 tag (18), the CWT tag (61) around it, both, or
neither; the algorithm and key id may stand in the protected or the unprotected header (the
protected one wins when both are there, as the DCC conformance vectors CO21/CO22 require).
Verify: only ES256 (ECDSA P-256, signature = r || s, 64 bytes) and PS256 (RSASSA-PSS, SHA-256);
the key type must match the algorithm; any other signature shape is refused, never guessed at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from fangkong.credential.refusal import Refusal
from fangkong.errors import CredentialError

__all__ = [
    "ALG_ES256",
    "ALG_PS256",
    "ARRAY_TYPES",
    "CWT_TAG",
    "MAP_TYPES",
    "SIGN1_TAG",
    "PublicKey",
    "Sign1",
    "decode_cbor",
    "encode_sign1",
    "parse_sign1",
    "sign_es256",
    "to_be_signed",
    "verify_signature",
]

SIGN1_TAG = 18
CWT_TAG = 61
ALG_ES256 = -7
ALG_PS256 = -37
HEADER_ALG = 1
HEADER_KID = 4

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

# What cbor2 decodes a map / an array into (immutable forms inside tags). Plain isinstance on
# these concrete types: the verifier's budget has no room for ABC checks.
MAP_TYPES = (dict, cbor2.frozendict)
ARRAY_TYPES = (list, tuple)

_ECDSA = ec.ECDSA(hashes.SHA256())
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def _bstr(data: bytes) -> bytes:
    """A CBOR byte string (major type 2) with its shortest length head, as RFC 8949 encodes."""
    n = len(data)
    if n < 24:
        head = bytes((0x40 + n,))
    elif n < 0x100:
        head = bytes((0x58, n))
    elif n < 0x10000:
        head = b"\x59" + n.to_bytes(2, "big")
    else:
        head = b"\x5a" + n.to_bytes(4, "big")
    return head + data


# ["Signature1", protected, external_aad = h'', payload]: array(4), text(10) "Signature1"
_SIG_STRUCTURE_HEAD = b"\x84\x6aSignature1"


def to_be_signed(protected_bytes: bytes, payload: bytes) -> bytes:
    """The COSE Sig_structure of a COSE_Sign1, written directly (it is built for every code
    signed or verified; the bytes are those cbor2 would write, a test checks it)."""
    return _SIG_STRUCTURE_HEAD + _bstr(protected_bytes) + b"\x40" + _bstr(payload)


def decode_cbor(data: bytes, refusal: Refusal, what: str) -> Any:
    """One CBOR item; any decoder failure becomes a CredentialError with `refusal`."""
    try:
        return cbor2.loads(data)
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError, LookupError):
        raise CredentialError(refusal, f"{what} is not well-formed CBOR") from None


@dataclass(frozen=True, slots=True)
class Sign1:
    """A parsed COSE_Sign1 message. `protected_bytes` is kept as received: it is signed."""

    protected_bytes: bytes
    protected: Mapping[Any, Any]
    unprotected: Mapping[Any, Any]
    payload: bytes
    signature: bytes

    def _header(self, label: int) -> Any:
        if label in self.protected:
            return self.protected[label]
        return self.unprotected.get(label)

    @property
    def algorithm(self) -> Any:
        """The `alg` header value (an int for the algorithms fangkong knows)."""
        return self._header(HEADER_ALG)

    @property
    def key_id(self) -> Any:
        """The `kid` header value: 8 bytes in the DCC scheme, or anything a sender put there."""
        return self._header(HEADER_KID)

    def to_be_signed(self) -> bytes:
        """Sig_structure: ["Signature1", protected, external_aad = b"", payload]."""
        return to_be_signed(self.protected_bytes, self.payload)


def parse_sign1(data: bytes) -> Sign1:
    """Read a COSE_Sign1 message (tagged or not); CredentialError(BAD_COSE) otherwise."""
    item = decode_cbor(data, Refusal.BAD_COSE, "the COSE message")
    for _ in range(2):  # the CWT tag around the COSE_Sign1 tag, as the DCC allows (CO28)
        if isinstance(item, cbor2.CBORTag) and item.tag in (CWT_TAG, SIGN1_TAG):
            item = item.value
    if isinstance(item, cbor2.CBORTag):
        raise CredentialError(Refusal.BAD_COSE, f"CBOR tag {item.tag} is not COSE_Sign1")
    if not isinstance(item, ARRAY_TYPES) or len(item) != 4:
        raise CredentialError(Refusal.BAD_COSE, "a COSE_Sign1 is an array of four items")
    protected_bytes, unprotected, payload, signature = item
    if not isinstance(protected_bytes, bytes) or not isinstance(unprotected, MAP_TYPES):
        raise CredentialError(Refusal.BAD_COSE, "the headers are not a byte string and a map")
    if not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise CredentialError(Refusal.BAD_COSE, "the payload or signature is not a byte string")
    protected: Any = {}
    if protected_bytes:
        protected = decode_cbor(protected_bytes, Refusal.BAD_COSE, "the protected header")
        if not isinstance(protected, MAP_TYPES):
            raise CredentialError(Refusal.BAD_COSE, "the protected header is not a map")
    return Sign1(protected_bytes, protected, unprotected, payload, signature)


def encode_sign1(protected_bytes: bytes, payload: bytes, signature: bytes) -> bytes:
    """A tagged COSE_Sign1 with an empty unprotected header (what fangkong issues): tag 18,
    array(4), protected, {}, payload, signature; written directly like the Sig_structure."""
    return b"\xd2\x84" + _bstr(protected_bytes) + b"\xa0" + _bstr(payload) + _bstr(signature)


def sign_es256(key: ec.EllipticCurvePrivateKey, to_be_signed: bytes) -> bytes:
    """ES256 signature in COSE form: r and s as 32-byte big-endian integers, concatenated."""
    r, s = decode_dss_signature(key.sign(to_be_signed, _ECDSA))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify_signature(message: Sign1, key: PublicKey) -> None:
    """Verify `message` with `key`; CredentialError(BAD_SIGNATURE / UNSUPPORTED_ALGORITHM)."""
    alg = message.algorithm
    data = message.to_be_signed()
    if alg == ALG_ES256:
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise CredentialError(Refusal.BAD_SIGNATURE, "ES256 needs a P-256 key")
        if len(message.signature) != 64:
            raise CredentialError(Refusal.BAD_SIGNATURE, "an ES256 signature is 64 bytes")
        r = int.from_bytes(message.signature[:32], "big")
        s = int.from_bytes(message.signature[32:], "big")
        try:
            key.verify(encode_dss_signature(r, s), data, _ECDSA)
        except (InvalidSignature, ValueError):
            raise CredentialError(Refusal.BAD_SIGNATURE, "the signature does not verify") from None
    elif alg == ALG_PS256:
        if not isinstance(key, rsa.RSAPublicKey):
            raise CredentialError(Refusal.BAD_SIGNATURE, "PS256 needs an RSA key")
        try:
            key.verify(message.signature, data, _PSS, hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise CredentialError(Refusal.BAD_SIGNATURE, "the signature does not verify") from None
    else:
        raise CredentialError(
            Refusal.UNSUPPORTED_ALGORITHM, f"algorithm {alg!r} is neither ES256 nor PS256"
        )
