"""Offline verification of a code: fangkong's health codes and EU DCCs, one verifier.

Order of the checks (each refusal is a typed `Refusal`):
    prefix, Base45, zlib (`envelope`) → COSE_Sign1 (`cose`) → CWT claims (`claims`) →
    key id (8 bytes, protected header first) → withdrawn? → trusted region? → known key? →
    algorithm → signature (strict) → issuer = the key's region (fangkong codes) →
    issued-at / expiry against the verification time → payload (fangkong payload, or the DCC
    schema and the signer's key usage) → revocation (identifier, region + identifier, signature).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fangkong.credential import dcc as dcc_payload
from fangkong.credential.claims import Claims, read_claims
from fangkong.credential.cose import Sign1, parse_sign1, verify_signature
from fangkong.credential.envelope import Prefix, unwrap
from fangkong.credential.healthcode import CodePayload, read_payload
from fangkong.credential.refusal import Refusal
from fangkong.credential.revocation import RevocationSet, load_revocations
from fangkong.credential.trust import TrustedKey, TrustStore, load_trust_store
from fangkong.errors import CredentialError

__all__ = ["VerifiedCode", "Verifier"]


# not frozen: one is made per code verified, and a frozen dataclass's __init__ costs more
@dataclass(slots=True)
class VerifiedCode:
    """An accepted code."""

    kind: Prefix
    issuer: str  # the region (GB/T 2260) or, for a DCC, the iss claim (a country)
    key_id: bytes
    issued_at: float | None
    expires: float | None
    health: CodePayload | None  # a fangkong code's payload
    dcc: dict[str, Any] | None  # a DCC's payload, as JSON data
    dcc_kind: str | None  # "v", "t" or "r"


class Verifier:
    """Verifies codes against a trust store and a revocation set, at a given time."""

    def __init__(self, trust: TrustStore, revocations: RevocationSet | None = None) -> None:
        self.trust = trust
        self.revocations = revocations or RevocationSet()

    @classmethod
    def from_folder(cls, directory: Path) -> Verifier:
        """The verifier of a trust folder: its trust lists, EU DCC signers and revocations."""
        return cls(load_trust_store(directory), load_revocations(directory))

    def verify(self, text: str, *, at: float) -> VerifiedCode:
        """Verify a QR text at `at` (epoch seconds); CredentialError naming the refusal."""
        prefix, cose = unwrap(text)
        return self.verify_cose(prefix, cose, at=at)

    def signer_of(self, message: Sign1, claims: Claims) -> TrustedKey:
        """The trusted key that made `message`'s signature; the refusal if there is none."""
        kid = message.key_id
        if not isinstance(kid, bytes) or len(kid) != 8:
            raise CredentialError(Refusal.NO_KEY_ID, "no 8-byte key id in the headers")
        if kid in self.trust.withdrawn:
            gone = self.trust.withdrawn[kid]
            raise CredentialError(
                Refusal.KEY_WITHDRAWN, f"key {kid.hex()} of {gone.region} was withdrawn"
            )
        candidates = self.trust.keys.get(kid)
        if not candidates:
            if claims.issuer is not None and claims.issuer not in self.trust.regions:
                raise CredentialError(
                    Refusal.UNKNOWN_REGION, f"region {claims.issuer} is on no trust list"
                )
            raise CredentialError(Refusal.UNKNOWN_KEY, f"key {kid.hex()} is on no trust list")
        failure: CredentialError | None = None
        for candidate in candidates:  # DCC key ids may collide: try each certificate
            try:
                verify_signature(message, candidate.certificate.public_key)
            except CredentialError as exc:
                failure = exc
                continue
            return candidate
        assert failure is not None
        raise failure

    def verify_cose(self, prefix: Prefix, cose: bytes, *, at: float) -> VerifiedCode:
        message = parse_sign1(cose)
        claims = read_claims(message.payload)
        if prefix is Prefix.FANGKONG and (claims.issuer is None or claims.expires is None):
            raise CredentialError(Refusal.BAD_CLAIMS, "a health code needs iss and exp")
        signer = self.signer_of(message, claims)
        if prefix is Prefix.FANGKONG and signer.region != claims.issuer:
            raise CredentialError(
                Refusal.ISSUER_MISMATCH,
                f"the code names region {claims.issuer}, its key is {signer.region}'s",
            )
        check_times(claims, at=at)
        health: CodePayload | None = None
        dcc: dict[str, Any] | None = None
        kind: str | None = None
        if prefix is Prefix.FANGKONG:
            health = read_payload(claims.fangkong)
            if health.region != claims.issuer:
                raise CredentialError(Refusal.ISSUER_MISMATCH, "payload region is not iss")
            identifier: str | None = health.code_id
        else:
            dcc = dcc_payload.dcc_from_hcert(claims.hcert)
            dcc_payload.validate_schema(dcc)
            kind = dcc_payload.entry_kind(dcc)
            dcc_payload.check_key_usage(signer.certificate, kind)
            entry = dcc[kind][0]
            identifier = entry.get("ci") if isinstance(entry, dict) else None
        revoked = self.revocations.revoked_by(
            identifier=identifier,
            issuer=claims.issuer or "",
            signature=message.signature,
            algorithm=message.algorithm,
        )
        if revoked is not None:
            raise CredentialError(Refusal.REVOKED, f"revoked (by {revoked.value} hash)")
        return VerifiedCode(
            kind=prefix,
            issuer=claims.issuer or signer.region,
            key_id=message.key_id,
            issued_at=claims.issued_at,
            expires=claims.expires,
            health=health,
            dcc=dcc,
            dcc_kind=kind,
        )


def check_times(claims: Claims, *, at: float) -> None:
    """NOT_YET_VALID before iat, EXPIRED after exp (either claim may be absent for a DCC)."""
    if claims.issued_at is not None and at < claims.issued_at:
        raise CredentialError(Refusal.NOT_YET_VALID, "issued after the verification time")
    if claims.expires is not None and at > claims.expires:
        raise CredentialError(Refusal.EXPIRED, "past its expiry")
