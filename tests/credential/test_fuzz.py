"""The decoder under random and mutated input: only CredentialError, and nothing altered is
ever accepted. Mutations are made at each layer: the QR text, the Base45-decoded (compressed)
bytes, the COSE bytes, and the signed claims inside a re-wrapped message."""

from __future__ import annotations

import json
import zlib
from datetime import datetime
from pathlib import Path

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fangkong.credential import base45
from fangkong.credential.cose import encode_sign1, parse_sign1
from fangkong.credential.envelope import Prefix, unwrap, wrap
from fangkong.credential.trust import add_dcc_signer, load_trust_store
from fangkong.credential.verify import Verifier
from fangkong.errors import CredentialError

from .conftest import T0, Regions

VECTORS = Path(__file__).parents[1] / "data" / "real" / "dcc-testdata"

FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def setup(regions: Regions) -> tuple[Verifier, str]:
    return regions.verifier(), regions.code()


def _assert_refused_or_same(
    verifier: Verifier, text: str, original: str, at: float = T0 + 60
) -> None:
    """Refused with a CredentialError, or accepted only if the signed content is unchanged
    (a mutation a layer undoes, e.g. inside zlib, is not an alteration)."""
    try:
        verifier.verify(text, at=at)
    except CredentialError:
        return
    before = parse_sign1(unwrap(original)[1])
    after = parse_sign1(unwrap(text)[1])
    assert (after.protected_bytes, after.payload, after.signature) == (
        before.protected_bytes,
        before.payload,
        before.signature,
    )


def _flip(data: bytes, position: int, value: int) -> bytes:
    out = bytearray(data)
    out[position % len(out)] ^= value
    return bytes(out)


@FUZZ
@given(text=st.text(max_size=400))
def test_random_text(setup: tuple[Verifier, str], text: str) -> None:
    verifier, _ = setup
    with pytest.raises(CredentialError):
        verifier.verify(text, at=T0)


@FUZZ
@given(data=st.binary(max_size=600), prefix=st.sampled_from(list(Prefix)))
def test_random_bytes_behind_a_prefix(
    setup: tuple[Verifier, str], data: bytes, prefix: Prefix
) -> None:
    verifier, _ = setup
    for body in (data, zlib.compress(data)):
        with pytest.raises(CredentialError):
            verifier.verify(prefix.value + base45.encode(body), at=T0)


@FUZZ
@given(position=st.integers(min_value=0), char=st.sampled_from(base45.ALPHABET + "a:é\x00"))
def test_mutated_text(setup: tuple[Verifier, str], position: int, char: str) -> None:
    verifier, original = setup
    index = position % len(original)
    mutated = original[:index] + char + original[index + 1 :]
    if mutated != original:
        _assert_refused_or_same(verifier, mutated, original)


@FUZZ
@given(position=st.integers(min_value=0), value=st.integers(min_value=1, max_value=255))
def test_mutated_compressed_bytes(setup: tuple[Verifier, str], position: int, value: int) -> None:
    verifier, original = setup
    compressed = base45.decode(original[4:])
    mutated = original[:4] + base45.encode(_flip(compressed, position, value))
    _assert_refused_or_same(verifier, mutated, original)


@FUZZ
@given(position=st.integers(min_value=0), value=st.integers(min_value=1, max_value=255))
def test_mutated_cose_bytes(setup: tuple[Verifier, str], position: int, value: int) -> None:
    verifier, original = setup
    prefix, cose = unwrap(original)
    _assert_refused_or_same(verifier, wrap(_flip(cose, position, value), prefix), original)


@FUZZ
@given(position=st.integers(min_value=0), value=st.integers(min_value=1, max_value=255))
def test_mutated_signed_claims(setup: tuple[Verifier, str], position: int, value: int) -> None:
    verifier, original = setup
    prefix, cose = unwrap(original)
    message = parse_sign1(cose)
    payload = _flip(message.payload, position, value)
    rebuilt = encode_sign1(message.protected_bytes, payload, message.signature)
    with pytest.raises(CredentialError):
        verifier.verify(wrap(rebuilt, prefix), at=T0 + 60)


@FUZZ
@given(
    claims=st.dictionaries(
        st.one_of(st.integers(-70000, 10), st.text(max_size=3)),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats()
            | st.text(max_size=8)
            | st.binary(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=3), inner, max_size=3)
            ),
            max_leaves=10,
        ),
        max_size=6,
    )
)
def test_well_formed_but_wrong_claims(
    setup: tuple[Verifier, str], claims: dict[object, object]
) -> None:
    verifier, original = setup
    message = parse_sign1(unwrap(original)[1])
    rebuilt = encode_sign1(message.protected_bytes, cbor2.dumps(claims), message.signature)
    with pytest.raises(CredentialError):
        verifier.verify(wrap(rebuilt, Prefix.FANGKONG), at=T0 + 60)


@pytest.fixture
def dcc_setup(tmp_path: Path) -> tuple[Verifier, str, float]:
    vector = json.loads((VECTORS / "CH/2DCode/raw/1.json").read_text(encoding="utf-8"))
    add_dcc_signer(tmp_path, vector["TESTCTX"]["CERTIFICATE"].encode(), "CH")
    at = datetime.fromisoformat(vector["TESTCTX"]["VALIDATIONCLOCK"]).timestamp()
    verifier = Verifier(load_trust_store(tmp_path))
    verifier.verify(vector["PREFIX"], at=at)
    return verifier, vector["PREFIX"], at


@FUZZ
@given(position=st.integers(min_value=0), value=st.integers(min_value=1, max_value=255))
def test_mutated_real_dcc(
    dcc_setup: tuple[Verifier, str, float], position: int, value: int
) -> None:
    verifier, original, at = dcc_setup
    prefix, cose = unwrap(original)
    _assert_refused_or_same(verifier, wrap(_flip(cose, position, value), prefix), original, at)
