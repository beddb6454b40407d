"""The EU DCC conformance vectors: every expected result met, except those listed as wrong
upstream, each of which gets exactly the listed outcome; those whose input the file lacks are
not run; and the value-set checks fangkong does not make."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from fangkong.cli.app import app
from fangkong.credential.conformance import known_upstream_errors, run_vector, run_vectors

VECTORS = Path(__file__).parents[1] / "data" / "real" / "dcc-testdata"
# PL's files 7-9 expect schema validation to fail for a value outside a value set (a test
# device 9999, a country XY, a vaccine holder ORG-99999999): fangkong checks the structure, not
# the value sets (which the gateway distributes and business rules read), so it passes them
VALUE_SETS = {
    (f"PL/{version}/2DCode/raw/{n}.json", "EXPECTEDSCHEMAVALIDATION")
    for version in ("1.0.0", "1.2.1", "1.3.0")
    for n in (7, 8, 9)
}


def test_every_expected_result_is_met_or_a_listed_upstream_error() -> None:
    results = run_vectors(VECTORS)
    checks = [(r.path, c) for r in results for c in r.checks]
    met = [c for _, c in checks if c.agrees]
    excused = [c for _, c in checks if c.excused]
    not_run = [c for _, c in checks if c.not_run is not None]
    failed = {(p, c.name) for p, c in checks if not (c.agrees or c.excused or c.not_run)}
    print(
        f"{len(results)} files, {len(checks)} expected results: {len(met)} met, "
        f"{len(excused)} wrong upstream, {len(not_run)} not run, {len(failed)} failed"
    )
    assert failed == VALUE_SETS
    assert (len(results), len(checks), len(met), len(excused), len(not_run)) == (
        237,
        1944,
        1841,
        20,
        74,
    )
    # the negative vectors are met by refusing, with the step's own reason
    negative = {(p, c.name): c.reason for p, c in checks if not c.expected}
    assert negative[("common/2DCode/raw/CO5.json", "EXPECTEDVERIFY")] == "bad_signature"
    # CO22: the protected key id is 3 bytes (the correct unprotected one does not count)
    assert negative[("common/2DCode/raw/CO22.json", "EXPECTEDVERIFY")] == "no_key_id"
    assert negative[("common/2DCode/raw/CO17.json", "EXPECTEDEXPIRATIONCHECK")] == "expired"
    assert negative[("common/2DCode/raw/CO16.json", "EXPECTEDEXPIRATIONCHECK")] == "not_yet_valid"
    assert negative[("common/2DCode/raw/CO6.json", "EXPECTEDKEYUSAGE")] == "key_usage"
    assert negative[("common/2DCode/raw/H2.json", "EXPECTEDUNPREFIX")] == "bad_prefix"
    assert negative[("common/2DCode/raw/B1.json", "EXPECTEDB45DECODE")] == "bad_base45"
    assert negative[("common/2DCode/raw/Z1.json", "EXPECTEDCOMPRESSION")] == "bad_compression"
    assert negative[("common/2DCode/raw/DGC2.json", "EXPECTEDSCHEMAVALIDATION")] == "schema"
    assert negative[("common/2DCode/raw/Q1.json", "EXPECTEDPICTUREDECODE")] == "unreadable_image"


def test_each_listed_upstream_error_gets_exactly_its_outcome() -> None:
    listed = known_upstream_errors()
    seen = [(r.path, c) for r in run_vectors(VECTORS) for c in r.checks]
    assert len(listed) == 12
    for entry in listed:
        covered = [c for p, c in seen if entry.covers(p, c.name, c.expected)]
        # each entry excuses a shipped vector, and every vector it covers that fangkong does
        # not meet gets exactly the listed outcome
        assert any(c.excused for c in covered), entry
        assert all(c.agrees or c.excused for c in covered), entry


def test_a_step_whose_input_the_file_lacks_is_not_run() -> None:
    """As dgc-testdata's own runner skips it: neither met nor failed, with the field named."""
    seen = {(r.path, c.name): c for r in run_vectors(VECTORS) for c in r.checks}
    picture = seen[("FR/2DCode/raw/DGC_QrCode_00001_Raw.json", "EXPECTEDPICTUREDECODE")]
    assert (picture.not_run, picture.agrees, picture.excused) == ("lacks 2DCODE", False, False)
    # a misspelt expectation names no step
    assert seen[("BG/2DCode/raw/1.json", "EXPTECTEDEXPIRED")].not_run == "no such step"
    # PT's files give the QR text and Base45 but no COSE to verify
    assert seen[("PT/1.3.0/2DCode/raw/1.json", "EXPECTEDVERIFY")].not_run == "lacks COSE"


