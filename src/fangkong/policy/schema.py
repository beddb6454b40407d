"""The schema of a policy file, as Pydantic models. Read attributes for plain values:

    policy.quarantine[Population.CLOSE_CONTACT].centralized_days   # 7
    policy.contacts.exposure_window_days                          # 4
    policy.testing.positive_ct_below                              # 40.0
    policy.risk_areas.levels                                      # (low, medium, high)
    policy.source_of("quarantine.close_contact.centralized_days")

Every model forbids unknown keys. Optional parameters (`X | None = None`) may be left out of a
file: absence means the policy has no such rule (e.g. no flight circuit breaker). The sections
`contacts`, `risk_areas`, `treatment` and `discharge` may be None, but only written out as a
documented absence: class-B management (2023-01-08) traces no contacts, draws no risk areas and
orders no isolation of cases, and its `quarantine` table is empty. Checks that relate several
parameters are in `consistency.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    model_validator,
)

from fangkong.errors import NotFoundError, PolicyError
from fangkong.model.glossary import CodeColour, Setting, Severity, VenueCategory
from fangkong.policy.parameter import (
    AtLeastOne,
    Count,
    Ct,
    DayNumber,
    Days,
    Flag,
    Hours,
    Jurisdiction,
    LowerCount,
    Minutes,
    ParamMeta,
    Percent,
    PolicyDate,
    PolicyId,
    Rows,
    ShorterHours,
    Source,
    Spec,
    Stricter,
    TestDays,
    Text,
    Timezone,
    Unit,
    categories,
    category,
    distinct,
    non_empty,
    walk,
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
    "HEADER_FIELDS",
    "Bulletin",
    "CircuitBreaker",
    "Contacts",
    "Discharge",
    "Facilities",
    "HealthCode",
    "Inbound",
    "LiftingRule",
    "Parameter",
    "Phase",
    "Policy",
    "QuarantineRegime",
    "RiskAreas",
    "Testing",
    "Treatment",
    "VenueMeasures",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contacts(_Section):
    """流调: who becomes a contact of a case."""

    exposure_window_days: Days  # days before onset (or sampling, if asymptomatic)
    secondary_contacts_identified: Flag
    household_always_close: Flag
    close_contact_settings: Annotated[tuple[Setting, ...], AfterValidator(distinct), categories()]
    secondary_contact_settings: (
        Annotated[tuple[Setting, ...], AfterValidator(distinct), categories()] | None
    ) = None
    venue_copresence_minutes: Minutes  # check-ins at one venue this close count as co-presence
    # venue categories where co-presence with a case is a close contact; elsewhere a co-present
    # person is a risk person (时空伴随) for an epidemiologist to assess
    venue_close_contact_categories: Annotated[
        tuple[VenueCategory, ...], AfterValidator(distinct), categories()
    ]
    co_travel_seat_rows: Rows  # flights: same row and this many rows in front and behind
    # two arrivals with one flight number are the same flight when they land this close
    same_flight_within_hours: Hours


class Phase(NamedTuple):
    """One phase of a quarantine regime, for the engine."""

    kind: QuarantineKind
    days: int
    test_days: tuple[int, ...]


class QuarantineRegime(_Section):
    """A centralized phase, then a phase at home; either may last 0 days."""

    centralized_days: Days
    centralized_test_days: TestDays | None = None
    home_days: Days
    home_kind: Annotated[QuarantineKind, category()] | None = None
    home_test_days: TestDays | None = None
    extension_on_new_exposure: Annotated[ExtensionRule, category()]

    @property
    def total_days(self) -> int:
        return self.centralized_days + self.home_days

    def phases(self) -> tuple[Phase, ...]:
        """The phases that last at least a day, in order."""
        out = []
        if self.centralized_days:
            out.append(
                Phase(
                    QuarantineKind.CENTRALIZED_QUARANTINE,
                    self.centralized_days,
                    self.centralized_test_days or (),
                )
            )
        if self.home_days and self.home_kind is not None:
            out.append(Phase(self.home_kind, self.home_days, self.home_test_days or ()))
        return tuple(out)


class Testing(_Section):
    """Test thresholds, pooling and mass testing."""

    positive_ct_below: Ct
    inbound_positive_ct_below: Ct
    inbound_release_assessment_ct_below: Ct | None = None  # Ct in [positive cut, this) → assess
    pool_size: Annotated[AtLeastOne, Spec(Unit.COUNT, Stricter.NEITHER)]
    dilution_pooling_max_positivity_percent: (
        Annotated[Percent, Spec(Unit.PERCENT, Stricter.LOWER, absent_is_stricter=True)] | None
    ) = None
    mass_testing_completion_hours: ShorterHours | None = None
    region_wide_mass_testing: Annotated[MassTestingScope, category()]
    max_tests_per_day: (
        Annotated[AtLeastOne, Spec(Unit.COUNT, Stricter.HIGHER, absent_is_stricter=True)] | None
    ) = None
    risk_post_test_interval_days: Annotated[Days, Spec(Unit.DAYS, Stricter.LOWER)] | None = None
    # a tube with no result this long after its last sample is lost: its members are retested
    result_deadline_hours: Annotated[Hours, Spec(Unit.HOURS, Stricter.LOWER)]
    # positives of one person within this many days belong to one infection (one case report;
    # the first of them anchors the exposure window)
    repeat_positive_window_days: Days


class Discharge(_Section):
    """Release of cases (出院 / 解除隔离) and the monitoring after it."""

    ct_at_least: Ct
    tests: Annotated[AtLeastOne, Spec(Unit.COUNT, Stricter.HIGHER)]
    tests_min_apart_hours: Hours
    release_test_days: TestDays | None = None  # days of isolation the release tests fall on
    monitoring_days: Days
    monitoring_kind: Annotated[QuarantineKind, category()]
    monitoring_test_days: TestDays | None = None
    monitoring_return_ct_below: Ct | None = None  # a monitoring test below this sends back


class Treatment(_Section):
    """Where cases go, by clinical severity (asymptomatic infections have none)."""

    asymptomatic: Annotated[CareSetting, category()]
    mild: Annotated[CareSetting, category()]
    moderate: Annotated[CareSetting, category()]
    severe: Annotated[CareSetting, category()]
    critical: Annotated[CareSetting, category()]

    def setting_for(self, severity: Severity | None) -> CareSetting:
        """The care setting for a severity; None for an asymptomatic infection."""
        value: CareSetting = getattr(self, severity.value if severity else "asymptomatic")
        return value


class LiftingRule(_Section):
    """解封 / 降级: an area of a level is lowered after so many days without new infection."""

    days_without_new_infection: Days
    negative_round_on_day: DayNumber | None = None  # a negative round of the whole area
    lowered_to: Annotated[RiskLevel, category()]


class VenueMeasures(_Section):
    """The April 2020 notice's venue categories (the special institutions share one rule)."""

    essential: Annotated[VenueMeasure, category()]
    open_air: Annotated[VenueMeasure, category()]
    enclosed_entertainment: Annotated[VenueMeasure, category()]
    special_institutions: Annotated[VenueMeasure, category()]

    def for_venue(self, venue: VenueCategory) -> VenueMeasure:
        if venue.special_institution:
            return self.special_institutions
        value: VenueMeasure = getattr(self, venue.value)
        return value


