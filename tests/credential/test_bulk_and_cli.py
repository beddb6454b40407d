"""Signing a frame of code facts; the commands end to end on real key folders."""

from __future__ import annotations

import json
import random
import zlib
from pathlib import Path

import cbor2
import polars as pl
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from fangkong.cli.app import app
from fangkong.credential import base45
from fangkong.credential.bulk import FACT_COLUMNS, sign_codes
from fangkong.credential.claims import CLAIM_FANGKONG
from fangkong.credential.cose import es256_der, parse_sign1, sign_es256
from fangkong.credential.envelope import compress, unwrap
from fangkong.credential.healthcode import CodeFacts, pseudonym
from fangkong.credential.issue import CodeClaims, issue_code
from fangkong.credential.qr import read_qr, write_qr
from fangkong.errors import InputError
from fangkong.model.glossary import CodeColour, CodeReason

from .conftest import T0, Regions


def _facts(n: int) -> pl.DataFrame:
    colours = ["green", "yellow", "red"]
    return pl.DataFrame(
        {
            "subject": [pseudonym(b"k", i) for i in range(n)],
            "colour": [colours[i % 3] for i in range(n)],
            "reasons": [[] if i % 3 == 0 else ["fever_clinic_visit"] for i in range(n)],
            "policy_id": ["cn-2022-06-28"] * n,
        },
        schema=FACT_COLUMNS,
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_sign_codes_for_a_frame(regions: Regions, workers: int) -> None:
    facts = _facts(301)
    codes = sign_codes(
        facts,
        signer=regions.shanghai.active(),
        region="310000",
        issued_at=T0,
        validity_hours=24,
        workers=workers,
        chunk_rows=50,
    )
    assert codes.len() == 301
    verifier = regions.verifier()
    got = [verifier.verify(text, at=T0 + 1).health for text in codes.to_list()]
    assert [g.colour.value for g in got if g] == facts["colour"].cast(pl.String).to_list()
    assert [g.subject for g in got if g] == facts["subject"].to_list()


def test_sign_codes_names_a_missing_column(regions: Regions) -> None:
    with pytest.raises(InputError, match="policy_id"):
        sign_codes(
            _facts(3).drop("policy_id"),
            signer=regions.shanghai.active(),
            region="310000",
            issued_at=T0,
            validity_hours=24,
        )


def test_qr_image_round_trip(regions: Regions, tmp_path: Path) -> None:
    text = regions.code()
    write_qr(text, tmp_path / "code.png")
    assert read_qr((tmp_path / "code.png").read_bytes()) == text


def test_commands_from_two_regions(tmp_path: Path) -> None:
    run = CliRunner().invoke
    sh, js = str(tmp_path / "sh"), str(tmp_path / "js")
    for region, keys in (("310000", sh), ("320000", js)):
        assert run(app, ["keys", "generate", "--region", region, "--keys", keys]).exit_code == 0
    published = tmp_path / "sh.cose"
    assert run(app, ["trust", "publish", "--keys", sh, "--out", str(published)]).exit_code == 0
    anchor = str(tmp_path / "sh" / "anchor.cert.pem")
    imported = run(app, ["trust", "import", str(published), "--anchor", anchor, "--keys", js])
    assert imported.exit_code == 0, imported.output
    signed = run(
        app,
        [
            "keys",
            "sign-code",
            "--person",
            "42",
            "--colour",
            "red",
            "--reason",
            "confirmed",
            "--policy",
            "cn-2022-06-28",
            "--keys",
            sh,
            "--qr",
            str(tmp_path / "c.png"),
        ],
    )
    assert signed.exit_code == 0, signed.output
    text = signed.output.strip()
    valid = run(app, ["verify", text, "--keys", js, "--format", "json"])
    assert valid.exit_code == 0, valid.output
    data = json.loads(valid.output)
    assert (data["colour"], data["reasons"], data["issuer"]) == (
        CodeColour.RED.value,
        ["confirmed"],
        "310000",
    )
    assert run(app, ["verify", str(tmp_path / "c.png"), "--keys", js]).exit_code == 0
    foreign = run(
        app,
        [
            "keys",
            "sign-code",
            "--person",
            "1",
            "--colour",
            "green",
            "--policy",
            "cn-2022-06-28",
            "--keys",
            js,
        ],
    ).output.strip()
    refused = run(app, ["verify", foreign, "--keys", sh])
    assert refused.exit_code == 2
    assert "unknown_region" in refused.output
    expired = run(app, ["verify", text, "--keys", js, "--at", "2099-01-01T00:00:00+00:00"])
    assert (expired.exit_code, "expired" in expired.output) == (2, True)
    missing = run(app, ["keys", "list", "--keys", str(tmp_path / "none")])
    assert missing.exit_code == 2


@pytest.mark.parametrize(
    ("colour", "reasons", "refusal"),
    [
        ("green", ["confirmed"], "the reasons confirmed give a red code, not green"),
        ("red", ["home_quarantine"], "the reasons home_quarantine give a yellow code, not red"),
        ("yellow", [], "the reasons (none) give a green code, not yellow"),
        ("yellow", ["fever_clinic_visit"], None),
    ],
)
def test_a_code_is_signed_only_with_the_colour_its_reasons_give(
    tmp_path: Path, colour: str, reasons: list[str], refusal: str | None
) -> None:
    # every verifier believes a signed code: it may not say what the policy's colours would not
    run = CliRunner().invoke
    keys = str(tmp_path / "sh")
    assert run(app, ["keys", "generate", "--region", "310000", "--keys", keys]).exit_code == 0
    given = [a for r in reasons for a in ("--reason", r)]
    args = ["keys", "sign-code", "--person", "42", "--colour", colour, *given]
    signed = run(app, [*args, "--policy", "cn-2022-06-28", "--keys", keys])
    if refusal is None:
        assert signed.exit_code == 0, signed.output
        assert signed.output.startswith("FK1:")
    else:
        assert signed.exit_code == 2
        assert refusal in " ".join(signed.output.split())


def test_a_reason_the_policy_lacks_is_refused(tmp_path: Path) -> None:
    run = CliRunner().invoke
    keys = str(tmp_path / "sh")
    assert run(app, ["keys", "generate", "--region", "310000", "--keys", keys]).exit_code == 0
    args = ["keys", "sign-code", "--person", "42", "--colour", "yellow"]
    # class-B management quarantines nobody
    signed = run(
        app, [*args, "--reason", "home_quarantine", "--policy", "cn-2023-01-08", "--keys", keys]
    )
    assert signed.exit_code == 2
    assert "cn-2023-01-08: no colour of this policy has the reason home_quarantine" in " ".join(
        signed.output.split()
    )


def test_malformed_files_are_named(tmp_path: Path) -> None:
    run = CliRunner().invoke
    keys = str(tmp_path / "keys")
    broken = tmp_path / "broken-trust.cose"
    broken.write_bytes(b"\xa1\x01")
    out = run(app, ["trust", "import", str(broken), "--keys", keys])
    assert out.exit_code == 2
    assert "broken-trust.cose" in out.output and "bad_cose" in out.output
    picture = tmp_path / "not-a-picture.png"
    picture.write_bytes(b"GIF89a nothing")
    out = run(app, ["verify", str(picture), "--keys", keys])
    assert out.exit_code == 2
    assert "not-a-picture.png" in out.output and "unreadable_image" in out.output
    cert = tmp_path / "dsc.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    out = run(app, ["trust", "add-dcc-signer", str(cert), "--country", "AT", "--keys", keys])
    assert out.exit_code == 2
    assert "dsc.pem" in out.output


_REGIONS = st.sampled_from(["310000", "320000", "110000"])
_SUBJECTS = st.one_of(
    st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),  # what pseudonym gives
    st.text(min_size=1, max_size=300),  # any text: heads of 1, 2 and 3 bytes, non-ASCII
)


