"""Tracing on tiny event sets: each route, the window edges of the 2020 (2 days) and 2022 (4 days)
policies, the venue tolerance, seat rows, precedence, secondary contacts (both backends)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from fangkong.engine.scenario import LIVE
from fangkong.engine.tracing import (
    CASE_SCHEMA,
    TraceFacts,
    cases_to_trace,
    trace_contacts,
    trace_rule,
)
from fangkong.engine.tracing_sql import active_case_sql
from fangkong.model.tables import SqlType, table
from fangkong.policy import Policy, load_policy
from fangkong.store import Store
from fangkong.store.person_view import current_person

Z = ZoneInfo("Asia/Shanghai")
DAY = date(2022, 7, 10)

_DTYPES: dict[SqlType, pl.DataType] = {
    SqlType.BIGINT: pl.Int64(),
    SqlType.INTEGER: pl.Int32(),
    SqlType.SMALLINT: pl.Int16(),
    SqlType.DOUBLE: pl.Float64(),
    SqlType.VARCHAR: pl.String(),
    SqlType.DATE: pl.Date(),
    SqlType.TIMESTAMPTZ: pl.Datetime("us", "Asia/Shanghai"),
    SqlType.BOOLEAN: pl.Boolean(),
}


def at(text: str) -> datetime:
    """'2022-07-10 08:00' in Beijing time."""
    return datetime.fromisoformat(text).replace(tzinfo=Z)


class Events:
    """Rows for the event tables, stored in one go (batch 0): a test's little world."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._scan = 0
        self._venues: set[int] = set()

    def add(self, name: str, **row: Any) -> Events:
        self.rows[name].append(row)
        return self

    def person(self, pid: int, household: int | None = None, region: str = "310101") -> Events:
        return self.add(
            "person", person_id=pid, household_id=household, region_code=region, id_type="ric"
        )

    def case(
        self,
        pid: int,
        reported: str,
        *,
        onset: date | None = None,
        diagnosis: str = "confirmed",
        event: str = "report",
        case_id: str | None = None,
        outcome: str | None = None,
    ) -> Events:
        cid = case_id or f"C{pid}"
        return self.add(
            "case_report",
            report_id=f"{cid}-{len(self.rows['case_report'])}",
            case_id=cid,
            person_id=pid,
            region_code="310101",
            reported_at=at(reported),
            event_type=event,
            diagnosis=diagnosis if event in ("report", "reclassify") else None,
            origin="local" if event == "report" else None,
            outcome=outcome,
            onset_date=onset,
        )

    def checkin(
        self,
        pid: int,
        venue: int,
        start: str,
        end: str | None = None,
        *,
        category: str = "enclosed_entertainment",
    ) -> Events:
        """A check-in at `venue`, registered with `category` the first time it is named."""
        self._scan += 1
        if venue not in self._venues:
            self._venues.add(venue)
            self.add("venue", venue_id=venue, region_code="310101", category=category)
        return self.add(
            "checkin",
            scan_id=self._scan,
            person_id=pid,
            venue_id=venue,
            checkin_at=at(start),
            checkout_at=at(end) if end else None,
        )

    def trip(
        self, pid: int, service: str, departed: str, row: int | None, *, carriage: int | None = None
    ) -> Events:
        d = at(departed)
        return self.add(
            "trip",
            person_id=pid,
            service=service,
            service_date=d.date(),
            departed_at=d,
            seat_row=row,
            carriage=carriage,
        )

    def arrival(self, pid: int, flight: str, arrived: str, row: int | None) -> Events:
        return self.add(
            "arrival",
            arrival_id=f"A{pid}-{flight}",
            person_id=pid,
            arrived_at=at(arrived),
            port_region_code="310101",
            origin_country="SG",
            flight=flight,
            seat_row=row,
            destination_region_code=None,
        )

    def declared(
        self, pid: int, other: int, setting: str, last: str, first: str | None = None
    ) -> Events:
        return self.add(
            "declared_contact",
            person_id=pid,
            contact_person_id=other,
            setting=setting,
            last_contact_at=at(last),
            first_contact_at=at(first) if first else None,
        )

    def sample(self, pid: int, sampled: str, result: str | None = None) -> Events:
        """A single-tube sample; with `result`, its tube's result reported an hour later."""
        n = len(self.rows["sample"])
        self.add(
            "sample", sample_id=f"S{n}", person_id=pid, tube_id=f"T{n}", sampled_at=at(sampled)
        )
        if result is not None:
            reported = at(sampled) + timedelta(hours=1)
            self.add("tube_result", tube_id=f"T{n}", result=result, reported_at=reported)
        return self

    def load(self, store: Store, batch: int = 0) -> Store:
        """Store the rows as import batch `batch` (recorded in import_batch when not 0, so
        that the engine sees a new batch, as after a real import)."""
        for name, rows in self.rows.items():
            t = table(name)
            schema = {c.name: _DTYPES[c.type] for c in t.columns}
            full = [{**dict.fromkeys(schema), "batch_id": batch, **r} for r in rows]
            store.insert_frame(name, pl.DataFrame(full, schema=schema, orient="row"))
        if batch:
            store.execute(
                "INSERT INTO import_batch VALUES (:b, 'events', 'test', :h, 0, 0, :t)",
                {"b": batch, "h": f"h{batch}", "t": at("2022-07-01 00:00")},
            )
        return store