class RiskAreas(_Section):
    """分区分级: levels, how areas are drawn and classified, lifting, and the rules per level."""

    classification: Annotated[Classification, category(Stricter.NEITHER)]
    levels: Annotated[
        tuple[RiskLevel, ...], AfterValidator(distinct), AfterValidator(non_empty), categories()
    ]
    drawn_by: Mapping[RiskLevel, Annotated[AreaUnit, category()]]
    cluster_min_cases: Annotated[LowerCount, Field(ge=2)]
    criteria_lookback_days: Days | None = None
    criteria_high_cumulative_cases_above: LowerCount | None = None
    delineation: Mapping[RiskLevel, Annotated[Delineation, category(Stricter.NEITHER)]] | None = (
        None
    )
    departure_lookback_days: Days | None = None
    review_interval_days: Annotated[Days, Spec(Unit.DAYS, Stricter.NEITHER)] | None = None
    lifting: Mapping[RiskLevel, LiftingRule] | None = None
    downgraded_high_to_low_after_days: Days | None = None
    area_rules: Mapping[RiskLevel, Annotated[AreaRule, category()]]
    venue_measures: Mapping[RiskLevel, VenueMeasures] | None = None
    # the levels whose residents need a negative test to leave the city (within the health
    # code's `leave_city_test_validity_hours`): the 9th edition's low-risk areas
    leave_city_test: Mapping[RiskLevel, Flag] | None = None

    def venue_measure(self, level: RiskLevel, venue: VenueCategory) -> VenueMeasure | None:
        """The measure for a venue in an area of a level; None if the policy has no venue rule."""
        if self.venue_measures is None or level not in self.venue_measures:
            return None
        return self.venue_measures[level].for_venue(venue)


