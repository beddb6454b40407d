"""Every way a code is refused, each with its typed reason; and what is read liberally."""

from __future__ import annotations

import zlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.credential import base45
from fangkong.credential.claims import CLAIM_EXP, CLAIM_FANGKONG, CLAIM_IAT, CLAIM_ISS
from fangkong.credential.cose import encode_sign1, parse_sign1, sign_es256, to_be_signed
from fangkong.credential.envelope import Prefix, unwrap, wrap
from fangkong.credential.healthcode import payload_map
from fangkong.credential.issue import code_cose, code_id, protected_header
from fangkong.credential.keys import KeyStore, Signer
from fangkong.credential.refusal import Refusal
from fangkong.credential.revocation import (
    HashType,
    import_revocation_list,
    publish_revocation_list,
    revocation_hash,
)
from fangkong.errors import CredentialError
from fangkong.model.glossary import CodeColour

from .conftest import FACTS, T0, Regions


def refusal(regions: Regions, text: str, at: float = T0 + 60) -> Refusal:
    with pytest.raises(CredentialError) as caught:
        regions.verifier().verify(text, at=at)
    assert isinstance(caught.value.reason, Refusal)
    return caught.value.reason


def test_valid_code_is_accepted_with_its_colour_and_reasons(regions: Regions) -> None:
    code = regions.verifier().verify(regions.code(), at=T0 + 60)
    assert code.issuer == "310000"
    assert code.health is not None
    assert code.health.colour is CodeColour.YELLOW
    assert code.health.reasons == FACTS.reasons
    assert code.expires == T0 + 24 * 3600


def _rewrap(text: str, change: bytes, position: int) -> str:
    prefix, cose = unwrap(text)
    mutated = bytearray(cose)
    mutated[position] ^= change[0]
    return wrap(bytes(mutated), prefix)


def test_forged_signature_is_refused(regions: Regions) -> None:
    assert refusal(regions, _rewrap(regions.code(), b"\x01", -1)) is Refusal.BAD_SIGNATURE


def test_tampered_payload_is_refused(regions: Regions) -> None:
    prefix, cose = unwrap(regions.code())
    message = parse_sign1(cose)
    claims = cbor2.loads(message.payload)
    claims[CLAIM_FANGKONG]["c"] = "g"  # yellow → green, signature kept
    tampered = encode_sign1(message.protected_bytes, cbor2.dumps(claims), message.signature)
    assert refusal(regions, wrap(tampered, prefix)) is Refusal.BAD_SIGNATURE


def test_expired_and_not_yet_valid(regions: Regions) -> None:
    assert refusal(regions, regions.code(), at=T0 + 24 * 3600 + 1) is Refusal.EXPIRED
    assert refusal(regions, regions.code(), at=T0 - 1) is Refusal.NOT_YET_VALID


def test_wrong_key_with_a_trusted_key_id_is_refused(regions: Regions) -> None:
    impostor = Signer(ec.generate_private_key(ec.SECP256R1()), b"not the certificate")
    trusted = regions.shanghai.active()
    cose = code_cose(
        FACTS,
        signer=impostor,
        region="310000",
        issued_at=T0,
        validity_hours=24,
        protected=protected_header(trusted),  # claims the trusted key id
    )
    assert refusal(regions, wrap(cose, Prefix.FANGKONG)) is Refusal.BAD_SIGNATURE


def test_unknown_key_of_a_trusted_region(regions: Regions) -> None:
    regions.shanghai.rotate(now=datetime.now(UTC), valid_days=30)  # not yet published
    assert refusal(regions, regions.code()) is Refusal.UNKNOWN_KEY
    regions.republish()
    regions.verifier().verify(regions.code(), at=T0 + 60)


def test_unknown_region(regions: Regions, tmp_path: Path) -> None:
    guangdong = KeyStore.create(tmp_path / "gd", "440000", now=datetime.now(UTC), valid_days=30)
    assert refusal(regions, regions.code(guangdong)) is Refusal.UNKNOWN_REGION


