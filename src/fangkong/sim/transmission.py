"""The epidemic in a synthetic city, one simulated day at a time (`Epidemic.step`).

Interface for the twin loop
---------------------------
`Epidemic(city, variant, seed)` holds the state as arrays (`Courses`, one entry per agent).
`seed_infections(agents)` infects agents on the current day (imported cases). Each call of
`step(restrictions)` simulates one day and returns its `DayEvents`:

- `restrictions` (`Restrictions`, optional): per agent, `Restriction` bits — ISOLATED and
  QUARANTINED agents leave every layer, their household included; CONFINED_HOME agents keep
  only their household (no school, work, institution or venue); and per venue, `venue_closed`.
  The twin loop builds these from the orders the engine derives for the day.
- `DayEvents` holds the day's venue visits (the check-ins, `Visits`: which ones, `Checkins`),
  the new infections (with infector, layer and place), and the agents whose symptoms began, who
  became severe (and are admitted from that day: they leave every layer) and who died that day.
  `frames()` gives them as Polars frames (`fangkong.sim.frames` turns visits into the check-ins
  import columns).
- Any visit can be drawn on demand, the same whenever it is drawn (a person's visits are keyed by
  the person and the day): `visits_of(agents)` (a case's check-ins), `visits_at(venues)`
  (everyone at those venues), `draw_day_visits` (everyone, or some streets).
- `ct_values(agents)` gives the Ct a PCR test of those agents sampled today would read.

Call order within a day: (1) the infectious agents and their infectiousness are taken from their
courses, and their own visits drawn; (2) each layer proposes infections — households, classes
(weekdays), workplaces (weekdays), institutions, venues (every susceptible agent who may go out
to a street and kind of venue an infectious agent visits has its visits drawn and meets the
infectious visits that overlap them in time); (3) proposals are applied in that order, the first
one for an agent wins, and the new infections' courses are drawn; (4) the day's onsets, severe
cases and deaths are read from the courses of the active infections. Work per day is
proportional to the infectious agents' contacts, and to the susceptible people of the streets
they visit (a hash and a comparison each), not to the population; the check-ins asked for
(`Checkins`) are drawn apart from transmission.

`beta` scales every layer so that the variant's R0 holds for a fully susceptible, unvaccinated
city (`calibrate_beta`): R0 = beta x (mean infectiousness-days of a course) x (mean contact
weight an agent meets a day). This neglects the saturation of households, so the realized R0 is
a little lower.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, IntFlag

import numpy as np
import numpy.typing as npt
import polars as pl

from fangkong.sim.agent import AGENT_DTYPE, NEVER, AgentIds, Layer
from fangkong.sim.checkin import VisitArrays, VisitRules, Visits, draw_visits, draw_visits_of
from fangkong.sim.city import City
from fangkong.sim.contact import Proposals, group_contacts, venue_contacts, venue_exposure
from fangkong.sim.disease import (
    Courses,
    advance,
    ct_on_day,
    draw_courses,
    infectious_today,
    infectiousness_on_day,
)
from fangkong.sim.groups import Groups
from fangkong.sim.population import PRIVATE
from fangkong.sim.rng import Stream, stream_generator
from fangkong.sim.variant import Variant

__all__ = ["Checkins", "DayEvents", "Epidemic", "Restriction", "Restrictions", "calibrate_beta"]

WEEKDAYS = 5  # day 0 is a Monday; classes and workplaces meet on days 0-4 of each week
_STREAMS = {
    Layer.HOUSEHOLD: Stream.HOUSEHOLD,
    Layer.SCHOOL: Stream.SCHOOL,
    Layer.WORK: Stream.WORK,
    Layer.INSTITUTION: Stream.INSTITUTION,
}
_WEEKDAY_LAYERS = (Layer.SCHOOL, Layer.WORK)
# internal status bits (beside the Restriction bits the caller sets): an institution resident
# (never goes out), admitted to hospital, dead, infected (cannot be infected again)
_RESIDENT, _ADMITTED, _DEAD, _INFECTED = np.uint8(16), np.uint8(32), np.uint8(64), np.uint8(128)
_GONE = np.uint8(_ADMITTED | _DEAD)  # leaves every layer


class Restriction(IntFlag):
    """What an order does to an agent's contacts."""

    ISOLATED = 1  # a case isolated or treated: leaves every layer
    QUARANTINED = 2  # centralized quarantine: leaves every layer
    CONFINED_HOME = 4  # home quarantine or 足不出户: household only