def policy(pid: str = "cn-2022-06-28", **contacts: Any) -> Policy:
    p = load_policy(pid)
    if not contacts:
        return p
    assert p.contacts is not None
    return p.model_copy(update={"contacts": p.contacts.model_copy(update=contacts)})


def trace(store: Store, day: date = DAY, pol: Policy | None = None) -> pl.DataFrame:
    """The day's contacts traced on the store; the same rule over the store's rows as frames
    (`trace_rule`, no store) must find the same."""
    pol = pol or policy()
    cases = cases_to_trace(store, day, pol)
    on_store = trace_contacts(store, cases, pol)
    if cases.height:
        now = cases.get_column("isolated_at").max()
        assert isinstance(now, datetime)
        assert_frame_equal(trace_rule(_facts_of(store, now), cases, pol), on_store)
    return on_store


def _facts_of(store: Store, now: datetime) -> TraceFacts:
    """Every row of the tracing relations of a test's small store, as frames: the households as
    they stand at `now`, the case episodes active then."""
    columns = {
        kind: ", ".join(schema)
        for kind, schema in TraceFacts.SCHEMAS.items()
        if kind not in ("home", "active_case")
    }
    frames = {kind: store.fetch(f"SELECT {cols} FROM {kind}") for kind, cols in columns.items()}
    frames["home"] = store.fetch(
        f"SELECT person_id, household_id FROM {current_person(':now')} p", {"now": now}
    )
    frames["active_case"] = store.fetch(active_case_sql(LIVE), {"now": now, **LIVE.params()})
    return TraceFacts.of(**frames)


def found(contacts: pl.DataFrame, tier: str = "close") -> dict[int, str]:
    """contact -> route, for one tier."""
    rows = contacts.filter(pl.col("tier") == tier).select("contact_person_id", "via").rows()
    return {int(c): str(v) for c, v in rows}


# -- the cases of a day ------------------------------------------------------------------------


