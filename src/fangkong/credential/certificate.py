"""Signer certificates (X.509, DER), read leniently.

Certificates from the field bend DER (an empty extension, a negative serial number, a
non-minimal length), and `cryptography` refuses some of them outright. A verifier only needs
three things from a signer certificate: its public key, its validity, and its extended key
usages (the DCC's OIDs restricting a key to test, vaccination or recovery certificates). So this
module walks the certificate's DER itself — tolerating non-minimal lengths and unparseable
extensions — takes the SubjectPublicKeyInfo bytes out and hands only those to `cryptography`.
The signatures made with that key are then verified strictly (`cose.verify_signature`).

The key id of a certificate is the first 8 bytes of the SHA-256 of its DER (the DCC's rule).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from fangkong.credential.cose import PublicKey
from fangkong.credential.refusal import Refusal
from fangkong.errors import CredentialError

__all__ = ["SignerCertificate", "key_id_of", "read_certificate"]

_EKU_OID = "2.5.29.37"


def key_id_of(der: bytes) -> bytes:
    """The DCC key id: the first 8 bytes of SHA-256 over the certificate's DER."""
    return hashlib.sha256(der).digest()[:8]


@dataclass(frozen=True, slots=True)
class SignerCertificate:
    """What a verifier uses of a signer certificate."""

    der: bytes
    public_key: PublicKey
    key_id: bytes
    not_before: datetime | None
    not_after: datetime | None
    extended_key_usages: frozenset[str]  # dotted OIDs; empty = no restriction


def _bad(message: str) -> CredentialError:
    return CredentialError(Refusal.BAD_FILE, f"certificate: {message}")


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER item at `pos`."""
    if pos + 2 > len(data):
        raise _bad("truncated")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise _bad("multi-byte tags are not used in certificates")
    length = data[pos + 1]
    start = pos + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or start + count > len(data):
            raise _bad("indefinite or oversized length")
        length = int.from_bytes(data[start : start + count], "big")  # non-minimal is tolerated
        start += count
    end = start + length
    if end > len(data):
        raise _bad("an item runs past the end")
    return tag, start, end


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, item start, content start, content end) of each item in data[start:end]."""
    items = []
    pos = start
    while pos < end:
        tag, cstart, cend = _tlv(data, pos)
        items.append((tag, pos, cstart, cend))
        pos = cend
    return items


def _oid(content: bytes) -> str:
    if not content:
        raise _bad("an empty object identifier")
    parts = [*divmod(content[0], 40)] if content[0] < 80 else [2, content[0] - 80]
    value = 0
    for byte in content[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


def _time(tag: int, content: bytes) -> datetime | None:
    text = content.decode("ascii", "replace").rstrip("Z")
    try:
        if tag == 0x17:  # UTCTime YYMMDDHHMM[SS]
            fmt = "%y%m%d%H%M%S" if len(text) >= 12 else "%y%m%d%H%M"
        else:  # GeneralizedTime
            fmt = "%Y%m%d%H%M%S" if len(text) >= 14 else "%Y%m%d%H%M"
        return datetime.strptime(text[: len(fmt) + fmt.count("%Y") * 2], fmt).replace(tzinfo=UTC)
    except ValueError:
        return None  # an unreadable date bounds nothing; the trust list still governs the key


def _extended_key_usages(data: bytes, start: int, end: int) -> frozenset[str]:
    """EKU OIDs from the [3] extensions of tbsCertificate; unreadable extensions are skipped."""
    oids: set[str] = set()
    try:
        (_, _, seq_start, seq_end), *_ = _children(data, start, end)
        for _, _, ext_start, ext_end in _children(data, seq_start, seq_end):
            fields = _children(data, ext_start, ext_end)
            if not fields or fields[0][0] != 0x06:
                continue
            if _oid(data[fields[0][2] : fields[0][3]]) != _EKU_OID:
                continue
            value = fields[-1]  # OCTET STRING holding SEQUENCE OF OID
            for _, _, inner_start, inner_end in _children(data, value[2], value[3]):
                for tag, _, o_start, o_end in _children(data, inner_start, inner_end):
                    if tag == 0x06:
                        oids.add(_oid(data[o_start:o_end]))
    except CredentialError:
        return frozenset(oids)  # a malformed extension restricts nothing (DCC vector CO15)
    return frozenset(oids)


def _to_der(data: bytes | str) -> bytes:
    if isinstance(data, bytes) and data[:1] == b"\x30":
        return data
    text = data.decode("ascii", "replace") if isinstance(data, bytes) else data
    if "-----BEGIN" in text:
        text = "".join(line for line in text.splitlines() if line and not line.startswith("-----"))
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise _bad("neither DER, PEM nor Base64") from None


def read_certificate(data: bytes | str) -> SignerCertificate:
    """A signer certificate from DER, PEM or Base64 text; CredentialError(BAD_FILE) if none."""
    der = _to_der(data)
    tag, cert_start, cert_end = _tlv(der, 0)
    if tag != 0x30:
        raise _bad("not a SEQUENCE")
    tbs_tag, _, tbs_start, tbs_end = _children(der, cert_start, cert_end)[0]
    if tbs_tag != 0x30:
        raise _bad("no tbsCertificate")
    fields = _children(der, tbs_start, tbs_end)
    if fields and fields[0][0] == 0xA0:  # [0] version
        fields = fields[1:]
    if len(fields) < 6:
        raise _bad("tbsCertificate has too few fields")
    validity, spki = fields[3], fields[5]
    times = _children(der, validity[2], validity[3])
    not_before = _time(times[0][0], der[times[0][2] : times[0][3]]) if times else None
    not_after = _time(times[1][0], der[times[1][2] : times[1][3]]) if len(times) > 1 else None
    try:
        key = load_der_public_key(der[spki[1] : spki[3]])
    except (ValueError, TypeError):
        raise _bad("the public key cannot be read") from None
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise _bad("the public key is neither EC nor RSA")
    ekus: frozenset[str] = frozenset()
    for tag, _, start, end in fields[6:]:
        if tag == 0xA3:
            ekus = _extended_key_usages(der, start, end)
    return SignerCertificate(
        der=der[:cert_end],
        public_key=key,
        key_id=key_id_of(der[:cert_end]),
        not_before=not_before,
        not_after=not_after,
        extended_key_usages=ekus,
    )
