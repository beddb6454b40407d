"""Hong Kong replayed through the case registry: the Centre for Health Protection's (CHP) line
list of cases goes into the registry through fangkong's own importer, the bulletin computes
Hong Kong's figures from the registry day by day, and they are compared with CHP's own daily
situation series (`fangkong.bulletin.replay_hk_compare`). Nobody here made either file; see
docs/hongkong-replay.md for the figures.

**The line list** (`enhanced_sur_covid_19_eng.csv`): one row per case, with `Case no.`,
`Report date` (DD/MM/YYYY), `Classification*` (imported case, local case, epidemiologically
linked ...), `Case status*` (Confirmed, Asymptomatic, Pending, Re-positive, Unknown, Deleted) and
`Hospitalised/Discharged/Deceased`. CHP's files of 2020 name two of those columns differently:
`Case classification*` (the same values) and `Confirmed/probable` (Confirmed or Probable) in
place of the case status; a file may use either set of names (`LINE_LIST_COLUMNS`). A probable
case is counted like the others, as CHP's comparable figure counts it (below). Into the
registry, each case not `Deleted` becomes a person
(person_id = case number, region 810000 Hong Kong, id_type `other`, id_number `CHP-<case no.>`:
the line list has no identity) and one `report` event on its report date, diagnosis
`confirmed` — CHP counts every case it reports as a confirmed case, whatever its clinical status
(its "Asymptomatic" is a confirmed case without symptoms, not the mainland's 无症状感染者) —
origin `imported` for "Imported case", else `local`. A `Deleted` case (withdrawn by CHP) is no
case and is not imported. Outcomes are not imported: the line list gives the last outcome
without its date, and the registry does not invent one.

**The situation** (`latest_situation_of_reported_cases_covid_19_eng.csv`): one row per day
(`As of date`, `As of time`), with the cumulative confirmed cases and, apart, the probable cases
(the line list counts its one probable case among its cases); from 2022 CHP gives instead the
cases tested positive by nucleic acid tests, which include it. CHP's comparable figure is
confirmed + probable, or the nucleic-acid count where the other is not given. A situation file
published before 2022 has no nucleic-acid column: its count is then not given on any day.

Both readers check every value and raise ImportFileError naming the file, row, line and field.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import polars as pl

from fangkong.bulletin.registry import bulletins_from_registry
from fangkong.errors import ImportFileError
from fangkong.ingest import import_file
from fangkong.store.base import Store

__all__ = [
    "HONG_KONG",
    "LINE_LIST_COLUMNS",
    "SITUATION_COLUMNS",
    "import_line_list",
    "read_line_list",
    "read_situation",
    "registry_figures",
    "registry_files",
    "situation_days",
]

HONG_KONG = "810000"

# each field read, with the names CHP's files have given its column: the first is today's; a
# file has one of them (the files of 2020 have the second, CHP's own renaming since)
LINE_LIST_COLUMNS: dict[str, tuple[str, ...]] = {
    "case_no": ("Case no.",),
    "report_date": ("Report date",),
    "outcome": ("Hospitalised/Discharged/Deceased",),
    "classification": ("Classification*", "Case classification*"),
    "status": ("Case status*", "Confirmed/probable"),
}
# the case statuses of `Case status*`, and `Confirmed/probable`'s Probable
_STATUSES = (
    "Confirmed",
    "Asymptomatic",
    "Pending",
    "Re-positive",
    "Unknown",
    "Deleted",
    "Probable",
)
_CLASSIFICATIONS = (
    "Imported case",
    "Local case",
    "Locally acquired case",
    "Possibly local case",
    "Epidemiologically linked with local case",
    "Epidemiologically linked with possibly local case",
    "Epidemiologically linked with imported case",
)
DELETED = "Deleted"

SITUATION_COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("As of date",),
    "as_of_time": ("As of time",),
    "confirmed": ("Number of confirmed cases",),
    "probable": ("Number of probable cases",),
    "deaths": ("Number of death cases",),
    "discharged": ("Number of discharge cases",),
    "nucleic": ("Number of cases tested positive for SARS-CoV-2 virus by nucleic acid tests",),
}
# the situation's columns CHP added in 2022: a file of before has none of them
_SITUATION_ADDED = frozenset({"nucleic"})
_DATE = r"^[0-9]{2}/[0-9]{2}/[0-9]{4}$"
_COUNT = r"^[0-9]+$"


def _read(
    path: Path, columns: dict[str, tuple[str, ...]], optional: frozenset[str] = frozenset()
) -> tuple[pl.DataFrame, dict[str, str]]:
    """The file's columns of each field as text (named after the field; a field of `optional`
    the file lacks is null), with `_row` (1-based, header not counted), and the name the file
    gives each field's column. Raises ImportFileError for a missing file or column, or text that
    is not UTF-8."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(str(path), f"cannot read the file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            str(path),
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}): save the file as UTF-8",
            row=line - 1 if line > 1 else None,
            line=line,
        ) from None
    reader = csv.reader(text.splitlines())
    header = next(reader, [])
    names: dict[str, str] = {}
    for field, alternatives in columns.items():
        given = [name for name in alternatives if name in header]
        if len(given) > 1:
            raise ImportFileError(
                str(path), f"two columns for one field: {' and '.join(given)}", field=given[1]
            )
        if given:
            names[field] = given[0]
        elif field not in optional:
            also = f" (or {' or '.join(alternatives[1:])})" if len(alternatives) > 1 else ""
            raise ImportFileError(str(path), f"missing column{also}", field=alternatives[0])
    at = {field: header.index(name) for field, name in names.items()}
    rows = []
    for number, record in enumerate(reader, start=1):
        if len(record) != len(header):
            raise ImportFileError(
                str(path),
                f"expected {len(header)} fields, found {len(record)}",
                row=number,
                line=number + 1,
            )
        rows.append([record[i].strip() or None for i in at.values()])
    frame = pl.DataFrame(rows, schema=dict.fromkeys(at, pl.String()), orient="row")
    frame = frame.with_columns(
        pl.lit(None, pl.String).alias(field) for field in columns if field not in names
    ).select(*columns)
    frame = frame.with_row_index("_row", offset=1).with_columns(pl.col("_row").cast(pl.Int64))
    return frame, names