class HealthCode(_Section):
    """健康码: colour reasons and the validity of test results."""

    colour_rules_scope: Annotated[RuleScope, category(Stricter.NEITHER)]
    red_reasons: Annotated[tuple[CodeReason, ...], AfterValidator(distinct), categories()]
    yellow_reasons: Annotated[tuple[CodeReason, ...], AfterValidator(distinct), categories()]
    yellow_lookback_days: Days
    venue_entry_test_validity_hours: ShorterHours | None = None
    leave_city_test_validity_hours: ShorterHours | None = None
    test_validity_counted_from: Annotated[ValidityStart, category()] | None = None
    # hours after the start, or calendar days (Beijing: days 0, 1, 2 after the test = "48 h")
    test_validity_counted_in: Annotated[ValidityCount, category()] | None = None
    # 应检未检: a resident with no negative test within these days has the `no_recent_test`
    # reason (Shanghai, 2022); absent: the policy asks no periodic test of everyone
    missing_test_after_days: Annotated[Days, Spec(Unit.DAYS, Stricter.LOWER)] | None = None
    # How long a signed code (the QR credential) verifies offline after it is issued: short, so
    # that a change of colour reaches every scanner within this time.
    signed_code_validity_hours: Annotated[Hours, Field(ge=1), Spec(Unit.HOURS, Stricter.NEITHER)]

    def colour_of(self, reasons: tuple[CodeReason, ...]) -> CodeColour:
        """The colour a person with `reasons` has: red when one is red, else yellow when there is
        one, else green (the rule `engine/colours.py` applies to every person's reasons).
        PolicyError for a reason this policy does not list."""
        unlisted = [r.value for r in reasons if r not in (*self.red_reasons, *self.yellow_reasons)]
        if unlisted:
            raise PolicyError(f"no colour of this policy has the reason {', '.join(unlisted)}")
        if any(r in self.red_reasons for r in reasons):
            return CodeColour.RED
        return CodeColour.YELLOW if reasons else CodeColour.GREEN


class CircuitBreaker(_Section):
    """航班熔断: suspensions of an airline's route by positive passengers, and the reward."""

    short_suspension_min_positives: Annotated[LowerCount, Field(ge=1)]
    short_suspension_days: Days
    long_suspension_min_positives: Annotated[LowerCount, Field(ge=1)]
    long_suspension_days: Days
    reward_after_zero_positive_days: Days
    reward_extra_weekly_flights: LowerCount
    reward_max_weekly_flights: LowerCount


class Inbound(_Section):
    """外防输入: what inbound travellers face besides their quarantine regime."""

    pre_boarding_tests: Count
    pre_boarding_window_hours: ShorterHours | None = None
    repeat_quarantine_at_destination: Flag | None = None
    circuit_breaker: CircuitBreaker | None = None


class Facilities(_Section):
    """Quarantine sites and hospital beds: the command centre's view of their occupancy."""

    # occupancy's net growth per day is averaged over this many days (the day's own change
    # included) to forecast the day a facility is full
    occupancy_trend_days: Annotated[AtLeastOne, Spec(Unit.DAYS, Stricter.NEITHER)]


class Bulletin(_Section):
    """The daily bulletin."""

    day_boundary_timezone: Timezone
    local_cases_by_city: Annotated[StrictBool, Spec(Unit.FLAG, Stricter.NEITHER)]


@dataclass(frozen=True, slots=True)
class Parameter:
    """One parameter with its metadata, as `Policy.parameters()` lists it."""

    key: str
    value: Any
    unit: Unit
    source: str  # the id in the file's `sources` table
    citation: str  # the source written out
    verified: bool
    note: str | None


def _present(table: object) -> object:
    """BeforeValidator of a table of sections: entries written as a documented absence (None)
    are left out of the values (their metadata stays with the policy)."""
    if isinstance(table, Mapping):
        return {k: v for k, v in table.items() if v is not None}
    return table


