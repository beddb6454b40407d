"""The rules driven by the twin's own frames (issue 6 item 5, for issue 8): each day of an
outbreak, `trace_rule` over the check-ins, venues, homes, arrival and named contacts the twin
produced itself and the case episodes the engine left names exactly the contacts that the daily
run traced; `areas_rule` over the twin's frames (its people, venues, check-ins, swabs and
results, and the engine's case episodes) draws exactly the risk areas the run stored, with their
levels and the days they change; and `pooled_testing_rule` over its swabs, results and arrival,
with the episodes as the day starts, gives exactly the run's testing orders. (In this outbreak
no positive is withheld for an open episode alone: each case's own positives fall within 14
days of its first, so the repeat rule withholds them too; the episodes' part of that rule is
checked by tests/engine/test_pooled_testing_rule.py.)

What this shows: the rules over a simulator's own frames, on a connection of their own, give the
same contacts, areas and testing orders as the daily run. The run reads the same day's events
in place (`fangkong.sim.event_frames`), through its loaders and the state it keeps. What it does
not show: the twin's state and the engine's derived rows (episodes, orders, kept state) are
still written by `run_day` in the twin's store. The cases to trace are read with the engine's
loader, `cases_to_trace`, after the run: the episodes opened on the day, which the run's later
steps must not change. This test first found a discharge dated at the day's start, before its
evidence, whose outcome turned the clinicians' report of that evening into a new episode,
traced again (see tests/engine/test_treatment.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from fangkong.engine.episode import episode_ctes
from fangkong.engine.frames import day_bounds
from fangkong.engine.testing import PooledTestingFacts, pooled_testing_rule
from fangkong.engine.tracing import TraceFacts, cases_to_trace, trace_rule
from fangkong.engine.tracing_sql import active_case_sql
from fangkong.engine.treatment import case_state
from fangkong.engine.zones import AreaFacts, areas_on, areas_rule
from fangkong.policy import load_policy
from fangkong.sim.event_frames import DAY_TABLES
from fangkong.sim.twin import Twin, TwinDay

pytestmark = pytest.mark.slow

# the frames the twin makes of its city that the rules compared here read (its days' events
# are the twin's own frames: `Twin.events`)
_KEPT = {"venue", "arrival", "person"}
_COLUMNS = ["case_person_id", "contact_person_id", "tier", "via", "exposed_at"]
_EPISODES = "WITH {ctes} SELECT person_id, opened_at, closed_at FROM episode"
_ORDER_COLUMNS = ["person_id", "order_type", "start_at", "detail", "rule"]
_AREA_COLUMNS = [
    "area_id",
    "level",
    "drawn_on",
    "level_since",
    "last_infection_on",
    "infections",
    "next_level",
    "next_change_on",
    "awaiting_round",
]


class FramesTwin(Twin):
    """The twin, keeping the frames it hands its store, and running tracing, testing and the
    risk areas over them each day beside the run."""

    def __post_init__(self) -> None:
        self.kept: dict[str, list[pl.DataFrame]] = {kind: [] for kind in _KEPT}
        self.compared: list[tuple[date, int, int]] = []  # day, cases, contacts
        self.areas: list[tuple[date, int]] = []  # day, areas drawn
        self.tested: list[tuple[date, int]] = []  # day, testing orders
        super().__post_init__()

    def _insert(self, table: str, frame: pl.DataFrame, batch: pl.Expr) -> None:
        if table in _KEPT and frame.height:
            self.kept[table].append(frame)
        super()._insert(table, frame, batch)

    def _step(self, day: date) -> TwinDay:
        assert self.store is not None
        # the case episodes as the day starts (the twin reports only people the engine found
        # before, so the day's reports open none; the run's own derive after its testing step)
        episodes = self.store.fetch(
            _EPISODES.format(ctes=episode_ctes(self.scenario)),
            {"until": day_bounds(day)[0], **self.scenario.params()},
        )
        out = super()._step(day)
        self._compare_testing(day, episodes)
        self._compare(day)
        self._compare_areas(day)
        return out

    def _whole(self, kind: str) -> pl.DataFrame:
        if kind in DAY_TABLES:
            return self.events.whole(kind)
        return pl.concat(self.kept[kind], how="diagonal_relaxed")

    def _has(self, kind: str) -> bool:
        return self._whole(kind).height > 0

    def _compare_testing(self, day: date, episodes: pl.DataFrame) -> None:
        """The run's testing orders of the day against `pooled_testing_rule` over the twin's
        swabs and results and the episodes at the day's start."""
        assert self.store is not None and self.policy is not None
        if not (self._has("sample") and self._has("tube_result")):
            return
        facts = PooledTestingFacts.of(
            sample=self._whole("sample"),
            tube_result=self._whole("tube_result"),
            arrival=self._whole("arrival"),
            episode=episodes,
        )
        found = pooled_testing_rule(facts, day, self.policy)
        stored = self.store.fetch(
            "SELECT person_id, order_type, start_at, detail, rule FROM engine_order"
            " WHERE scenario = :s AND run_day = :d AND rule LIKE 'testing.%'",
            {"s": self.scenario.name, "d": day},
        )
        order = ["rule", "detail", "order_type", "person_id"]
        assert_frame_equal(
            found.select(_ORDER_COLUMNS).sort(order, nulls_last=True),
            stored.select(_ORDER_COLUMNS).sort(order, nulls_last=True),
            check_dtypes=False,
        )
        self.tested.append((day, found.height))

    def _compare_areas(self, day: date) -> None:
        """The run's risk areas of the day against `areas_rule` over the twin's frames: the
        case episodes the engine left (each case's residence from the twin's people, who never
        move), the cases' check-ins at the twin's venues, its residents, and their swabs with
        the results reported by the day's end."""
        assert self.store is not None and self.policy is not None
        end = day_bounds(day)[1]
        people = self._whole("person")
        cases = case_state(self.store, day, scenario=self.scenario).filter(
            pl.col("ended_by").is_null() | (pl.col("ended_by") != "excluded")
        )
        infections = cases.select(
            "person_id", opened_at="case_since", case_region="region_code"
        ).join(
            people.select("person_id", "region_code", "compound_id", "building_id", "household_id"),
            on="person_id",
        )
        frames = {
            "infections": infections,
            "residents": people.select("person_id", "region_code", "compound_id", "building_id"),
        }
        if self._has("checkin"):
            venues = self._whole("venue").select("venue_id", "region_code")
            frames["checkins"] = self._whole("checkin").join(venues, on="venue_id")
        if self._has("sample") and self._has("tube_result"):
            results = self._whole("tube_result").filter(pl.col("reported_at") < end)
            frames["samples"] = (
                self._whole("sample")
                .join(results.select("tube_id", "result"), on="tube_id", how="left")
                .select("person_id", "sampled_at", "result")
            )
        facts = AreaFacts.of(**frames)
        drawn = areas_rule(facts, day, self.policy).select(_AREA_COLUMNS).sort("area_id")
        stored = areas_on(self.store, day, self.scenario).select(_AREA_COLUMNS).sort("area_id")
        assert_frame_equal(drawn, stored, check_dtypes=False)
        self.areas.append((day, drawn.height))

    def _facts(self, day: date, now: datetime) -> TraceFacts:
        assert self.store is not None
        active = self.store.fetch(
            active_case_sql(self.scenario), {"now": now, **self.scenario.params()}
        )
        kinds = (_KEPT | set(DAY_TABLES)) & set(TraceFacts.SCHEMAS)
        frames = {kind: self._whole(kind) for kind in kinds if self._has(kind)}
        homes = self._whole("person").select("person_id", "household_id")
        return TraceFacts.of(**frames, home=homes, active_case=active)

    def _compare(self, day: date) -> None:
        """The run's traced contacts of the day against the rule over the twin's frames."""
        assert self.store is not None and self.policy is not None
        cases = cases_to_trace(self.store, day, self.policy, scenario=self.scenario)
        stored = self.store.fetch(
            "SELECT case_person_id, contact_person_id, tier, via, exposed_at"
            " FROM traced_contact WHERE scenario = :s AND run_day = :d",
            {"s": self.scenario.name, "d": day},
        )
        if cases.height == 0:
            assert stored.height == 0
            return
        now = cases.get_column("isolated_at").max()
        assert isinstance(now, datetime)
        found = trace_rule(self._facts(day, now), cases, self.policy)
        order = ["case_person_id", "contact_person_id", "tier"]
        assert_frame_equal(
            found.select(_COLUMNS).sort(order),
            stored.select(_COLUMNS).sort(order),
            check_dtypes=False,
        )
        self.compared.append((day, cases.height, found.height))


@pytest.fixture(scope="module")
def outbreak() -> Iterator[FramesTwin]:
    twin = FramesTwin(20_000, 1, load_policy("cn-2022-06-28"))
    for _ in twin.run(25):
        pass
    yield twin
    twin.close()


def test_the_twins_frames_give_the_runs_contacts(outbreak: FramesTwin) -> None:
    traced = [c for c in outbreak.compared if c[2]]
    assert len(traced) >= 3  # days with cases and contacts, each compared
    assert sum(c[2] for c in traced) >= 100


def test_the_twins_frames_give_the_runs_risk_areas(outbreak: FramesTwin) -> None:
    drawn = [a for a in outbreak.areas if a[1]]
    assert len(drawn) >= 10  # days with areas in force, each compared


def test_the_twins_frames_give_the_runs_testing_orders(outbreak: FramesTwin) -> None:
    ordered = [t for t in outbreak.tested if t[1]]
    assert len(ordered) >= 5  # days with testing orders, each compared