def _raise_first(
    path: Path,
    frame: pl.DataFrame,
    names: dict[str, str],
    checks: list[tuple[str, pl.Expr, str]],
) -> None:
    """Raise for the earliest row failing a check (the first failing check of that row), with
    the field's name as the file writes it (`names`) and the value."""
    found = []
    for i, (_, bad, _) in enumerate(checks):
        rows = frame.filter(bad.fill_null(False)).get_column("_row")
        if rows.len():
            found.append((int(rows.min()), i))  # type: ignore[arg-type]
    if not found:
        return
    row, i = min(found)
    field, _, message = checks[i]
    value = frame.filter(pl.col("_row") == row).get_column(field).item()
    raise ImportFileError(
        str(path),
        f"{message} (value {value!r})" if value is not None else message,
        row=row,
        line=row + 1,
        field=names.get(field, field),
    )


def _bad_date(name: str) -> pl.Expr:
    text = pl.col(name)
    parsed = text.str.to_date("%d/%m/%Y", strict=False)
    return text.is_null() | ~text.str.contains(_DATE) | parsed.is_null()


def read_line_list(path: str | Path) -> pl.DataFrame:
    """CHP's line list, checked: `case_no` (Int64), `report_date` (Date), `classification`,
    `status`, `outcome`, `_row`. Every case number once; every value of a known kind."""
    p = Path(path)
    f, names = _read(p, LINE_LIST_COLUMNS)
    deleted = pl.col("status") == DELETED
    checks = [
        (
            "case_no",
            pl.col("case_no").is_null() | ~pl.col("case_no").str.contains(_COUNT),
            "not a case number",
        ),
        ("report_date", _bad_date("report_date"), "not a date written DD/MM/YYYY"),
        (
            "status",
            pl.col("status").is_null() | ~pl.col("status").is_in(_STATUSES),
            "not a case status of the line list",
        ),
        (
            "classification",
            ~deleted & ~pl.col("classification").is_in(_CLASSIFICATIONS),
            "not a classification of the line list",
        ),
    ]
    _raise_first(p, f, names, checks)
    f = f.with_columns(
        pl.col("case_no").cast(pl.Int64), pl.col("report_date").str.to_date("%d/%m/%Y")
    )
    again = pl.col("_row") != pl.col("_row").min().over("case_no")
    _raise_first(p, f, names, [("case_no", again, "the same case number as an earlier row")])
    return f


