"""Reading a reports file (docs/reports-format.md): the CSV's rows as text with their row and
line numbers, typed and checked row by row. Every error names the file, the row (1-based, the
header not counted), its line and the field. The assembly of the bulletin is in
`fangkong.bulletin.reports`."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from fangkong.bulletin.bulletin import FIELD_NAMES
from fangkong.bulletin.regions import check_scope, city_of, province_of, region_name
from fangkong.errors import ImportFileError, NotFoundError
from fangkong.ingest.encoding import first_bad_byte, not_utf8_message

__all__ = ["REPORT_COLUMNS", "SIGNED", "ReportsFile", "checked_rows", "first_row"]

REPORT_COLUMNS: tuple[str, ...] = ("date", "region_code", "name", "source", *FIELD_NAMES)
_REQUIRED = ("date", "region_code")
SIGNED = frozenset({"severe_change"})

# (total, imported, local): total = imported + local.
_SPLITS: tuple[tuple[str, str, str], ...] = (
    ("new_confirmed", "new_confirmed_imported", "new_confirmed_local"),
    ("new_suspected", "new_suspected_imported", "new_suspected_local"),
)
# cumulative = current + cured + deaths.
_BALANCES: tuple[tuple[str, str, str, str], ...] = (
    ("cumulative_confirmed", "current_confirmed", "cumulative_cured", "cumulative_deaths"),
    (
        "imported_cumulative_confirmed",
        "imported_current_confirmed",
        "imported_cumulative_cured",
        "imported_cumulative_deaths",
    ),
)
# (part, whole): part <= whole.
_PARTS: tuple[tuple[str, str], ...] = (
    ("cumulative_cured", "cumulative_confirmed"),
    ("cumulative_deaths", "cumulative_confirmed"),
    ("imported_cumulative_cured", "imported_cumulative_confirmed"),
    ("imported_cumulative_deaths", "imported_cumulative_confirmed"),
    ("new_converted", "new_confirmed"),
    ("current_severe", "current_confirmed"),
    ("current_confirmed", "cumulative_confirmed"),
    ("imported_current_confirmed", "current_confirmed"),
    ("imported_current_severe", "imported_current_confirmed"),
    ("imported_current_severe", "current_severe"),
    ("imported_current_suspected", "current_suspected"),
    ("imported_cumulative_confirmed", "cumulative_confirmed"),
    ("imported_cumulative_cured", "cumulative_cured"),
    ("imported_cumulative_deaths", "cumulative_deaths"),
    ("contacts_under_observation", "cumulative_contacts"),
    ("asymptomatic_new_imported", "asymptomatic_new"),
    ("asymptomatic_under_observation_imported", "asymptomatic_under_observation"),
)


class ReportsFile:
    """The rows of one reports file as text, with their row and line numbers."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.header, self.frame = self._read(path)

    def error(
        self, message: str, *, row: int | None = None, field: str | None = None
    ) -> ImportFileError:
        line = None
        if row is not None:
            line = int(self.frame.filter(pl.col("_row") == row).get_column("_line").item())
        return ImportFileError(self.path, message, row=row, field=field, line=line)

    def _read(self, path: Path) -> tuple[list[str], pl.DataFrame]:
        if not path.is_file():
            raise ImportFileError(str(path), "no such file")
        records: list[list[str]] = []
        lines: list[int] = []
        try:
            with path.open(encoding="utf-8-sig", newline="") as fh:
                reader = csv.reader(fh)
                header = [h.strip() for h in next(reader, [])]
                if not header:
                    raise ImportFileError(str(path), "the file is empty: it needs a header row")
                for record in reader:
                    if not any(cell.strip() for cell in record):
                        continue  # a blank line
                    if len(record) != len(header):
                        raise ImportFileError(
                            str(path),
                            f"expected {len(header)} fields, found {len(record)}",
                            row=len(records) + 1,
                            line=reader.line_num,
                        )
                    records.append(record)
                    lines.append(reader.line_num)
        except UnicodeDecodeError:
            raise _not_utf8(path) from None
        except csv.Error as exc:
            raise ImportFileError(str(path), f"cannot read the file: {exc}") from exc
        self._check_header(header)
        columns = {name: [r[i].strip() or None for r in records] for i, name in enumerate(header)}
        frame = pl.DataFrame(
            {
                "_row": list(range(1, len(records) + 1)),
                "_line": lines,
                **columns,
            },
            schema={
                "_row": pl.Int64,
                "_line": pl.Int64,
                **dict.fromkeys(header, pl.String),
            },
        )
        return header, frame

    def _check_header(self, header: list[str]) -> None:
        seen: set[str] = set()
        for name in header:
            if name not in REPORT_COLUMNS:
                raise ImportFileError(
                    self.path,
                    "unknown column; a reports file has: " + ", ".join(REPORT_COLUMNS),
                    field=name,
                )
            if name in seen:
                raise ImportFileError(self.path, "column given twice", field=name)
            seen.add(name)
        for name in _REQUIRED:
            if name not in seen:
                raise ImportFileError(self.path, "missing column", field=name)