def test_cases_newly_positive_on_the_day(store: Store) -> None:
    e = Events()
    e.case(1, "2022-07-10 09:00", onset=date(2022, 7, 8))  # confirmed, with onset
    # anchored on its first positive sample (not the negative before, nor the retest after)
    e.case(2, "2022-07-10 10:00", diagnosis="asymptomatic")
    e.sample(2, "2022-07-08 08:00", "negative").sample(2, "2022-07-09 08:00", "positive")
    e.sample(2, "2022-07-09 20:00", "positive").sample(2, "2022-07-10 11:00", "positive")
    e.case(3, "2022-07-10 11:00", diagnosis="asymptomatic")  # no sample: anchored on the report
    e.case(4, "2022-07-08 09:00", diagnosis="suspected")  # suspected, confirmed today
    e.case(4, "2022-07-10 12:00", event="reclassify", onset=date(2022, 7, 7))
    e.case(5, "2022-07-08 09:00", diagnosis="asymptomatic")  # positive before: not new
    e.case(5, "2022-07-10 12:00", event="reclassify", diagnosis="confirmed")
    e.case(6, "2022-07-10 13:00", diagnosis="suspected")  # suspected only
    e.case(7, "2022-07-10 00:00")  # the day's first instant
    e.case(8, "2022-07-11 00:00")  # the next day's
    e.case(9, "2022-07-09 23:59:59")
    cases = cases_to_trace(e.load(store), DAY)
    assert cases.schema == pl.Schema(CASE_SCHEMA)
    got = {r["case_person_id"]: (r["anchor_at"], r["isolated_at"]) for r in cases.to_dicts()}
    assert got == {
        1: (at("2022-07-08 00:00"), at("2022-07-10 09:00")),
        2: (at("2022-07-09 08:00"), at("2022-07-10 10:00")),
        3: (at("2022-07-10 11:00"), at("2022-07-10 11:00")),
        4: (at("2022-07-07 00:00"), at("2022-07-10 12:00")),
        7: (at("2022-07-10 00:00"), at("2022-07-10 00:00")),
    }
    assert cases.filter(pl.col("case_person_id") == 4).item(0, "case_id") == "C4"


def test_no_cases_no_contacts(store: Store) -> None:
    cases = cases_to_trace(store, DAY)
    assert cases.height == 0
    assert trace_contacts(store, cases, policy()).height == 0


# -- close contacts, route by route --------------------------------------------------------------


def test_household(store: Store) -> None:
    e = Events().person(1, household=10).person(2, household=10).person(3, household=10)
    e.person(4, household=11).person(5)
    e.case(1, "2022-07-10 09:00", onset=date(2022, 7, 8))
    e.case(3, "2022-07-09 09:00", onset=date(2022, 7, 7))  # a case already: not a contact
    contacts = trace(e.load(store))
    close = contacts.filter(pl.col("tier") == "close")
    assert close.select("case_person_id", "contact_person_id", "via").rows() == [
        (1, 2, "household")
    ]
    assert close.item(0, "exposed_at") == at("2022-07-10 09:00")
    assert close.item(0, "rule") == "tracing.close.household"
    assert close.item(0, "policy_id") == "cn-2022-06-28"
    assert found(trace(store, pol=policy(household_always_close=False))) == {}


def test_a_recovered_case_can_be_a_contact_again(store: Store) -> None:
    e = Events().person(1, household=10).person(2, household=10)
    e.case(2, "2022-05-01 09:00", onset=date(2022, 4, 29))
    e.case(2, "2022-05-20 09:00", event="outcome", outcome="cured")
    e.case(1, "2022-07-10 09:00", onset=date(2022, 7, 8))
    assert found(trace(e.load(store))) == {2: "household"}


def test_venue_overlap_and_tolerance(store: Store) -> None:
    e = Events().case(1, "2022-07-10 09:00", onset=date(2022, 7, 8))
    e.checkin(1, 100, "2022-07-08 12:00", "2022-07-08 13:00")  # the case at lunch
    e.checkin(2, 100, "2022-07-08 12:50", "2022-07-08 14:00")  # overlaps
    e.checkin(3, 100, "2022-07-08 13:30")  # a scan 30 min after the case left: co-present
    e.checkin(4, 100, "2022-07-08 13:31")  # 31 min: not
    e.checkin(5, 100, "2022-07-08 10:00", "2022-07-08 11:29")  # left 31 min before
    e.checkin(6, 200, "2022-07-08 12:10")  # another venue
    e.checkin(1, 300, "2022-07-09 18:00")  # the case scans a shop, no checkout
    e.checkin(7, 300, "2022-07-09 17:35")  # 25 min before
    e.checkin(1, 1, "2022-07-08 12:00")  # the case's own scan at another place: not a contact
    contacts = trace(e.load(store))
    assert found(contacts) == {2: "venue", 3: "venue", 7: "venue"}
    exposed = dict(contacts.select("contact_person_id", "exposed_at").rows())
    assert exposed[2] == at("2022-07-08 13:30")  # the case's checkout + 30 min, before 14:00
    assert exposed[3] == at("2022-07-08 13:30")
    assert exposed[7] == at("2022-07-09 17:35")


