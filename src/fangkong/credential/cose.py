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
from types import MappingProxyType
from typing import Any, TypeGuard, cast

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from fangkong.credential.refusal import Refusal
from fangkong.errors import CredentialError

__all__ = [
    "ALG_ES256",
    "ALG_PS256",
    "ARRAY_TYPES",
    "CWT_TAG",
    "MAP_TYPES",
    "SIGN1_TAG",
    "TEXT_HEADS",
    "PublicKey",
    "Sign1",
    "Sign1Writer",
    "cbor_head",
    "decode_cbor",
    "encode_sign1",
    "es256_der",
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


def cbor_head(major: int, n: int) -> bytes:
    """The head of a CBOR item of major type `major` (2: byte string, 3: text string, ...)
    with argument `n` (a length), in the shortest form, as RFC 8949 encodes it."""
    if n < 24:
        return bytes((major << 5 | n,))
    if n < 0x100:
        return bytes((major << 5 | 24, n))
    if n < 0x10000:
        return bytes((major << 5 | 25,)) + n.to_bytes(2, "big")
    if n < 0x100000000:
        return bytes((major << 5 | 26,)) + n.to_bytes(4, "big")
    return bytes((major << 5 | 27,)) + n.to_bytes(8, "big")


# the heads of byte and text strings shorter than 256 bytes (every part of a code), looked up
_BYTES_HEADS = tuple(cbor_head(2, n) for n in range(256))
TEXT_HEADS = tuple(cbor_head(3, n) for n in range(256))


def _bstr(data: bytes) -> bytes:
    """A CBOR byte string."""
    n = len(data)
    return (_BYTES_HEADS[n] if n < 256 else cbor_head(2, n)) + data


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


# not frozen: one is made per code verified, and a frozen dataclass's __init__ costs more
@dataclass(slots=True)
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
    return Sign1(protected_bytes, _protected(protected_bytes), unprotected, payload, signature)


# Protected headers read, by their bytes: every code of a signer carries the same header, so a
# verifier reads it once per key, not once per code. Bounded: cleared when full.
_PROTECTED: dict[bytes, Mapping[Any, Any]] = {}
_PROTECTED_KEPT = 1024


def _protected(data: bytes) -> Mapping[Any, Any]:
    found = _PROTECTED.get(data)
    if found is not None:
        return found
    header: Mapping[Any, Any] = MappingProxyType({})
    if data:
        item = decode_cbor(data, Refusal.BAD_COSE, "the protected header")
        if not isinstance(item, MAP_TYPES):
            raise CredentialError(Refusal.BAD_COSE, "the protected header is not a map")
        header = MappingProxyType(item)  # shared by the messages: read-only
    if len(_PROTECTED) >= _PROTECTED_KEPT:
        _PROTECTED.clear()
    _PROTECTED[data] = header
    return header


def encode_sign1(protected_bytes: bytes, payload: bytes, signature: bytes) -> bytes:
    """A tagged COSE_Sign1 with an empty unprotected header (what fangkong issues): tag 18,
    array(4), protected, {}, payload, signature; written directly like the Sig_structure."""
    return b"\xd2\x84" + _bstr(protected_bytes) + b"\xa0" + _bstr(payload) + _bstr(signature)


class Sign1Writer:
    """COSE_Sign1 messages (as `encode_sign1` writes them) of one key and protected header,
    for many payloads: the parts that do not change from one message to the next are written
    once."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, protected_bytes: bytes) -> None:
        self._key = key
        header = _bstr(protected_bytes)
        self._to_be_signed = _SIG_STRUCTURE_HEAD + header + b"\x40"
        self._message = b"\xd2\x84" + header + b"\xa0"

    def message(self, payload: bytes) -> bytes:
        """The signed COSE_Sign1 over `payload` (ES256)."""
        body = _bstr(payload)
        return self._message + body + _bstr(sign_es256(self._key, self._to_be_signed + body))


def sign_es256(key: ec.EllipticCurvePrivateKey, to_be_signed: bytes) -> bytes:
    """ES256 signature in COSE form: r and s as 32-byte big-endian integers, concatenated.

    OpenSSL gives SEQUENCE { INTEGER r, INTEGER s } in DER; for P-256 every length fits in one
    byte, so the integers are sliced out where DER puts them (a bulk signer does this millions
    of times; a test checks it against `decode_dss_signature`): 30 len 02 rlen r 02 slen s,
    each integer minimal (shorter than 32 bytes, or 33 with a 00 before a high bit)."""
    der = key.sign(to_be_signed, _ECDSA)
    r_end = 4 + der[3]
    s_end = r_end + 2 + der[r_end + 1]
    return der[4:r_end][-32:].rjust(32, b"\0") + der[r_end + 2 : s_end][-32:].rjust(32, b"\0")


def es256_der(signature: bytes) -> bytes:
    """An ES256 signature r || s as the DER that OpenSSL verifies: SEQUENCE { INTEGER r,
    INTEGER s }, each integer minimal (leading zero bytes dropped, a 00 put before a high bit).
    Written directly, the inverse of `sign_es256`'s slicing (a test checks it against
    `encode_dss_signature`): converting r and s to integers for the library costs twice as
    much, per code verified."""
    r = signature[:32].lstrip(b"\0") or b"\0"
    s = signature[32:].lstrip(b"\0") or b"\0"
    if r[0] > 0x7F:
        r = b"\0" + r
    if s[0] > 0x7F:
        s = b"\0" + s
    return b"0%c\x02%c%b\x02%c%b" % (len(r) + len(s) + 4, len(r), r, len(s), s)


# the key classes found to be EC keys (an ABC check costs a microsecond a code; a class's
# answer never changes)
_EC_CLASSES: dict[type, bool] = {}


def _is_p256(key: PublicKey) -> TypeGuard[ec.EllipticCurvePublicKey]:
    kind = type(key)
    is_ec = _EC_CLASSES.get(kind)
    if is_ec is None:
        is_ec = _EC_CLASSES[kind] = isinstance(key, ec.EllipticCurvePublicKey)
    return is_ec and cast(ec.EllipticCurvePublicKey, key).curve.name == "secp256r1"


def verify_signature(message: Sign1, key: PublicKey) -> None:
    """Verify `message` with `key`; CredentialError(BAD_SIGNATURE / UNSUPPORTED_ALGORITHM)."""
    alg = message.algorithm
    data = message.to_be_signed()
    if alg == ALG_ES256:
        if not _is_p256(key):
            raise CredentialError(Refusal.BAD_SIGNATURE, "ES256 needs a P-256 key")
        if len(message.signature) != 64:
            raise CredentialError(Refusal.BAD_SIGNATURE, "an ES256 signature is 64 bytes")
        try:
            key.verify(es256_der(message.signature), data, _ECDSA)
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
