"""Timeliness of the four earlies, measured on the sample outbreak after the daily runs."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong.cli.app import app
from fangkong.engine.day import run_day
from fangkong.engine.timeliness import MEASURES, case_timeliness, daily_timeliness
from fangkong.ingest import import_file
from fangkong.policy import load_policy
from fangkong.sample.outbreak import Outbreak, write_outbreak
from fangkong.store import Store


@pytest.fixture(scope="module")
def outbreak(tmp_path_factory: pytest.TempPathFactory) -> Outbreak:
    return write_outbreak(tmp_path_factory.mktemp("outbreak"), persons=4000, venues=120, days=14)


def _run_all(store: Store, outbreak: Outbreak) -> None:
    for kind, path in outbreak.files.items():
        import_file(store, kind, path)
    policy = load_policy("cn-2022-06-28")
    for i in range(outbreak.days):
        run_day(store, outbreak.first_day + timedelta(days=i), policy)


def test_case_measures(store: Store, outbreak: Outbreak) -> None:
    _run_all(store, outbreak)
    last = outbreak.first_day + timedelta(days=outbreak.days - 1)
    cases = case_timeliness(store, last)
    assert cases.height == store.scalar(
        "SELECT count(DISTINCT case_id) FROM case_report WHERE event_type = 'report'"
    )
    # the sample's labs report 8 h after sampling and cases are reported the next morning
    sampled = cases.get_column("sampling_to_report_hours").drop_nulls()
    assert sampled.len() and sampled.min() >= 0  # type: ignore[operator]
    # the engine runs at 24:00: contacts are found within the day of the report
    found = cases.get_column("report_to_contacts_found_hours").drop_nulls()
    assert found.len() and found.max() <= 24  # type: ignore[operator]
    isolated = cases.get_column("report_to_isolation_hours").drop_nulls()
    assert isolated.len() and isolated.min() >= 0  # type: ignore[operator]
    assert set(MEASURES) <= set(cases.columns)


def test_medians_in_the_bulletin_json(tmp_path: Path, outbreak: Outbreak) -> None:
    from fangkong.store import open_store

    path = tmp_path / "city.duckdb"
    with open_store(path) as st:
        _run_all(st, outbreak)
        reported = st.fetch(
            "SELECT CAST(reported_at AS DATE) AS d FROM case_report WHERE event_type = 'report' "
            "ORDER BY 1 LIMIT 1"
        ).item()
        expected = daily_timeliness(st, reported)
    assert expected["cases"]
    out = CliRunner().invoke(
        app, ["bulletin", "--date", str(reported), "--store", str(path), "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["timeliness"] == expected
    assert doc["timeliness"]["median_report_to_contacts_found_hours"] is not None
    assert len(expected) == 1 + len(MEASURES)
