"""One English name for each Chinese policy term; code uses the English, the docstrings keep the
Chinese so that a reader of the policy texts can find the rule.

Enumerations whose values are stored in the database are StrEnums: the stored value is the
lower-case English name.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AreaReason",
    "CaseEventType",
    "CertificateCheck",
    "CodeColour",
    "CodeReason",
    "CodeSource",
    "ContactTier",
    "ContactVia",
    "Diagnosis",
    "FacilityKind",
    "IdType",
    "IdentityCorrectionReason",
    "MoveReason",
    "OrderType",
    "Origin",
    "Outcome",
    "RegionLevel",
    "Setting",
    "Severity",
    "Sex",
    "Symptom",
    "SymptomObserver",
    "TestResult",
    "VenueCategory",
    "Waiting",
]


class Diagnosis(StrEnum):
    """诊断分类. `excluded` (排除) closes a suspected case."""

    SUSPECTED = "suspected"  # 疑似病例
    CONFIRMED = "confirmed"  # 确诊病例
    ASYMPTOMATIC = "asymptomatic"  # 无症状感染者
    EXCLUDED = "excluded"  # 排除


class CodeColour(StrEnum):
    """健康码颜色: the colours of the personal health information code (GB/T 38961-2020)."""

    GREEN = "green"  # 绿码
    YELLOW = "yellow"  # 黄码
    RED = "red"  # 红码


class CodeReason(StrEnum):
    """Reasons for a health-code colour. Which colour each gives is the policy's
    (`health_code.red_reasons`, `yellow_reasons`); the rules that find them are
    `fangkong.engine.colours`. The first eight are Jiangsu's 苏康码 rules (no national rulebook
    was found); the later ones Shanghai's 随申码 rules of 2022. Jiangsu's "abnormal record in
    the provincial database within 14 days" (14天内省级数据库异常记录) is not among them: no
    source found says which records are abnormal (policies/cn-2022-06-28.yaml, yellow_reasons)."""

    CONFIRMED = "confirmed"  # 确诊病例
    SUSPECTED = "suspected"  # 疑似病例
    ASYMPTOMATIC = "asymptomatic"  # 无症状感染者
    CLOSE_CONTACT_CENTRALIZED = "close_contact_centralized"  # 集中医学观察中的密切接触者
    FROM_RISK_AREA = "from_risk_area"  # 来自重点地区或中高风险地区
    FEVER_CLINIC_VISIT = "fever_clinic_visit"  # 14天内发热门诊就诊
    FEVER_OR_RESPIRATORY_SYMPTOMS = "fever_or_respiratory_symptoms"  # 发热、干咳等症状
    # 集中隔离医学观察中 (not as a close contact: secondary contact, inbound traveller, ...)
    CENTRALIZED_QUARANTINE = "centralized_quarantine"
    HOME_QUARANTINE = "home_quarantine"  # 居家隔离医学观察或居家健康监测中
    POOL_POSITIVE = "pool_positive_awaiting_retest"  # 混管阳性, 单管复核未出
    NO_RECENT_TEST = "no_recent_test"  # 应检未检: no negative test within the policy's days


class CodeSource(StrEnum):
    """The kind of fact a colour reason comes from (`health_code_reason.source`)."""

    CASE_EPISODE = "case_episode"  # an active case episode (ref: its case id)
    QUARANTINE = "quarantine"  # a phase of an open quarantine (ref: the order's rule)
    POOLED_TUBE = "pooled_tube"  # a positive pooled tube awaiting the retest (ref: tube id)
    LATEST_NEGATIVE = "latest_negative"  # the latest negative test, or none (ref: none)
    FEVER_CLINIC = "fever_clinic"  # a visit to a fever clinic (ref: the visit id)
    RISK_AREA = "risk_area"  # the person lives in a medium- or high-risk area (ref: area id)
    SUSPECTED_CASE = "suspected_case"  # a case report's diagnosis 'suspected' (ref: case id)
    SYMPTOM_REPORT = "symptom_report"  # a fever or respiratory symptom reported (ref: report id)


class Symptom(StrEnum):
    """The symptoms of the health-code reason "fever, dry cough and other symptoms" (发热、干咳等
    症状, Jiangsu's 苏康码 rules): fever and the respiratory symptoms a health declaration or a
    temperature check records (GB/T 38962-2020 lists temperature and symptoms among a person's
    health information). Every one of them gives the reason."""

    FEVER = "fever"  # 发热
    COUGH = "cough"  # 咳嗽 (干咳: a dry cough is a cough)
    SORE_THROAT = "sore_throat"  # 咽痛
    SHORTNESS_OF_BREATH = "shortness_of_breath"  # 气促、呼吸困难


class SymptomObserver(StrEnum):
    """Who recorded a symptom."""

    SELF_DECLARATION = "self_declaration"  # 健康申报: the person, through the code's app
    TEMPERATURE_CHECK = "temperature_check"  # 体温检测 at a venue, a checkpoint or a school
    CLINIC = "clinic"  # a clinic's record (a fever clinic's visit is a reason of its own)


class CertificateCheck(StrEnum):
    """The border's check of an arrival's foreign certificate (EU DCC)."""

    VALID = "valid"  # signature, expiry, schema, key usage and revocation all pass
    REFUSED = "refused"  # refused: the `refusal` column says why (fangkong.credential.Refusal)
    UNCHECKED = "unchecked"  # the run was given no trust material to check it with


class Origin(StrEnum):
    """本土 or 境外输入."""

    LOCAL = "local"  # 本土病例
    IMPORTED = "imported"  # 境外输入病例


class Severity(StrEnum):
    """临床分型 (diagnosis and treatment plan). The bulletin's 重症 counts severe and critical."""

    MILD = "mild"  # 轻型
    MODERATE = "moderate"  # 普通型
    SEVERE = "severe"  # 重型
    CRITICAL = "critical"  # 危重型


class Outcome(StrEnum):
    """How a case's management ends."""

    CURED = "cured"  # 治愈出院 (confirmed cases)
    RELEASED = "released"  # 解除医学观察 (asymptomatic infections)
    DIED = "died"  # 死亡


class CaseEventType(StrEnum):
    """The kinds of event in the case registry (病例报告). A correction is a new event."""

    REPORT = "report"  # 报告: a new suspected, confirmed or asymptomatic case
    RECLASSIFY = "reclassify"  # 订正/转归: diagnosis or origin changes (e.g. 无症状转确诊)
    SEVERITY = "severity"  # 病情变化: the clinical severity changes
    OUTCOME = "outcome"  # 治愈出院 / 解除医学观察 / 死亡


class VenueCategory(StrEnum):
    """Venue categories of the April 2020 notice on key places (seed 002): 工作生活必须的场所,
    开放式活动场所, 娱乐休闲等集中密闭场所, and the 特殊单位 (养老机构, 儿童福利院, 监狱,
    精神卫生医疗机构)."""

    ESSENTIAL = "essential"  # 工作生活必须的场所
    OPEN_AIR = "open_air"  # 开放式活动场所
    ENCLOSED_ENTERTAINMENT = "enclosed_entertainment"  # 娱乐休闲等集中密闭场所
    ELDERLY_CARE = "elderly_care"  # 养老机构
    CHILD_WELFARE = "child_welfare"  # 儿童福利院
    PRISON = "prison"  # 监狱
    MENTAL_HEALTH = "mental_health"  # 精神卫生医疗机构

    @property
    def special_institution(self) -> bool:
        """特殊单位: under reinforced measures at every risk level."""
        return self in _SPECIAL_INSTITUTIONS


_SPECIAL_INSTITUTIONS = frozenset(
    {
        VenueCategory.ELDERLY_CARE,
        VenueCategory.CHILD_WELFARE,
        VenueCategory.PRISON,
        VenueCategory.MENTAL_HEALTH,
    }
)


class RegionLevel(StrEnum):
    """Levels of the administrative division code (GB/T 2260, extended below county by the
    statistical division codes: 乡镇街道 9 digits, 村居委会 12 digits)."""

    PROVINCE = "province"  # 省级
    PREFECTURE = "prefecture"  # 地级
    COUNTY = "county"  # 县级
    STREET = "street"  # 乡级 (街道, 乡, 镇)
    COMMUNITY = "community"  # 村级 (社区, 村)


class AreaReason(StrEnum):
    """Why a risk area was drawn (分区分级), as the engine decides it (`fangkong.engine.zones`)."""

    CASE_RESIDENCE = "case_residence"  # 病例居住地: a case lives in the unit
    CASE_STAYED = "case_stayed"  # 病例停留过的场所: a case stayed at the place while infectious
    COUNTY_CASE_COUNTS = "county_case_counts"  # 2020: the county's new and cumulative cases
    # 2022 低风险区: the rest of a county that has a high or medium area (所在县的其他地区)
    REST_OF_COUNTY = "rest_of_county"


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"


class IdType(StrEnum):
    """The identity document behind a person record."""

    RIC = "ric"  # 居民身份证 (GB 11643)
    PASSPORT = "passport"  # 护照
    OTHER = "other"  # 港澳台居民居住证, 外国人永久居留身份证, ...


class IdentityCorrectionReason(StrEnum):
    """Why a person's identity (ID number, name, phone) is corrected (信息更正). A correction is a
    new event; the registration and earlier corrections stay as they were."""

    ENTRY_ERROR = "entry_error"  # 录入错误: the value was wrong when registered
    VERIFIED = "verified"  # 核实: checked against the household register (户籍) or the document
    DOCUMENT_CHANGED = "document_changed"  # 换证: a new identity document (e.g. a passport)
    NAME_CHANGED = "name_changed"  # 更名: a legal change of name
    PHONE_CHANGED = "phone_changed"  # 更换手机号: a new phone number


class MoveReason(StrEnum):
    """Why a person's residence (region, compound, building, household) changes."""

    MOVED = "moved"  # 迁居: the person lives somewhere else from the effective time
    ENTRY_ERROR = "entry_error"  # 录入错误: the registered address was wrong
    HOUSEHOLD_CHANGED = "household_changed"  # 分户 / 合户: same place, another household
    TEMPORARY_STAY = "temporary_stay"  # 暂住: staying elsewhere for a while (a new move ends it)


class TestResult(StrEnum):
    """核酸检测结果 of one tube."""

    NEGATIVE = "negative"  # 阴性
    POSITIVE = "positive"  # 阳性
    INVALID = "invalid"  # 无效 (re-sample)


class ContactTier(StrEnum):
    """Tiers of contacts found by tracing (流调)."""

    CLOSE = "close"  # 密切接触者 (密接)
    SECONDARY = "secondary"  # 密接的密接 (次密接)
    # 时空伴随者 / 风险人员: at a venue with a case, in a category where the policy does not make
    # that a close contact; assessed by an epidemiologist, not quarantined
    RISK_PERSON = "risk_person"


class Setting(StrEnum):
    """Where a declared contact happened (the protocol's contact situations)."""

    HOUSEHOLD = "household"  # 共同居住
    WORKPLACE = "workplace"  # 同一密闭环境工作
    MEAL = "meal"  # 共同用餐
    ENTERTAINMENT = "entertainment"  # 共同娱乐
    TRANSPORT = "transport"  # 同乘交通工具
    MEDICAL = "medical"  # 诊疗、护理
    OTHER = "other"  # 其他


class ContactVia(StrEnum):
    """How tracing found a contact."""

    HOUSEHOLD = "household"  # 共同居住
    VENUE = "venue"  # 场所码: the same venue at overlapping times
    CO_TRAVEL = "co_travel"  # 同乘: the same flight or train, within the policy's seat rows
    DECLARED = "declared"  # 流调: named by the case or found in the field


class FacilityKind(StrEnum):
    """Places the engine sends people to."""

    QUARANTINE_SITE = "quarantine_site"  # 集中隔离点
    DESIGNATED_HOSPITAL = "designated_hospital"  # 定点医院
    SHELTER_HOSPITAL = "shelter_hospital"  # 方舱医院


class Waiting(StrEnum):
    """What an order cannot be carried out without yet (an order's `waiting_for`)."""

    ADDRESS = "address"  # 待查找: no address known: the person must be located first
    ROOM = "room"  # 待安置: no quarantine-site room was free
    BED = "bed"  # 待收治: no hospital bed was free


class OrderType(StrEnum):
    """What the engine orders for a day (指令); each order names the rule and policy behind it."""

    TEMPORARY_CONTROL = "temporary_control"  # 临时管控: members of a positive pooled tube
    RETEST = "retest"  # 单采单检复核: a single-tube retest
    RELEASE_CONTROL = "release_control"  # 解除临时管控: the retest was negative
    REPORT_CASE = "report_case"  # 报告: a positive single test becomes a case report
    QUARANTINE = "quarantine"  # 隔离: a phase (集中隔离, 居家隔离, 居家健康监测 ...)
    TEST = "test"  # 隔离期核酸检测: a test day of a quarantine or monitoring phase
    EXTEND = "extend"  # 延长: a new exposure during quarantine
    RELEASE = "release"  # 解除隔离: the period ended with negative tests
    CONVERT = "convert"  # 转为病例: positive while under quarantine
    TRANSFER = "transfer"  # 转运: closed-loop transfer (隔离转运, 闭环转运)
    ADMIT = "admit"  # 收治: to a designated or shelter hospital (应收尽收)
    DISCHARGE = "discharge"  # 出院 / 解除隔离 of a case
    MONITOR = "monitor"  # 出院后健康监测
    ASSIST = "assist"  # 协查: a contact who lives in another region
    SUSPEND_ROUTE = "suspend_route"  # 熔断: an airline's inbound route suspended
    REWARD_ROUTE = "reward_route"  # 熔断奖励: a route without positives may fly more weekly
    ASSESS = "assess"  # 风险人员排查: a risk person for an epidemiologist to assess
    AREA_ROUND = "area_round"  # 区域核酸筛查: a resident's swab in the round a risk area waits for