_OUT = np.uint8(Restriction.ISOLATED | Restriction.QUARANTINED)
_OUT_AND_HOME = np.uint8(_OUT | Restriction.CONFINED_HOME)
_RESTRICTION_BITS = np.uint8(_OUT_AND_HOME)
# the status bits that keep an agent from giving (and, with _INFECTED, taking) an infection in
# the household layer, in the other group layers, and at venues (who stays in)
_HOUSEHOLD_OFF = np.uint8(_OUT | _GONE)
_GROUP_OFF = np.uint8(_OUT_AND_HOME | _GONE)
_STAYS_IN = int(_OUT_AND_HOME | _GONE | _RESIDENT)


class Checkins(Enum):
    """Which of the day's visits `Epidemic.step` draws into `DayEvents.visits` (transmission
    is the same whichever: it draws what it needs itself)."""

    ALL = "all"  # every visit in the city
    STREETS = "streets"  # every visit in the streets where an infectious agent lives
    INFECTIOUS = "infectious"  # the infectious agents' own visits


@dataclass(frozen=True)
class Restrictions:
    person: npt.NDArray[np.uint8]  # Restriction bits per agent
    venue_closed: npt.NDArray[np.bool_]  # per venue

    @classmethod
    def none(cls, city: City) -> Restrictions:
        return cls(np.zeros(city.n, dtype=np.uint8), np.zeros(city.venues.n, dtype=np.bool_))


@dataclass(frozen=True)
class DayEvents:
    day: int
    visits: Visits
    infected: AgentIds
    infector: npt.NDArray[np.int32]
    layer: npt.NDArray[np.uint8]
    place: npt.NDArray[np.int32]  # group of the layer, or venue
    onset: AgentIds
    severe: AgentIds
    death: AgentIds
    infectious: int  # agents infectious today

    def frames(self) -> dict[str, pl.DataFrame]:
        """The day's events as frames, one per kind of event."""
        return {
            "infections": pl.DataFrame(
                {
                    "person_id": self.infected.astype(np.int64),
                    "infector_id": self.infector.astype(np.int64),
                    "layer": pl.Series([Layer(x).name.lower() for x in range(len(Layer))]).gather(
                        self.layer.astype(np.int64)
                    ),
                    "place": self.place,
                    "day": np.full(len(self.infected), self.day, dtype=np.int16),
                }
            ),
            **{
                name: pl.DataFrame(
                    {
                        "person_id": who.astype(np.int64),
                        "day": np.full(len(who), self.day, dtype=np.int16),
                    }
                )
                for name, who in (
                    ("onsets", self.onset),
                    ("severe", self.severe),
                    ("deaths", self.death),
                )
            },
        }


def _contact_counts(city: City) -> float:
    """Mean contact weight an agent meets a day (layers and venues, week-averaged), at beta 1."""
    b = city.behaviour
    total = 0.0
    for layer, groups in city.layer_groups().items():
        size = np.diff(groups.start)
        k = b.resident_contacts if layer is Layer.INSTITUTION else b.coworker_contacts
        contacts = np.where(size <= b.full_contact_max, np.maximum(size - 1, 0), k)
        per_agent = float((contacts * size).sum()) / city.n
        share = WEEKDAYS / 7 if layer in _WEEKDAY_LAYERS else 1.0
        total += b.layer_weight[layer] * per_agent * share
    return total + _venue_contact_weight(city)


