"""The staged view of an import file: every field read as text (`__raw_<name>`) and as its typed
value (`<name>`), optionally with its 1-based row number (`_row`). Checks and loads are SQL over
this view, run by DuckDB whichever store the rows go to."""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from fangkong.errors import ImportFileError
from fangkong.ingest.encoding import first_bad_byte, not_utf8_message
from fangkong.ingest.kinds import Field, Kind
from fangkong.model.tables import SqlType
from fangkong.store.sql import quote

__all__ = [
    "Source",
    "csv_error",
    "fill",
    "first_line",
    "is_cast",
    "not_utf8",
    "open_source",
    "raw",
    "read_error",
    "staged_sql",
]

_CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
_PARQUET_SUFFIXES = (".parquet", ".pq")


# DESCRIBE spells some types differently from the names fangkong declares.
_TYPE_ALIASES = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ"}
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def raw(name: str) -> str:
    return quote(f"__raw_{name}")


@dataclass(frozen=True)
class Source:
    path: Path
    format: str  # "csv" | "parquet"
    columns: dict[str, str]  # column name -> DuckDB type as read

    @property
    def delimiter(self) -> str:
        return _delimiter(self.path)

    @property
    def scan(self) -> str:
        p = str(self.path).replace("'", "''")
        if self.format == "parquet":
            return f"read_parquet('{p}')"
        # No sniffing: the header names the columns, every value is read as text and typed by
        # fangkong, and a row with too few or too many fields is an error with its line.
        cols = ", ".join(f"{_sql_text(c)}: 'VARCHAR'" for c in self.columns)
        delim = "\\t" if self.delimiter == "\t" else ","
        return (
            f"read_csv('{p}', columns = {{{cols}}}, header = true, auto_detect = false,"
            f" delim = '{delim}', quote = '\"', escape = '\"', null_padding = false,"
            " strict_mode = true, encoding = 'utf-8')"
        )


def _sql_text(text: str) -> str:
    escaped = text.replace("'", "''")
    return f"'{escaped}'"


def _delimiter(path: Path) -> str:
    return "\t" if path.name.lower().endswith(".tsv") else ","


def _csv_header(path: Path, delimiter: str) -> list[str]:
    # The first line alone, as bytes: decoding a block of text would fail on a byte that is not
    # UTF-8 in a later row, before the header is known to name that row's field.
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        first = fh.readline()
    header = next(csv.reader([first.decode("utf-8-sig")], delimiter=delimiter), None)
    if not header:
        raise ValueError("the file is empty: it needs a header row")
    return [h.strip() for h in header]


def not_utf8(path: Path) -> ImportFileError | None:
    """The error naming the row, line and field of the first byte of a CSV file that is not
    UTF-8; None if the file is UTF-8 throughout."""
    bad = first_bad_byte(path)
    if bad is None:
        return None
    if bad.line == 1:
        return ImportFileError(str(path), not_utf8_message(bad) + " (in the header)", line=1)
    delimiter = _delimiter(path)
    header = _csv_header(path, delimiter)  # UTF-8: the bad byte is on a later line
    column = bad.column(delimiter)
    return ImportFileError(
        str(path),
        not_utf8_message(bad),
        row=bad.line - 1,
        line=bad.line,
        field=header[column] if column < len(header) else None,
    )


def open_source(con: duckdb.DuckDBPyConnection, path: Path, kind: Kind) -> Source:
    """Read the file's header and check its columns against the kind's fields."""
    name = path.name.lower()
    if name.endswith(_PARQUET_SUFFIXES):
        fmt = "parquet"
    elif name.endswith(_CSV_SUFFIXES):
        fmt = "csv"
    else:
        raise ImportFileError(str(path), "unknown file type: use .csv, .csv.gz, .tsv or .parquet")
    if path.is_dir():
        raise ImportFileError(str(path), "a directory, not a file")
    if not path.is_file():
        raise ImportFileError(str(path), "no such file")
    try:
        if fmt == "csv":
            probe = Source(path, fmt, {})
            columns = {c: "VARCHAR" for c in _csv_header(path, probe.delimiter)}
        else:
            described = con.sql(f"DESCRIBE SELECT * FROM {Source(path, fmt, {}).scan}").fetchall()
            columns = {str(r[0]): _TYPE_ALIASES.get(str(r[1]), str(r[1])) for r in described}
    except UnicodeDecodeError as exc:
        raise (not_utf8(path) or read_error(path, exc)) from None
    except (duckdb.Error, ValueError, OSError) as exc:
        raise read_error(path, exc) from exc
    known = {f.name for f in kind.fields}
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise ImportFileError(
            str(path),
            f"unknown column(s) {', '.join(unknown)} for {kind.name}; expected: "
            + ", ".join(f.name for f in kind.fields),
            field=unknown[0],
        )
    for f in kind.fields:
        if f.name not in columns and not f.optional_column:
            raise ImportFileError(
                str(path), f"missing column (a {kind.name} file needs it)", field=f.name
            )
    return Source(path, fmt, columns)


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CSV_COLUMNS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_NOT_UTF8 = "Invalid unicode"