def test_venue_window_edges(store: Store) -> None:
    e = Events().case(1, "2022-07-10 09:00", onset=date(2022, 7, 8))
    # 4 days before onset: the window opens 2022-07-04 00:00 (2 days: 2022-07-06 00:00)
    e.checkin(1, 100, "2022-07-03 23:00", "2022-07-04 00:10")
    e.checkin(2, 100, "2022-07-04 00:05", "2022-07-04 01:00")  # inside 4 days, with the case
    e.checkin(3, 100, "2022-07-03 22:00", "2022-07-03 23:10")  # co-present before the window
    e.checkin(1, 101, "2022-07-06 00:10", "2022-07-06 00:20")
    e.checkin(4, 101, "2022-07-06 00:15")  # inside 2 days too
    e.checkin(1, 102, "2022-07-10 08:50", "2022-07-10 09:40")  # the case, reported at 09:00
    e.checkin(5, 102, "2022-07-10 09:20", "2022-07-10 09:50")  # after the report: not
    e.checkin(6, 102, "2022-07-10 08:40", "2022-07-10 08:55")  # before it
    e.load(store)
    assert set(found(trace(store))) == {2, 4, 6}
    assert set(found(trace(store, pol=load_policy("cn-2020-04-08")))) == {4, 6}
    exposed = dict(trace(store).select("contact_person_id", "exposed_at").rows())
    assert exposed[2] == at("2022-07-04 00:40")
    assert exposed[6] == at("2022-07-10 08:55")


def test_the_tolerance_widens_the_window_for_the_cases_own_stays(store: Store) -> None:
    """A case's stay that ended, or began, within the tolerance (30 minutes) outside its window
    still brings the people co-present with it inside the window; one beyond it does not."""
    e = Events().case(1, "2022-07-10 09:00", onset=date(2022, 7, 8))
    # the window opens 2022-07-04 00:00 and ends at the report, 2022-07-10 09:00
    e.checkin(1, 100, "2022-07-03 23:00", "2022-07-03 23:40")  # left 20 min before it opens
    e.checkin(2, 100, "2022-07-04 00:05")  # inside the window, within 30 min of the case
    e.checkin(3, 100, "2022-07-04 00:15")  # 35 min after the case left: not
    e.checkin(1, 101, "2022-07-03 22:00", "2022-07-03 23:25")  # left 35 min before: no stay
    e.checkin(4, 101, "2022-07-04 00:00")
    e.checkin(1, 102, "2022-07-10 09:20", "2022-07-10 10:00")  # came 20 min after the report
    e.checkin(5, 102, "2022-07-10 08:40", "2022-07-10 08:55")  # left 25 min before the case
    e.checkin(1, 103, "2022-07-10 09:35")  # came 35 min after the report: no stay
    e.checkin(6, 103, "2022-07-10 08:50", "2022-07-10 08:58")
    contacts = trace(e.load(store))
    assert set(found(contacts)) == {2, 5}
    exposed = dict(contacts.select("contact_person_id", "exposed_at").rows())
    assert exposed[2] == at("2022-07-04 00:05")
    assert exposed[5] == at("2022-07-10 08:55")


