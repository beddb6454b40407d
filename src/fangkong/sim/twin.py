"""The twin loop: a synthetic city's outbreak run through the same daily engine as operations.

Each simulated day the twin

1. reads what the engine ordered up to the day before (in the twin's own scenario, on the
   twin's own store) and turns it into `Restrictions` for the transmission model: people placed
   in a quarantine site or a hospital bed leave every layer; people under a home quarantine
   phase, a centralized phase still waiting for a room, temporary control (a positive pool), or
   an open case episode still waiting for a bed stay home (household only); so do the residents
   a risk area's measure confines (足不出户 and 人不出区 alike: the model has no layer within a
   compound or building), and the venues a measure closes get no visit and no check-in (a
   venue open under restrictions is visited as usual: the policy quantifies no limit);
2. produces the day's events: the swabs the engine ordered for the day (quarantine test days,
   single-tube retests, make-up tests, the round a risk area waits for); the pooled swabs of
   the testing rounds the twin is given (`Round`: the command centre's decision, an input); the
   daily swab of the cases placed in a hospital or an isolation site;
   a fever-clinic swab for some of the people whose symptoms begin and for everyone who becomes
   severe; each tube's result from the swabbed agents' viral load (`Epidemic.ct_values`); the
   field investigation of each new positive (the others of their class and workplace, named as
   declared contacts); the clinicians' case reports about the people the engine found
   (diagnosis from the symptoms, severity, death, the outcome of a discharge the engine
   ordered); the day's venue check-ins; and, before the first day, the imported seed's arrival;
3. adds those events, as one import batch, to the frames it keeps of its days
   (`fangkong.sim.event_frames`), which the engine reads in place: DuckDB over Arrow, no row
   copied into the store's event tables; and runs `fangkong.engine.day.run_day` for the day.

What is copied from the engine and what is not: nothing of a rule is. Who is a contact, who is
quarantined and for how long, who is tested on which day, who is released, admitted, discharged,
and who gets a room or a bed: all of it is the engine's `run_day` under the policy file, read
back through the engine's public readers (`placements`, `open_schedules`,
`under_temporary_control`, `case_state`, and for the risk areas' measures
`residents_under_measures` and `venues_under_measures`) and the stored `engine_order` rows. The
twin decides only what people and services do with those orders (go to the place the order
names, stay home when there is no room or bed yet or while their area is sealed, take the swab
the order calls for) and what the world does on its own (infections, symptoms, severity,
deaths, check-ins, lab readings) — from `twin.yaml` and the transmission model. The twin's
residents carry their compound and building, so the engine draws residence areas for them.
`TwinDay.area_restricted` counts the residents an area's measure confines that day (placed or
not), `venues_closed` the venues it closes.

The twin's store is its own: an embedded DuckDB store created with the project's migrations,
never the operational store; by default in memory for a city of up to `memory_store_max`
people (2 million), else a file in a temporary directory of its own, which `Twin.close` removes.
It holds the city (loaded once, before the first day) and what the engine derives in the twin's
scenario; the days' events are frames (step 3). `Twin.save(path)` writes the store and the
frames to a file that stays.

Memory (the twin at 25 million people is to stay within 8 GB): in a file DuckDB keeps its
tables compressed and holds in memory the blocks it reads, while an in-memory database keeps
appended rows uncompressed until a checkpoint. The first run of the engine writes every
resident's health code and its reason (应检未检: nobody has a test yet), 25 million rows each at
25 million people: 4.2 GB held in memory after two days, 0.5 GB in a file (whole store).
The city's people and doses are loaded a slice of people at a time (`Twin._load_city`). The
days' events are held in memory as Arrow, uncompressed (a check-in about 44 bytes): at 1
million people, 120 days under dynamic zero, the peak resident set was 1.02-1.03 GB against 0.98
GB when they were inserted; at 200,000 people, 60 days of an uncontained outbreak under class B
(8.0 million check-ins), 1.03 GB against 0.82 GB.

What the twin does not simulate: rounds nobody gave it (the engine orders none), and the
check-ins of streets where nobody is infectious that day (no co-presence there can transmit;
`Epidemic.step` with `all_checkins=False`), so the engine finds fewer risk persons than a full
venue-code service would give it. Day 0 of the model is a Monday
(classes and workplaces meet on days 0-4 of each week), whatever the calendar day of `start`.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from fangkong.engine.day import DayResult, run_day
from fangkong.engine.facility import placements
from fangkong.engine.frames import day_bounds, day_start
from fangkong.engine.scenario import Scenario, open_scenario
from fangkong.engine.schedule import CENTRALIZED, open_schedules
from fangkong.engine.state import kept_state
from fangkong.engine.testing import under_temporary_control
from fangkong.engine.treatment import active_cases, case_state
from fangkong.engine.zones_measures import (
    measures_on,
    residents_under_measures,
    venues_under_measures,
)
from fangkong.errors import InputError
from fangkong.model.glossary import ContactTier, FacilityKind
from fangkong.policy import Policy
from fangkong.policy.terms import AreaRestriction, QuarantineKind
from fangkong.sim.agent import AGENT_DTYPE, NEVER
from fangkong.sim.city import City, build_city
from fangkong.sim.disease import CT_LIMIT
from fangkong.sim.event_frames import EventFrames
from fangkong.sim.frames import (
    BEIJING,
    checkins_frame,
    person_slices,
    regions_frame,
    vaccination_slices,
    venues_frame,
)
from fangkong.sim.parameter import ModelFile, bundled_path, read_model_file
from fangkong.sim.population import PRIVATE
from fangkong.sim.rng import Stream, stream_generator
from fangkong.sim.transmission import (
    WEEKDAYS,
    DayEvents,
    Epidemic,
    Restriction,
    Restrictions,
    calibrate_beta,
)
from fangkong.sim.variant import load_variant
from fangkong.store import Store, open_store
from fangkong.store.embedded import EmbeddedStore

__all__ = ["HOSPITALS", "TWIN_SCENARIO", "Round", "Services", "Twin", "TwinDay", "load_services"]

log = logging.getLogger(__name__)

TWIN_SCENARIO = "twin"
FIRST_DAY = date(2022, 7, 1)
_TIME = pl.Datetime("us", "Asia/Shanghai")
# phases that keep a person home (health monitoring does not)
_HOME_KINDS = (
    QuarantineKind.HOME_ISOLATION.value,
    QuarantineKind.HOME_MEDICAL_OBSERVATION.value,
)
HOSPITALS = (FacilityKind.DESIGNATED_HOSPITAL.value, FacilityKind.SHELTER_HOSPITAL.value)
_OUT = np.uint8(Restriction.ISOLATED | Restriction.QUARANTINED)
# the risk-area measures that confine residents (`AreaRestriction`)
_CONFINING = [AreaRestriction.STAY_HOME, AreaRestriction.STAY_IN_AREA]


@dataclass(frozen=True)
class Round:
    """A testing round (区域核酸筛查) the command centre decides: on day `day` (0 = the first
    simulated day) every resident of the divisions starting with `region` who is not placed in a
    facility is swabbed, in pooled tubes of the policy's `testing.pool_size`. Rounds are an input
    of the twin, not a rule: the engine orders none."""

    day: int
    region: str


@dataclass(frozen=True)
class Services:
    """The twin city's services (`data/twin.yaml`)."""

    rooms_per_10k: float
    shelter_beds_per_10k: float
    designated_beds_per_10k: float
    sample_minute: int
    turnaround_minutes: int
    inpatient_test_interval_days: int
    fever_clinic_share: float
    named_contacts_max: int
    seed_arrived_days_before: int


