"""The vectorized GB 11643 checks agree with python-stdnum's `cn.ric`, number by number."""

from __future__ import annotations

import random
from functools import cache

import duckdb
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from fangkong.ingest.ric import (
    FIRST_BIRTH_YEAR,
    LAST_BIRTH_YEAR,
    RIC17,
    RIC_BIRTH_DATE_OK,
    RIC_BIRTHPLACE_INVALID,
    RIC_CHECK_CHAR,
    RIC_SEX,
    valid_birthplaces,
)
from fangkong.store.regions import builtin_region_periods

CODES = builtin_region_periods().get_column("code").unique().sort().to_list()


@cache
def _connection() -> duckdb.DuckDBPyConnection:
    """One connection for every example, with the 700,000 valid birthplaces registered once."""
    con = duckdb.connect()
    con.register("_ric_birthplaces", valid_birthplaces())
    return con


def _ours(numbers: list[str]) -> list[bool]:
    """fangkong's verdict, with the SQL expressions the importer runs."""
    con = _connection()
    con.register("ids", pl.DataFrame({"id_number": numbers}))

    def sql(expr: str) -> str:
        return expr.replace("{id_number}", "id_number").replace("{_ric17}", "r17")

    rows = con.sql(
        f"SELECT r17 IS NOT NULL AND {sql(RIC_BIRTH_DATE_OK)}"
        f" AND substr(id_number, 18, 1) = {sql(RIC_CHECK_CHAR)}"
        f" AND NOT ({sql(RIC_BIRTHPLACE_INVALID)}) AS ok"
        f" FROM (SELECT row_number() OVER () AS i, id_number, {sql(RIC17)} AS r17 FROM ids)"
        " ORDER BY i"
    ).fetchall()
    return [bool(r[0]) for r in rows]


def _stdnum(number: str) -> bool:
    try:
        return ric.is_valid(number)
    except KeyError:  # stdnum's table lookup fails for province-only codes: not valid
        return False


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    code = draw(st.sampled_from(CODES))
    year = draw(st.one_of(st.integers(1900, 2025), st.integers(1, 9999)))
    month = draw(st.integers(1, 13))
    day = draw(st.integers(1, 31))
    seq = draw(st.integers(0, 999))
    body = f"{code}{year:04d}{month:02d}{day:02d}{seq:03d}"
    last = draw(st.sampled_from("0123456789X"))
    return body + last


# Each example is one query (about 60 ms whatever its size), so the examples are few and the
# bulk of the numbers is checked in one query below; hypothesis keeps the shrinking.
@settings(max_examples=60, deadline=None)
@given(st.lists(id_numbers(), min_size=1, max_size=60))
def test_sql_checks_agree_with_stdnum(numbers: list[str]) -> None:
    assert _ours(numbers) == [_stdnum(n) for n in numbers]


def test_sql_checks_agree_with_stdnum_on_many_numbers() -> None:
    """20,000 numbers drawn as `id_numbers` draws them (seeded), in one query."""
    rng = random.Random(11643)

    def number() -> str:
        year = rng.randint(1900, 2025) if rng.random() < 0.5 else rng.randint(1, 9999)
        birth = f"{year:04d}{rng.randint(1, 13):02d}{rng.randint(1, 31):02d}"
        body = f"{rng.choice(CODES)}{birth}{rng.randint(0, 999):03d}"
        return body + rng.choice("0123456789X")

    numbers = [number() for _ in range(20_000)]
    expected = [_stdnum(n) for n in numbers]
    assert _ours(numbers) == expected
    assert 0 < sum(expected) < len(expected)  # valid and invalid numbers both drawn


def test_sex_from_digit_17() -> None:
    con = duckdb.connect()
    got = con.sql("SELECT " + RIC_SEX.replace("{id_number}", "'11010519491231002X'")).fetchall()
    assert got == [("F",)]


def test_malformed_shapes_are_invalid() -> None:
    numbers = ["", "123", "1101051949123100XX", "A1010519491231002X", "11010519491231002"]
    assert _ours(numbers) == [False] * len(numbers)


def test_leap_days_follow_the_gregorian_calendar() -> None:
    def number(birth: str) -> str:
        body = f"110105{birth}002"
        return body + next(c for c in "0123456789X" if ric.is_valid(body + c) or c == "X")

    births = ["19000229", "20000229", "19960229", "19970229", "20240431", "20241231", "00010101"]
    numbers = [number(b) for b in births]
    assert _ours(numbers) == [_stdnum(n) for n in numbers]
    assert _ours(numbers)[:4] == [False, True, True, False]


def test_every_period_lies_within_the_clipped_years() -> None:
    periods = builtin_region_periods()
    bounds = pl.concat([periods.get_column("start"), periods.get_column("end")]).drop_nulls()
    assert bounds.min() > FIRST_BIRTH_YEAR and bounds.max() < LAST_BIRTH_YEAR  # type: ignore[operator]