def test_stays_that_began_before_the_window(store: Store) -> None:
    """The reads of check-ins are bounded by the windows (to skip old row groups): a stay that
    began long before the window and ended inside it still counts, for the case and for a
    contact; a scan without a checkout before the window does not."""
    e = Events().case(1, "2022-07-10 09:00", onset=date(2022, 7, 8))
    # the window opens 2022-07-04 00:00
    e.checkin(1, 100, "2022-07-01 08:00", "2022-07-04 02:00")  # the case, a three-day stay
    e.checkin(2, 100, "2022-06-28 09:00", "2022-07-04 01:00")  # a longer stay, with the case
    e.checkin(3, 100, "2022-07-03 20:00")  # no checkout, before the window: not
    e.checkin(1, 101, "2022-07-09 10:00", "2022-07-09 11:00")
    e.checkin(4, 101, "2022-07-02 10:00", "2022-07-09 10:30")  # a week's stay ending inside
    e.load(store)
    contacts = trace(store)
    assert set(found(contacts)) == {2, 4}
    exposed = dict(contacts.select("contact_person_id", "exposed_at").rows())
    assert exposed[2] == at("2022-07-04 01:00")
    assert exposed[4] == at("2022-07-09 10:30")


def test_co_travel_seat_rows(store: Store) -> None:
    e = Events().case(1, "2022-07-10 09:00", onset=date(2022, 7, 8))
    e.trip(1, "G102", "2022-07-07 08:00", 10)
    e.trip(2, "G102", "2022-07-07 08:00", 13)  # 3 rows behind: close
    e.trip(3, "G102", "2022-07-07 08:00", 7)  # 3 in front
    e.trip(4, "G102", "2022-07-07 08:00", 14)  # 4: not
    e.trip(5, "G102", "2022-07-07 08:00", None)  # row unknown: not
    e.trip(6, "G102", "2022-07-08 08:00", 10)  # the next day's train
    e.trip(7, "G104", "2022-07-07 09:00", 10)  # another train
    e.trip(1, "MU5101", "2022-07-01 08:00", 20)  # before the window
    e.trip(8, "MU5101", "2022-07-01 08:00", 20)
    e.arrival(1, "SQ830", "2022-07-05 23:50", 30)  # inbound flight, landing near midnight
    e.arrival(9, "SQ830", "2022-07-06 00:05", 33)
    e.arrival(10, "SQ830", "2022-07-06 00:05", 34)
    contacts = trace(e.load(store))
    assert found(contacts) == {2: "co_travel", 3: "co_travel", 9: "co_travel"}
    exposed = dict(contacts.select("contact_person_id", "exposed_at").rows())
    assert exposed[2] == at("2022-07-07 08:00")
    assert exposed[9] == at("2022-07-05 23:50")
    assert set(found(trace(store, pol=policy(co_travel_seat_rows=4)))) == {2, 3, 4, 9, 10}


@pytest.mark.parametrize(
    ("policy_id", "opens"), [("cn-2022-06-28", "2022-07-04"), ("cn-2020-04-08", "2022-07-06")]
)
def test_declared_window_edges(store: Store, policy_id: str, opens: str) -> None:
    e = Events().case(1, "2022-07-10 09:00", onset=date(2022, 7, 8))
    start = at(f"{opens} 00:00")
    e.declared(1, 2, "meal", f"{opens} 00:00")  # the first instant of the window
    e.declared(1, 3, "meal", str(start - timedelta(minutes=1))[:16])  # a minute before
    e.declared(4, 1, "workplace", "2022-07-09 18:00")  # named by the other side
    e.declared(1, 5, "other", "2022-07-09 18:00")  # 'other': left to the epidemiologist
    e.declared(1, 6, "household", "2022-07-12 08:00", first="2022-07-01 08:00")  # spans it
    e.declared(1, 7, "meal", "2022-07-10 09:00")  # at the report
    e.declared(1, 8, "meal", "2022-07-10 09:01")  # after it
    contacts = trace(e.load(store), pol=load_policy(policy_id))
    assert found(contacts) == {2: "declared", 4: "declared", 6: "declared", 7: "declared"}
    exposed = dict(contacts.select("contact_person_id", "exposed_at").rows())
    assert exposed[6] == at("2022-07-10 09:00")  # exposure ends at isolation


