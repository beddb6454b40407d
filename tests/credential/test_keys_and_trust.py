"""The key store (files, modes, rotation), trust list import rules, lenient certificates."""

from __future__ import annotations

import base64
import json
import random
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.credential import base45
from fangkong.credential.certificate import read_certificate
from fangkong.credential.cose import parse_sign1, verify_signature
from fangkong.credential.keys import KeyStatus, KeyStore
from fangkong.credential.refusal import Refusal
from fangkong.credential.trust import import_trust_list, load_trust_store, publish_trust_list
from fangkong.errors import ConflictError, CredentialError, NotFoundError

from .conftest import NOW, Regions

VECTORS = Path(__file__).parents[1] / "data" / "real" / "dcc-testdata"


def test_private_keys_are_0600_and_certificates_are_real_x509(regions: Regions) -> None:
    directory = regions.shanghai.directory
    for key_file in [*directory.glob("*.key.pem"), directory / "pseudonym.key"]:
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600, key_file
    anchor = x509.load_pem_x509_certificate((directory / "anchor.cert.pem").read_bytes())
    signer_der = regions.shanghai.active().certificate_der
    signer = x509.load_der_x509_certificate(signer_der)
    assert signer.issuer == anchor.subject
    signer.verify_directly_issued_by(anchor)
    assert regions.shanghai.active().key_id == read_certificate(signer_der).key_id


def test_rotate_retire_withdraw(regions: Regions) -> None:
    store = regions.shanghai
    first = store.signers[0].key_id
    second = store.rotate(now=NOW, valid_days=30).key_id
    assert [(r.key_id, r.status) for r in KeyStore.open(store.directory).signers] == [
        (first, KeyStatus.RETIRED),
        (second, KeyStatus.ACTIVE),
    ]
    retired = KeyStore.open(store.directory).signers[0].changed
    with pytest.raises(ConflictError, match="already retired"):  # the day it retired stays
        store.retire(first, now=NOW + timedelta(days=3))
    assert KeyStore.open(store.directory).signers[0].changed == retired
    store.withdraw(first, now=NOW, why="leaked")
    with pytest.raises(ConflictError):
        store.withdraw(first, now=NOW, why="again")
    with pytest.raises(NotFoundError):
        store.retire("00" * 8, now=NOW)
    with pytest.raises(ConflictError):
        KeyStore.create(store.directory, "310000", now=NOW, valid_days=1)


def test_import_needs_the_anchor_once_and_refuses_rollback_and_other_anchors(
    regions: Regions, tmp_path: Path
) -> None:
    old = publish_trust_list(regions.shanghai, now=datetime(2022, 7, 2, tzinfo=UTC))
    new = publish_trust_list(regions.shanghai, now=datetime(2022, 7, 3, tzinfo=UTC))
    fresh = tmp_path / "fresh"
    with pytest.raises(NotFoundError):
        import_trust_list(fresh, new)
    import_trust_list(fresh, new, anchor=regions.shanghai.anchor().certificate_der)
    with pytest.raises(ConflictError):
        import_trust_list(fresh, old)
    with pytest.raises(ConflictError):
        import_trust_list(fresh, new, anchor=regions.jiangsu.anchor().certificate_der)
    # a list signed by another region's anchor, pinned for Shanghai, is refused
    forged = publish_trust_list(regions.jiangsu, now=NOW)
    (fresh / "anchors" / "320000.der").parent.mkdir(exist_ok=True)
    (fresh / "anchors" / "320000.der").write_bytes(regions.shanghai.anchor().certificate_der)
    with pytest.raises(CredentialError) as caught:
        import_trust_list(fresh, forged)
    assert caught.value.reason is Refusal.BAD_SIGNATURE
    assert set(load_trust_store(fresh).regions) == {"310000"}


def test_malformed_files_name_the_problem(regions: Regions, tmp_path: Path) -> None:
    with pytest.raises(CredentialError) as caught:
        import_trust_list(tmp_path, b"\x00not cbor")
    assert caught.value.reason is Refusal.BAD_COSE
    (regions.shanghai.directory / "store.json").write_text("{", encoding="utf-8")
    with pytest.raises(CredentialError) as caught:
        KeyStore.open(regions.shanghai.directory)
    assert caught.value.reason is Refusal.BAD_FILE
    assert "store.json" in str(caught.value)
    with pytest.raises(CredentialError):
        read_certificate(b"\x30\x82\xff\xff")


