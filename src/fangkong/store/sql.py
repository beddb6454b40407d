"""SQL that both backends share: DDL rendered from the table declarations, and portable
parameter binding (queries name parameters `:name`; each backend rewrites them)."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Literal

from fangkong.model.tables import SqlType, Table

__all__ = ["TYPE_NAMES", "Dialect", "column_list", "create_table_sql", "named_params", "quote"]

Dialect = Literal["duckdb", "postgres"]

TYPE_NAMES: dict[Dialect, dict[SqlType, str]] = {
    "duckdb": {t: t.value for t in SqlType},
    "postgres": {t: ("DOUBLE PRECISION" if t is SqlType.DOUBLE else t.value) for t in SqlType},
}

# a string literal (left as it is) or a `:name` parameter that is not part of a `::` cast
_PARAM = re.compile(r"'(?:[^']|'')*'|(?<![:\w]):([A-Za-z_]\w*)")


def quote(name: str) -> str:
    """Quote an identifier (our identifiers are plain, but `name` and `result` are keywords in
    some dialects)."""
    return '"' + name.replace('"', '""') + '"'


def column_list(names: Sequence[str]) -> str:
    return ", ".join(quote(n) for n in names)


def create_table_sql(table: Table, dialect: Dialect) -> str:
    types = TYPE_NAMES[dialect]
    cols = [
        f"{quote(c.name)} {types[c.type]}{'' if c.nullable else ' NOT NULL'}" for c in table.columns
    ]
    return f"CREATE TABLE IF NOT EXISTS {quote(table.name)} (\n  " + ",\n  ".join(cols) + "\n)"


# the engine sends the same few hundred statement texts day after day: each is rewritten once
@functools.lru_cache(maxsize=1024)
def named_params(sql: str, dialect: Dialect) -> str:
    """Rewrite `:name` parameters to the dialect's style (`$name` for DuckDB, `%(name)s` for
    psycopg). `::type` casts are left alone."""
    style = "${}" if dialect == "duckdb" else "%({})s"

    def sub(m: re.Match[str]) -> str:
        return m[0] if m[1] is None else style.format(m[1])

    if dialect == "postgres":
        sql = sql.replace("%", "%%")
    return _PARAM.sub(sub, sql)