def _not_utf8(path: Path) -> ImportFileError:
    """The error for a file that is not UTF-8, at the row and line of the first bad byte (the
    decoder's own error gives the offset in the block it was decoding, not in the file)."""
    bad = first_bad_byte(path)
    if bad is None:  # the file changed under the reader
        return ImportFileError(str(path), "not UTF-8 text: save the file as UTF-8")
    done = path.read_bytes()[: bad.offset - len(bad.line_prefix)].decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(done, newline="")))
    rows = sum(1 for r in records[1:] if any(cell.strip() for cell in r))
    header = [h.strip() for h in records[0]] if records else []
    column = bad.column()
    return ImportFileError(
        str(path),
        not_utf8_message(bad),
        row=rows + 1 if records else None,
        line=bad.line,
        field=header[column] if column < len(header) else None,
    )


def first_row(frame: pl.DataFrame, bad: pl.Expr) -> int | None:
    rows = frame.filter(bad).get_column("_row")
    return None if rows.len() == 0 else int(rows.min())  # type: ignore[arg-type]


def _typed(file: ReportsFile) -> pl.DataFrame:
    """Type every column, raising on the first bad value (by row, then by column order)."""
    f = file.frame
    figures = [n for n in FIELD_NAMES if n in file.header]
    checks: list[tuple[str, pl.Expr, str]] = [
        ("date", pl.col("date").is_null(), "missing value"),
        ("region_code", pl.col("region_code").is_null(), "missing value"),
        (
            "date",
            (
                pl.col("date").str.to_date("%Y-%m-%d", strict=False).is_null()
                | ~pl.col("date").str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
            )
            & pl.col("date").is_not_null(),
            "not a date (YYYY-MM-DD)",
        ),
        (
            "region_code",
            ~pl.col("region_code").str.contains(r"^[0-9]{6}$"),
            "a region code has 6 digits",
        ),
    ]
    for name in figures:
        pattern = r"^-?[0-9]+$" if name in SIGNED else r"^[0-9]+$"
        what = "an integer" if name in SIGNED else "a whole number, not negative"
        checks.append((name, ~pl.col(name).str.contains(pattern), f"not {what}"))
    _raise_first(file, f, checks, show_value=True)
    typed = f.select(
        "_row",
        "_line",
        pl.col("date").str.to_date("%Y-%m-%d"),
        "region_code",
        (pl.col("source") if "source" in file.header else pl.lit(None, pl.String)).alias("source"),
        *[
            (pl.col(n).cast(pl.Int64) if n in figures else pl.lit(None, pl.Int64)).alias(n)
            for n in FIELD_NAMES
        ],
    )
    _check_regions(file, typed)
    return typed


def _raise_first(
    file: ReportsFile,
    frame: pl.DataFrame,
    checks: Sequence[tuple[str, pl.Expr, str]],
    *,
    show_value: bool = False,
) -> None:
    """Raise for the earliest row that fails a check (the first failing check of that row)."""
    found: list[tuple[int, int]] = []
    for i, (_, bad, _) in enumerate(checks):
        row = first_row(frame, bad.fill_null(False))
        if row is not None:
            found.append((row, i))
    if not found:
        return
    row, i = min(found)
    field, _, message = checks[i]
    if show_value and field in frame.columns:
        value = frame.filter(pl.col("_row") == row).get_column(field).item()
        if value is not None:
            message += f" (value {value!r})"
    raise file.error(message, row=row, field=field)


def _check_regions(file: ReportsFile, typed: pl.DataFrame) -> None:
    for code, row in (
        typed.group_by("region_code").agg(pl.col("_row").min()).sort("_row").iter_rows()
    ):
        try:
            check_scope(code)
        except NotFoundError:
            if region_name(code) != code and city_of(code) != code:
                hint = f"; a county reports through its city {city_of(code)}"
                if city_of(code) == province_of(code):
                    hint = f"; a district of a municipality reports through {province_of(code)}"
            else:
                hint = ""
            raise file.error(
                f"{code!r} is not the nation (000000), a province or a city{hint}",
                row=row,
                field="region_code",
            ) from None
    dup = typed.with_columns(
        pl.col("_row").min().over("date", "region_code").alias("_first")
    ).filter(pl.col("_row") != pl.col("_first"))
    if dup.height:
        row, first = dup.sort("_row").select("_row", "_first").row(0)
        raise file.error(
            f"the same date and region_code as row {first}: one row per date and region",
            row=row,
            field="region_code",
        )


def checked_rows(file: ReportsFile) -> pl.DataFrame:
    """The file's rows, typed and checked; a missing one of total/imported/local filled in."""
    typed = _typed(file)
    c = pl.col
    checks: list[tuple[str, pl.Expr, str]] = []
    for total, imported, local in _SPLITS:
        checks.append(
            (
                total,
                c(total) != c(imported) + c(local),
                f"{total} is not {imported} + {local}",
            )
        )
    for cumulative, current, cured, deaths in _BALANCES:
        checks.append(
            (
                cumulative,
                c(cumulative) != c(current) + c(cured) + c(deaths),
                f"{cumulative} is not {current} + {cured} + {deaths}",
            )
        )
    checks.extend((part, c(part) > c(whole), f"{part} exceeds {whole}") for part, whole in _PARTS)
    for cumulative, _, cured, deaths in _BALANCES:
        checks.append(
            (
                cured,
                c(cured) + c(deaths) > c(cumulative),
                f"{cured} + {deaths} exceed {cumulative}",
            )
        )
    _raise_first(file, typed, checks)
    filled = typed
    for total, imported, local in _SPLITS:
        filled = filled.with_columns(
            pl.coalesce(c(total), c(imported) + c(local)).alias(total),
            pl.coalesce(c(imported), c(total) - c(local)).alias(imported),
            pl.coalesce(c(local), c(total) - c(imported)).alias(local),
        )
    return filled