def load_services(f: ModelFile | None = None) -> Services:
    f = f or read_model_file(bundled_path("twin.yaml"))
    return Services(
        rooms_per_10k=f.number("facilities", "quarantine_rooms_per_10k"),
        shelter_beds_per_10k=f.number("facilities", "shelter_beds_per_10k"),
        designated_beds_per_10k=f.number("facilities", "designated_beds_per_10k"),
        sample_minute=int(f.number("testing", "sample_minute")),
        turnaround_minutes=int(f.number("testing", "turnaround_minutes")),
        inpatient_test_interval_days=max(
            1, int(f.number("testing", "inpatient_test_interval_days"))
        ),
        fever_clinic_share=f.number("care", "fever_clinic_share"),
        named_contacts_max=int(f.number("care", "named_contacts_max")),
        seed_arrived_days_before=int(f.number("seed", "arrived_days_before")),
    )


@dataclass(frozen=True)
class TwinDay:
    """One simulated day's figures. `infected` .. `deaths` are the model's (what happened);
    the rest are what the control chain did about it."""

    day: date
    infected: int  # new infections
    symptomatic: int  # symptoms began
    severe: int  # became severe (admitted by the model: they leave every layer)
    deaths: int
    infectious: int
    severe_in_hospital: int  # severe people in hospital at the end of the day
    samples: int  # swabs taken
    tubes: int  # tubes tested
    quarantined: int  # people under a quarantine phase (centralized or at home) today
    area_restricted: int  # residents confined today by their risk area's measure
    venues_closed: int  # venues closed today by their risk area's measure
    confined: int  # people kept home by an order (home phases, waiting for a room or bed, pools)
    in_hospital: int  # people in hospital beds by the engine's orders at the start of the day
    cases_found: int  # new case episodes the engine traced
    # traced_contact rows the run wrote: close and secondary contacts and risk persons, a person
    # traced from two cases once for each (the bulletin counts distinct close contacts)
    contacts: int
    orders: int