def _vector(name: str) -> dict[str, object]:
    data = json.loads((VECTORS / "common/2DCode/raw" / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_certificate_that_bends_der_still_verifies() -> None:
    vector = _vector("CO3.json")
    der = base64.b64decode(str(vector["TESTCTX"]["CERTIFICATE"]))  # type: ignore[index]
    # re-encode the outer SEQUENCE's length with a superfluous leading zero byte (not DER)
    assert der[1] == 0x82
    bent = bytes([0x30, 0x83, 0x00]) + der[2:]
    with pytest.raises(ValueError):
        x509.load_der_x509_certificate(bent)
    certificate = read_certificate(bent)
    assert certificate.key_id != read_certificate(der).key_id  # a different DER, the same key
    assert certificate.public_key == read_certificate(der).public_key
    message = parse_sign1(bytes.fromhex(str(vector["COSE"])))
    verify_signature(message, certificate.public_key)


def test_broken_key_usage_extension_restricts_nothing() -> None:
    vector = _vector("CO15.json")
    certificate = read_certificate(str(vector["TESTCTX"]["CERTIFICATE"]))  # type: ignore[index]
    assert certificate.extended_key_usages == frozenset()


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"AB", "BB8"),
        (b"Hello!!", "%69 VD92EX0"),
        (b"base-45", "UJCLQE7W581"),
        (b"ietf!", "QED8WEX0"),
    ],
)
def test_base45_rfc_9285_examples(data: bytes, text: str) -> None:
    assert base45.encode(data) == text
    assert base45.decode(text) == data


def _base45_by_the_rfc(text: str) -> bytes | None:
    """RFC 9285's decoding, one group at a time; None where the text is not Base45."""
    values = [base45.ALPHABET.find(c) for c in text]
    if -1 in values or len(values) % 3 == 1:
        return None
    out = bytearray()
    for i in range(0, len(values), 3):
        group = values[i : i + 3]
        n = sum(v * 45**k for k, v in enumerate(group))
        if n >= 256 ** (len(group) - 1):
            return None
        out += n.to_bytes(len(group) - 1, "big")
    return bytes(out)


@settings(max_examples=500, deadline=None)
@given(
    text=st.one_of(
        st.text(alphabet=base45.ALPHABET, max_size=40),  # mostly valid, some groups too large
        st.text(alphabet=base45.ALPHABET + "a:é", max_size=12),
        st.binary(max_size=300).map(base45.encode),
    )
)
def test_base45_decodes_as_the_rfc_does(text: str) -> None:
    """The whole-text decoding (one Python integer for all groups) gives the RFC's bytes and
    refuses exactly the texts the RFC's arithmetic refuses (a group above 0xFFFF, a last pair
    above 0xFF, a stray character, a length of 3k + 1)."""
    expected = _base45_by_the_rfc(text)
    if expected is None:
        with pytest.raises(CredentialError) as caught:
            base45.decode(text)
        assert caught.value.reason is Refusal.BAD_BASE45
    else:
        assert base45.decode(text) == expected


def test_base45_decodes_texts_longer_than_a_qr_code() -> None:
    data = random.Random(9).randbytes(9000)  # 13,500 characters: past the masks kept
    assert base45.decode(base45.encode(data)) == data


@pytest.mark.parametrize("text", ["GGW", "A", "a", "ÄB", "::::"])
def test_base45_refuses_what_is_not_base45(text: str) -> None:
    with pytest.raises(CredentialError) as caught:
        base45.decode(text)
    assert caught.value.reason is Refusal.BAD_BASE45


def test_public_surface() -> None:
    from fangkong import credential

    assert sorted(credential.__all__) == sorted(
        name
        for name in vars(credential)
        if (not name.startswith("_") and name[0].isupper())
        or name
        in {
            "add_dcc_signer",
            "import_trust_list",
            "issue_code",
            "load_trust_store",
            "publish_trust_list",
            "pseudonym",
            "sign_codes",
        }
    )
    for name in credential.__all__:
        assert getattr(credential, name) is not None
