"""The day step: determinism, shared randomness between scenarios, restrictions, venue
transmission only between overlapping visits, events and Ct values."""

from __future__ import annotations

from functools import cache

import numpy as np

from fangkong.sim.agent import Layer
from fangkong.sim.checkin import Visits
from fangkong.sim.city import City, build_city
from fangkong.sim.disease import CT_LIMIT
from fangkong.sim.transmission import (
    Checkins,
    DayEvents,
    Epidemic,
    Restriction,
    Restrictions,
    calibrate_beta,
)
from fangkong.sim.variant import load_variant

VARIANT = load_variant("omicron-ba2")


@cache
def _city() -> City:
    return build_city(30_000, 21)


def _epidemic(seed: int = 21) -> Epidemic:
    city = _city()
    epidemic = Epidemic(city, VARIANT, seed=seed, beta=calibrate_beta(city, VARIANT))
    epidemic.seed_random(10)
    return epidemic


def _run(
    epidemic: Epidemic,
    days: int,
    r: Restrictions | None = None,
    checkins: Checkins = Checkins.ALL,
) -> list[DayEvents]:
    return [epidemic.step(r, checkins=checkins) for _ in range(days)]


def _visit_rows(v: Visits) -> set[tuple[int, int, int, int]]:
    return set(
        zip(v.person.tolist(), v.venue.tolist(), v.start.tolist(), v.end.tolist(), strict=True)
    )


def test_same_seed_same_epidemic() -> None:
    a, b = _epidemic(), _epidemic()
    ea, eb = _run(a, 20), _run(b, 20)
    assert [len(e.infected) for e in ea] == [len(e.infected) for e in eb]
    assert np.array_equal(a.courses.infected, b.courses.infected)
    assert np.array_equal(a.courses.infector, b.courses.infector)
    assert sum(len(e.infected) for e in ea) > 50


def test_a_restriction_changes_no_one_elses_draws() -> None:
    city = _city()
    free, r = _epidemic(), Restrictions.none(city)
    confined = _epidemic()
    r.person[:1000] = Restriction.CONFINED_HOME
    day_free, day_confined = free.step(), confined.step(r)
    others = day_free.visits.person >= 1000
    assert not np.isin(np.arange(1000), day_confined.visits.person).any()
    assert np.array_equal(day_free.visits.person[others], day_confined.visits.person)
    assert np.array_equal(day_free.visits.start[others], day_confined.visits.start)


def test_venue_infections_need_overlapping_visits() -> None:
    epidemic = _epidemic()
    checked = 0
    for day in _run(epidemic, 25):
        v = day.visits
        for who, by, venue, layer in zip(
            day.infected, day.infector, day.place, day.layer, strict=True
        ):
            if layer != Layer.VENUE:
                continue
            mine = (v.person == who) & (v.venue == venue)
            theirs = (v.person == by) & (v.venue == venue)
            overlap = np.minimum(v.end[mine][:, None], v.end[theirs][None, :]) - np.maximum(
                v.start[mine][:, None], v.start[theirs][None, :]
            )
            assert (overlap > 0).any()
            checked += 1
    assert checked > 20


def test_confined_home_leaves_only_households_and_closed_venues_get_no_visits() -> None:
    city = _city()
    r = Restrictions.none(city)
    r.person[:] = Restriction.CONFINED_HOME
    epidemic = _epidemic()
    days = _run(epidemic, 15, r)
    layers = np.concatenate([d.layer for d in days])
    assert len(layers) > 0
    assert set(np.unique(layers)) <= {Layer.HOUSEHOLD}
    assert all(d.visits.n == 0 for d in days)
    open_r = Restrictions.none(city)
    open_r.venue_closed[::2] = True
    day = _epidemic().step(open_r)
    assert day.visits.n > 0
    assert not open_r.venue_closed[day.visits.venue].any()
    # the buckets still index the sorted visits
    assert day.visits.bucket_start[-1] == day.visits.n
    assert (np.diff(day.visits.venue) >= 0).all()


def test_isolating_every_infected_agent_stops_transmission() -> None:
    city = _city()
    epidemic = _epidemic()
    r = Restrictions.none(city)
    for _ in range(10):
        r.person[epidemic.courses.infected >= 0] = Restriction.ISOLATED
        day = epidemic.step(r)
        assert len(day.infected) == 0


def test_events_frames_and_ct_values() -> None:
    epidemic = _epidemic()
    days = _run(epidemic, 30)
    frames = days[-1].frames()
    assert set(frames) == {"infections", "onsets", "severe", "deaths"}
    assert frames["infections"].columns == ["person_id", "infector_id", "layer", "place", "day"]
    assert sum(len(d.onset) for d in days) > 0
    c = epidemic.courses
    never = np.flatnonzero(c.infected < 0)[:100].astype(np.int32)
    assert (epidemic.ct_values(never) == CT_LIMIT).all()
    now = epidemic.day
    infectious = np.flatnonzero((c.infectious >= 0) & (c.infectious <= now) & (c.end > now))
    ct = epidemic.ct_values(infectious.astype(np.int32))
    assert (ct < CT_LIMIT).all()
    at_peak = infectious[c.peak[infectious] == now]
    ct_peak = epidemic.ct_values(at_peak.astype(np.int32))
    assert abs(float(np.median(ct_peak)) - VARIANT.peak_ct) < 1.5


def test_the_checkins_drawn_change_no_infection() -> None:
    city = _city()
    r = Restrictions.none(city)
    r.person[::7] = Restriction.CONFINED_HOME
    r.venue_closed[::5] = True
    runs = {}
    for checkins in Checkins:
        epidemic = _epidemic()
        days = _run(epidemic, 25, r, checkins)
        runs[checkins] = (epidemic.courses.infected.copy(), epidemic.courses.infector.copy(), days)
    infected, infector, days = runs[Checkins.ALL]
    assert sum(len(d.infected) for d in days) > 100
    for checkins in (Checkins.STREETS, Checkins.INFECTIOUS):
        assert np.array_equal(runs[checkins][0], infected)
        assert np.array_equal(runs[checkins][1], infector)
    # the infectious agents' own visits are those of the full draw marked hot
    for every, theirs in zip(days, runs[Checkins.INFECTIOUS][2], strict=True):
        hot = every.visits.only(every.visits.hot)
        assert _visit_rows(theirs.visits) == _visit_rows(hot)
        assert theirs.visits.hot.all()


def test_visits_are_drawn_on_demand_for_any_person_or_venue() -> None:
    city = _city()
    r = Restrictions.none(city)
    r.person[:3000] = Restriction.QUARANTINED
    r.venue_closed[::3] = True
    epidemic = _epidemic()
    _run(epidemic, 3, r)
    every = epidemic.draw_day_visits(r)
    cases = np.arange(0, city.n, 97, dtype=np.int32)
    mine = epidemic.visits_of(cases, r)
    assert mine.n > 50
    assert _visit_rows(mine) == _visit_rows(every.only(np.isin(every.person, cases)))
    venues = np.unique(mine.venue)
    there = epidemic.visits_at(venues, r)
    assert _visit_rows(there) == _visit_rows(every.only(np.isin(every.venue, venues)))
    # sorted by venue and hour, with buckets that index them
    assert there.bucket_start[-1] == there.n
    assert (np.diff(there.venue) >= 0).all()
    # another day's visits, drawn later, are those that day's draw gave
    before = epidemic.visits_of(cases, r, day=1)
    assert _visit_rows(before) != _visit_rows(mine)
    again = _epidemic()
    _run(again, 1, r)
    assert _visit_rows(before) == _visit_rows(again.visits_of(cases, r))
