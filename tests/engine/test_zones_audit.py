"""The 层层加码 audit of a sample city's local rules
(tests/data/policies/cn-sample-2022-11-20.yaml): `fangkong policy audit` finds each planted
over-restriction of its parameters, `fangkong zones audit` each planted over-restriction of its
areas, and neither finds anything in a national regime itself."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from pytest import MonkeyPatch
from typer.testing import CliRunner

from fangkong.cli.app import app
from fangkong.cli.common import console
from fangkong.engine.zones_audit import audit_areas
from fangkong.policy import Policy, PolicyStatus, list_policies, load_policy_file
from fangkong.policy.audit import national_of, national_reference, stricter_than
from fangkong.store import Store, open_store

from .test_policy_cases import put
from .test_zones import fits

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "data" / "policies" / "cn-sample-2022-11-20.yaml"

# every planted over-restriction, with the national value it breaks
PLANTED = {
    "quarantine.close_contact.centralized_days": (5, 7),
    "quarantine.left_high_risk_area.centralized_days": (0, 7),
    "quarantine.left_high_risk_area.centralized_test_days": (None, (1, 3, 5, 7)),
    "testing.region_wide_mass_testing": ("only_when_source_unclear", "unrestricted"),
    "testing.max_tests_per_day": (1, None),
    "risk_areas.levels": (("low", "high"), ("low", "medium", "high")),
    "risk_areas.drawn_by.high": ("building", "street"),
    "risk_areas.drawn_by.medium": (None, "compound"),
    "risk_areas.departure_lookback_days": (7, 14),
    "risk_areas.lifting.high.days_without_new_infection": (5, 10),
    "risk_areas.lifting.medium.days_without_new_infection": (None, 7),
    "risk_areas.area_rules.medium": (None, "stay_in_area_staggered_pickup"),
    "risk_areas.venue_measures.low.enclosed_entertainment": (None, "temporarily_closed"),
    "health_code.venue_entry_test_validity_hours": (72, 24),
}


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A policies directory: the shipped files and their sources, and the sample city's."""
    folder = tmp_path / "policies"
    shutil.copytree(REPO / "policies", folder)
    return folder


@pytest.fixture
def sample(library: Path) -> Policy:
    path = library / SAMPLE.name
    shutil.copy(SAMPLE, path)
    return load_policy_file(path)


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return getattr(value, "value", value)


def test_the_audit_finds_every_planted_measure_and_nothing_else(sample: Policy) -> None:
    national = national_of(sample)
    assert national.id == "cn-2022-11-11"
    found = {c.key: (_plain(c.old), _plain(c.new)) for c in stricter_than(sample, national)}
    assert found == PLANTED
    # a measure the regime does not have is measured against its section's rule
    key, source = national_reference(national, "risk_areas.drawn_by.medium")
    assert key == "risk_areas.drawn_by.high" and "Twenty measures" in source
    key, source = national_reference(national, "testing.max_tests_per_day")
    assert key == "testing.max_tests_per_day" and "policy-notes.md" in source


@pytest.mark.parametrize(
    "policy",
    [p for p in list_policies() if p.status is PolicyStatus.RELEASED],
    ids=lambda p: p.id,
)
def test_a_national_regime_is_not_stricter_than_itself(policy: Policy) -> None:
    assert national_of(policy).id == policy.id
    assert stricter_than(policy, national_of(policy)) == []


def _world(store: Store) -> None:
    put(
        store,
        "person",
        [
            {"person_id": 1, "household_id": 10, "region_code": "310104001",
             "compound_id": "C1", "building_id": "B1"},
            {"person_id": 2, "household_id": 20, "region_code": "310104001",
             "compound_id": "C1", "building_id": "B2"},
        ],
    )  # fmt: skip
    put(store, "venue", [{"venue_id": 100, "region_code": "310104001", "category": "essential"}])
    put(
        store,
        "case_report",
        [
            {"report_id": "R1", "case_id": "C-1", "person_id": 1, "region_code": "310104",
             "reported_at": "2022-11-21 10:00", "event_type": "report",
             "diagnosis": "confirmed", "origin": "local"},
        ],
    )  # fmt: skip
    put(store, "checkin", [{"scan_id": 1, "person_id": 1, "venue_id": 100,
                            "checkin_at": "2022-11-20 12:00"}])  # fmt: skip


def test_the_zones_audit_finds_each_planted_area_rule(store: Store, sample: Policy) -> None:
    _world(store)
    national = national_of(sample)
    first = audit_areas(store, date(2022, 11, 21), sample, national)
    rows = sorted((r["area_id"], r["finding"], r["local"], r["national"]) for r in first.to_dicts())
    assert rows == [
        ("street:310104001", "wider_unit", "street", "building"),
        ("venue:100", "level_not_in_regime", "medium", "low, high"),
    ]
    assert all("policy-notes.md" in s for s in first.get_column("national_source"))
    # the twenty measures lift the building on 11-26; the sample city keeps the street high
    later = audit_areas(store, date(2022, 11, 27), sample, national)
    lifted = later.filter(later["finding"] == "not_lifted")
    # and with them the rest of the county: nationally lifted with the building
    assert sorted(lifted.select("area_id", "local", "national").rows()) == [
        ("county:310104", "kept for street:310104001, venue:100", "lifted on 2022-11-26"),
        ("street:310104001", "2022-12-01", "2022-11-26"),
        ("venue:100", "2022-11-28", "2022-11-26"),
    ]
    assert dict(lifted.select("area_id", "national_key").iter_rows()) == {
        "county:310104": "risk_areas.delineation.low",
        "street:310104001": "risk_areas.lifting.high.days_without_new_infection",
        "venue:100": "risk_areas.lifting.high.days_without_new_infection",
    }
    # on the first day the rest of the county is drawn as the national rule draws it: the
    # street is too wide, not too long, and the county has it (no finding for county:310104)
    # the national regime audited against itself: nothing
    for day in (date(2022, 11, 21), date(2022, 11, 27)):
        assert audit_areas(store, day, national, national).height == 0


def test_the_audit_commands(
    tmp_path: Path, library: Path, sample: Policy, monkeypatch: MonkeyPatch
) -> None:
    runner = CliRunner()
    env = {"FANGKONG_POLICIES": str(library)}
    out = runner.invoke(app, ["policy", "audit", sample.id, "--format", "json"], env=env)
    assert out.exit_code == 0, out.output
    document = json.loads(out.output)
    assert document["national"] == "cn-2022-11-11"
    assert {r["key"] for r in document["stricter"]} == set(PLANTED)
    assert all(r["national_source"] for r in document["stricter"])
    clean = runner.invoke(app, ["policy", "audit", "cn-2022-11-11"], env=env)
    assert clean.exit_code == 0 and "nothing stricter" in clean.output
    url = str(tmp_path / "audit.duckdb")
    with open_store(url) as st:
        _world(st)
    out = runner.invoke(
        app, ["zones", "audit", "--date", "2022-11-27", "--policy", sample.id, "--store", url,
              "--format", "json"], env=env,
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    kinds = sorted({(r["area_id"], r["finding"]) for r in json.loads(out.output)})
    assert ("street:310104001", "not_lifted") in kinds
    assert ("venue:100", "level_not_in_regime") in kinds
    monkeypatch.setattr(console, "width", 80)
    text = runner.invoke(
        app, ["zones", "audit", "--date", "2022-11-27", "--policy", sample.id, "--store", url],
        env=env,
    )  # fmt: skip
    assert text.exit_code == 0, text.output
    assert fits(text.output), text.output
    assert "not_lifted" in text.output and "level_not_in_regime" in text.output