def test_base45_is_checked_against_the_cose_where_no_compressed_layer_is_given(
    tmp_path: Path,
) -> None:
    """The README's table of Code Validation tests names BASE45 and COSE as B45DECODE's
    fields: DK's files give no COMPRESSED."""
    source = VECTORS / "DK" / "2DCode" / "raw" / "1.json"
    vector = json.loads(source.read_text(encoding="utf-8"))
    assert "COMPRESSED" not in vector
    (check,) = [c for c in run_vector(source, "DK/1").checks if c.name == "EXPECTEDB45DECODE"]
    assert check.agrees and check.got
    # the same Base45 against another COSE: a mismatch, not a pass
    vector["COSE"] = vector["COSE"][:-2] + ("00" if vector["COSE"][-2:] != "00" else "01")
    (tmp_path / "v.json").write_text(json.dumps(vector), encoding="utf-8")
    (check,) = [
        c for c in run_vector(tmp_path / "v.json", "v").checks if c.name == "EXPECTEDB45DECODE"
    ]
    assert (check.got, check.reason) == (False, "mismatch")


def test_a_signature_by_another_key_of_the_issuer_is_an_unknown_key() -> None:
    """PL 6 is signed with a recovery DSC while the file gives a vaccination DSC: the issuer's
    region is trusted (by the file's certificate), the key id is not."""
    results = run_vector(VECTORS / "PL/1.3.0/2DCode/raw/6.json", "PL/1.3.0/2DCode/raw/6.json")
    verify = next(c for c in results.checks if c.name == "EXPECTEDVERIFY")
    assert (verify.expected, verify.got, verify.reason) == (False, False, "unknown_key")


def test_conformance_command_prints_each_result_and_the_count() -> None:
    out = CliRunner().invoke(app, ["verify", "conformance", str(VECTORS), "--format", "json"])
    assert out.exit_code == 2, out.output  # PL's value-set cases fail (VALUE_SETS)
    data = json.loads(out.output)
    assert (
        data["files_run"],
        data["met"],
        data["upstream_errors"],
        data["not_run"],
        data["failed"],
    ) == (237, 1841, 20, 74, 9)
    co3 = next(f for f in data["files"] if f["file"] == "common/2DCode/raw/CO3.json")
    assert {c["expectation"] for c in co3["checks"]} >= {"EXPECTEDVERIFY", "EXPECTEDDECODE"}
    text = CliRunner().invoke(app, ["verify", "conformance", str(VECTORS)])
    assert (
        "237 files, 1,944 expected results: 1,841 met, 20 wrong upstream (listed), 74 not run"
        " (the file lacks the step's input, or names no step), 9 failed"
    ) in " ".join(text.output.split())


def test_a_json_file_that_is_no_vector_is_left_out_and_said(tmp_path: Path) -> None:
    """dgc-testdata holds, at its top, a sample certificate's JSON with no EXPECTEDRESULTS: the
    run goes on over the vectors and names the file it left out."""
    vector = VECTORS / "DK" / "2DCode" / "raw" / "1.json"
    (tmp_path / "1.json").write_bytes(vector.read_bytes())
    (tmp_path / "6.json").write_text('{"iss": "DE", "hcert": {}}', encoding="utf-8")
    out = CliRunner().invoke(app, ["verify", "conformance", str(tmp_path)])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "6.json: not a test vector (no EXPECTEDRESULTS object), left out" in text
    assert "1 file, 9 expected results: 9 met" in text


def test_a_malformed_vector_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    out = CliRunner().invoke(app, ["verify", "conformance", str(tmp_path)])
    assert out.exit_code == 2
    assert "bad.json" in out.output
