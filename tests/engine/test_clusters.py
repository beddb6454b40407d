"""Real clusters: the Tianjin and Singapore line lists of Tindale et al. (eLife 2020), replayed as
events and traced day by day (both backends).

The replay (files in tests/data/real/clusters-tindale2020, see its PROVENANCE.md):

- Tianjin: cases from Tianjin135cases_revised.csv (dates dd/mm/yyyy, 'NA' when unknown); links
  from tianjin_edges_clean.csv (edge1..edge4: the source cases of case_id, padded with spaces)
  and, besides, every 'TJn' that the revised file's Infection_source names (it names a few the
  edge file lacks: TJ3 for TJ9, TJ43 and TJ53 for TJ83 ...; 'JN25' for TJ59 is left out).
- Singapore: cases and links from COVID-19_Singapore_data_revised.csv (ISO dates, 'NA'); the
  'Related cases' lists are undirected (sing_edges_eg.csv is their expansion, with one self-link
  71-71, dropped here; case 53's list is a lone line break).

Each case is a person and a confirmed case reported at 12:00 on its confirmation date, with its
onset date when known. Each known link is a declared contact, dated - the choice that matters -
at 12:00 on the infectee's last possible exposure: their `end_source` (both line lists), else
their onset, else the infector's onset, else the infector's confirmation; and never after the
infector's confirmation (an isolated case infects no one outside). The infectee is the case the
edge points to (Tianjin), else the later onset (Singapore). This is conservative: the last
contact may well have been later (a household goes on), and some `end_source` dates belong to
another exposure (TJ117's is his day at the mall, 25/01, two weeks before his contact TJ93's
onset).

The setting is what the line list says of the pair: household for family words (wife, son,
married to, family member ...), workplace for coworker, colleague, employee; 'other' otherwise
(the line lists mostly say only "TJ27" or "linked to 66"). Policies leave 'other' to the
epidemiologist, so the released policies do not find those links: the replay is traced twice,
under the released policy and with 'other' added to its close-contact settings (an
epidemiologist who confirms every linked contact), for 2 days (cn-2020-04-08) and 4 days
(cn-2022-06-28) before onset.

Tracing runs for each case on its confirmation day. A link counts when one of its cases was
confirmed strictly earlier (E) than the other (L): L was then a contact of an earlier case, and
not yet a case. Expected: every such L whose link date lies in E's window [onset (or
confirmation) - N days, confirmation] and whose setting the policy accepts is found, and no other
pair.

What the figure measures - **window coverage**, not discovery: the share of the known
transmission links (between cases confirmed on different days) for which tracing the earlier
case named the later one as a close contact. Every link is given to the engine as a declared
contact, so nothing here has to be discovered; what the figure tells is how much of the known
transmission falls inside the policy's exposure window (and its accepted settings), given the
links recorded as declared contacts on the dates chosen above. A contact nobody declared, or one
found only through venue codes or travel, is outside what it measures.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from fangkong.engine.frames import LOCAL_ZONE
from fangkong.engine.tracing import (
    CASE_SCHEMA,
    TraceFacts,
    cases_to_trace,
    trace_contacts,
    trace_rule,
)
from fangkong.ingest import import_file
from fangkong.model.glossary import Setting
from fangkong.policy import Policy, load_policy
from fangkong.store import Store

DATA = Path(__file__).resolve().parents[1] / "data" / "real" / "clusters-tindale2020"

_HOUSEHOLD = re.compile(
    r"famil|wife|whife|husband|hunsband|\bson\b|daughter|duaghtor|mother|father|sister|brother"
    r"|relative|married|child|in law",
    re.IGNORECASE,
)
_WORKPLACE = re.compile(r"cowork|colleag|workplace|employee|business partner", re.IGNORECASE)
_STRENGTH = {"household": 0, "workplace": 1, "other": 2}


@dataclass(frozen=True)
class Case:
    name: str
    person_id: int
    onset: date | None
    confirmed: date
    last_exposure: date | None  # end_source: the last possible day of the case's infection


@dataclass(frozen=True)
class Link:
    infector: str
    infectee: str
    setting: str
    on: date  # the contact's date (see the module's docstring)


@dataclass(frozen=True)
class Cluster:
    city: str
    region: str
    cases: dict[str, Case]
    links: list[Link]


def _setting(text: str) -> str:
    if _HOUSEHOLD.search(text):
        return "household"
    return "workplace" if _WORKPLACE.search(text) else "other"


def _date(text: str | None, fmt: str) -> date | None:
    if text is None or text.strip() in ("", "NA"):
        return None
    return datetime.strptime(text.strip(), fmt).date()


def _known(value: date | None, what: str) -> date:
    if value is None:
        raise ValueError(f"no {what} in the line list")
    return value


def _links(cases: dict[str, Case], pairs: Iterable[tuple[str, str, str]]) -> list[Link]:
    """One link per pair of cases (its strongest setting), dated by its infectee."""
    by_pair: dict[frozenset[str], tuple[str, str, str]] = {}
    for source, target, setting in pairs:
        if source == target:
            continue
        key = frozenset((source, target))
        if key not in by_pair or _STRENGTH[setting] < _STRENGTH[by_pair[key][2]]:
            by_pair[key] = (source, target, setting)
    links = []
    for source, target, setting in by_pair.values():
        x, s = cases[target], cases[source]
        on = x.last_exposure or x.onset or s.onset or s.confirmed
        links.append(Link(source, target, setting, min(on, s.confirmed)))
    return links


def tianjin() -> Cluster:
    folder = DATA
    frame = pl.read_csv(folder / "Tianjin135cases_revised.csv", infer_schema=False)
    frame = frame.rename({c: c.strip().lstrip("\ufeff") for c in frame.columns})
    cases, texts = {}, {}
    for r in frame.iter_rows(named=True):
        name = r["case_id"].strip()
        cases[name] = Case(
            name,
            1000 + int(name[2:]),
            _date(r["symptom_onset"], "%d/%m/%Y"),
            _known(_date(r["confirm_date"], "%d/%m/%Y"), f"confirmation of {name}"),
            _date(r["end_source"], "%d/%m/%Y"),
        )
        texts[name] = r["Infection_source"] or ""
    pairs = []
    edges = pl.read_csv(folder / "tianjin_edges_clean.csv", infer_schema=False)
    for r in edges.iter_rows(named=True):
        target = r["case_id"].strip()
        for col in ("edge1", "edge2", "edge3", "edge4"):
            if r[col] and r[col].strip():
                pairs.append((r[col].strip(), target, _setting(texts[target])))
    for target, text in texts.items():
        pairs.extend((f"TJ{n}", target, _setting(text)) for n in re.findall(r"TJ\s?(\d+)", text))
    return Cluster("Tianjin", "120000", cases, _links(cases, pairs))


def singapore() -> Cluster:
    path = DATA / "COVID-19_Singapore_data_revised.csv"
    frame = pl.read_csv(path, infer_schema=False)
    cases, related, notes = {}, {}, {}
    for r in frame.iter_rows(named=True):
        name = r["CaseID"].strip()
        cases[name] = Case(
            name,
            2000 + int(name),
            _date(r["date_onset_symptoms"], "%Y-%m-%d"),
            _known(_date(r["date_confirmation"], "%Y-%m-%d"), f"confirmation of {name}"),
            _date(r["end_source"], "%Y-%m-%d"),
        )
        text = r["Related cases"] or ""
        related[name] = [] if text.strip() == "NA" else re.findall(r"\d+", text)
        notes[name] = "" if (r["Relationship notes"] or "NA") == "NA" else r["Relationship notes"]

    def setting(a: str, b: str) -> str:
        """What a's notes say of b: 'Married to 9', 'Family member of 50, 55', '... employee'."""
        for m in re.finditer(
            r"(?:married to|son of|daughter of|child of|family member of)"
            r"\s+([\d,\s]+)",
            notes[a],
            re.IGNORECASE,
        ):
            if b in re.findall(r"\d+", m[1]):
                return "household"
        return "workplace" if "employee" in notes[a] else "other"

    def onset_key(name: str) -> date:
        return cases[name].onset or cases[name].confirmed

    pairs = []
    for a, others in related.items():
        for b in others:
            best = min(setting(a, b), setting(b, a), key=_STRENGTH.__getitem__)
            source, target = (a, b) if onset_key(a) <= onset_key(b) else (b, a)
            pairs.append((source, target, best))
    # the region: fangkong keys its registry by GB/T 2260 codes; any valid one does here
    return Cluster("Singapore", "310000", cases, _links(cases, pairs))


