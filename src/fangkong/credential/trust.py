"""Mutual recognition (互认): trust lists that each instance publishes and the others import.

A trust list is a COSE_Sign1, signed by the publishing region's trust anchor, over a CBOR map:

    {"typ": "fangkong-trust-list", "v": 1, "region": "310000", "seq": <int, grows>,
     "keys": [{"kid": bstr(8), "cert": bstr (DER)}],
     "withdrawn": [{"kid": bstr(8), "since": <epoch s>, "why": text}]}

An importing instance pins each region's anchor certificate (`anchors/<region>.der`, given once
with the first import, as the provinces exchanged keys out of band) and keeps the last list it
accepted (`trust/<region>.cose`). It refuses a list whose signature fails, one signed for
another region, and one older than the list it holds (no rollback to a list that still carries
a withdrawn key). The verifier's `TrustStore` is rebuilt from those files, each list verified
again with its anchor.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import cbor2

from fangkong.credential.certificate import SignerCertificate, read_certificate
from fangkong.credential.cose import (
    MAP_TYPES,
    decode_cbor,
    parse_sign1,
    verify_signature,
)
from fangkong.credential.issue import seal
from fangkong.credential.keys import KeyStatus, KeyStore
from fangkong.credential.refusal import Refusal
from fangkong.errors import ConflictError, CredentialError, NotFoundError

__all__ = [
    "TrustList",
    "TrustStore",
    "TrustedKey",
    "WithdrawnKey",
    "add_dcc_signer",
    "anchor_of",
    "import_trust_list",
    "load_trust_store",
    "publish_trust_list",
    "read_signed_document",
]

logger = logging.getLogger(__name__)

TRUST_LIST_TYPE = "fangkong-trust-list"


@dataclass(frozen=True, slots=True)
class TrustedKey:
    region: str  # GB/T 2260 code, or an ISO 3166 country code for EU DCC signers
    certificate: SignerCertificate


@dataclass(frozen=True, slots=True)
class WithdrawnKey:
    region: str
    key_id: bytes
    since: float
    why: str


@dataclass(frozen=True, slots=True)
class TrustList:
    region: str
    sequence: int
    keys: tuple[TrustedKey, ...]
    withdrawn: tuple[WithdrawnKey, ...]


@dataclass
class TrustStore:
    """What a verifier trusts: signer keys by key id, withdrawn key ids, the known regions."""

    keys: dict[bytes, list[TrustedKey]] = field(default_factory=dict)
    withdrawn: dict[bytes, WithdrawnKey] = field(default_factory=dict)
    regions: set[str] = field(default_factory=set)

    def add_list(self, trust_list: TrustList) -> None:
        self.regions.add(trust_list.region)
        for key in trust_list.keys:
            self.add_key(key)
        for gone in trust_list.withdrawn:
            self.withdrawn[gone.key_id] = gone
            self.keys.pop(gone.key_id, None)

    def add_key(self, key: TrustedKey) -> None:
        self.regions.add(key.region)
        if key.certificate.key_id not in self.withdrawn:
            self.keys.setdefault(key.certificate.key_id, []).append(key)


def read_signed_document(data: bytes, anchor: SignerCertificate, kind: str) -> Mapping[Any, Any]:
    """The payload map of a sealed document, verified with `anchor`."""
    message = parse_sign1(data)
    if message.key_id != anchor.key_id:
        raise CredentialError(Refusal.BAD_SIGNATURE, f"the {kind} is not signed by this anchor")
    verify_signature(message, anchor.public_key)
    body = decode_cbor(message.payload, Refusal.BAD_FILE, f"the {kind}")
    if not isinstance(body, MAP_TYPES) or body.get("typ") != kind or body.get("v") != 1:
        raise CredentialError(Refusal.BAD_FILE, f"not a {kind}")
    return body


def _parse(body: Mapping[Any, Any]) -> TrustList:
    try:
        region = str(body["region"])
        keys = tuple(
            TrustedKey(region, read_certificate(bytes(entry["cert"]))) for entry in body["keys"]
        )
        withdrawn = tuple(
            WithdrawnKey(region, bytes(e["kid"]), float(e["since"]), str(e["why"]))
            for e in body["withdrawn"]
        )
        sequence = int(body["seq"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CredentialError(Refusal.BAD_FILE, "a trust list entry is malformed") from exc
    return TrustList(region, sequence, keys, withdrawn)


def publish_trust_list(store: KeyStore, *, now: datetime) -> bytes:
    """The signed trust list of `store`'s region: active and retired signers, and withdrawn
    ones named as such. Its sequence number is the publication time in microseconds."""
    keys, withdrawn = [], []
    for record in store.signers:
        if record.status is KeyStatus.WITHDRAWN:
            since = datetime.fromisoformat(record.changed or record.created).timestamp()
            withdrawn.append(
                {"kid": bytes.fromhex(record.key_id), "since": since, "why": record.why or ""}
            )
        else:
            keys.append(
                {"kid": bytes.fromhex(record.key_id), "cert": store.certificate_der(record.key_id)}
            )
    body = {
        "typ": TRUST_LIST_TYPE,
        "v": 1,
        "region": store.region,
        "seq": int(now.timestamp() * 1_000_000),
        "keys": keys,
        "withdrawn": withdrawn,
    }
    return seal(store.anchor(), cbor2.dumps(body))


def _anchor_path(directory: Path, region: str) -> Path:
    return directory / "anchors" / f"{region}.der"


def anchor_of(directory: Path, region: str) -> SignerCertificate:
    """The pinned anchor certificate of `region` in a trust folder."""
    path = _anchor_path(directory, region)
    if not path.exists():
        raise NotFoundError(f"{directory}: no pinned anchor for region {region}")
    return read_certificate(path.read_bytes())


def _list_path(directory: Path, region: str) -> Path:
    return directory / "trust" / f"{region}.cose"


def import_trust_list(directory: Path, data: bytes, *, anchor: bytes | None = None) -> TrustList:
    """Verify a published trust list and keep it in `directory` (a verifier's trust folder).

    `anchor` (PEM or DER) is needed the first time a region is imported; afterwards the pinned
    anchor is used, and a different one given is a conflict.
    """
    message = parse_sign1(data)
    claimed = decode_cbor(message.payload, Refusal.BAD_FILE, "the trust list")
    if not isinstance(claimed, MAP_TYPES) or not isinstance(claimed.get("region"), str):
        raise CredentialError(Refusal.BAD_FILE, "not a trust list")
    region: str = claimed["region"]
    pinned_path = _anchor_path(directory, region)
    if pinned_path.exists():
        pinned = read_certificate(pinned_path.read_bytes())
        if anchor is not None and read_certificate(anchor).der != pinned.der:
            raise ConflictError(f"region {region} already has another pinned anchor")
    elif anchor is None:
        raise NotFoundError(f"region {region} has no pinned anchor: give its anchor certificate")
    else:
        pinned = read_certificate(anchor)
    trust_list = _parse(read_signed_document(data, pinned, TRUST_LIST_TYPE))
    held_path = _list_path(directory, region)
    if held_path.exists():
        held = _parse(read_signed_document(held_path.read_bytes(), pinned, TRUST_LIST_TYPE))
        if trust_list.sequence < held.sequence:
            raise ConflictError(
                f"the trust list of {region} is older than the one held (sequence "
                f"{trust_list.sequence} < {held.sequence})"
            )
    for path, content in ((pinned_path, pinned.der), (held_path, data)):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(content)
        tmp.replace(path)
    logger.info("imported the trust list of %s: %d keys", region, len(trust_list.keys))
    return trust_list


def add_dcc_signer(directory: Path, certificate: bytes, country: str) -> SignerCertificate:
    """Trust an EU DCC document signer certificate (as published by the DCC gateway of
    `country`, ISO 3166 alpha-2) for verifying that country's DCCs: kept in `dcc/`."""
    if len(country) != 2 or not country.isalpha() or not country.isupper():
        raise CredentialError(Refusal.BAD_FILE, f"{country!r} is not an ISO 3166 alpha-2 code")
    signer = read_certificate(certificate)
    path = directory / "dcc" / f"{country}-{signer.key_id.hex()}.der"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(signer.der)
    return signer


def load_trust_store(directory: Path, extra: Iterable[TrustedKey] = ()) -> TrustStore:
    """The verifier's trust: every held list in `directory`, each verified with its anchor,
    and the EU DCC signers added with `add_dcc_signer`."""
    store = TrustStore()
    for path in sorted((directory / "dcc").glob("*.der")):
        store.add_key(TrustedKey(path.stem.split("-", 1)[0], read_certificate(path.read_bytes())))
    for list_path in sorted((directory / "trust").glob("*.cose")):
        region = list_path.stem
        anchor_path = _anchor_path(directory, region)
        if not anchor_path.exists():
            raise CredentialError(Refusal.BAD_FILE, f"{list_path}: no pinned anchor for {region}")
        anchor = read_certificate(anchor_path.read_bytes())
        body = read_signed_document(list_path.read_bytes(), anchor, TRUST_LIST_TYPE)
        store.add_list(_parse(body))
    for key in extra:
        store.add_key(key)
    return store