@settings(max_examples=200, deadline=None)
@given(
    subject=_SUBJECTS,
    colour=st.sampled_from(list(CodeColour)),
    reasons=st.lists(st.sampled_from(list(CodeReason)), max_size=5, unique=True),
    policy=st.text(min_size=1, max_size=40),
    region=_REGIONS,
    issued_at=st.integers(min_value=0, max_value=2**40),
    hours=st.integers(min_value=1, max_value=24 * 400),
)
def test_spliced_claims_are_the_bytes_cbor2_writes(
    subject: str,
    colour: CodeColour,
    reasons: list[CodeReason],
    policy: str,
    region: str,
    issued_at: int,
    hours: int,
) -> None:
    """The claims of a code, spliced from the parts encoded once per issuance, are byte for
    byte what cbor2 writes for the claims map, and cbor2 reads them back as that map."""
    claims = CodeClaims(region, issued_at, hours)
    facts = CodeFacts(subject, colour, tuple(reasons), policy)
    spliced = claims.encode(subject, colour.value, tuple(r.value for r in reasons), policy)
    assert spliced == cbor2.dumps(claims.claims(facts))
    assert cbor2.loads(spliced) == claims.claims(facts)
    # a second code of the same colour, reasons and policy reuses the parts
    again = claims.encode(subject + "x", colour.value, tuple(r.value for r in reasons), policy)
    assert cbor2.loads(again)[CLAIM_FANGKONG]["sid"] == subject + "x"