def _venue_contact_weight(city: City) -> float:
    """Overlap-hours x venue weight an agent meets a day at venues, from one day of visits."""
    ep = Epidemic(city, None, seed=city.seed, beta=1.0)
    visits = ep.draw_day_visits(Restrictions.none(city))
    per_visit = venue_exposure(ep.visit_arrays(visits), ep.venue_weight, ep.longest_hours)
    return per_visit * visits.n / city.n


def calibrate_beta(city: City, variant: Variant, sample: int = 20_000) -> float:
    """The beta that gives the variant's R0 in this city (see the module docstring)."""
    n = min(sample, city.n)
    agents = np.arange(n, dtype=AGENT_DTYPE)
    courses = Courses.empty(n)
    courses.infected[:] = 0
    draw_courses(courses, agents, city.seed, city.persons.age[:n], np.zeros(n, np.uint8), variant)
    horizon = int(courses.end.max()) + 1
    days = sum(
        float(infectiousness_on_day(courses, agents, d, variant).sum()) for d in range(horizon)
    )
    return variant.r0 / (days / n * _contact_counts(city))


@dataclass
class Epidemic:
    city: City
    variant: Variant | None  # None only to draw visits
    seed: int
    beta: float
    day: int = 0
    courses: Courses = field(init=False)
    active: AgentIds = field(init=False)

    def __post_init__(self) -> None:
        c = self.city
        self.courses = Courses.empty(c.n)
        self.active = np.empty(0, dtype=AGENT_DTYPE)
        self.status = np.zeros(c.n, dtype=np.uint8)
        resident = c.households.kind[c.persons.household] != PRIVATE
        self.status[resident] |= _RESIDENT
        b = c.behaviour
        kind_weight = np.concatenate([b.venue_weight_per_hour, np.zeros(8)])
        self.venue_weight = kind_weight[c.venues.kind]
        # visits last at most 1.5 times their kind's mean duration (fangkong.sim.checkin)
        longest = np.concatenate([np.ceil(b.visit_minutes * 1.5 / 60), np.zeros(8)])
        self.longest_hours = longest.astype(np.int64)[c.venues.kind]
        # the people of street s are agents street_first[s] .. street_first[s+1]-1 (families
        # are placed street by street; institution residents, at the end, never go out)
        hh = c.households
        private_end = int(hh.start[int((hh.kind == PRIVATE).sum())])
        street_of = c.person_street[:private_end]
        self.street_first = np.searchsorted(street_of, np.arange(c.geography.n_streets + 1)).astype(
            np.int64
        )
        self.rules = VisitRules(
            self.street_first,
            c.venues.by_street_kind,
            b.visit_probability,
            b.visit_minutes,
            b.opening_minute,
            b.closing_minute,
        )
        self._w = np.zeros(c.n, dtype=np.float32)
        self.infectious_now = np.zeros(c.n, dtype=np.bool_)
        self._no_venue_closed = np.zeros(c.venues.n, dtype=np.bool_)
        vaccinated = self.variant is not None and self.variant.vaccination_in_effect
        self.doses = c.persons.doses if vaccinated else np.zeros(c.n, dtype=np.uint8)
        if self.variant is not None:
            self.susceptibility = self.variant.susceptibility_by_doses

    # -- state

    def seed_infections(self, agents: AgentIds) -> None:
        """Infect `agents` today (imported cases)."""
        assert self.variant is not None
        agents = np.unique(agents[self.courses.infected[agents] == NEVER]).astype(AGENT_DTYPE)
        self.courses.infected[agents] = self.day
        self.status[agents] |= _INFECTED
        self.courses.layer[agents] = int(Layer.SEED)
        draw_courses(
            self.courses, agents, self.seed, self.city.persons.age, self.doses, self.variant
        )
        self.active = np.union1d(self.active, agents).astype(AGENT_DTYPE)

    @property
    def gone(self) -> npt.NDArray[np.bool_]:
        """Per agent: admitted to hospital or dead (leaves every layer)."""
        return (self.status & _GONE).astype(np.bool_)

    def seed_random(self, count: int) -> AgentIds:
        """Infect `count` agents drawn at random (stream SEEDING)."""
        rng = stream_generator(self.seed, Stream.SEEDING, self.day)
        agents = rng.choice(self.city.n, size=count, replace=False).astype(AGENT_DTYPE)
        self.seed_infections(agents)
        return agents

    def ct_values(self, agents: AgentIds) -> npt.NDArray[np.float32]:
        """The Ct of a PCR test of each agent sampled today (40 = negative)."""
        return ct_on_day(self.courses, agents, self.day, self.seed)

    # -- the day

    def _today(self, restrictions: Restrictions | None) -> npt.NDArray[np.uint8]:
        """The status bits with the day's Restriction bits."""
        if restrictions is None:  # no per-agent work beyond the state kept
            return self.status
        return self.status | (restrictions.person & _RESTRICTION_BITS)

    def draw_day_visits(
        self, restrictions: Restrictions, streets: npt.NDArray[np.bool_] | None = None
    ) -> Visits:
        """The day's visits in `streets` (all when None); the visits of the agents flagged in
        `self.infectious_now` are marked hot."""
        return self._visits(self._today(restrictions), restrictions.venue_closed, streets)

    def visits_of(
        self, agents: AgentIds, restrictions: Restrictions | None = None, day: int | None = None
    ) -> Visits:
        """The visits of `agents` alone on `day` (today when None; `restrictions` those of that
        day), each the same as in `draw_day_visits`: a person's visits are keyed by the person
        and the day alone. Who is admitted or dead is read from today's state."""
        closed = self._no_venue_closed if restrictions is None else restrictions.venue_closed
        return draw_visits_of(
            self.day if day is None else day,
            self.seed,
            agents,
            self._today(restrictions),
            closed,
            self.rules,
            self.infectious_now,
            _STAYS_IN,
        )

    def visits_at(
        self,
        venues: npt.NDArray[np.int32],
        restrictions: Restrictions | None = None,
        day: int | None = None,
    ) -> Visits:
        """Everyone's visits to `venues` on `day` (as `visits_of`): the visits of the venues'
        streets, drawn, and those to other venues left out."""
        streets = np.zeros(self.city.geography.n_streets, dtype=np.bool_)
        streets[self.city.venues.street[venues]] = True
        closed = self._no_venue_closed if restrictions is None else restrictions.venue_closed
        drawn = self._visits(self._today(restrictions), closed, streets, day)
        wanted = np.zeros(self.city.venues.n, dtype=np.bool_)
        wanted[venues] = True
        return drawn.only(wanted[drawn.venue])

    def _visits(
        self,
        today: npt.NDArray[np.uint8],
        venue_closed: npt.NDArray[np.bool_],
        streets: npt.NDArray[np.bool_] | None,
        day: int | None = None,
    ) -> Visits:
        b = self.city.behaviour
        if streets is None:
            streets = np.ones(self.city.geography.n_streets, dtype=np.bool_)
        return draw_visits(
            self.day if day is None else day,
            self.seed,
            self.street_first,
            today & np.uint8(_STAYS_IN),
            self.city.venues.by_street_kind,
            b.visit_probability,
            b.visit_minutes,
            b.opening_minute,
            b.closing_minute,
            venue_closed,
            self.infectious_now,
            streets,
        )

    @staticmethod
    def visit_arrays(v: Visits) -> VisitArrays:
        return v.person, v.venue, v.start, v.end, v.bucket_start

    def step(
        self,
        restrictions: Restrictions | None = None,
        *,
        all_checkins: bool = True,
        checkins: Checkins | None = None,
    ) -> DayEvents:
        """Simulate the current day and move to the next. `checkins` says which visits
        `DayEvents.visits` holds (`all_checkins=False` is Checkins.STREETS: no one else's visit
        can meet an infectious agent's); the others are the same whenever they are drawn
        (`draw_day_visits`, `visits_of`, `visits_at`)."""
        assert self.variant is not None
        if checkins is None:
            checkins = Checkins.ALL if all_checkins else Checkins.STREETS
        c, day, courses = self.city, self.day, self.courses
        # in agent order, as `active`
        sources, w = infectious_today(courses, self.active, day, self.variant, self.status, _GONE)
        self._w[sources] = w
        self.infectious_now[sources] = True
        today = self._today(restrictions)
        closed = self._no_venue_closed if restrictions is None else restrictions.venue_closed
        hot = draw_visits_of(
            day, self.seed, sources, today, closed, self.rules, self.infectious_now, _STAYS_IN
        )
        if checkins is Checkins.INFECTIOUS:
            visits = hot
        else:
            streets = None
            if checkins is Checkins.STREETS:
                streets = np.zeros(c.geography.n_streets, dtype=np.bool_)
                streets[c.person_street_of(sources)] = True
            visits = self._visits(today, closed, streets)
        proposals: list[tuple[Layer, Proposals]] = []
        for layer, groups in c.layer_groups().items():
            if layer in _WEEKDAY_LAYERS and day % 7 >= WEEKDAYS:
                continue
            off = _HOUSEHOLD_OFF if layer is Layer.HOUSEHOLD else _GROUP_OFF
            proposals.append((layer, self._group_layer(layer, groups, sources, w, today, off)))
        proposals.append(
            (
                Layer.VENUE,
                venue_contacts(
                    day,
                    self.seed,
                    self.beta,
                    hot,
                    self._w,
                    self.rules,
                    (today, np.uint8(_STAYS_IN | _INFECTED)),
                    closed,
                    self.venue_weight,
                    self.longest_hours,
                    self.susceptibility,
                    self.doses,
                ),
            )
        )
        self._w[sources] = 0.0
        self.infectious_now[sources] = False
        new, infector, where, place = self._apply(proposals)
        draw_courses(courses, new, self.seed, c.persons.age, self.doses, self.variant)
        self.active, onset, severe, death = advance(
            self.active, new, day, courses.onset, courses.end, courses.severe, courses.death
        )
        self.status[severe] |= _ADMITTED
        self.status[death] |= _DEAD
        self.day += 1
        return DayEvents(
            day, visits, new, infector, where, place, onset, severe, death, len(sources)
        )

    def _group_layer(
        self,
        layer: Layer,
        groups: Groups,
        sources: AgentIds,
        w: npt.NDArray[np.float32],
        today: npt.NDArray[np.uint8],
        off: np.uint8,
    ) -> Proposals:
        b = self.city.behaviour
        k = b.resident_contacts if layer is Layer.INSTITUTION else b.coworker_contacts
        return group_contacts(
            sources,
            w,
            self.day,
            self.seed,
            _STREAMS[layer],
            self.beta * b.layer_weight[layer],
            (groups.of_agent, groups.start, groups.members),
            b.full_contact_max,
            k,
            (today, off, off | _INFECTED),
            self.susceptibility,
            self.doses,
        )

    def _apply(
        self, proposals: list[tuple[Layer, Proposals]]
    ) -> tuple[AgentIds, npt.NDArray[np.int32], npt.NDArray[np.uint8], npt.NDArray[np.int32]]:
        """The first proposal for each agent wins (layers in call order, then chunk order).
        `np.unique` gives the first index of each target: the winning proposals, in agent
        order."""
        parts = [(layer, *p.flat()) for layer, p in proposals]
        target = np.concatenate([t for _, t, _, _ in parts])
        source = np.concatenate([s for _, _, s, _ in parts])
        place = np.concatenate([q for _, _, _, q in parts])
        layer = np.concatenate([np.full(len(t), int(lay), np.uint8) for lay, t, _, _ in parts])
        _, first = np.unique(target, return_index=True)  # new infections in agent order
        new = target[first].astype(AGENT_DTYPE)
        self.status[new] |= _INFECTED
        cs = self.courses
        cs.infected[new] = self.day
        cs.infector[new] = source[first]
        cs.layer[new] = layer[first]
        return new, source[first], layer[first], place[first]
