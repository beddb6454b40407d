"""Checks that relate several parameters of a validated policy, or a parameter and its metadata.
Each problem is a (dotted key, message) pair; the loader turns the first into a PolicyFileError
naming the file and that key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from fangkong.policy.parameter import ParamMeta, walk
from fangkong.policy.schema import HEADER_FIELDS, Policy, QuarantineRegime
from fangkong.policy.terms import (
    STRICTNESS,
    Classification,
    CodeReason,
    PolicyStatus,
    Population,
    RiskLevel,
)

__all__ = ["Problem", "problems"]

Problem = tuple[str, str]


def problems(policy: Policy, meta: Mapping[str, ParamMeta]) -> list[Problem]:
    """Every problem found, in file order as far as possible."""
    return [
        *_header(policy),
        *_metadata(policy, meta),
        *_contacts(policy),
        *_quarantine(policy),
        *_testing(policy),
        *_risk_areas(policy),
        *_health_code(policy),
        *_inbound(policy),
        *_care(policy),
    ]


_DOCUMENT = "write the absence as {value: null, unit: section, source, verified, note}"
_REQUIRED_SECTIONS = frozenset(
    name
    for name, field in Policy.model_fields.items()
    if field.is_required() and name not in HEADER_FIELDS
)


def _header(policy: Policy) -> Iterator[Problem]:
    if policy.status is PolicyStatus.RELEASED:
        expected = f"{policy.jurisdiction}-{policy.in_force_from.isoformat()}"
        if policy.id != expected:
            yield (
                "id",
                (
                    f"a released policy is named by its jurisdiction and date in force: "
                    f"expected {expected!r}, found {policy.id!r}"
                ),
            )
    elif policy.extends is None:
        yield "extends", "a what-if policy must name the policy it changes (extends: <id>)"
    if policy.in_force_source not in policy.sources:
        yield "in_force_source", f"unknown source {policy.in_force_source!r}: not in `sources`"
    until = policy.in_force_until
    if until is not None:
        if policy.status is not PolicyStatus.RELEASED:
            yield "in_force_until", "a what-if is never in force: it has no end"
        elif until < policy.in_force_from:
            yield (
                "in_force_until",
                f"{until.isoformat()} is before in_force_from ({policy.in_force_from.isoformat()})",
            )


def _metadata(policy: Policy, meta: Mapping[str, ParamMeta]) -> Iterator[Problem]:
    leaves = set()
    for key, value, spec in walk(policy, skip=HEADER_FIELDS):
        leaves.add(key)
        m = meta.get(key)
        if m is None:
            if value is not None:
                yield key, "write a parameter as {value, unit, source, verified}"
            elif key in _REQUIRED_SECTIONS:
                yield key, f"no {key} at all? {_DOCUMENT}"
            continue
        if m.unit is not spec.unit:
            yield f"{key}.unit", f"this parameter is in {spec.unit.value!r}, not {m.unit.value!r}"
        if m.source not in policy.sources:
            yield f"{key}.source", f"unknown source {m.source!r}: not in `sources`"
    for key in meta:
        if key not in leaves:
            yield key, "not a parameter: a section or an unknown place for {value: ...}"


def _contacts(policy: Policy) -> Iterator[Problem]:
    contacts = policy.contacts
    has_regime = Population.SECONDARY_CONTACT in policy.quarantine
    if contacts is None:
        for population in (Population.CLOSE_CONTACT, Population.SECONDARY_CONTACT):
            if population in policy.quarantine:
                yield (
                    f"quarantine.{population.value}",
                    "no contacts are traced (contacts is none): there is nobody to quarantine",
                )
        return
    if contacts.secondary_contacts_identified:
        if not has_regime:
            yield (
                "quarantine.secondary_contact",
                "missing: contacts.secondary_contacts_identified is true",
            )
        if contacts.secondary_contact_settings is None:
            yield (
                "contacts.secondary_contact_settings",
                "missing: contacts.secondary_contacts_identified is true",
            )
    else:
        if has_regime:
            yield (
                "quarantine.secondary_contact",
                (
                    "secondary contacts are not identified (contacts.secondary_contacts_identified "
                    "is false)"
                ),
            )
        if contacts.secondary_contact_settings is not None:
            yield (
                "contacts.secondary_contact_settings",
                (
                    "secondary contacts are not identified (contacts.secondary_contacts_identified "
                    "is false)"
                ),
            )


def _phase(key: str, name: str, days: int, test_days: tuple[int, ...] | None) -> Iterator[Problem]:
    tests_key = f"{key}.{name}_test_days"
    if days > 0 and test_days is None:
        yield tests_key, f"missing: the test days of the {days}-day {name} phase ([] for none)"
    for day in test_days or ():
        if day > days:
            yield tests_key, f"test day {day} is outside the {days}-day {name} phase"
            break


def _regime(key: str, regime: QuarantineRegime) -> Iterator[Problem]:
    if regime.total_days == 0:
        yield f"{key}.centralized_days", "a quarantine regime must last at least one day"
    yield from _phase(key, "centralized", regime.centralized_days, regime.centralized_test_days)
    yield from _phase(key, "home", regime.home_days, regime.home_test_days)
    if regime.home_days > 0 and regime.home_kind is None:
        yield f"{key}.home_kind", f"missing: the kind of the {regime.home_days}-day home phase"
    if regime.home_days == 0 and regime.home_kind is not None:
        yield f"{key}.home_kind", "there is no home phase (home_days is 0)"


def _quarantine(policy: Policy) -> Iterator[Problem]:
    for population, regime in policy.quarantine.items():
        yield from _regime(f"quarantine.{population.value}", regime)
    discharge = policy.discharge
    if discharge is None:
        return
    for day in discharge.monitoring_test_days or ():
        if day > discharge.monitoring_days:
            yield (
                "discharge.monitoring_test_days",
                f"test day {day} is outside the {discharge.monitoring_days}-day monitoring",
            )
            break


def _testing(policy: Policy) -> Iterator[Problem]:
    testing = policy.testing
    assess = testing.inbound_release_assessment_ct_below
    if assess is not None and assess <= testing.inbound_positive_ct_below:
        yield (
            "testing.inbound_release_assessment_ct_below",
            f"must be above the inbound positive cut-off ({testing.inbound_positive_ct_below})",
        )


def _levels_keyed(
    key: str, mapping: Mapping[RiskLevel, object] | None, levels: tuple[RiskLevel, ...]
) -> Iterator[Problem]:
    for level in mapping or {}:
        if level not in levels:
            yield (
                f"{key}.{level.value}",
                (
                    f"level {level.value!r} is not one of risk_areas.levels "
                    f"({', '.join(v.value for v in levels)})"
                ),
            )


def _risk_areas(policy: Policy) -> Iterator[Problem]:
    areas = policy.risk_areas
    if areas is None:
        for population in (Population.LEFT_HIGH_RISK_AREA, Population.LEFT_MEDIUM_RISK_AREA):
            if population in policy.quarantine:
                yield (
                    f"quarantine.{population.value}",
                    "there are no risk areas (risk_areas is none)",
                )
        return
    levels = areas.levels
    if RiskLevel.LOW not in levels:
        yield "risk_areas.levels", "the levels must include 'low'"
    for name in (
        "drawn_by",
        "delineation",
        "lifting",
        "area_rules",
        "venue_measures",
        "leave_city_test",
    ):
        yield from _levels_keyed(f"risk_areas.{name}", getattr(areas, name), levels)
    for name in ("drawn_by", "area_rules"):
        missing = [v.value for v in levels if v not in getattr(areas, name)]
        if missing:
            yield f"risk_areas.{name}", f"missing for level(s): {', '.join(missing)}"
    if areas.classification is Classification.COUNTY_CASE_COUNTS:
        for name in ("criteria_lookback_days", "criteria_high_cumulative_cases_above"):
            if getattr(areas, name) is None:
                yield f"risk_areas.{name}", "missing: classification is county_case_counts"
    elif areas.delineation is None:
        yield "risk_areas.delineation", "missing: classification is case_locations"
    order = STRICTNESS[RiskLevel]
    for level, rule in (areas.lifting or {}).items():
        key = f"risk_areas.lifting.{level.value}"
        if rule.lowered_to not in levels:
            yield f"{key}.lowered_to", f"level {rule.lowered_to.value!r} is not one of the levels"
        elif order.index(rule.lowered_to) >= order.index(level):
            yield f"{key}.lowered_to", f"{rule.lowered_to.value!r} is not below {level.value!r}"
        day = rule.negative_round_on_day
        if day is not None and day > rule.days_without_new_infection:
            yield (
                f"{key}.negative_round_on_day",
                f"day {day} is after the {rule.days_without_new_infection} days it counts",
            )
    for level, needed in (areas.leave_city_test or {}).items():
        key = f"risk_areas.leave_city_test.{level.value}"
        if not needed:
            continue
        if policy.health_code.leave_city_test_validity_hours is None:
            yield key, "needs health_code.leave_city_test_validity_hours"
        area_rule = areas.area_rules.get(level)
        if area_rule is not None and area_rule.confinement is not None:
            # one measure for the residents of an area: a confined resident leaves nothing
            yield key, f"the level's area rule {area_rule.value!r} confines its residents"
    if areas.downgraded_high_to_low_after_days is not None and not {
        RiskLevel.HIGH,
        RiskLevel.MEDIUM,
    } <= set(levels):
        yield "risk_areas.downgraded_high_to_low_after_days", "needs both high and medium levels"
    for population, level in (
        (Population.LEFT_HIGH_RISK_AREA, RiskLevel.HIGH),
        (Population.LEFT_MEDIUM_RISK_AREA, RiskLevel.MEDIUM),
    ):
        if population in policy.quarantine:
            if level not in levels:
                yield (
                    f"quarantine.{population.value}",
                    f"there are no {level.value}-risk areas (risk_areas.levels)",
                )
            if areas.departure_lookback_days is None:
                yield (
                    "risk_areas.departure_lookback_days",
                    f"missing: needed by quarantine.{population.value}",
                )


def _health_code(policy: Policy) -> Iterator[Problem]:
    code = policy.health_code
    both = sorted(set(code.red_reasons) & set(code.yellow_reasons))
    if both:
        yield "health_code.yellow_reasons", f"also red reasons: {', '.join(both)}"
    quarantined = policy.quarantine or None  # no regime: nobody is quarantined
    cannot_arise = {
        CodeReason.FROM_RISK_AREA: ("risk_areas", policy.risk_areas),
        CodeReason.CLOSE_CONTACT_CENTRALIZED: ("contacts", policy.contacts),
        CodeReason.CENTRALIZED_QUARANTINE: ("quarantine", quarantined),
        CodeReason.HOME_QUARANTINE: ("quarantine", quarantined),
        CodeReason.NO_RECENT_TEST: ("missing_test_after_days", code.missing_test_after_days),
    }
    for name in ("red_reasons", "yellow_reasons"):
        for reason in getattr(code, name):
            section, value = cannot_arise.get(reason, ("", True))
            if value is None:
                yield f"health_code.{name}", f"{reason.value!r} cannot arise: {section} is none"
    windows = code.venue_entry_test_validity_hours, code.leave_city_test_validity_hours
    if any(w is not None for w in windows):
        for key in ("test_validity_counted_from", "test_validity_counted_in"):
            if getattr(code, key) is None:
                yield f"health_code.{key}", "missing: needed by a test validity window"


def _care(policy: Policy) -> Iterator[Problem]:
    if (policy.treatment is None) != (policy.discharge is None):
        missing = "treatment" if policy.treatment is None else "discharge"
        yield missing, "treatment and discharge are both written, or both none"


def _inbound(policy: Policy) -> Iterator[Problem]:
    inbound = policy.inbound
    if inbound.pre_boarding_tests > 0 and inbound.pre_boarding_window_hours is None:
        yield "inbound.pre_boarding_window_hours", "missing: pre_boarding_tests is above 0"
    breaker = inbound.circuit_breaker
    if breaker is None:
        return
    key = "inbound.circuit_breaker"
    if breaker.long_suspension_min_positives <= breaker.short_suspension_min_positives:
        yield (
            f"{key}.long_suspension_min_positives",
            "must be above short_suspension_min_positives",
        )
    if breaker.long_suspension_days < breaker.short_suspension_days:
        yield f"{key}.long_suspension_days", "must not be shorter than short_suspension_days"
