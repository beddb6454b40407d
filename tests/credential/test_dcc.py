"""Real EU DCCs (vaccination, test, recovery) through the same verifier as health codes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong.cli.app import app
from fangkong.credential.dcc import validate_schema
from fangkong.credential.refusal import Refusal
from fangkong.credential.revocation import HashType, RevocationSet, revocation_hash
from fangkong.credential.trust import add_dcc_signer, load_trust_store
from fangkong.credential.verify import Verifier
from fangkong.errors import CredentialError

VECTORS = Path(__file__).parents[1] / "data" / "real" / "dcc-testdata"


def _vector(name: str) -> dict[str, object]:
    data = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _clock(vector: dict[str, object]) -> float:
    context = vector["TESTCTX"]
    assert isinstance(context, dict)
    return datetime.fromisoformat(str(context["VALIDATIONCLOCK"])).timestamp()


def _trust(tmp_path: Path, vector: dict[str, object], country: str) -> Path:
    context = vector["TESTCTX"]
    assert isinstance(context, dict)
    add_dcc_signer(tmp_path, str(context["CERTIFICATE"]).encode(), country)
    return tmp_path


@pytest.mark.parametrize(
    ("name", "kind"),
    [("CH/2DCode/raw/1.json", "v"), ("CH/2DCode/raw/2.json", "t"), ("CH/2DCode/raw/3.json", "r")],
)
def test_real_dcc_of_each_kind(tmp_path: Path, name: str, kind: str) -> None:
    vector = _vector(name)
    verifier = Verifier(load_trust_store(_trust(tmp_path, vector, "CH")))
    code = verifier.verify(str(vector["PREFIX"]), at=_clock(vector))
    assert code.dcc_kind == kind
    assert code.dcc is not None and code.dcc["nam"] == vector["JSON"]["nam"]  # type: ignore[index]
    assert code.issuer == "CH"


def test_bulgarias_certificates_with_null_entries_and_midnight_dates(tmp_path: Path) -> None:
    """BG issued about a million DCCs with "r": null, "t": null and dates as date-times at
    midnight (dgc-testdata #298); the EU's reference verifier accepts them, and so does this
    one. The payload returned is the certificate's own; a real violation is still refused."""
    vector = _vector("BG/2DCode/raw/1.json")
    assert vector["JSON"]["r"] is None  # type: ignore[index]
    verifier = Verifier(load_trust_store(_trust(tmp_path, vector, "BG")))
    code = verifier.verify(str(vector["PREFIX"]), at=_clock(vector))
    assert code.dcc_kind == "v" and code.dcc is not None
    assert code.dcc["r"] is None and code.dcc["dob"].endswith("T00:00:00")
    broken = {**code.dcc, "dob": "1978-01-26T08:00:00"}  # a time of day is no date
    with pytest.raises(CredentialError) as caught:
        validate_schema(broken)
    assert caught.value.reason is Refusal.SCHEMA
    with pytest.raises(CredentialError):  # nor is a null where a value is required
        validate_schema({**code.dcc, "nam": None})


def test_lengths_and_dose_numbers_are_not_limited() -> None:
    """As the EU's reference verifier relaxed the schema: text of any length (a test centre's
    name of 120 characters) and a dose numbered 0; a wrong type or a missing field is still
    refused."""
    vector = _vector("HU/2DCode/raw/3.json")
    payload = vector["JSON"]
    assert isinstance(payload, dict) and len(payload["t"][0]["tc"]) > 80
    validate_schema(payload)
    vaccination = _vector("CH/2DCode/raw/1.json")["JSON"]
    assert isinstance(vaccination, dict)
    validate_schema({**vaccination, "v": [{**vaccination["v"][0], "dn": 0}]})
    for broken in (
        {**vaccination, "v": [{**vaccination["v"][0], "dn": "one"}]},
        {k: v for k, v in vaccination.items() if k != "dob"},
    ):
        with pytest.raises(CredentialError) as caught:
            validate_schema(broken)
        assert caught.value.reason is Refusal.SCHEMA


def test_dcc_from_an_untrusted_signer_and_a_revoked_one(tmp_path: Path) -> None:
    vector = _vector("CH/2DCode/raw/1.json")
    with pytest.raises(CredentialError) as caught:
        Verifier(load_trust_store(tmp_path)).verify(str(vector["PREFIX"]), at=_clock(vector))
    assert caught.value.reason is Refusal.UNKNOWN_REGION
    trust = load_trust_store(_trust(tmp_path, vector, "CH"))
    uci = vector["JSON"]["v"][0]["ci"]  # type: ignore[index]
    revoked = RevocationSet()
    revoked.add(
        HashType.COUNTRYCODEUCI,
        revocation_hash(
            HashType.COUNTRYCODEUCI, identifier=uci, issuer="CH", signature=b"", algorithm=-7
        ),
    )
    with pytest.raises(CredentialError) as caught:
        Verifier(trust, revoked).verify(str(vector["PREFIX"]), at=_clock(vector))
    assert caught.value.reason is Refusal.REVOKED


def test_verify_command_reads_a_dcc(tmp_path: Path) -> None:
    vector = _vector("CH/2DCode/raw/2.json")
    cert = tmp_path / "ch.pem"
    cert.write_text(str(vector["TESTCTX"]["CERTIFICATE"]), encoding="ascii")  # type: ignore[index]
    keys = str(tmp_path / "keys")
    run = CliRunner().invoke
    added = run(app, ["trust", "add-dcc-signer", str(cert), "--country", "CH", "--keys", keys])
    assert added.exit_code == 0, added.output
    at = str(vector["TESTCTX"]["VALIDATIONCLOCK"])  # type: ignore[index]
    out = run(app, ["verify", str(vector["PREFIX"]), "--keys", keys, "--at", at, "-f", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["dcc_kind"] == "t"
    late = run(app, ["verify", str(vector["PREFIX"]), "--keys", keys, "--at", "2030-01-01T00:00"])
    assert late.exit_code == 2 and "expired" in late.output