def replay(store: Store, cluster: Cluster, folder: Path) -> None:
    """Persons, case reports and declared contacts, through the importer."""
    cases = sorted(cluster.cases.values(), key=lambda c: c.person_id)
    files: dict[str, list[dict[str, Any]]] = {
        "persons": [
            {
                "person_id": c.person_id,
                "id_type": "other",
                "id_number": c.name,
                "region_code": cluster.region,
            }
            for c in cases
        ],
        "cases": [
            {
                "report_id": f"{c.name}-report",
                "case_id": c.name,
                "person_id": c.person_id,
                "region_code": cluster.region,
                "reported_at": f"{c.confirmed} 12:00:00",
                "event_type": "report",
                "diagnosis": "confirmed",
                "origin": "local",
                "onset_date": c.onset.isoformat() if c.onset else None,
            }
            for c in cases
        ],
        "contacts": [
            {
                "person_id": cluster.cases[link.infector].person_id,
                "contact_person_id": cluster.cases[link.infectee].person_id,
                "setting": link.setting,
                "last_contact_at": f"{link.on} 12:00:00",
            }
            for link in cluster.links
        ],
    }
    for kind, rows in files.items():
        path = folder / f"{cluster.city}-{kind}.csv"
        pl.DataFrame(rows).write_csv(path)
        import_file(store, kind, path)