HEADER_FIELDS = frozenset(
    {
        "id",
        "jurisdiction",
        "in_force_from",
        "in_force_until",
        "in_force_source",
        "in_force_verified",
        "status",
        "title",
        "title_zh",
        "summary",
        "extends",
        "sources",
    }
)


class Policy(BaseModel):
    """A validated policy: a header, a sources table, and the parameter sections."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: PolicyId
    jurisdiction: Jurisdiction
    in_force_from: PolicyDate
    in_force_until: PolicyDate | None = None  # the last day in force, where a regime was ended
    in_force_source: Text
    in_force_verified: StrictBool
    status: PolicyStatus
    title: Text
    title_zh: Text | None = None
    summary: Text | None = None
    extends: PolicyId | None = None
    sources: Mapping[str, Source]

    # A section typed `X | None` without a default must be written: None is a documented
    # absence, `{value: null, unit: section, source, verified}` (e.g. no contacts are traced
    # under class-B management). A population missing from `quarantine` is not quarantined;
    # an entry may be written as a documented absence too.
    contacts: Contacts | None
    quarantine: Annotated[Mapping[Population, QuarantineRegime], BeforeValidator(_present)]
    testing: Testing
    discharge: Discharge | None
    treatment: Treatment | None
    risk_areas: RiskAreas | None
    health_code: HealthCode
    inbound: Inbound
    facilities: Facilities
    bulletin: Bulletin

    _meta: dict[str, ParamMeta] = PrivateAttr(default_factory=dict)
    _lineage: tuple[str, ...] = PrivateAttr(default=())
    _path: str = PrivateAttr(default="")
    _params: dict[str, Parameter] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _breaker_counts_within_the_inbound_regime(self) -> Policy:
        # the circuit breaker counts a passenger's positive within the inbound regime's days
        # after arrival: without that regime it has no window, and no default is invented
        if (
            self.inbound.circuit_breaker is not None
            and self.quarantine.get(Population.INBOUND_TRAVELLER) is None
        ):
            raise ValueError(
                "inbound.circuit_breaker needs quarantine.inbound_traveller: positives are"
                " counted within the inbound regime's days after arrival"
            )
        return self

    def _attach(self, meta: Mapping[str, ParamMeta], lineage: tuple[str, ...], path: str) -> None:
        """Called once, by the loader: the parameters' metadata, the ids from this policy down to
        the file it extends (and so on), and the file."""
        self._meta = dict(meta)
        self._lineage = lineage
        self._path = path
        self._params = None

    @property
    def lineage(self) -> tuple[str, ...]:
        """This policy's id, then the id it extends, and so on down to a full file."""
        return self._lineage or (self.id,)

    @property
    def path(self) -> str:
        return self._path

    def regime(self, population: Population) -> QuarantineRegime | None:
        """The quarantine regime for a population; None if the policy does not manage it."""
        return self.quarantine.get(population)

    def parameters(self) -> dict[str, Parameter]:
        """Every parameter the file writes (a documented absence too), by dotted key, in schema
        order."""
        if self._params is not None:
            return dict(self._params)
        out: dict[str, Parameter] = {}
        for key, value, _spec in walk(self, skip=HEADER_FIELDS):
            meta = self._meta.get(key)
            if meta is None:
                continue
            out[key] = Parameter(
                key=key,
                value=value,
                unit=meta.unit,
                source=meta.source,
                citation=self._citation(meta.source),
                verified=meta.verified,
                note=meta.note,
            )
        self._params = out
        return dict(out)

    def parameter(self, key: str) -> Parameter:
        """One parameter with its metadata; NotFoundError if the policy has none by that key."""
        self.parameters()
        found = (self._params or {}).get(key)
        if found is None:
            raise NotFoundError(f"policy {self.id} has no parameter {key!r}")
        return found

    def source_of(self, key: str) -> str:
        """The source of a parameter, written out (policy-facts.md section; original text)."""
        return self.parameter(key).citation

    def unverified(self) -> list[str]:
        """The keys of the parameters marked `verified: false`."""
        return [k for k, p in self.parameters().items() if not p.verified]

    def _citation(self, source_id: str) -> str:
        source = self.sources.get(source_id)
        return source.citation() if source else source_id
