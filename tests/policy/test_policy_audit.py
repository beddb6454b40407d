"""diff and stricter_than (the 层层加码 audit)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from fangkong.policy import ChangeKind, diff, load_policy, load_policy_file, stricter_than
from fangkong.policy.terms import QuarantineKind

Writer = Callable[..., Path]


def _param(value: Any, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "source": "local", "verified": True}


def test_diff_of_a_policy_with_itself_is_empty() -> None:
    ninth = load_policy("cn-2022-06-28")
    assert diff(ninth, ninth) == []


def test_diff_of_the_what_if_lists_exactly_its_changes() -> None:
    changes = diff(
        load_policy("cn-2022-06-28"), load_policy("whatif-2022-06-28-close-contacts-5-3")
    )
    assert [(c.key, c.kind, c.old, c.new) for c in changes] == [
        ("quarantine.close_contact.centralized_days", ChangeKind.CHANGED, 7, 5),
        (
            "quarantine.close_contact.centralized_test_days",
            ChangeKind.CHANGED,
            (1, 2, 3, 5, 7),
            (1, 2, 3, 5),
        ),
        (
            "quarantine.close_contact.home_kind",
            ChangeKind.CHANGED,
            QuarantineKind.HOME_HEALTH_MONITORING,
            QuarantineKind.HOME_ISOLATION,
        ),
        ("quarantine.close_contact.home_test_days", ChangeKind.CHANGED, (3,), (1, 3)),
    ]
    assert changes[0].unit.value == "days"


def test_diff_from_the_ninth_edition_to_the_twenty_measures() -> None:
    changes = {c.key: c for c in diff(load_policy("cn-2022-06-28"), load_policy("cn-2022-11-11"))}
    assert changes["contacts.secondary_contacts_identified"].new is False
    assert changes["quarantine.secondary_contact.home_days"].kind is ChangeKind.REMOVED
    assert changes["inbound.circuit_breaker.short_suspension_min_positives"].kind is (
        ChangeKind.REMOVED
    )
    assert changes["testing.max_tests_per_day"].kind is ChangeKind.ADDED
    assert (
        changes["testing.inbound_positive_ct_below"].old,
        changes["testing.inbound_positive_ct_below"].new,
    ) == (40, 35)
    assert "contacts.exposure_window_days" not in changes  # 4 days in both
    # removed keys keep their place in the order: secondary contacts before inbound travellers
    keys = list(changes)
    assert keys.index("quarantine.secondary_contact.home_days") < keys.index(
        "quarantine.inbound_traveller.centralized_days"
    )


def test_the_ninth_edition_is_stricter_than_the_twenty_measures() -> None:
    stricter = {
        c.key for c in stricter_than(load_policy("cn-2022-06-28"), load_policy("cn-2022-11-11"))
    }
    assert {
        "contacts.secondary_contacts_identified",
        "quarantine.close_contact.centralized_days",
        "quarantine.secondary_contact.home_days",
        "quarantine.left_high_risk_area.centralized_days",
        "testing.inbound_positive_ct_below",  # Ct < 40 catches more than Ct < 35
        "testing.region_wide_mass_testing",
        "risk_areas.levels",
        "risk_areas.lifting.high.days_without_new_infection",
        "health_code.test_validity_counted_from",  # from sampling expires sooner
        "inbound.pre_boarding_tests",
        "inbound.circuit_breaker.long_suspension_days",
    } <= stricter
    assert "risk_areas.drawn_by.high" in stricter  # compound is larger than building
    # the twenty measures capped tests at one a day; having no cap is the stricter state
    assert "testing.max_tests_per_day" in stricter
    assert "contacts.exposure_window_days" not in stricter  # equal


def test_nothing_is_stricter_than_itself() -> None:
    ninth = load_policy("cn-2022-06-28")
    assert stricter_than(ninth, ninth) == []


def test_a_local_rule_set_with_layered_measures(write_policy: Writer) -> None:
    """A local rule set (jurisdiction cn-31) extends the national one with 层层加码 and one
    relaxation; the audit lists the stricter measures and only them."""
    local = {
        "id": "cn-31-2022-11-20",
        "extends": "cn-2022-11-11",
        "jurisdiction": "cn-31",
        "in_force_from": date(2022, 11, 20),
        "status": "released",
        "title": "a local rule set",
        "sources": {"local": {"facts": None, "original": "a local notice (test)"}},
        "contacts": {
            "exposure_window_days": _param(7, "days"),  # wider window
            "secondary_contacts_identified": _param(True, "flag"),  # brought back
            "secondary_contact_settings": _param(["household"], "category"),
        },
        "quarantine": {
            "close_contact": {
                "centralized_days": _param(7, "days"),  # 7 instead of 5
                "centralized_test_days": _param([1, 2, 3, 5, 7], "day_of_phase"),  # more tests
            },
            "secondary_contact": {
                "centralized_days": _param(0, "days"),
                "home_days": _param(7, "days"),
                "home_kind": _param("home_isolation", "category"),
                "home_test_days": _param([1, 7], "day_of_phase"),
                "extension_on_new_exposure": _param("none", "category"),
            },
        },
        "testing": {
            "max_tests_per_day": None,  # 一天两检 allowed again
            "positive_ct_below": _param(38, "ct"),  # laxer: not listed
            "pool_size": _param(20, "count"),  # not comparable: not listed
        },
        "health_code": {
            "venue_entry_test_validity_hours": _param(48, "hours"),  # shorter validity
            "leave_city_test_validity_hours": _param(72, "hours"),  # laxer: not listed
        },
    }
    policy = load_policy_file(write_policy(local))
    national = load_policy("cn-2022-11-11")
    found = stricter_than(policy, national)
    assert [c.key for c in found] == [
        "contacts.exposure_window_days",
        "contacts.secondary_contacts_identified",
        "contacts.secondary_contact_settings",
        "quarantine.close_contact.centralized_days",
        "quarantine.close_contact.centralized_test_days",
        "quarantine.secondary_contact.home_days",
        "quarantine.secondary_contact.home_kind",
        "quarantine.secondary_contact.home_test_days",
        "testing.max_tests_per_day",
        "health_code.venue_entry_test_validity_hours",
    ]
    by_key = {c.key: c for c in found}
    assert (
        by_key["quarantine.close_contact.centralized_days"].old,
        by_key["quarantine.close_contact.centralized_days"].new,
    ) == (5, 7)
    assert by_key["testing.max_tests_per_day"].kind is ChangeKind.REMOVED
    assert by_key["quarantine.secondary_contact.home_days"].kind is ChangeKind.ADDED


def test_a_local_overlay_in_a_folder_of_its_own_extends_the_national_regime() -> None:
    # the README's sample city overlay, audited where it is: it had to be copied into
    # policies/ first ('no policy cn-2022-11-11 to extend in tests/data/policies')
    sample = Path(__file__).resolve().parents[1] / "data" / "policies" / "cn-sample-2022-11-20.yaml"
    local = load_policy_file(sample)
    assert local.lineage == ("cn-sample-2022-11-20", "cn-2022-11-11")
    national = load_policy("cn-2022-11-11")
    stricter = {r.key for r in stricter_than(local, national)}
    assert "quarantine.close_contact.centralized_days" in stricter