def test_asymptomatic_window_from_sampling(store: Store) -> None:
    e = Events().case(1, "2022-07-10 09:00", diagnosis="asymptomatic")
    e.sample(1, "2022-07-09 10:00", "positive")
    e.declared(1, 2, "meal", "2022-07-05 10:00")  # 4 days before sampling: in
    e.declared(1, 3, "meal", "2022-07-05 09:59")
    assert set(found(trace(e.load(store)))) == {2}


def test_one_row_per_contact_strongest_route_latest_exposure(store: Store) -> None:
    e = Events().person(1, household=10).person(2, household=10)
    e.case(1, "2022-07-10 09:00", onset=date(2022, 7, 8))
    e.case(9, "2022-07-10 10:00", onset=date(2022, 7, 9))
    e.checkin(1, 100, "2022-07-08 12:00", "2022-07-08 13:00")
    e.checkin(2, 100, "2022-07-08 12:30", "2022-07-08 13:00")  # household and venue
    e.checkin(3, 100, "2022-07-08 12:30", "2022-07-08 12:40")  # venue and declared
    e.declared(1, 3, "meal", "2022-07-07 12:00")
    e.checkin(9, 100, "2022-07-08 12:30", "2022-07-08 13:00")  # another case: both are cases
    e.declared(9, 3, "workplace", "2022-07-09 12:00")
    contacts = trace(e.load(store))
    rows = {
        (r["case_person_id"], r["contact_person_id"]): (r["via"], r["exposed_at"])
        for r in contacts.to_dicts()
    }
    assert rows == {
        (1, 2): ("household", at("2022-07-10 09:00")),
        (1, 3): ("declared", at("2022-07-08 12:40")),  # the venue's exposure is the later
        (9, 2): ("venue", at("2022-07-08 13:00")),
        (9, 3): ("declared", at("2022-07-09 12:00")),
    }
    assert contacts.get_column("rule").to_list() == [
        "tracing.close.household",
        "tracing.close.declared",
        "tracing.close.venue",
        "tracing.close.declared",
    ]


# -- secondary contacts --------------------------------------------------------------------------


def _secondary_world() -> Events:
    e = Events().person(1, household=10).person(2, household=10)  # case 1, close contact 2
    e.person(3, household=20).person(4, household=20)  # close contact 3 (venue) and family 4
    e.person(5, household=30)
    e.case(1, "2022-07-10 09:00", onset=date(2022, 7, 8))
    e.checkin(1, 100, "2022-07-08 12:00", "2022-07-08 13:00")
    e.checkin(3, 100, "2022-07-08 12:30", "2022-07-08 13:00")
    e.declared(3, 5, "meal", "2022-07-09 19:00")  # after 3's exposure: secondary
    e.declared(3, 6, "meal", "2022-07-08 11:00")  # before it: not
    e.declared(3, 7, "transport", "2022-07-09 19:00")  # not a secondary setting
    e.declared(2, 3, "workplace", "2022-07-09 08:00")  # a close contact is not also secondary
    return e


def test_secondary_contacts_under_the_ninth_protocol(store: Store) -> None:
    contacts = trace(_secondary_world().load(store))
    assert found(contacts) == {2: "household", 3: "venue"}
    secondary = contacts.filter(pl.col("tier") == "secondary")
    assert secondary.select("case_person_id", "contact_person_id", "via", "rule").rows() == [
        (3, 4, "household", "tracing.secondary.household"),
        (3, 5, "declared", "tracing.secondary.declared"),
    ]
    assert secondary.item(0, "exposed_at") == at("2022-07-10 09:00")  # household: until now


def test_no_secondary_contacts_under_the_twenty_measures(store: Store) -> None:
    _secondary_world().load(store)
    contacts = trace(store, pol=load_policy("cn-2022-11-11"))
    assert found(contacts) == {2: "household", 3: "venue"}
    assert found(contacts, "secondary") == {}
    assert found(trace(store, pol=load_policy("cn-2020-04-08")), "secondary") == {}
