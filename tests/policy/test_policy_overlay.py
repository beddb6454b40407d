"""Overlays: a what-if or a successor `extends` another policy; merged, then validated."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fangkong.errors import PolicyFileError
from fangkong.policy import (
    PolicyStatus,
    Population,
    QuarantineKind,
    load_policy,
    load_policy_file,
    policy_in_force,
)

Reader = Callable[[str], dict[str, Any]]
Writer = Callable[..., Path]
WHATIF = "whatif-2022-06-28-close-contacts-5-3"


def _param(value: Any, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "source": "whatif", "verified": False}


def _whatif(policy_id: str, extends: str, **body: Any) -> dict[str, Any]:
    return {
        "id": policy_id,
        "extends": extends,
        "status": "what-if",
        "title": "a what-if",
        "sources": {"whatif": {"facts": None, "original": "an analyst's assumption"}},
        **body,
    }


def test_the_shipped_what_if_records_both_ids() -> None:
    whatif = load_policy(WHATIF)
    assert whatif.id == WHATIF
    assert whatif.extends == "cn-2022-06-28"
    assert whatif.lineage == (WHATIF, "cn-2022-06-28")
    assert whatif.status is PolicyStatus.WHAT_IF
    close = whatif.quarantine[Population.CLOSE_CONTACT]
    assert (close.centralized_days, close.home_days, close.home_kind) == (
        5,
        3,
        QuarantineKind.HOME_ISOLATION,
    )
    # inherited from the base, with the base's sources
    assert whatif.jurisdiction == "cn"
    assert whatif.in_force_from == date(2022, 6, 28)
    assert whatif.quarantine[Population.SECONDARY_CONTACT].home_days == 7
    assert "NetEase" in whatif.source_of("quarantine.secondary_contact.home_days")
    assert "what-if" in whatif.source_of("quarantine.close_contact.centralized_days")


def test_a_successor_inherits_all_but_what_it_changes() -> None:
    seventh = load_policy("cn-2020-09-15")
    assert seventh.lineage == ("cn-2020-09-15", "cn-2020-07-21", "cn-2020-06-08", "cn-2020-04-08")
    assert seventh.title.startswith("Prevention and control protocol, 7th")
    assert seventh.quarantine[Population.CLOSE_CONTACT].centralized_days == 14
    assert seventh.inbound.circuit_breaker is not None
    assert seventh.testing.dilution_pooling_max_positivity_percent == 0.1


def test_a_what_if_is_never_in_force(write_policy: Writer, library: Path) -> None:
    write_policy(_whatif("whatif-late", "cn-2022-11-11"))
    assert policy_in_force(date(2022, 12, 1), directory=library).id == "cn-2022-11-11"


def test_an_overlay_is_validated_after_the_merge(write_policy: Writer) -> None:
    # 5 centralized days, but the base's test days (1, 2, 3, 5, 7) are kept: day 7 is outside
    overlay = _whatif(
        "whatif-short",
        "cn-2022-06-28",
        quarantine={"close_contact": {"centralized_days": _param(5, "days")}},
    )
    path = write_policy(overlay)
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(path)
    assert caught.value.path == str(path)
    assert caught.value.key == "quarantine.close_contact.centralized_test_days"
    assert "test day 7 is outside the 5-day centralized phase" in str(caught.value)


def test_null_removes_a_base_entry(write_policy: Writer) -> None:
    overlay = _whatif("whatif-no-breaker", "cn-2022-06-28", inbound={"circuit_breaker": None})
    policy = load_policy_file(write_policy(overlay))
    assert policy.inbound.circuit_breaker is None
    assert policy.inbound.pre_boarding_tests == 2  # the rest of the section is kept


def test_a_circuit_breaker_needs_an_inbound_regime(write_policy: Writer) -> None:
    # the breaker counts positives within the inbound regime's days: no regime, no window
    overlay = _whatif(
        "whatif-no-inbound-regime", "cn-2022-06-28", quarantine={"inbound_traveller": None}
    )
    path = write_policy(overlay)
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(path)
    assert caught.value.path == str(path)
    assert "inbound.circuit_breaker needs quarantine.inbound_traveller" in str(caught.value)


def test_an_overlay_can_add_a_section(write_policy: Writer) -> None:
    breaker = load_policy("cn-2022-06-28").inbound.circuit_breaker
    assert breaker is not None
    overlay = _whatif(
        "whatif-breaker-back",
        "cn-2022-11-11",
        inbound={
            "circuit_breaker": {
                name: _param(value, "days" if name.endswith("_days") else "count")
                for name, value in breaker.model_dump().items()
            }
        },
    )
    policy = load_policy_file(write_policy(overlay))
    assert policy.inbound.circuit_breaker == breaker
    assert policy.parameter("inbound.circuit_breaker.long_suspension_days").source == "whatif"


def test_an_overlay_can_stack_on_an_overlay(write_policy: Writer) -> None:
    overlay = _whatif(
        "whatif-stacked",
        WHATIF,
        contacts={"exposure_window_days": _param(2, "days")},
    )
    policy = load_policy_file(write_policy(overlay))
    assert policy.lineage == ("whatif-stacked", WHATIF, "cn-2022-06-28")
    assert policy.contacts is not None and policy.contacts.exposure_window_days == 2
    assert policy.quarantine[Population.CLOSE_CONTACT].centralized_days == 5


def test_a_released_successor_may_not_predate_its_base(write_policy: Writer) -> None:
    successor = {
        "id": "cn-2022-06-01",
        "extends": "cn-2022-06-28",
        "in_force_from": date(2022, 6, 1),
        "status": "released",
        "title": "earlier",
    }
    path = write_policy(successor)
    with pytest.raises(
        PolicyFileError, match="before the date in force of cn-2022-06-28"
    ) as caught:
        load_policy_file(path)
    assert caught.value.key == "in_force_from"


def test_the_overlay_header_is_its_own(shipped: Reader, write_policy: Writer) -> None:
    overlay = _whatif("whatif-header", "cn-2022-06-28")
    policy = load_policy_file(write_policy(overlay))
    assert policy.title == "a what-if"
    assert policy.title_zh is None  # not inherited: it named the base
    missing_status = {k: v for k, v in overlay.items() if k != "status"}
    missing_status["id"] = "whatif-no-status"
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(write_policy(missing_status))
    assert caught.value.key == "status"