def test_code_naming_another_region_than_its_key(regions: Regions) -> None:
    signer = regions.shanghai.active()
    claims = {
        CLAIM_ISS: "320000",  # Shanghai's key, Jiangsu's name
        CLAIM_IAT: T0,
        CLAIM_EXP: T0 + 3600,
        CLAIM_FANGKONG: payload_map(FACTS, code_id="x", region="320000"),
    }
    header = protected_header(signer)
    payload = cbor2.dumps(claims)
    signature = sign_es256(signer.key, cbor2.dumps(["Signature1", header, b"", payload]))
    text = wrap(encode_sign1(header, payload, signature), Prefix.FANGKONG)
    assert refusal(regions, text) is Refusal.ISSUER_MISMATCH


def test_withdrawn_key_invalidates_every_code_it_signed(regions: Regions) -> None:
    leaked = regions.shanghai.signers[0].key_id
    codes = [regions.code() for _ in range(3)]
    regions.shanghai.rotate(now=datetime.now(UTC), valid_days=30)
    regions.shanghai.withdraw(leaked, now=datetime.now(UTC), why="leaked")
    fresh = regions.code()
    regions.republish()
    assert {refusal(regions, c) for c in codes} == {Refusal.KEY_WITHDRAWN}
    regions.verifier().verify(fresh, at=T0 + 60)


@pytest.mark.parametrize("kind", list(HashType))
def test_revoked_by_each_hash_type(regions: Regions, kind: HashType) -> None:
    text = regions.code()
    other = regions.code(facts=replace(FACTS, subject="aa" * 16))
    message = parse_sign1(unwrap(text)[1])
    digest = revocation_hash(
        kind,
        identifier=code_id("310000", FACTS.subject, T0),
        issuer="310000",
        signature=message.signature,
        algorithm=message.algorithm,
    )
    data = publish_revocation_list(regions.shanghai, [(kind, digest)], now=datetime.now(UTC))
    import_revocation_list(regions.verifier_dir, data)
    assert refusal(regions, text) is Refusal.REVOKED
    regions.verifier().verify(other, at=T0 + 60)


def test_signature_hash_takes_r_only(regions: Regions) -> None:
    message = parse_sign1(unwrap(regions.code())[1])
    r_only = revocation_hash(
        HashType.SIGNATURE,
        identifier="",
        issuer="",
        signature=message.signature[:32] + bytes(32),
        algorithm=message.algorithm,
    )
    assert r_only == revocation_hash(
        HashType.SIGNATURE,
        identifier="",
        issuer="",
        signature=message.signature,
        algorithm=message.algorithm,
    )


def _signed(
    signer: Signer,
    header: dict[int, object],
    unprotected: dict[int, object],
    claims: dict[int, object],
    *,
    tag: int | None,
) -> str:
    protected = cbor2.dumps(header)
    payload = cbor2.dumps(claims)
    signature = sign_es256(signer.key, cbor2.dumps(["Signature1", protected, b"", payload]))
    item: object = [protected, unprotected, payload, signature]
    if tag is not None:
        item = cbor2.CBORTag(tag, item)
    return Prefix.FANGKONG.value + base45.encode(zlib.compress(cbor2.dumps(item)))


@pytest.mark.parametrize(
    ("iat", "exp"),
    [
        (T0, T0 + 3600),  # plain ints
        (float(T0), T0 + 3600.5),  # floats
        (cbor2.CBORTag(1, T0), cbor2.CBORTag(1, float(T0 + 3600))),  # tag 1 numbers
        (
            cbor2.CBORTag(0, "2022-07-01T08:00:00Z"),
            cbor2.CBORTag(0, "2022-07-01T09:00:00+00:00"),
        ),  # tag 0 strings
    ],
)
def test_dates_in_any_cbor_encoding(regions: Regions, iat: object, exp: object) -> None:
    signer = regions.shanghai.active()
    claims = {
        CLAIM_ISS: "310000",
        CLAIM_IAT: iat,
        CLAIM_EXP: exp,
        CLAIM_FANGKONG: payload_map(FACTS, code_id="c", region="310000"),
    }
    text = _signed(signer, {1: -7, 4: signer.key_id}, {}, claims, tag=18)
    assert regions.verifier().verify(text, at=T0 + 60).expires is not None
    assert refusal(regions, text, at=T0 + 7200) is Refusal.EXPIRED