def traced_pairs(store: Store, cluster: Cluster, policy: Policy) -> set[tuple[int, int]]:
    """(case, close contact) pairs found by tracing each case on its confirmation day."""
    found: set[tuple[int, int]] = set()
    for day in sorted({c.confirmed for c in cluster.cases.values()}):
        contacts = trace_contacts(store, cases_to_trace(store, day, policy), policy)
        close = contacts.filter(pl.col("tier") == "close")
        found |= set(close.select("case_person_id", "contact_person_id").iter_rows())
    return found


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=LOCAL_ZONE)


def traced_over_frames(cluster: Cluster, policy: Policy) -> set[tuple[int, int]]:
    """`traced_pairs` with no store: the tracing rule over the line list's own frames. Each
    day's cases are those confirmed on it (reported at 12:00, anchored on their onset, else on
    that report: the line lists hold no samples); the active cases then, everyone confirmed by
    that day (the line lists record no outcome before the last confirmation)."""
    contacts = pl.DataFrame(
        {
            "person_id": [cluster.cases[link.infector].person_id for link in cluster.links],
            "contact_person_id": [cluster.cases[link.infectee].person_id for link in cluster.links],
            "setting": [link.setting for link in cluster.links],
            "last_contact_at": [_noon(link.on) for link in cluster.links],
        }
    )
    found: set[tuple[int, int]] = set()
    for day in sorted({c.confirmed for c in cluster.cases.values()}):
        today = [c for c in cluster.cases.values() if c.confirmed == day]
        cases = pl.DataFrame(
            {
                "case_person_id": [c.person_id for c in today],
                "case_id": [c.name for c in today],
                "anchor_at": [
                    datetime.combine(c.onset, time(0), tzinfo=LOCAL_ZONE) if c.onset else _noon(day)
                    for c in today
                ],
                "isolated_at": [_noon(day) for _ in today],
            },
            schema=CASE_SCHEMA,
        )
        active = [c.person_id for c in cluster.cases.values() if c.confirmed <= day]
        facts = TraceFacts.of(
            declared_contact=contacts, active_case=pl.DataFrame({"person_id": active})
        )
        close = trace_rule(facts, cases, policy).filter(pl.col("tier") == "close")
        found |= set(close.select("case_person_id", "contact_person_id").iter_rows())
    return found


