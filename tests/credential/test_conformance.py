"""The EU DCC conformance vectors: every expected result met, except those listed as wrong
upstream, each of which fails for exactly the listed reason."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from fangkong.cli.app import app
from fangkong.credential.conformance import known_upstream_errors, run_vectors

VECTORS = Path(__file__).parents[1] / "data" / "real" / "dcc-testdata"


def test_every_expected_result_is_met_or_a_listed_upstream_error() -> None:
    results = run_vectors(VECTORS)
    checks = [(r.path, c) for r in results for c in r.checks]
    met = [c for _, c in checks if c.agrees]
    excused = [c for _, c in checks if c.excused]
    failed = [(p, c) for p, c in checks if not c.agrees and not c.excused]
    print(
        f"{len(results)} files, {len(checks)} expected results: {len(met)} met, "
        f"{len(excused)} wrong upstream, {len(failed)} failed"
    )
    assert failed == []
    assert (len(results), len(checks), len(met), len(excused)) == (104, 720, 696, 24)
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


def test_each_listed_upstream_error_fails_for_exactly_its_reason() -> None:
    listed = known_upstream_errors()
    seen = {(r.path, c.name): c for r in run_vectors(VECTORS) for c in r.checks}
    assert len(listed) == 24
    for key, reason in listed.items():
        check = seen[key]
        assert check.expected and not check.got, key
        assert check.reason == reason, key


def test_conformance_command_prints_each_result_and_the_count() -> None:
    out = CliRunner().invoke(app, ["verify", "conformance", str(VECTORS), "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert (data["files_run"], data["met"], data["upstream_errors"], data["failed"]) == (
        104,
        696,
        24,
        0,
    )
    co3 = next(f for f in data["files"] if f["file"] == "common/2DCode/raw/CO3.json")
    assert {c["expectation"] for c in co3["checks"]} >= {"EXPECTEDVERIFY", "EXPECTEDDECODE"}
    text = CliRunner().invoke(app, ["verify", "conformance", str(VECTORS)])
    assert "104 files, 720 expected results: 696 met, 24 wrong upstream (listed), 0 failed" in (
        text.output
    )


def test_a_malformed_vector_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    out = CliRunner().invoke(app, ["verify", "conformance", str(tmp_path)])
    assert out.exit_code == 2
    assert "bad.json" in out.output
