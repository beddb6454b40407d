"""The shipped policy files: they load, they say what policy-facts.md says (expected_facts.yaml),
and a date finds the policy in force."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
import yaml

from fangkong.errors import NotFoundError
from fangkong.model.glossary import Setting, Severity, VenueCategory
from fangkong.policy import (
    CareSetting,
    Policy,
    Population,
    QuarantineKind,
    RiskLevel,
    VenueMeasure,
    fact_sections,
    list_policies,
    load_policy,
    policies_dir,
    policy_in_force,
)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.stem for p in (REPO / "policies").glob("*.yaml"))
EXPECTED: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "expected_facts.yaml").read_text("utf-8")
)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _cases(section: str) -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = []
    for policy_id, expected in EXPECTED["policies"].items():
        if section == "values":
            out.extend((policy_id, k, v) for k, v in expected.get("values", {}).items())
        else:
            out.extend((policy_id, k, section == "verified") for k in expected.get(section, []))
    return out


def test_the_required_files_are_shipped() -> None:
    for required in ("cn-2020-04-08", "cn-2022-06-28", "cn-2022-11-11"):
        assert required in SHIPPED


def test_the_default_directory_is_the_repositorys() -> None:
    assert policies_dir().resolve() == (REPO / "policies").resolve()


@pytest.mark.parametrize("policy_id", SHIPPED)
def test_every_shipped_file_loads(policy_id: str) -> None:
    policy = load_policy(policy_id)
    assert policy.id == policy_id
    params = policy.parameters()
    assert params, "a policy has parameters"
    for key, param in params.items():
        assert param.source in policy.sources, key
        assert param.citation, key


@pytest.mark.parametrize("policy_id", SHIPPED)
def test_every_source_cites_a_facts_section_or_says_why_not(policy_id: str) -> None:
    sections = fact_sections(REPO / "policies" / "sources")
    for name, source in load_policy(policy_id).sources.items():
        assert source.facts is None or source.facts in sections, name
        if source.facts is None:
            assert source.read_at or "engineering" in source.original or "not in" in source.original


@pytest.mark.parametrize(("policy_id", "key", "expected"), _cases("values"))
def test_the_files_encode_the_facts(policy_id: str, key: str, expected: Any) -> None:
    param = load_policy(policy_id).parameters().get(key)
    value = None if param is None else _plain(param.value)
    assert value == expected


@pytest.mark.parametrize(
    ("policy_id", "key", "verified"), _cases("unverified") + _cases("verified")
)
def test_verified_flags(policy_id: str, key: str, verified: bool) -> None:
    param = load_policy(policy_id).parameter(key)
    assert param.verified is verified
    if not verified:
        assert (
            param.note
            or param.source == "engineering"
            or "third-party" in param.citation
            or ("reproduction" in param.citation)
            or "Jiangsu" in param.citation
            or "what-if" in param.citation
        )


@pytest.mark.parametrize(("on", "expected"), sorted(EXPECTED["in_force"].items()))
def test_policy_in_force_on_boundary_dates(on: str, expected: str | None) -> None:
    day = date.fromisoformat(on)
    if expected is None:
        with pytest.raises(NotFoundError, match="first is in force from 2020-04-08"):
            policy_in_force(day)
    else:
        assert policy_in_force(day).id == expected


def test_what_ifs_are_never_in_force() -> None:
    assert all(p.status.value == "released" or p.id.startswith("whatif") for p in list_policies())
    assert policy_in_force(date(2022, 7, 1)).status.value == "released"


def test_in_force_errors() -> None:
    with pytest.raises(NotFoundError, match="no released policy for jurisdiction 'cn-31'"):
        policy_in_force(date(2022, 7, 1), "cn-31")
    with pytest.raises(TypeError):
        policy_in_force(datetime(2022, 7, 1, 12))
    with pytest.raises(NotFoundError):
        load_policy("cn-1999-01-01")
    with pytest.raises(NotFoundError):
        load_policy("../policies/cn-2022-06-28")


def test_accessors_return_plain_values() -> None:
    ninth = load_policy("cn-2022-06-28")
    close = ninth.quarantine[Population.CLOSE_CONTACT]
    assert (close.centralized_days, close.home_days, close.total_days) == (7, 3, 10)
    assert close.home_kind is QuarantineKind.HOME_HEALTH_MONITORING
    assert [(p.kind.value, p.days, p.test_days) for p in close.phases()] == [
        ("centralized_quarantine", 7, (1, 2, 3, 5, 7)),
        ("home_health_monitoring", 3, (3,)),
    ]
    assert ninth.contacts is not None and ninth.risk_areas is not None
    assert ninth.treatment is not None
    assert ninth.contacts.exposure_window_days == 4
    assert Setting.HOUSEHOLD in ninth.contacts.close_contact_settings
    assert ninth.testing.positive_ct_below == 40.0
    assert ninth.risk_areas.levels == (RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH)
    assert ninth.treatment.setting_for(Severity.SEVERE) is CareSetting.DESIGNATED_HOSPITAL
    assert ninth.treatment.setting_for(None) is CareSetting.SHELTER_HOSPITAL
    assert ninth.bulletin.day_boundary_timezone == "Asia/Shanghai"
    assert ninth.inbound.circuit_breaker is not None
    assert ninth.regime(Population.SECONDARY_CONTACT) is not None

    twenty = load_policy("cn-2022-11-11")
    assert twenty.regime(Population.SECONDARY_CONTACT) is None
    assert twenty.inbound.circuit_breaker is None
    assert twenty.testing.inbound_positive_ct_below == 35


def test_venue_measures_by_category() -> None:
    april = load_policy("cn-2020-04-08")
    areas = april.risk_areas
    ninth = load_policy("cn-2022-06-28").risk_areas
    assert areas is not None and ninth is not None
    assert (
        areas.venue_measure(RiskLevel.LOW, VenueCategory.ESSENTIAL) is VenueMeasure.OPEN_GRADUALLY
    )
    assert (
        areas.venue_measure(RiskLevel.MEDIUM, VenueCategory.ENCLOSED_ENTERTAINMENT)
        is VenueMeasure.TEMPORARILY_CLOSED
    )
    for institution in (VenueCategory.PRISON, VenueCategory.ELDERLY_CARE):
        assert areas.venue_measure(RiskLevel.HIGH, institution) is VenueMeasure.REINFORCED_MEASURES
    # the 9th edition's: what its area rules mean for a venue that is an area (an inference)
    assert ninth.venue_measure(RiskLevel.MEDIUM, VenueCategory.ESSENTIAL) is (
        VenueMeasure.TEMPORARILY_CLOSED
    )
    assert ninth.venue_measure(RiskLevel.LOW, VenueCategory.ESSENTIAL) is None
    twenty = load_policy("cn-2022-11-11").risk_areas
    assert twenty is not None and twenty.venue_measures is None


def test_source_of_names_the_facts_section_and_the_original() -> None:
    ninth = load_policy("cn-2022-06-28")
    source = ninth.source_of("quarantine.close_contact.centralized_days")
    assert source.startswith("sources/policy-facts.md § Quarantine regimes; ")
    assert "NetEase" in source
    with pytest.raises(NotFoundError, match=r"no parameter 'quarantine\.nobody\.days'"):
        ninth.source_of("quarantine.nobody.days")


def test_parameters_carry_units_and_every_unverified_key_is_listed() -> None:
    ninth: Policy = load_policy("cn-2022-06-28")
    params = ninth.parameters()
    assert params["testing.positive_ct_below"].unit.value == "ct"
    assert params["health_code.venue_entry_test_validity_hours"].unit.value == "hours"
    assert set(ninth.unverified()) == {k for k, p in params.items() if not p.verified}


def test_a_documented_absence_is_listed_with_its_source() -> None:
    ten = load_policy("cn-2022-12-07")
    absent = ten.parameter("health_code.venue_entry_test_validity_hours")
    assert absent.value is None
    assert absent.verified
    assert "special venues" in (absent.note or "")
    assert ten.health_code.venue_entry_test_validity_hours is None