def test_bulk_codes_verify_like_single_ones(regions: Regions) -> None:
    """A code signed in bulk and the same facts issued alone read back the same through the
    verifier (the signatures differ: ECDSA is randomised), and the COSE payloads are equal."""
    facts = _facts(7)
    signer = regions.shanghai.active()
    bulk = sign_codes(facts, signer=signer, region="310000", issued_at=T0, validity_hours=24)
    verifier = regions.verifier()
    for row, text in zip(facts.iter_rows(named=True), bulk.to_list(), strict=True):
        one = CodeFacts(
            row["subject"],
            CodeColour(row["colour"]),
            tuple(CodeReason(r) for r in row["reasons"]),
            row["policy_id"],
        )
        single = issue_code(one, signer=signer, region="310000", issued_at=T0, validity_hours=24)
        assert verifier.verify(text, at=T0 + 1) == verifier.verify(single, at=T0 + 1)
        assert parse_sign1(unwrap(text)[1]).payload == parse_sign1(unwrap(single)[1]).payload


@pytest.mark.parametrize("n", [0, 1, 23, 250, 388, 4096, 65531, 65532, 65535, 65536, 70000])
def test_stored_zlib_is_the_stream_zlib_writes(n: int) -> None:
    data = random.Random(n).randbytes(n)
    assert compress(data) == zlib.compress(data, 0)
    assert zlib.decompress(compress(data)) == data


def test_es256_signatures_are_read_out_of_der_as_the_library_reads_them() -> None:
    """r and s sliced out of OpenSSL's DER are the integers cryptography decodes, for
    signatures whose r or s is short (leading zero bytes) or long (a 00 before a high bit)."""
    key = ec.generate_private_key(ec.SECP256R1())
    long_r = short = 0
    for i in range(3000):
        data = i.to_bytes(4, "big")
        raw = sign_es256(key, data)
        r = int.from_bytes(raw[:32], "big")
        s = int.from_bytes(raw[32:], "big")
        key.public_key().verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
        long_r += r.bit_length() == 256  # DER: 33 bytes, a 00 first
        short += min(r.bit_length(), s.bit_length()) <= 248  # DER: 31 bytes or fewer
    assert long_r and short  # both shapes were met (about 1,500 and 23 expected)


@settings(max_examples=500, deadline=None)
@given(
    signature=st.one_of(
        st.binary(min_size=64, max_size=64),
        # r or s short (leading zero bytes), zero, or with its high bit set
        st.tuples(
            st.integers(min_value=0, max_value=32),
            st.integers(min_value=0, max_value=32),
            st.binary(min_size=64, max_size=64),
        ).map(lambda t: bytes(t[0]) + t[2][t[0] : 32] + bytes(t[1]) + t[2][32 + t[1] :]),
        st.binary(min_size=64, max_size=64).map(lambda b: bytes((b[0] | 0x80,)) + b[1:]),
    )
)
@example(bytes(64))  # r = s = 0
@example(b"\x80" + bytes(31) + b"\x7f" + bytes(31))  # a high bit at the border, and not
@example(b"\x7f" + bytes(31) + b"\x80" + bytes(31))
@example(bytes(31) + b"\x80" + bytes(31) + b"\x01")  # one-byte integers, one with a high bit
def test_es256_signatures_are_written_as_der_as_the_library_writes_them(
    signature: bytes,
) -> None:
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    assert es256_der(signature) == encode_dss_signature(r, s)


def test_base45_of_many_items_is_one_buffer_in_row_order() -> None:
    """Items of several lengths (even, odd, empty) encoded together: each text, behind the
    prefix, is the Base45 of its item, in the items' order."""
    rng = random.Random(45)
    items = [rng.randbytes(rng.choice([0, 1, 2, 5, 250, 251])) for _ in range(500)]
    data, ends = base45.encode_many(items, b"FK1:")
    starts = [0, *ends[:-1].tolist()]
    texts = [data[a:b].decode("ascii") for a, b in zip(starts, ends.tolist(), strict=True)]
    assert [t[:4] for t in texts] == ["FK1:"] * len(items)
    assert [base45.decode(t[4:]) for t in texts] == items
    assert ends[-1] == len(data)
    data, ends = base45.encode_many([])
    assert (data, len(ends)) == (b"", 0)
