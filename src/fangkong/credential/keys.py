"""The signer key store of one instance (one region): generate, rotate, retire, withdraw.

Layout of the store's directory (private keys are written with mode 0600):

    store.json                  region, the anchor's key id, each signer's status and dates
    anchor.key.pem / .cert.pem  the region's trust anchor (self-signed CA certificate): it signs
                                the signer certificates, the trust list and the revocation list
    signer-<kid>.key.pem / .cert.pem
                                the signers (document signer certificates, issued by the anchor)
    pseudonym.key               the secret of the pseudonymous subject identifiers

A signer is `active` (signs new codes; exactly one), `retired` (signs nothing new, but its
codes still verify until they expire: it stays on the trust list), or `withdrawn` (leaked or
lost: the trust list names it as withdrawn and every code it signed is refused).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fangkong.credential.certificate import key_id_of
from fangkong.credential.refusal import Refusal
from fangkong.errors import ConflictError, CredentialError, NotFoundError

__all__ = ["KeyStatus", "KeyStore", "Signer", "SignerRecord"]

_STORE = "store.json"


class KeyStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class SignerRecord:
    key_id: str  # hex
    status: KeyStatus
    created: str  # ISO 8601
    changed: str | None = None  # when it was retired or withdrawn
    why: str | None = None  # why it was withdrawn


@dataclass(frozen=True, slots=True)
class Signer:
    """A key that signs: its private key and the DER of its certificate."""

    key: ec.EllipticCurvePrivateKey
    certificate_der: bytes

    @property
    def key_id(self) -> bytes:
        return key_id_of(self.certificate_der)


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def _read_private(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CredentialError(Refusal.BAD_FILE, f"{path}: not a readable private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CredentialError(Refusal.BAD_FILE, f"{path}: not an EC private key")
    return key


def _name(common: str, region: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"fangkong {region}"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


class KeyStore:
    """A key store directory. Every change rewrites store.json atomically (write, rename)."""

    def __init__(self, directory: Path, region: str, signers: list[SignerRecord]) -> None:
        self.directory = directory
        self.region = region
        self.signers = signers

    # -- files -------------------------------------------------------------------------------
    @classmethod
    def open(cls, directory: Path) -> KeyStore:
        path = directory / _STORE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            region = str(data["region"])
            signers = [
                SignerRecord(
                    key_id=str(r["key_id"]),
                    status=KeyStatus(r["status"]),
                    created=str(r["created"]),
                    changed=r.get("changed"),
                    why=r.get("why"),
                )
                for r in data["signers"]
            ]
        except FileNotFoundError:
            raise NotFoundError(f"{path}: no key store here (fangkong keys generate)") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CredentialError(Refusal.BAD_FILE, f"{path}: not a key store file") from exc
        return cls(directory, region, signers)

    def _save(self) -> None:
        data: dict[str, Any] = {
            "region": self.region,
            "signers": [
                {k: v for k, v in _as_json(r).items() if v is not None} for r in self.signers
            ],
        }
        tmp = self.directory / (_STORE + ".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(self.directory / _STORE)

    @classmethod
    def create(cls, directory: Path, region: str, *, now: datetime, valid_days: int) -> KeyStore:
        """A new store for `region` (GB/T 2260 code) with its anchor and a first signer."""
        if (directory / _STORE).exists():
            raise ConflictError(f"{directory}: a key store already exists")
        directory.mkdir(parents=True, exist_ok=True)
        anchor = ec.generate_private_key(ec.SECP256R1())
        name = _name(f"fangkong trust anchor {region}", region)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(anchor.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=valid_days * 5))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .sign(anchor, hashes.SHA256())
        )
        _write_private(directory / "anchor.key.pem", anchor)
        (directory / "anchor.cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        fd = os.open(directory / "pseudonym.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
        store = cls(directory, region, [])
        store.generate(now=now, valid_days=valid_days)
        return store

    # -- keys --------------------------------------------------------------------------------
    def anchor(self) -> Signer:
        key = _read_private(self.directory / "anchor.key.pem")
        cert = x509.load_pem_x509_certificate((self.directory / "anchor.cert.pem").read_bytes())
        return Signer(key, cert.public_bytes(serialization.Encoding.DER))

    def pseudonym_secret(self) -> bytes:
        return (self.directory / "pseudonym.key").read_bytes()

    def generate(self, *, now: datetime, valid_days: int) -> SignerRecord:
        """A new signer, issued by the anchor; it becomes active, the active one retires."""
        anchor = self.anchor()
        anchor_cert = x509.load_der_x509_certificate(anchor.certificate_der)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(f"fangkong code signer {self.region}", self.region))
            .issuer_name(anchor_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=valid_days))
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                critical=True,
            )
            .sign(anchor.key, hashes.SHA256())
        )
        der = cert.public_bytes(serialization.Encoding.DER)
        kid = key_id_of(der).hex()
        _write_private(self.directory / f"signer-{kid}.key.pem", key)
        (self.directory / f"signer-{kid}.cert.pem").write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
        )
        stamp = now.isoformat()
        self.signers = [
            replace(r, status=KeyStatus.RETIRED, changed=stamp)
            if r.status is KeyStatus.ACTIVE
            else r
            for r in self.signers
        ]
        record = SignerRecord(kid, KeyStatus.ACTIVE, stamp)
        self.signers.append(record)
        self._save()
        return record

    def rotate(self, *, now: datetime, valid_days: int) -> SignerRecord:
        """Generate a new active signer; the previous one is retired (its codes still verify)."""
        return self.generate(now=now, valid_days=valid_days)

    def _record(self, key_id: str) -> SignerRecord:
        for record in self.signers:
            if record.key_id == key_id.lower():
                return record
        raise NotFoundError(f"no signer with key id {key_id} in {self.directory}")

    def retire(self, key_id: str, *, now: datetime) -> None:
        self._set(key_id, KeyStatus.RETIRED, now, None)

    def withdraw(self, key_id: str, *, now: datetime, why: str) -> None:
        """Withdraw a (leaked) signer: every code it signed is refused once the trust list that
        says so is published and imported."""
        self._set(key_id, KeyStatus.WITHDRAWN, now, why)

    def _set(self, key_id: str, status: KeyStatus, now: datetime, why: str | None) -> None:
        record = self._record(key_id)
        if record.status is KeyStatus.WITHDRAWN:
            raise ConflictError(f"signer {key_id} is already withdrawn")
        if record.status is status:  # its record says since when: not to be moved
            raise ConflictError(f"signer {key_id} is already {status.value} since {record.changed}")
        updated = replace(record, status=status, changed=now.isoformat(), why=why)
        self.signers = [updated if r is record else r for r in self.signers]
        self._save()

    def active(self) -> Signer:
        """The signer of new codes."""
        for record in self.signers:
            if record.status is KeyStatus.ACTIVE:
                return self.signer(record.key_id)
        raise NotFoundError(f"{self.directory}: no active signer (fangkong keys rotate)")

    def signer(self, key_id: str) -> Signer:
        key = _read_private(self.directory / f"signer-{key_id}.key.pem")
        return Signer(key, self.certificate_der(key_id))

    def certificate_der(self, key_id: str) -> bytes:
        path = self.directory / f"signer-{key_id}.cert.pem"
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise CredentialError(Refusal.BAD_FILE, f"{path}: not a certificate") from exc
        return cert.public_bytes(serialization.Encoding.DER)


def _as_json(record: SignerRecord) -> dict[str, Any]:
    return {
        "key_id": record.key_id,
        "status": record.status.value,
        "created": record.created,
        "changed": record.changed,
        "why": record.why,
    }
