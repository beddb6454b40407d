"""The policy vocabulary: one English name for each Chinese policy term that a policy file uses as
a value or a key, with the Chinese beside it. (These could move to `fangkong.model.glossary`; they
live here while only policies use them.)

Each enumeration whose members can be "more or less strict" lists them in `STRICTNESS`, laxest
first; `fangkong.policy.audit.stricter_than` compares a local rule set with the national one by
that order.
"""

from __future__ import annotations

from enum import StrEnum

# the reasons of a code colour are stored by the engine: their enumeration is the glossary's
from fangkong.model.glossary import CodeReason

__all__ = [
    "STRICTNESS",
    "AreaRestriction",
    "AreaRule",
    "AreaUnit",
    "CareSetting",
    "Classification",
    "CodeReason",
    "Delineation",
    "ExtensionRule",
    "MassTestingScope",
    "PolicyStatus",
    "Population",
    "QuarantineKind",
    "RiskLevel",
    "RuleScope",
    "ValidityCount",
    "ValidityStart",
    "VenueMeasure",
]


class PolicyStatus(StrEnum):
    """A released policy is in force from its date; a what-if is an analyst's overlay, never in
    force."""

    RELEASED = "released"
    WHAT_IF = "what-if"


class Population(StrEnum):
    """The populations a quarantine regime applies to (管控人群)."""

    CLOSE_CONTACT = "close_contact"  # 密切接触者
    SECONDARY_CONTACT = "secondary_contact"  # 密接的密接 (次密接)
    INBOUND_TRAVELLER = "inbound_traveller"  # 入境人员
    LEFT_HIGH_RISK_AREA = "left_high_risk_area"  # 7天内有高风险区旅居史人员
    LEFT_MEDIUM_RISK_AREA = "left_medium_risk_area"  # 7天内有中风险区旅居史人员
    HIGH_RISK_POST_WORKER = "high_risk_post_worker"  # 高风险岗位从业人员 (闭环作业结束后)


class QuarantineKind(StrEnum):
    """Kinds of quarantine phase, strictest first in the protocols' own order."""

    CENTRALIZED_QUARANTINE = "centralized_quarantine"  # 集中隔离 (集中隔离医学观察)
    HOME_ISOLATION = "home_isolation"  # 居家隔离 (赋码管理, 不得外出)
    HOME_MEDICAL_OBSERVATION = "home_medical_observation"  # 居家医学观察
    HOME_HEALTH_MONITORING = "home_health_monitoring"  # 居家健康监测


class ExtensionRule(StrEnum):
    """What a new exposure during quarantine does to its end date."""

    NONE = "none"  # no change
    RESTART = "restart"  # 重新计算: the period counts again from the last exposure


class CareSetting(StrEnum):
    """Where a case is treated or isolated (应收尽收)."""

    DESIGNATED_HOSPITAL = "designated_hospital"  # 定点医院
    SHELTER_HOSPITAL = "shelter_hospital"  # 方舱医院
    CENTRALIZED_ISOLATION = "centralized_isolation"  # 集中隔离 (集中医学观察)
    HOME_ISOLATION = "home_isolation"  # 居家隔离


class RiskLevel(StrEnum):
    """风险等级 of an area (分区分级)."""

    LOW = "low"  # 低风险区
    MEDIUM = "medium"  # 中风险区
    HIGH = "high"  # 高风险区


class AreaUnit(StrEnum):
    """The unit a risk area is drawn by (划定单元), finest first."""

    # 场所: a place where a case stayed, named by its venue code (a venue is drawn as itself
    # where the rule draws compounds or finer: "smaller where possible")
    VENUE = "venue"
    BUILDING = "building"  # 楼栋 / 单元 (building or building unit)
    COMPOUND = "compound"  # 居住小区 (村): residential compound or village
    STREET = "street"  # 街道 / 乡镇 (a 9-digit division code)
    COUNTY = "county"  # 县 (市、区、旗)


class Classification(StrEnum):
    """How areas get their level."""

    COUNTY_CASE_COUNTS = "county_case_counts"  # 2020: by the county's case counts in 14 days
    CASE_LOCATIONS = "case_locations"  # 2022: by where cases live, work and stay


class Delineation(StrEnum):
    """What an area of a level covers (2022 rules: 划定标准)."""

    CASE_RESIDENCE_AND_FREQUENTED_PLACES = "case_residence_and_frequented_places"  # 居住地+常活动地
    PLACES_WHERE_A_CASE_STAYED = "places_where_a_case_stayed"  # 停留一定时间的区域
    REST_OF_COUNTY = "rest_of_county"  # 所在县的其他地区


