"""Order documents: one HTML page per person with quarantine or admission orders, naming the
person and the legal basis."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from fangkong.engine.orders import empty_orders
from fangkong.engine.quarantine import quarantine_orders
from fangkong.engine.treatment import treatment_orders
from fangkong.ingest import import_file
from fangkong.output.documents import LAW, order_documents
from fangkong.policy import load_policy
from fangkong.store import Store

from .test_policy_cases import contacts_frame, put

CARE = Path(__file__).resolve().parents[1] / "data" / "care"
NINTH = load_policy("cn-2022-06-28")
D = date(2022, 7, 2)


def test_one_page_per_person_with_the_legal_basis(store: Store, tmp_path: Path) -> None:
    import_file(store, "persons", CARE / "persons.csv")
    contacts = contacts_frame(
        [
            {
                "case_person_id": 9,
                "contact_person_id": p,
                "tier": "close",
                "exposed_at": "2022-07-01 19:30",
            }
            for p in (1, 3)
        ],
        NINTH.id,
    )
    put(
        store,
        "case_report",
        [
            {
                "report_id": "R5",
                "case_id": "C5",
                "person_id": 5,
                "region_code": "420106",
                "reported_at": "2022-07-02 09:00",
                "event_type": "report",
                "diagnosis": "confirmed",
                "origin": "local",
                "severity": "mild",
            }
        ],
    )
    orders = pl.concat(
        [quarantine_orders(store, D, NINTH, contacts), treatment_orders(store, D, NINTH)]
    )
    # a test order alone (person 2) makes no document
    orders = pl.concat(
        [
            orders,
            orders.filter(pl.col("order_type") == "test")
            .head(1)
            .with_columns(pl.lit(2, pl.Int64).alias("person_id")),
        ]
    )
    written = order_documents(store, orders, tmp_path / "docs")
    assert written == 3
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == ["1.html", "3.html", "5.html"]
    page = (tmp_path / "docs" / "1.html").read_text(encoding="utf-8")
    assert "王芳" in page and LAW in page
    assert NINTH.id in page and NINTH.title in page and (NINTH.title_zh or "") in page
    assert "quarantine.close_contact" in page
    assert "集中隔离 centralized quarantine" in page and "居家健康监测" in page
    # the test days, listed
    assert "2022-07-02, 2022-07-03, 2022-07-04, 2022-07-06, 2022-07-08, 2022-07-11" in page
    # a person without a recorded name still gets their page
    assert "name not recorded" in (tmp_path / "docs" / "3.html").read_text(encoding="utf-8")
    admission = (tmp_path / "docs" / "5.html").read_text(encoding="utf-8")
    assert "收治 admission" in admission and "treatment.admit" in admission


def test_values_are_escaped_and_nothing_is_written_for_no_one(store: Store, tmp_path: Path) -> None:
    put(store, "person", [{"person_id": 7, "household_id": 7, "region_code": "310104"}])
    put(store, "person_identity", [{"person_id": 7, "name": "<script>alert(1)</script>"}])
    contacts = contacts_frame(
        [
            {
                "case_person_id": 9,
                "contact_person_id": 7,
                "tier": "close",
                "exposed_at": "2022-07-01 19:30",
            }
        ],
        NINTH.id,
    )
    assert order_documents(store, empty_orders(), tmp_path / "none") == 0
    order_documents(store, quarantine_orders(store, D, NINTH, contacts), tmp_path)
    page = (tmp_path / "7.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page
