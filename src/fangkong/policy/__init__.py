"""Policies as data: one YAML file per regime and date in force (`policies/`), validated on load,
each number with its unit, its source and whether it is verified.

    from fangkong.policy import Population, policy_in_force

    policy = policy_in_force(date(2022, 7, 1))                     # cn-2022-06-28
    regime = policy.quarantine[Population.CLOSE_CONTACT]
    regime.centralized_days, regime.home_days                     # 7, 3
    policy.source_of("quarantine.close_contact.centralized_days")

Modules: `terms` (the vocabulary), `parameter` (units, parameter types, metadata), `schema` (the
models), `consistency` (cross-checks), `citation` (the sources in `policies/sources/` that files
cite), `loader` (files, in force on a date, overlays), `audit` (diff, stricter_than), `usage`
(which parameters the rules read).
"""

from __future__ import annotations

from fangkong.policy.audit import Change, ChangeKind, diff, stricter_than
from fangkong.policy.citation import fact_sections
from fangkong.policy.loader import (
    ENV_VAR,
    list_policies,
    load_policy,
    load_policy_file,
    policies_dir,
    policy_in_force,
)
from fangkong.policy.parameter import ParamMeta, Source, Stricter, Unit
from fangkong.policy.schema import (
    Bulletin,
    CircuitBreaker,
    Contacts,
    Discharge,
    HealthCode,
    Inbound,
    LiftingRule,
    Parameter,
    Phase,
    Policy,
    QuarantineRegime,
    RiskAreas,
    Testing,
    Treatment,
    VenueMeasures,
)
from fangkong.policy.terms import (
    AreaRule,
    AreaUnit,
    CareSetting,
    Classification,
    CodeReason,
    Delineation,
    ExtensionRule,
    MassTestingScope,
    PolicyStatus,
    Population,
    QuarantineKind,
    RiskLevel,
    RuleScope,
    ValidityCount,
    ValidityStart,
    VenueMeasure,
)

__all__ = [
    "ENV_VAR",
    "AreaRule",
    "AreaUnit",
    "Bulletin",
    "CareSetting",
    "Change",
    "ChangeKind",
    "CircuitBreaker",
    "Classification",
    "CodeReason",
    "Contacts",
    "Delineation",
    "Discharge",
    "ExtensionRule",
    "HealthCode",
    "Inbound",
    "LiftingRule",
    "MassTestingScope",
    "ParamMeta",
    "Parameter",
    "Phase",
    "Policy",
    "PolicyStatus",
    "Population",
    "QuarantineKind",
    "QuarantineRegime",
    "RiskAreas",
    "RiskLevel",
    "RuleScope",
    "Source",
    "Stricter",
    "Testing",
    "Treatment",
    "Unit",
    "ValidityCount",
    "ValidityStart",
    "VenueMeasure",
    "VenueMeasures",
    "diff",
    "fact_sections",
    "list_policies",
    "load_policy",
    "load_policy_file",
    "policies_dir",
    "policy_in_force",
    "stricter_than",
]