class AreaRule(StrEnum):
    """The rule for people in an area of a level: 2020 strategies, 2022 resident rules."""

    GUARD_AGAINST_IMPORT = "guard_against_import"  # 外防输入
    PERSONAL_PROTECTION_NO_GATHERING = "personal_protection_no_gathering"  # 个人防护、避免聚集
    GUARD_IMPORT_AND_SPREAD = "guard_import_and_spread"  # 外防输入、内防扩散
    STAY_IN_AREA_STAGGERED_PICKUP = "stay_in_area_staggered_pickup"  # 人不出区、错峰取物
    CONTAIN_SPREAD_STRICT_CONTROL = "contain_spread_strict_control"  # 内防扩散、外防输出、严格管控
    STAY_HOME_DOOR_TO_DOOR = "stay_home_door_to_door"  # 足不出户、上门服务

    @property
    def confinement(self) -> AreaRestriction | None:
        """What the rule does to the residents' movements: 足不出户 keeps them home, 人不出区
        in the area; the 2020 strategies and 个人防护、避免聚集 confine nobody."""
        return _CONFINEMENT.get(self)


class VenueMeasure(StrEnum):
    """Measures for a venue category at a risk level (April 2020 notice on key places)."""

    OPEN_GRADUALLY = "open_gradually"  # 有序逐步放开
    OPEN_CAUTIOUSLY = "open_cautiously"  # 审慎开放
    STRENGTHENED_PREVENTION = "strengthened_prevention"  # 加强风险防范 (特殊单位, low risk)
    GRADED_RESTRICTIONS = "graded_restrictions"  # 分类适度限制
    REINFORCED_MEASURES = "reinforced_measures"  # 继续采取强化措施 (特殊单位, medium/high)
    TEMPORARILY_CLOSED = "temporarily_closed"  # 临时禁止开业

    @property
    def restriction(self) -> AreaRestriction:
        """临时禁止开业 closes a venue; every other measure keeps it open under limits the
        notice does not quantify."""
        if self is VenueMeasure.TEMPORARILY_CLOSED:
            return AreaRestriction.CLOSED
        return AreaRestriction.RESTRICTED


class AreaRestriction(StrEnum):
    """What a risk area's measure does, typed for whoever obeys it: its residents kept home or
    in the area, a venue in it closed or open under restrictions."""

    STAY_HOME = "stay_home"  # 足不出户
    STAY_IN_AREA = "stay_in_area"  # 人不出区
    CLOSED = "closed"  # 临时禁止开业
    RESTRICTED = "restricted"  # open, under the measure's limits (分类适度限制, 强化措施 ...)
    # free to move, but leaving the city needs a negative test within the health code's
    # `leave_city_test_validity_hours` (the 9th edition's low-risk area: 离开所在城市须持
    # 48小时核酸阴性证明)
    LEAVE_CITY_WITH_TEST = "leave_city_with_test"


_CONFINEMENT = {
    AreaRule.STAY_HOME_DOOR_TO_DOOR: AreaRestriction.STAY_HOME,
    AreaRule.STAY_IN_AREA_STAGGERED_PICKUP: AreaRestriction.STAY_IN_AREA,
}


class RuleScope(StrEnum):
    """Whether a rule is the national one or a local example standing in for it."""

    NATIONAL = "national"
    LOCAL_EXAMPLE = "local_example"


class ValidityStart(StrEnum):
    """From when a test result's validity is counted."""

    REPORT = "report"  # 报告时间 (national notice, August 2022)
    SAMPLING = "sampling"  # 采样时间 (Shanghai, June 2022)


class ValidityCount(StrEnum):
    """How a test result's validity window is counted from its start."""

    HOURS = "hours"  # 72 h = 72 hours after the start (Shanghai, June 2022)
    CALENDAR_DAYS = "calendar_days"  # Beijing 健康宝: days 0, 1, 2 after the test = "48 h"


class MassTestingScope(StrEnum):
    """When region-wide mass testing (按行政区域全员核酸检测) may be ordered."""

    ONLY_WHEN_SOURCE_UNCLEAR = "only_when_source_unclear"  # 感染来源和传播链不清时
    UNRESTRICTED = "unrestricted"  # at the local command's discretion


STRICTNESS: dict[type[StrEnum], tuple[StrEnum, ...]] = {
    QuarantineKind: (
        QuarantineKind.HOME_HEALTH_MONITORING,
        QuarantineKind.HOME_MEDICAL_OBSERVATION,
        QuarantineKind.HOME_ISOLATION,
        QuarantineKind.CENTRALIZED_QUARANTINE,
    ),
    ExtensionRule: (ExtensionRule.NONE, ExtensionRule.RESTART),
    CareSetting: (
        CareSetting.HOME_ISOLATION,
        CareSetting.CENTRALIZED_ISOLATION,
        CareSetting.SHELTER_HOSPITAL,
        CareSetting.DESIGNATED_HOSPITAL,
    ),
    RiskLevel: (RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH),
    AreaUnit: tuple(AreaUnit),  # declared finest (laxest) first
    AreaRule: tuple(AreaRule),  # declared laxest first
    VenueMeasure: tuple(VenueMeasure),  # declared laxest first
    ValidityStart: (ValidityStart.REPORT, ValidityStart.SAMPLING),
    ValidityCount: (ValidityCount.HOURS, ValidityCount.CALENDAR_DAYS),
    MassTestingScope: (MassTestingScope.ONLY_WHEN_SOURCE_UNCLEAR, MassTestingScope.UNRESTRICTED),
}