def expected(cluster: Cluster, policy: Policy) -> tuple[set[tuple[int, int]], Counter[str]]:
    """The links whose later case was a contact of the earlier one (in the window, with an
    accepted setting), and what became of every link: found, or why not."""
    assert policy.contacts is not None
    window = timedelta(days=policy.contacts.exposure_window_days)
    accepted = {s.value for s in policy.contacts.close_contact_settings}
    hits, fate = set(), Counter[str]()
    for link in cluster.links:
        a, b = cluster.cases[link.infector], cluster.cases[link.infectee]
        if a.confirmed == b.confirmed:
            fate["same day"] += 1
            continue
        earlier, later = (a, b) if a.confirmed < b.confirmed else (b, a)
        anchor = earlier.onset or earlier.confirmed
        if link.on < anchor - window:
            fate["before the window"] += 1
        elif link.on > earlier.confirmed:
            fate["after isolation"] += 1
        elif link.setting not in accepted:
            fate["setting 'other'"] += 1
        else:
            fate["found"] += 1
            hits.add((earlier.person_id, later.person_id))
    return hits, fate


def with_other(policy: Policy) -> Policy:
    """The policy, with 'other' declared contacts accepted as close contacts."""
    assert policy.contacts is not None
    settings = (*policy.contacts.close_contact_settings, Setting.OTHER)
    contacts = policy.contacts.model_copy(update={"close_contact_settings": settings})
    return policy.model_copy(update={"contacts": contacts})


# Window coverage measured on this data (the same on both backends); each floor is the measured
# value.
COVERAGE_FLOORS = {
    ("Tianjin", "cn-2020-04-08", "released"): 45 / 81,
    ("Tianjin", "cn-2022-06-28", "released"): 49 / 81,
    ("Tianjin", "cn-2020-04-08", "with other"): 63 / 81,
    ("Tianjin", "cn-2022-06-28", "with other"): 69 / 81,
    ("Singapore", "cn-2020-04-08", "released"): 11 / 52,
    ("Singapore", "cn-2022-06-28", "released"): 12 / 52,
    ("Singapore", "cn-2020-04-08", "with other"): 40 / 52,
    ("Singapore", "cn-2022-06-28", "with other"): 44 / 52,
}


@pytest.mark.parametrize("city", ["Tianjin", "Singapore"])
def test_window_coverage_of_known_links(store: Store, tmp_path: Path, city: str) -> None:
    """Window coverage (the module's docstring): of the known links, given to the engine as
    declared contacts, the share whose later case tracing the earlier case names as a close
    contact, because the link falls in the exposure window with an accepted setting."""
    cluster = tianjin() if city == "Tianjin" else singapore()
    replay(store, cluster, tmp_path)
    pairs = {
        (cluster.cases[x].person_id, cluster.cases[y].person_id)
        for link in cluster.links
        for x, y in ((link.infector, link.infectee), (link.infectee, link.infector))
    }
    lines = []
    for policy_id in ("cn-2020-04-08", "cn-2022-06-28"):
        for mode in ("released", "with other"):
            policy = load_policy(policy_id)
            policy = with_other(policy) if mode == "with other" else policy
            found = traced_pairs(store, cluster, policy)
            hits, fate = expected(cluster, policy)
            assert found <= pairs  # only linked persons are contacts here
            assert found == hits  # every contact of an earlier case in the window, no other
            total = fate.total() - fate["same day"]
            coverage = len(found) / total
            misses = ", ".join(
                f"{k} {n}" for k, n in sorted(fate.items()) if k not in ("found", "same day")
            )
            assert policy.contacts is not None
            lines.append(
                f"{city:9} {policy.contacts.exposure_window_days} days ({policy_id}, {mode}):"
                f" window coverage {len(found)}/{total} = {coverage:.3f} (not covered:"
                f" {misses or 'none'}; links confirmed the same day, left out: {fate['same day']})"
            )
            assert coverage >= COVERAGE_FLOORS[(city, policy_id, mode)] - 1e-9
    print("\n".join(["", *lines]))


@pytest.mark.parametrize("city", ["Tianjin", "Singapore"])
def test_the_rule_over_the_line_lists_own_frames(city: str) -> None:
    """The same window coverage with no store: the tracing rule over frames built from the line
    list (`traced_over_frames`) names exactly the contacts the links in the window give."""
    cluster = tianjin() if city == "Tianjin" else singapore()
    for policy_id in ("cn-2020-04-08", "cn-2022-06-28"):
        for policy in (load_policy(policy_id), with_other(load_policy(policy_id))):
            hits, _ = expected(cluster, policy)
            assert hits
            assert traced_over_frames(cluster, policy) == hits
