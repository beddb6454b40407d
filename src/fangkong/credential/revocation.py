"""Revocation, both ways the DCC scheme defines, and fangkong's own signed list.

The DCC revocation lists hold, per hash type, the first 128 bits (16 bytes) of a SHA-256:
- UCI: of the certificate identifier (the DCC's `ci`; for a fangkong code its `cid`);
- COUNTRYCODEUCI: of the issuer claim (`iss`) followed by that identifier;
- SIGNATURE: of the COSE signature — for ECDSA only its r value (the first half of r || s),
  because s can be replaced by n - s without invalidating it; for RSA the whole signature.
A code whose hash of any type is listed is refused (REVOKED).

fangkong's list is a COSE_Sign1 by the region's trust anchor over
    {"typ": "fangkong-revocation-list", "v": 1, "region": ..., "seq": ..., "UCI": [bstr16],
     "COUNTRYCODEUCI": [...], "SIGNATURE": [...]}
kept in `<store>/revocations/<region>.cose` by the issuer and imported beside the trust list.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import cbor2

from fangkong.credential.certificate import SignerCertificate, read_certificate
from fangkong.credential.cose import ALG_ES256, MAP_TYPES, decode_cbor, parse_sign1
from fangkong.credential.issue import seal
from fangkong.credential.keys import KeyStore
from fangkong.credential.refusal import Refusal
from fangkong.credential.trust import anchor_of, read_signed_document
from fangkong.errors import CredentialError

__all__ = [
    "HashType",
    "RevocationSet",
    "publish_revocation_list",
    "read_revocation_list",
    "revocation_hash",
]

REVOCATION_LIST_TYPE = "fangkong-revocation-list"


class HashType(StrEnum):
    UCI = "UCI"
    COUNTRYCODEUCI = "COUNTRYCODEUCI"
    SIGNATURE = "SIGNATURE"


def _h128(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()[:16]


def revocation_hash(
    kind: HashType, *, identifier: str, issuer: str, signature: bytes, algorithm: object
) -> bytes:
    """The 16-byte revocation hash of one code for one hash type."""
    if kind is HashType.UCI:
        return _h128(identifier.encode())
    if kind is HashType.COUNTRYCODEUCI:
        return _h128((issuer + identifier).encode())
    if algorithm == ALG_ES256:
        return _h128(signature[: len(signature) // 2])  # r only
    return _h128(signature)


@dataclass
class RevocationSet:
    """The revoked hashes a verifier holds, by type."""

    hashes: dict[HashType, set[bytes]] = field(
        default_factory=lambda: {kind: set() for kind in HashType}
    )

    def __len__(self) -> int:
        return sum(len(v) for v in self.hashes.values())

    def add(self, kind: HashType, digest: bytes) -> None:
        if len(digest) != 16:
            raise CredentialError(Refusal.BAD_FILE, "a revocation hash is 16 bytes")
        self.hashes[kind].add(digest)

    def revoked_by(
        self, *, identifier: str | None, issuer: str, signature: bytes, algorithm: object
    ) -> HashType | None:
        """The first hash type under which the code is revoked, or None."""
        for kind, revoked in self.hashes.items():  # in HashType's order (the default's)
            if not revoked:
                continue
            if kind is not HashType.SIGNATURE and identifier is None:
                continue
            digest = revocation_hash(
                kind,
                identifier=identifier or "",
                issuer=issuer,
                signature=signature,
                algorithm=algorithm,
            )
            if digest in revoked:
                return kind
        return None


def revocation_path(directory: Path, region: str) -> Path:
    return directory / "revocations" / f"{region}.cose"


def read_revocation_list(data: bytes, anchor: SignerCertificate) -> RevocationSet:
    body = read_signed_document(data, anchor, REVOCATION_LIST_TYPE)
    out = RevocationSet()
    try:
        for kind in HashType:
            for digest in body.get(kind.value, []):
                out.add(kind, bytes(digest))
    except (TypeError, ValueError) as exc:
        raise CredentialError(Refusal.BAD_FILE, "a revocation entry is malformed") from exc
    return out


def publish_revocation_list(
    store: KeyStore, additions: list[tuple[HashType, bytes]], *, now: datetime
) -> bytes:
    """Add hashes to the region's revocation list, re-sign it, keep it in the store and return
    it. The list only grows: a code's hash is never taken off (codes are short-lived)."""
    path = revocation_path(store.directory, store.region)
    anchor = store.anchor()
    current = (
        read_revocation_list(path.read_bytes(), read_certificate(anchor.certificate_der))
        if path.exists()
        else RevocationSet()
    )
    for kind, digest in additions:
        current.add(kind, digest)
    body = {
        "typ": REVOCATION_LIST_TYPE,
        "v": 1,
        "region": store.region,
        "seq": int(now.timestamp() * 1_000_000),
        **{kind.value: sorted(current.hashes[kind]) for kind in HashType},
    }
    data = seal(anchor, cbor2.dumps(body))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data


def import_revocation_list(directory: Path, data: bytes) -> RevocationSet:
    """Verify a region's revocation list with its pinned anchor and keep it in `directory`."""
    body = decode_cbor(parse_sign1(data).payload, Refusal.BAD_FILE, "the revocation list")
    region = body.get("region") if isinstance(body, MAP_TYPES) else None
    if not isinstance(region, str):
        raise CredentialError(Refusal.BAD_FILE, "not a revocation list")
    revoked = read_revocation_list(data, anchor_of(directory, region))
    path = revocation_path(directory, region)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return revoked


def load_revocations(directory: Path) -> RevocationSet:
    """Every revocation list held in `directory`, each verified with its region's anchor."""
    out = RevocationSet()
    for path in sorted((directory / "revocations").glob("*.cose")):
        held = read_revocation_list(path.read_bytes(), anchor_of(directory, path.stem))
        for kind in HashType:
            out.hashes[kind] |= held.hashes[kind]
    return out