def csv_error(path: Path, exc: BaseException) -> ImportFileError | None:
    """The ImportFileError for a CSV file DuckDB could not parse, None for any other error.
    DuckDB's own message quotes the offending line, which may hold personal data: only the line
    number and the shape of the problem are kept."""
    text = str(exc)
    line = _CSV_LINE.search(text)
    if line is None:
        return None
    if _NOT_UTF8 in text:  # DuckDB checks the text of the columns a query reads, when it reads
        found = not_utf8(path)
        if found is not None:
            return found
    n = int(line[1])
    cols = _CSV_COLUMNS.search(text)
    why = (
        f"expected {cols[1]} fields, found {cols[2]} (a truncated or malformed row)"
        if cols
        else "malformed CSV row"
    )
    return ImportFileError(str(path), why, row=n - 1, line=n)


def read_error(path: Path, exc: BaseException) -> ImportFileError:
    """An ImportFileError for a file DuckDB could not read (`csv_error`, else the first line of
    DuckDB's message)."""
    return csv_error(path, exc) or ImportFileError(
        str(path), f"cannot read the file: {first_line(exc)}"
    )


def is_cast(f: Field, source: Source) -> bool:
    """Whether the field's value is cast from the file's text (so a value can fail to parse);
    a Parquet column of the field's own type is taken as it is."""
    st = source.columns.get(f.name)
    if st is None or f.type is SqlType.VARCHAR:  # text stays text: nothing to fail
        return False
    return st != f.type.value


def _typed(f: Field, source_type: str | None) -> str:
    col = quote(f.name)
    if source_type is None:
        return f"CAST(NULL AS {f.type.value})"
    if source_type == f.type.value and f.type is not SqlType.VARCHAR:
        return col
    if source_type != "VARCHAR" and f.type is not SqlType.VARCHAR:
        # e.g. INTEGER -> BIGINT, TIMESTAMP (naive: Beijing time) -> TIMESTAMPTZ
        return f"TRY_CAST({col} AS {f.type.value})"
    text = f"nullif(trim(CAST({col} AS VARCHAR)), '')"
    if f.name == "id_number":  # GB 11643 check character: 'x' and 'X' are the same
        return f"upper({text})"
    if f.type is SqlType.VARCHAR:
        return text
    return f"TRY_CAST({text} AS {f.type.value})"


def staged_sql(source: Source, kind: Kind, *, with_rows: bool) -> str:
    """SELECT over the file giving every field's typed value, and its raw text where the value
    is cast (all fields `with_rows`, for error messages)."""
    cols = []
    if with_rows:
        # row_number() OVER () numbers rows in file order: DuckDB preserves insertion order
        cols.append("row_number() OVER () AS _row")
    for f in kind.fields:
        st = source.columns.get(f.name)
        if with_rows or is_cast(f, source):
            raw_expr = f"CAST({quote(f.name)} AS VARCHAR)" if st else "CAST(NULL AS VARCHAR)"
            cols.append(f"{raw_expr} AS {raw(f.name)}")
        cols.append(f"{_typed(f, st)} AS {quote(f.name)}")
    select = f"SELECT {', '.join(cols)} FROM {source.scan}"
    if not kind.derived:
        return select
    # Derived columns are computed once per row, in a layer of their own.
    helpers = ", ".join(f"{fill(e, kind)} AS {quote(n)}" for n, e in kind.derived.items())
    return f"SELECT *, {helpers} FROM ({select})"


def fill(template: str, kind: Kind) -> str:
    """Replace `{field}` placeholders by the quoted staged column names."""
    names = {f.name for f in kind.fields} | set(kind.derived)

    def sub(m: re.Match[str]) -> str:
        return quote(m[1]) if m[1] in names else m[0]

    return _PLACEHOLDER.sub(sub, template)