def read_situation(path: str | Path) -> pl.DataFrame:
    """CHP's daily situation, checked: `date`, `as_of_time` (HH:MM or null), `chp_cumulative`
    (confirmed + probable, or the nucleic-acid count where those are not given), `deaths`,
    `discharged`, `_row`. One row per day."""
    p = Path(path)
    f, names = _read(p, SITUATION_COLUMNS, _SITUATION_ADDED)
    counts = ("confirmed", "probable", "deaths", "discharged", "nucleic")
    checks = [("date", _bad_date("date"), "not a date written DD/MM/YYYY")]
    checks.append(
        (
            "as_of_time",
            ~pl.col("as_of_time").str.contains(r"^[0-2][0-9]:[0-5][0-9]$"),
            "not a time written HH:MM",
        )
    )
    checks += [(c, ~pl.col(c).str.contains(_COUNT), "not a whole number") for c in counts]
    checks.append(
        (
            "confirmed",
            pl.col("confirmed").is_null() & pl.col("nucleic").is_null(),
            "no count of cases: neither confirmed nor tested positive by nucleic acid tests",
        )
    )
    _raise_first(p, f, names, checks)
    f = f.with_columns(
        pl.col("date").str.to_date("%d/%m/%Y"), *[pl.col(c).cast(pl.Int64) for c in counts]
    )
    again = pl.col("_row") != pl.col("_row").min().over("date")
    _raise_first(p, f, names, [("date", again, "the same date as an earlier row")])
    return f.select(
        "date",
        "as_of_time",
        pl.coalesce(pl.col("confirmed") + pl.col("probable").fill_null(0), "nucleic").alias(
            "chp_cumulative"
        ),
        "deaths",
        "discharged",
        "_row",
    ).sort("date")


def registry_files(lines: pl.DataFrame, out_dir: str | Path) -> tuple[Path, Path]:
    """Write the line list's cases (all but the deleted) as the import files `persons.csv` and
    `cases.csv` (see the module docstring); return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cases = lines.filter(pl.col("status") != DELETED).sort("case_no")
    number = pl.col("case_no").cast(pl.String)
    persons = cases.select(
        pl.col("case_no").alias("person_id"),
        pl.lit("other").alias("id_type"),
        (pl.lit("CHP-") + number).alias("id_number"),
        pl.lit(HONG_KONG).alias("region_code"),
    )
    events = cases.select(
        (pl.lit("HK-") + number).alias("report_id"),
        (pl.lit("HK-") + number).alias("case_id"),
        pl.col("case_no").alias("person_id"),
        pl.lit(HONG_KONG).alias("region_code"),
        (pl.col("report_date").dt.strftime("%Y-%m-%d") + " 00:00:00").alias("reported_at"),
        pl.lit("report").alias("event_type"),
        pl.lit("confirmed").alias("diagnosis"),
        pl.when(pl.col("classification") == "Imported case")
        .then(pl.lit("imported"))
        .otherwise(pl.lit("local"))
        .alias("origin"),
    )
    persons_path, cases_path = out / "persons.csv", out / "cases.csv"
    persons.write_csv(persons_path)
    events.write_csv(cases_path)
    return persons_path, cases_path


def import_line_list(store: Store, lines: pl.DataFrame, work_dir: str | Path) -> int:
    """Import the line list's cases into `store` through the registry importer (all or
    nothing, every value checked); the number of cases."""
    persons, cases = registry_files(lines, work_dir)
    import_file(store, "persons", persons)
    return import_file(store, "cases", cases).rows_read


def registry_figures(store: Store, days: Iterable[date]) -> pl.DataFrame:
    """Hong Kong's bulletin figures computed from the registry for each of `days`: `date`,
    `registry_cumulative` (cumulative confirmed), `registry_new` (new confirmed)."""
    bulletins = bulletins_from_registry(store, days, region=HONG_KONG)
    rows = [(b.day, b.figures.cumulative_confirmed, b.figures.new_confirmed) for b in bulletins]
    return pl.DataFrame(
        rows,
        schema={"date": pl.Date, "registry_cumulative": pl.Int64, "registry_new": pl.Int64},
        orient="row",
    )


def situation_days(lines: pl.DataFrame, situation: pl.DataFrame) -> list[date]:
    """The days to compare: every day of the situation up to the line list's last report date."""
    last = lines.get_column("report_date").max()
    days: list[date] = situation.filter(pl.col("date") <= last).get_column("date").to_list()
    return days