@pytest.mark.parametrize("tag", [None, 18, 61])
@pytest.mark.parametrize("where", ["protected", "unprotected"])
def test_untagged_or_tagged_and_headers_in_either_place(
    regions: Regions, tag: int | None, where: str
) -> None:
    signer = regions.shanghai.active()
    headers: dict[int, object] = {1: -7, 4: signer.key_id}
    claims = {
        CLAIM_ISS: "310000",
        CLAIM_IAT: T0,
        CLAIM_EXP: T0 + 3600,
        CLAIM_FANGKONG: payload_map(FACTS, code_id="c", region="310000"),
    }
    protected, unprotected = (headers, {}) if where == "protected" else ({}, headers)
    regions.verifier().verify(_signed(signer, protected, unprotected, claims, tag=tag), at=T0 + 1)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("HC2:NCFOXN", Refusal.BAD_PREFIX),
        ("FK1:a lower-case letter", Refusal.BAD_BASE45),
        ("FK1:0", Refusal.BAD_BASE45),
        ("FK1:" + base45.encode(b"\x78\x9c not zlib"), Refusal.BAD_COMPRESSION),
        ("FK1:" + base45.encode(zlib.compress(b"\xff\xff")), Refusal.BAD_COSE),
        (
            "FK1:" + base45.encode(zlib.compress(cbor2.dumps([b"", {}, b"\x01", b""]))),
            Refusal.BAD_CLAIMS,
        ),
    ],
)
def test_broken_layers(regions: Regions, text: str, reason: Refusal) -> None:
    assert refusal(regions, text) is reason


@settings(max_examples=200, deadline=None)
@given(
    protected=st.binary(max_size=300), payload=st.binary(max_size=70000), sig=st.binary(max_size=80)
)
def test_direct_cbor_writing_matches_cbor2(protected: bytes, payload: bytes, sig: bytes) -> None:
    assert to_be_signed(protected, payload) == cbor2.dumps(["Signature1", protected, b"", payload])
    assert encode_sign1(protected, payload, sig) == cbor2.dumps(
        cbor2.CBORTag(18, [protected, {}, payload, sig])
    )


def _with_header(regions: Regions, header: dict[int, object], *, signature_size: int = 64) -> str:
    """A Shanghai code whose protected header is `header` (signed), signature cut or padded."""
    signer = regions.shanghai.active()
    claims = {
        CLAIM_ISS: "310000",
        CLAIM_IAT: T0,
        CLAIM_EXP: T0 + 3600,
        CLAIM_FANGKONG: payload_map(FACTS, code_id="c", region="310000"),
    }
    protected, payload = cbor2.dumps(header), cbor2.dumps(claims)
    signature = sign_es256(signer.key, to_be_signed(protected, payload))
    signature = (signature + bytes(signature_size))[:signature_size]
    return wrap(encode_sign1(protected, payload, signature), Prefix.FANGKONG)


def test_dcc_cases_without_vectors(regions: Regions) -> None:
    """CO24–CO27 of the DCC's list, which have no test file upstream."""
    kid = regions.shanghai.active().key_id
    # CO24: an ECDSA signature longer than 70 bytes must not crash
    assert refusal(regions, _with_header(regions, {1: -7, 4: kid}, signature_size=72)) is (
        Refusal.BAD_SIGNATURE
    )
    # CO25 / CO26: key ids shorter or longer than 8 bytes
    assert refusal(regions, _with_header(regions, {1: -7, 4: kid[:7]})) is Refusal.NO_KEY_ID
    assert refusal(regions, _with_header(regions, {1: -7, 4: kid + b"\x00"})) is Refusal.NO_KEY_ID
    # CO27: an RSA algorithm id over an ECDSA signature
    assert refusal(regions, _with_header(regions, {1: -37, 4: kid})) is Refusal.BAD_SIGNATURE
    # CO4: an algorithm other than ES256 / PS256
    assert refusal(regions, _with_header(regions, {1: -8, 4: kid})) is (
        Refusal.UNSUPPORTED_ALGORITHM
    )