@dataclass
class Twin:
    """A city of `population` and its outbreak seeded by one imported case, under `policy`
    (None: no control: the engine does not run and nobody is tested)."""

    population: int
    seed: int
    policy: Policy | None
    variant: str = "omicron-ba2"
    start: date = FIRST_DAY
    # None: an embedded store in memory up to `memory_store_max` people, else a DuckDB file in
    # a temporary directory (module doc). An embedded store named here holds the city and the
    # engine's rows, not the days' events, which are frames (`save` writes all of it)
    store_url: str | None = None
    rounds: tuple[Round, ...] = ()
    services: Services = field(default_factory=load_services)
    # people loaded into the store at a time (`_load_city`): a bound on memory, not a rule
    people_per_slice: int = 1_000_000
    # a bound on memory, not a rule: in memory, a run commits without writing a log to disk
    # (50 days of a million people's outbreak ran in about 15% less time; the peak resident set
    # of 120 days was 0.89 GB against 0.71 GB), while 25 million people's rows, uncompressed,
    # would hold several GB more than the file (the module docstring)
    memory_store_max: int = 2_000_000
    # runs of days with nothing to do recorded without running the steps (`engine.idle`): the
    # same rows either way; False runs every step every day (what the idle check is tested by)
    skip_idle: bool = True
    city: City = field(init=False)
    epidemic: Epidemic = field(init=False)
    store: Store | None = field(init=False, default=None)
    # the simulated days' events (`fangkong.sim.event_frames`); with a store only
    events: EventFrames = field(init=False)
    days: list[TwinDay] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        v = load_variant(self.variant)
        self.city = build_city(self.population, self.seed, vaccinated=v.vaccination_in_effect)
        self.epidemic = Epidemic(self.city, v, seed=self.seed, beta=calibrate_beta(self.city, v))
        self.seed_agent = self._pick_seed()
        codes = self.city.geography.district_codes
        self.jurisdiction = codes[0][:2]  # the province of the city's districts
        self.street_codes = self.city.geography.street_codes()
        self._batch = 0
        # the clinicians' view of each person: 0 not reported, 1 asymptomatic, 2 confirmed,
        # 3 discharged (the episode is closed by its outcome)
        self._reported = np.zeros(self.city.n, dtype=np.uint8)
        self._discharged = np.empty(0, dtype=np.int64)  # by the engine's orders of yesterday
        # the people reported severe whose severity has not been reported over yet
        self._severe = np.empty(0, dtype=np.int64)
        # everyone's latest case episode as yesterday's run left them (None: read them)
        self._cases_then: pl.DataFrame | None = None
        # yesterday's run had nothing to do (`fangkong.engine.idle`): nobody is in quarantine,
        # in a facility, an open case or a risk area today
        self._quiet = False
        # the people under a pooled tube's temporary control at the start of the latest day
        # whose restrictions were read (None: not read yet)
        self._controlled: pl.Series | None = None
        # the last weekday each person went to their class or workplace (free of any order)
        self._last_at_work = np.full(self.city.n, NEVER, dtype=np.int32)
        self._named = np.zeros(self.city.n, dtype=np.bool_)  # investigated already
        # traced as a close contact by a run so far (each person once, whatever the cases: as
        # the bulletin's 累计追踪到密切接触者 counts them)
        self._traced_close = np.zeros(self.city.n, dtype=np.bool_)
        self.facilities = self._facilities()
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        if self.policy is not None:
            self.store = open_store(self.store_url or self._scratch_store())
            self.scenario: Scenario = open_scenario(
                self.store, TWIN_SCENARIO, self.policy.id, self.start
            )
            self._load_city()
            # the simulated days' events, which the engine reads in place
            self.events = EventFrames(self.store)

    # -- setting up

    def _scratch_store(self) -> str:
        """An embedded store in memory for a city of at most `memory_store_max` people, else
        the path of a DuckDB file in a new temporary directory, removed by `close` (or when the
        twin is garbage collected)."""
        if self.population <= self.memory_store_max:
            return ":memory:"
        self._scratch = tempfile.TemporaryDirectory(prefix="fangkong-twin-")
        return str(Path(self._scratch.name) / "twin.duckdb")

    def _pick_seed(self) -> int:
        """An adult of a family household: the imported case."""
        p = self.city.persons
        family = self.city.households.kind[p.household] == PRIVATE
        adults = np.flatnonzero(family & (p.age >= 20) & (p.age < 60))
        rng = stream_generator(self.seed, Stream.TWIN, 0)
        return int(rng.choice(adults))

    def _facilities(self) -> pl.DataFrame:
        """A quarantine site and a shelter hospital in each district, sized by its residents,
        and the city's designated hospital in its first district (import kind `facilities`)."""
        g, s = self.city.geography, self.services
        district = g.street_district[self.city.person_street]
        residents = np.bincount(district, minlength=len(g.district_codes))
        rows = []
        for i, code in enumerate(g.district_codes):
            for kind, per_10k in (
                (FacilityKind.QUARANTINE_SITE, s.rooms_per_10k),
                (FacilityKind.SHELTER_HOSPITAL, s.shelter_beds_per_10k),
            ):
                capacity = max(int(residents[i] * per_10k // 10_000), 1)
                rows.append((f"{kind.value}-{code}", kind.value, code, capacity))
        designated = FacilityKind.DESIGNATED_HOSPITAL.value
        beds = max(int(self.city.n * s.designated_beds_per_10k // 10_000), 1)
        rows.append((f"{designated}-{g.district_codes[0]}", designated, g.district_codes[0], beds))
        return pl.DataFrame(
            rows, schema=["facility_id", "kind", "region_code", "capacity"], orient="row"
        )

    def capacity(self, *kinds: str) -> int:
        return int(self.facilities.filter(pl.col("kind").is_in(kinds))["capacity"].sum())

    def _new_batch(self, kind: str, rows: int) -> tuple[pl.DataFrame, pl.Expr]:
        """A new import batch for the twin's events of `kind`: its `import_batch` row, and its
        id as a column for the events."""
        self._batch += 1
        row = pl.DataFrame(
            {
                "batch_id": [self._batch],
                "kind": [kind],
                "source": ["twin"],
                "sha256": [f"twin-{kind}-{self._batch}"],
                "rows_read": [rows],
                "rows_stored": [rows],
                "imported_at": [datetime.now(UTC)],
            },
            schema_overrides={"batch_id": pl.Int32, "rows_read": pl.Int64, "rows_stored": pl.Int64},
        )
        return row, pl.lit(self._batch, pl.Int32).alias("batch_id")

    def _insert(self, table: str, frame: pl.DataFrame, batch: pl.Expr) -> None:
        """Load the city's rows of `table` into the store (before the first day)."""
        assert self.store is not None
        if frame.height:
            self.store.insert_frame(table, frame.with_columns(batch))

    def _load_city(self) -> None:
        """The twin's streets, venues, facilities and the seed's arrival, then its people and
        their vaccine doses, as one batch before the first day.

        People and doses go in `people_per_slice` people at a time, each slice committed and
        its frames freed before the next is built; an embedded store is checkpointed after each
        slice, which compresses what an in-memory one holds (the memory it frees takes the next
        slice). Built whole at 5 million people, the persons frame and its temporary arrays took
        1.0 GB and the vaccinations frame 0.9 GB above what the twin held before them."""
        c = self.city
        streets = regions_frame(c).with_columns(
            pl.lit("street").alias("level"),
            pl.col("region_code").str.slice(0, 6).alias("parent_code"),
            pl.lit(None, pl.Int16).alias("valid_from"),
            pl.lit(None, pl.Int16).alias("valid_until"),
        )
        arrived = datetime.combine(
            self.start - timedelta(days=self.services.seed_arrived_days_before),
            datetime.min.time(),
            BEIJING,
        ) + timedelta(hours=15)
        seed = np.array([self.seed_agent], dtype=AGENT_DTYPE)
        home = str(self.street_codes[c.person_street_of(seed)[0]])
        arrival = pl.DataFrame(
            {
                "arrival_id": ["twin-seed"],
                "person_id": [self.seed_agent],
                "arrived_at": [arrived],
                "port_region_code": [home[:6]],
                "origin_country": ["unknown"],
                "flight": [None],
                "seat_row": [None],
                "destination_region_code": [home],
            },
            schema_overrides={
                "person_id": pl.Int64,
                "arrived_at": _TIME,
                "flight": pl.String,
                "seat_row": pl.Int16,
            },
        )
        row, batch = self._new_batch("city", c.n)
        assert self.store is not None
        with self.store.transaction():
            self.store.insert_frame("import_batch", row)
            self._insert("region", streets, batch)
            self._insert("venue", venues_frame(c), batch)
            self._insert(
                "facility",
                self.facilities.with_columns(pl.lit(None, pl.String).alias("name")),
                batch,
            )
            self._insert("arrival", arrival, batch)
        people = person_slices(c, self.start.year, self.people_per_slice)
        doses = vaccination_slices(c, self.people_per_slice)
        for persons, vaccinations in zip(people, doses, strict=True):
            with self.store.transaction():
                self._insert("person", persons, batch)
                self._insert("vaccination", vaccinations, batch)
            del persons, vaccinations  # freed before the next slice is built
            if self.store.dialect == "duckdb":
                self.store.execute("CHECKPOINT")

    # -- the day

    def step(self) -> TwinDay:
        """Simulate the next day: obey the orders in force, produce the day's events, run the
        engine on them."""
        ep, k = self.epidemic, self.epidemic.day
        day = self.start + timedelta(days=k)
        if k == 0:
            ep.seed_infections(np.array([self.seed_agent], dtype=AGENT_DTYPE))
        if self.store is None:
            events = ep.step(all_checkins=False)
            return self._record(day, events, 0, 0, (0, 0, 0, 0, 0), None)
        # the run of the day shares what the twin reads of the state at its start (open
        # quarantines, placements: `fangkong.engine.state`); the twin's events are all of the
        # day (none late), so the run would read the same
        with kept_state(self.store, self.scenario, day):
            return self._step(day)

    def _step(self, day: date) -> TwinDay:
        assert self.store is not None
        ep, k = self.epidemic, self.epidemic.day
        restrictions, figures = self._restrictions(day)
        if k % 7 < WEEKDAYS:
            c = ep.courses
            well = ((c.severe == NEVER) | (c.severe > k)) & ((c.death == NEVER) | (c.death > k))
            free = (restrictions.person == 0) & well
            self._last_at_work[free] = k
        samples, tubes = self._tests(day)
        named = self._named_contacts(day, samples, tubes)
        events = ep.step(restrictions, all_checkins=False)
        reports = self._case_reports(day, events)
        rows = events.visits.n + samples.height + reports.height + named.height
        if rows:  # a day with no event is no import (a run can then find nothing to do)
            row, batch = self._new_batch("day", rows)
            checkins = checkins_frame(events.visits, self.start)
            self.events.append(
                {
                    "import_batch": row,
                    **{
                        table: frame.with_columns(batch)
                        for table, frame in (
                            ("checkin", checkins),
                            ("sample", samples),
                            ("tube_result", tubes),
                            ("case_report", reports),
                            ("declared_contact", named),
                        )
                    },
                }
            )
        assert self.policy is not None
        result = run_day(
            self.store,
            day,
            self.policy,
            jurisdiction=self.jurisdiction,
            scenario=self.scenario,
            skip_idle=self.skip_idle,
            report_occupancy=False,  # the twin reads the placements, not the report
        )
        self._discharged = _ids(
            result.orders.filter(pl.col("order_type") == "discharge").get_column("person_id")
        )
        close = result.contacts.filter(pl.col("tier") == ContactTier.CLOSE.value)
        self._traced_close[_ids(close.get_column("contact_person_id"))] = True
        # the episodes as the run left them, for tomorrow's restrictions and reports (read
        # inside the run's kept state, which holds the run's own read of everyone's)
        if not result.idle:  # an idle run changed no episode
            self._cases_then = case_state(self.store, day, scenario=self.scenario)
        self._quiet = result.idle
        return self._record(day, events, samples.height, tubes.height, figures, result)

    def run(self, days: int) -> Iterator[TwinDay]:
        for _ in range(days):
            yield self.step()

    def _record(
        self,
        day: date,
        events: DayEvents,
        samples: int,
        tubes: int,
        figures: tuple[int, int, int, int, int],
        result: DayResult | None,
    ) -> TwinDay:
        c, d = self.epidemic.courses, self.epidemic.day - 1
        act = self.epidemic.active
        # severe until the course ends (or death): the model's hospital stay
        in_hosp = int(((c.severe[act] <= d) & (c.severe[act] != NEVER)).sum())
        quarantined, confined, in_hospital, area_restricted, venues_closed = figures
        out = TwinDay(
            day=day,
            infected=len(events.infected),
            symptomatic=len(events.onset),
            severe=len(events.severe),
            deaths=len(events.death),
            infectious=events.infectious,
            severe_in_hospital=in_hosp,
            samples=samples,
            tubes=tubes,
            quarantined=quarantined,
            area_restricted=area_restricted,
            venues_closed=venues_closed,
            confined=confined,
            in_hospital=in_hospital,
            cases_found=result.cases if result else 0,
            contacts=result.contacts.height if result else 0,
            orders=result.orders.height if result else 0,
        )
        self.days.append(out)
        return out

    def _restrictions(self, day: date) -> tuple[Restrictions, tuple[int, int, int, int, int]]:
        """What the orders and the risk areas' measures stored by the runs before `day` do to
        people and venues today."""
        assert self.store is not None and self.policy is not None
        st, sc = self.store, self.scenario
        if self._quiet:
            return self._quiet_restrictions(day)
        kinds = dict(self.facilities.select("facility_id", "kind").iter_rows())
        placed = placements(st, day, scenario=sc).select("person_id", "place")
        placed = placed.with_columns(pl.col("place").replace_strict(kinds, default=None).alias("k"))
        phases = (
            open_schedules(st, day, scenario=sc)
            .filter(~pl.col("released") & (pl.col("start_at") < day_bounds(day)[1]))
            .sort("start_at")
            .group_by("person_id")
            .last()
        )
        quarantine = phases.filter(pl.col("detail").is_in([CENTRALIZED, *_HOME_KINDS]))
        cases = active_cases(self._episodes_before(day))["person_id"]
        self._controlled = under_temporary_control(st, day_start(day), self.policy).get_column(
            "person_id"
        )
        home = pl.concat([quarantine.get_column("person_id"), self._controlled, cases])
        # 足不出户 and 人不出区 alike keep a resident to their household here: the model has no
        # layer within a compound or building, and no venue lies in one
        measures = measures_on(st, day, sc)  # read once for both
        area = residents_under_measures(st, day, sc, _CONFINING, measures=measures)
        closed = venues_under_measures(st, day, sc, measures=measures).filter(
            pl.col("restriction") == AreaRestriction.CLOSED.value
        )
        hospital = placed.filter(pl.col("k").is_in(HOSPITALS))
        site = placed.filter(~pl.col("k").is_in(HOSPITALS) | pl.col("k").is_null())
        # the wards swab every case placed anywhere: a hospital bed, or the isolation site a
        # regime admits its mild and asymptomatic cases to (集中隔离医学观察, 2020-2021)
        self._inpatients = _ids(
            placed.filter(pl.col("person_id").is_in(cases.implode()))["person_id"]
        )
        restrictions, confined = self._obey(
            home=[home, area["person_id"]],
            isolated=hospital["person_id"],
            quarantined=site["person_id"],
            closed=closed["venue_id"],
        )
        figures = (quarantine.height, confined, hospital.height, area.height, closed.height)
        return restrictions, figures

    def _quiet_restrictions(self, day: date) -> tuple[Restrictions, tuple[int, int, int, int, int]]:
        """`_restrictions` after a day whose run had nothing to do: nobody is in quarantine, a
        facility, an open case episode or a risk area; only a pooled tube's temporary control
        (which no time ends) keeps anyone home. Those are the people held at the start of the
        day before: an idle run had no sample or result new to it or dated on its day
        (`fangkong.engine.idle`), so no control began or ended since."""
        assert self.store is not None and self.policy is not None
        if self._controlled is None:
            held = under_temporary_control(self.store, day_start(day), self.policy)
            self._controlled = held.get_column("person_id")
        self._inpatients = np.empty(0, dtype=np.int64)
        empty = pl.Series(dtype=pl.Int64)
        restrictions, confined = self._obey(
            home=[self._controlled], isolated=empty, quarantined=empty, closed=empty
        )
        return restrictions, (0, confined, 0, 0, 0)

    def _obey(
        self,
        *,
        home: list[pl.Series],
        isolated: pl.Series,
        quarantined: pl.Series,
        closed: pl.Series,
    ) -> tuple[Restrictions, int]:
        """Today's restrictions from who is kept home, isolated in a hospital or quarantined at
        a site (a placement outranks home), and which venues are closed; with the number kept
        home."""
        person = np.zeros(self.city.n, dtype=np.uint8)
        for ids in home:
            person[_ids(ids)] |= np.uint8(Restriction.CONFINED_HOME)
        person[_ids(isolated)] = np.uint8(Restriction.ISOLATED)
        person[_ids(quarantined)] = np.uint8(Restriction.QUARANTINED)
        venue_closed = np.zeros(self.city.venues.n, dtype=np.bool_)
        venue_closed[_ids(closed)] = True
        restrictions = Restrictions(person, venue_closed)
        self._restrictions_today = restrictions
        return restrictions, int((person == np.uint8(Restriction.CONFINED_HOME)).sum())

    def _episodes_before(self, day: date) -> pl.DataFrame:
        """Everyone's latest case episode at the end of the day before `day` (`case_state`)."""
        if self._cases_then is not None:
            return self._cases_then
        assert self.store is not None
        return case_state(self.store, day - timedelta(days=1), scenario=self.scenario)

    def _tests(self, day: date) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The day's swabs and their results, from the agents' viral load: single tubes for
        the tests ordered, the wards and the fever clinics; pooled tubes for the day's rounds."""
        assert self.store is not None
        ep, k, s = self.epidemic, self.epidemic.day, self.services
        d0, d1 = day_bounds(day)
        ordered = self.store.fetch(
            "SELECT DISTINCT person_id FROM engine_order o"
            " WHERE order_type IN ('test', 'retest', 'area_round') AND person_id IS NOT NULL"
            f" AND {self.scenario.visible('o')} AND start_at < :d1"
            " AND (start_at >= :d0 OR (run_day = :prev AND start_at >= :p0))",
            {
                "d0": d0,
                "d1": d1,
                "prev": day - timedelta(days=1),
                "p0": d0 - timedelta(days=1),
                **self.scenario.params(),
            },
        )
        c, act = ep.courses, ep.active
        onset = act[c.onset[act] == k]
        rng = stream_generator(self.seed, Stream.TWIN, 1, k)
        clinic = onset[rng.random(len(onset)) < s.fever_clinic_share]
        severe = act[c.severe[act] == k]
        wards = self._inpatients
        wards = wards[(wards + k) % s.inpatient_test_interval_days == 0]
        who = np.unique(
            np.concatenate([_ids(ordered["person_id"]), clinic, severe, wards]).astype(np.int64)
        )
        alive = (c.death[who] == NEVER) | (c.death[who] >= k)
        who = who[alive].astype(AGENT_DTYPE)
        single = _tubes(who, ep.ct_values(who), 1, f"T{k:03d}")
        pooled = [self._round(day, r) for r in self.rounds if r.day == k]
        sampled = d0 + timedelta(minutes=s.sample_minute)
        frames = [single, *pooled]
        samples = pl.concat(
            [f.select("sample_id", "person_id", "tube_id", "round_id") for f in frames]
        )
        samples = samples.with_columns(pl.lit(sampled).cast(_TIME).alias("sampled_at"))
        tubes = (
            pl.concat([f.select("tube_id", "ct") for f in frames])
            .group_by("tube_id", maintain_order=True)
            .agg(pl.col("ct").first())
            .with_columns(
                pl.when(pl.col("ct") < CT_LIMIT)
                .then(pl.lit("positive"))
                .otherwise(pl.lit("negative"))
                .alias("result"),
                pl.when(pl.col("ct") < CT_LIMIT).then(pl.col("ct").round(1)).alias("ct_value"),
                pl.lit(sampled + timedelta(minutes=s.turnaround_minutes))
                .cast(_TIME)
                .alias("reported_at"),
                pl.lit(None, pl.String).alias("lab_id"),
            )
            .drop("ct")
        )
        return samples.select("sample_id", "person_id", "tube_id", "sampled_at", "round_id"), tubes

    def _round(self, day: date, r: Round) -> pl.DataFrame:
        """The swabs of round `r`, pooled by the order of the residents' ids (households and
        buildings queue together)."""
        assert self.policy is not None
        ep = self.epidemic
        person = self._restrictions_today.person
        inside = np.char.startswith(self.street_codes[self.city.person_street], r.region)
        c = ep.courses
        alive = (c.death == NEVER) | (c.death >= ep.day)
        who = np.flatnonzero(inside & alive & ((person & _OUT) == 0)).astype(AGENT_DTYPE)
        round_id = f"R-{day:%Y-%m-%d}-{r.region}"
        return _tubes(who, ep.ct_values(who), self.policy.testing.pool_size, round_id)

    def _named_contacts(
        self, day: date, samples: pl.DataFrame, tubes: pl.DataFrame
    ) -> pl.DataFrame:
        """The field investigation of the people whose tube is positive today and who were not
        found before: the others of their class and workplace (at most `named_contacts_max`
        of each, a random choice in a larger one), last met on the last weekday the person went
        there. Declared as contacts in a shared enclosed room (`workplace`); the tracing rules
        decide whether they are close contacts."""
        k, s = self.epidemic.day, self.services
        positive = tubes.filter(pl.col("result") == "positive").select("tube_id")
        who = _ids(samples.join(positive, on="tube_id")["person_id"])
        who = np.unique(who[(self._reported[who] == 0) & ~self._named[who]])
        self._named[who] = True  # one investigation per person, at their first positive
        who = who[self._last_at_work[who] != NEVER]
        rng = stream_generator(self.seed, Stream.TWIN, 2, k)
        pairs: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = []
        for groups in (self.city.classes, self.city.workplaces):
            for person in who:
                g = groups.of_agent[person]
                if g < 0:
                    continue
                group = groups.members[groups.start[g] : groups.start[g + 1]]
                members: npt.NDArray[np.int64] = group[group != person].astype(np.int64)
                if len(members) > s.named_contacts_max:
                    members = rng.choice(members, s.named_contacts_max, replace=False)
                pairs.append((np.full(len(members), person, dtype=np.int64), members))
        if not pairs:
            return pl.DataFrame()
        case = np.concatenate([a for a, _ in pairs])
        contact = np.concatenate([b for _, b in pairs])
        at = day_start(day) + timedelta(hours=17)
        return (
            pl.DataFrame(
                {
                    "person_id": case,
                    "contact_person_id": contact,
                    # days before today (<= 0) of the last day at work or school
                    "back": self._last_at_work[case].astype(np.int64) - k,
                }
            )
            .select(
                "person_id",
                "contact_person_id",
                pl.lit("workplace").alias("setting"),
                (pl.lit(at).cast(_TIME) + pl.duration(days=pl.col("back"))).alias(
                    "last_contact_at"
                ),
                pl.lit(None, _TIME).alias("first_contact_at"),
            )
            .unique(["person_id", "contact_person_id"])
        )

    def _case_reports(self, day: date, events: DayEvents) -> pl.DataFrame:
        """The clinicians' reports to the case registry about the people the engine found: a
        report when first found (confirmed when they have symptoms, else asymptomatic), a
        reclassification when symptoms begin, the severity when severe and when no longer
        (the course over), the death, and the
        outcome (cured, or released for an asymptomatic infection) of those the engine ordered
        discharged the day before."""
        assert self.store is not None
        k, c = self.epidemic.day - 1, self.epidemic.courses
        found = _ids(self._episodes_before(day)["person_id"])
        new = found[self._reported[found] == 0]
        sympt = (c.onset[new] != NEVER) & (c.onset[new] <= k)
        severe_now = (c.severe[new] != NEVER) & (c.severe[new] <= k)
        was = self._reported
        out = self._discharged[np.isin(was[self._discharged], (1, 2))]
        cured, released = out[was[out] == 2], out[was[out] == 1]
        was[out] = 3
        turned = events.onset[was[events.onset] == 1]
        worse = events.severe[np.isin(was[events.severe], (1, 2))]
        died = events.death[np.isin(was[events.death], (1, 2))]
        # severe until the course ends (`_record`): then no longer severe, which the discharge
        # waits for; the model has no finer course, so the report says moderate (普通型)
        severe = np.concatenate([self._severe, new[sympt & severe_now], worse]).astype(np.int64)
        severe = severe[c.death[severe] == NEVER]
        # (a day after the severe report at the earliest: one report per person a day)
        over = (np.maximum(c.end[severe], c.severe[severe]) <= k) & (c.severe[severe] < k)
        improved, self._severe = severe[over], severe[~over]
        was[new] = np.where(sympt, 2, 1).astype(np.uint8)
        was[turned] = 2
        rows: list[pl.DataFrame] = []

        def add(
            who: npt.NDArray[np.int32] | npt.NDArray[np.int64], event: str, **values: object
        ) -> None:
            if len(who):
                rows.append(self._report_rows(day, who, event, values))

        add(new[sympt & severe_now], "report", diagnosis="confirmed", severity="severe")
        add(new[sympt & ~severe_now], "report", diagnosis="confirmed", severity="mild")
        add(new[~sympt], "report", diagnosis="asymptomatic", severity=None)
        add(turned, "reclassify", diagnosis="confirmed", severity="mild")
        add(worse, "severity", diagnosis=None, severity="severe")
        add(improved, "severity", diagnosis=None, severity="moderate")
        add(died, "outcome", diagnosis=None, severity=None, outcome="died")
        add(cured, "outcome", diagnosis=None, severity=None, outcome="cured")
        add(released, "outcome", diagnosis=None, severity=None, outcome="released")
        return pl.concat(rows) if rows else pl.DataFrame()

    def _report_rows(
        self,
        day: date,
        who: npt.NDArray[np.int32] | npt.NDArray[np.int64],
        event: str,
        values: dict[str, object],
    ) -> pl.DataFrame:
        c = self.epidemic.courses
        at = day_start(day) + timedelta(hours=18)
        onset = c.onset[who]
        onset_day = pl.Series(
            [self.start + timedelta(days=int(x)) if x != NEVER else None for x in onset],
            dtype=pl.Date,
        )
        pid = who.astype(np.int64)
        return pl.DataFrame(
            {
                "report_id": [f"twin-{event}-{day:%m%d}-{p}" for p in pid],
                "case_id": [f"twin-{p}" for p in pid],
                "person_id": pid,
                "region_code": self.street_codes[
                    self.city.person_street_of(who.astype(AGENT_DTYPE))
                ],
                "reported_at": pl.Series([at] * len(who)).cast(_TIME),
                "event_type": event,
                "diagnosis": pl.Series([values.get("diagnosis")] * len(who), dtype=pl.String),
                "origin": np.where(pid == self.seed_agent, "imported", "local"),
                "severity": pl.Series([values.get("severity")] * len(who), dtype=pl.String),
                "outcome": pl.Series([values.get("outcome")] * len(who), dtype=pl.String),
                "onset_date": onset_day,
            }
        )

    # -- results

    def save(self, path: str) -> None:
        """Write the twin's store (an embedded one) to the DuckDB file `path` (which must not
        exist)."""
        if not isinstance(self.store, EmbeddedStore):
            raise InputError("only an embedded (DuckDB) twin store is saved to a file")
        con = self.store.connection
        con.execute("ATTACH ? AS twin_out", [path]).fetchall()
        try:
            (name,) = con.execute("SELECT current_database()").fetchall()[0]
            con.execute(f'COPY FROM DATABASE "{name}" TO twin_out').fetchall()
            self.events.write_into("twin_out")
        finally:
            con.execute("DETACH twin_out").fetchall()

    def figures(self) -> pl.DataFrame:
        """The days so far, one row each (TwinDay's fields)."""
        return pl.DataFrame([asdict(d) for d in self.days])

    def outcomes(self) -> dict[str, int]:
        """Totals and peaks of the days so far (`fangkong.sim.compare.OUTCOMES`, and what the
        engine did: cases found, traced-contact rows, the people traced as close contacts,
        orders)."""
        f = self.figures()

        def total(column: str) -> int:
            return int(f[column].sum())

        def peak(column: str) -> int:
            return int(f[column].max())  # type: ignore[arg-type]

        return {
            "infections": total("infected") + 1,  # and the imported case
            "symptomatic": total("symptomatic"),
            "severe": total("severe"),
            "deaths": total("deaths"),
            "peak_severe": peak("severe_in_hospital"),
            "peak_in_beds": peak("in_hospital"),
            "quarantine_person_days": total("quarantined"),
            "area_person_days": total("area_restricted"),
            "venue_days_closed": total("venues_closed"),
            "tests": total("samples"),
            "tubes": total("tubes"),
            "cases_found": total("cases_found"),
            "contacts": total("contacts"),
            "close_contacts": int(self._traced_close.sum()),
            "orders": total("orders"),
        }

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
        if self._scratch is not None:
            self._scratch.cleanup()


def _tubes(
    who: npt.NDArray[np.int32], ct: npt.NDArray[np.float32], pool: int, prefix: str
) -> pl.DataFrame:
    """Samples of `who` in tubes of `pool` (in order), with each tube's Ct: its lowest member's
    plus log2 of the members (each sample is 1/k of the tube: a k-fold dilution of its template
    takes log2(k) more cycles to detect), CT_LIMIT when none is detected."""
    index = np.arange(len(who))
    tube = index // max(pool, 1)
    members = np.bincount(tube)[tube] if len(who) else np.zeros(0, np.int64)
    diluted = np.where(ct < CT_LIMIT, ct + np.log2(members), CT_LIMIT)
    single = pool == 1
    return (
        pl.DataFrame(
            {
                "i": index,
                "person_id": who.astype(np.int64),
                "t": tube,
                "ct": np.minimum(diluted, CT_LIMIT).astype(np.float64),
            }
        )
        .with_columns(
            pl.format("{}-{}", pl.lit(prefix), pl.col("i")).alias("sample_id"),
            pl.format("{}-{}", pl.lit(prefix), pl.col("t")).alias("tube_id"),
            pl.lit(None if single else prefix, pl.String).alias("round_id"),
        )
        .with_columns(pl.col("ct").min().over("tube_id"))
    )


def _ids(column: pl.Series | npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return np.asarray(column, dtype=np.int64)
