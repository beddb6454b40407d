"""The import kinds of testing and the case registry: swabs into tubes (samples), the
laboratories' results per tube, and the case registry's events (reports, reclassifications,
severity changes, outcomes).

How a kind is declared: `fangkong.ingest.declaration`.
"""

from __future__ import annotations

from fangkong.ingest.declaration import DATE, Check, D, Field, Kind, V
from fangkong.model.glossary import CaseEventType, Diagnosis, Origin, Outcome, Severity, TestResult

__all__ = ["CASES", "RESULTS", "SAMPLES"]

SAMPLES = Kind.one_table(
    "samples",
    "Swabs: one person's sample into a tube (a pooled tube holds several).",
    table="sample",
    fields=(
        Field.id("sample_id", V),
        Field.id("person_id"),
        Field.id("tube_id", V),
        Field.time("sampled_at"),
        Field("round_id", V, required=False, optional_column=True),
    ),
    key=("sample_id",),
)

RESULTS = Kind.one_table(
    "results",
    "Laboratory results per tube.",
    table="tube_result",
    fields=(
        Field.id("tube_id", V),
        Field("result", V, values=TestResult),
        Field(
            "ct_value",
            D,
            required=False,
            optional_column=True,
            checks=(Check("{ct_value} <= 0 OR {ct_value} > 50", "a Ct value lies in (0, 50]"),),
        ),
        Field.time("reported_at"),
        Field("lab_id", V, required=False, optional_column=True),
    ),
    key=("tube_id", "reported_at"),
)

CASES = Kind.one_table(
    "cases",
    "The case registry: reports, reclassifications, severity changes, outcomes.",
    table="case_report",
    fields=(
        Field.id("report_id", V),
        Field.id("case_id", V),
        Field.person("person_id"),
        Field.region("region_code"),
        Field.time("reported_at"),
        Field("event_type", V, values=CaseEventType),
        Field("diagnosis", V, required=False, optional_column=True, values=Diagnosis),
        Field("origin", V, required=False, optional_column=True, values=Origin),
        Field("severity", V, required=False, optional_column=True, values=Severity),
        Field("outcome", V, required=False, optional_column=True, values=Outcome),
        Field("onset_date", DATE, required=False, optional_column=True),
    ),
    row_checks=(
        Check(
            "{event_type} = 'report' AND ({diagnosis} IS NULL OR {diagnosis} = 'excluded'"
            " OR {origin} IS NULL)",
            "a report names its diagnosis (suspected, confirmed, asymptomatic) and origin",
        ),
        Check(
            "{event_type} = 'reclassify' AND {diagnosis} IS NULL AND {origin} IS NULL",
            "a reclassification names the new diagnosis or origin",
        ),
        Check("{event_type} = 'severity' AND {severity} IS NULL", "a severity event names it"),
        Check("{event_type} = 'outcome' AND {outcome} IS NULL", "an outcome event names it"),
        Check("{onset_date} > CAST({reported_at} AS DATE)", "onset_date is after reported_at"),
    ),
    key=("report_id",),
)
