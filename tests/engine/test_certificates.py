"""Arrivals' foreign certificates (EU DCC) checked at the border step of `run_day`: valid,
refused with the typed reason, or unchecked without trust material; shown by `explain`; and the
arrivals import kind's optional certificate column. Both backends for what is stored."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from fangkong.cli.app import app
from fangkong.credential.trust import add_dcc_signer
from fangkong.credential.verify import Verifier
from fangkong.engine.day import run_day
from fangkong.output.explain import explain_person
from fangkong.policy import load_policy
from fangkong.store import Store

from .test_tracing import Events

VECTORS = Path(__file__).parents[1] / "data" / "real" / "dcc-testdata"
DAY = date(2021, 8, 18)  # the CH vectors' validation clock: 2021-08-18 16:36 CEST, 22:36 here


def _vector(name: str) -> dict[str, object]:
    data = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _arrival(e: Events, pid: int, certificate: str | None) -> Events:
    clock = _vector("CH/2DCode/raw/1.json")["TESTCTX"]
    assert isinstance(clock, dict)
    return e.add(
        "arrival",
        arrival_id=f"A{pid}",
        person_id=pid,
        arrived_at=datetime.fromisoformat(str(clock["VALIDATIONCLOCK"])),
        port_region_code="310101",
        origin_country="CH",
        flight="LX188",
        seat_row=pid,
        destination_region_code=None,
        certificate=certificate,
    )


def _checks(store: Store) -> pl.DataFrame:
    return store.fetch(
        "SELECT arrival_id, result, refusal, issuer, dcc_kind FROM certificate_check"
        " WHERE scenario = 'live' AND run_day = :d ORDER BY arrival_id",
        {"d": DAY},
    )


def test_arrivals_certificates_are_checked_at_the_border(store: Store, tmp_path: Path) -> None:
    swiss = _vector("CH/2DCode/raw/1.json")
    german = _vector("DE/2DCode/raw/1.json")
    e = Events().person(1, 10).person(2, 20).person(3, 30)
    _arrival(e, 1, str(swiss["PREFIX"]))  # signed by the trusted Swiss signer
    _arrival(e, 2, str(german["PREFIX"]))  # Germany's signer is not trusted here
    _arrival(e, 3, None)  # no certificate shown
    e.load(store, batch=1)
    context = swiss["TESTCTX"]
    assert isinstance(context, dict)
    add_dcc_signer(tmp_path, str(context["CERTIFICATE"]).encode(), "CH")
    policy = load_policy("cn-2021-05-14")
    run_day(store, DAY, policy, verifier=Verifier.from_folder(tmp_path))
    got = _checks(store)
    assert got.get_column("arrival_id").to_list() == ["A1", "A2"]
    valid, refused = got.row(0, named=True), got.row(1, named=True)
    assert (valid["result"], valid["issuer"], valid["dcc_kind"]) == ("valid", "CH", "v")
    assert refused["result"] == "refused"
    assert refused["refusal"] in ("unknown_region", "unknown_key")
    steps = explain_person(store, 2)
    assert steps.filter(pl.col("summary").str.contains("foreign certificate refused")).height == 1
    # the inbound quarantine does not depend on the certificate
    held = store.fetch(
        "SELECT DISTINCT person_id FROM engine_order WHERE order_type = 'quarantine' ORDER BY 1"
    )
    assert held.get_column("person_id").to_list() == [1, 2, 3]
    # the same day run again without trust material: recorded unchecked, replacing the checks
    run_day(store, DAY, policy)
    assert _checks(store).get_column("result").to_list() == ["unchecked", "unchecked"]


def test_the_arrivals_import_takes_a_certificate_and_refuses_a_non_dcc(tmp_path: Path) -> None:
    swiss = str(_vector("CH/2DCode/raw/1.json")["PREFIX"])
    header = "arrival_id,person_id,arrived_at,port_region_code,origin_country,certificate\n"
    good, bad = tmp_path / "arrivals.csv", tmp_path / "arrivals_bad.csv"
    good.write_text(header + f"A1,5,2021-08-18 22:00:00,310115,CH,{swiss}\n", encoding="utf-8")
    bad.write_text(header + "A2,5,2021-08-18 22:00:00,310115,CH,not a certificate\n", "utf-8")
    path = str(tmp_path / "city.duckdb")
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--store", path]).exit_code == 0
    done = runner.invoke(app, ["import", "arrivals", str(good), "--store", path])
    assert done.exit_code == 0, done.output
    refused = runner.invoke(app, ["import", "arrivals", str(bad), "--store", path])
    assert refused.exit_code == 2
    assert "field 'certificate'" in refused.output and "HC1:" in refused.output
