"""The compiled GB 11643 checks agree with python-stdnum's `cn.ric`, number by number, run as the
importer runs them (the DuckDB function `ric_problems` over a column)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import cache

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from fangkong.ingest.ric import (
    BIRTHPLACE,
    CHECK,
    DATE,
    FIRST_BIRTH_YEAR,
    LAST_BIRTH_YEAR,
    RIC_SEX,
    SHAPE,
    check_chars,
    problems,
    register_functions,
)
from fangkong.store.regions import builtin_region_periods

CODES = builtin_region_periods().get_column("code").unique().sort().to_list()


@cache
def _connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    register_functions(con)
    return con


def _problems(numbers: Sequence[str | None]) -> list[int]:
    """fangkong's problems of each number, by the function the importer's checks read."""
    con = _connection()
    con.register("ids", pl.DataFrame({"id_number": list(numbers)}, schema={"id_number": pl.String}))
    rows = con.sql(
        "SELECT ric_problems(id_number) FROM"
        " (SELECT row_number() OVER () AS i, id_number FROM ids) ORDER BY i"
    ).fetchall()
    return [int(r[0]) for r in rows]


def _ours(numbers: list[str]) -> list[bool]:
    """fangkong's verdict: a number with no problem is valid."""
    return [p == 0 for p in _problems(numbers)]


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
def test_checks_agree_with_stdnum(numbers: list[str]) -> None:
    assert _ours(numbers) == [_stdnum(n) for n in numbers]


def test_checks_agree_with_stdnum_on_many_numbers() -> None:
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
    # characters of more than one byte: 18 characters, or 18 bytes with a non-digit in them
    numbers += ["１10105194912310021", "11010519491231\u00e91", "1101051949123100\u4e00"]
    assert _problems(numbers) == [SHAPE] * len(numbers)


def test_each_problem_is_its_own_bit() -> None:
    """The importer reports each check apart, so a number can break two: a date that is not
    one and a wrong check character. The birthplace is asked only of a date."""
    good = "11010519491231002X"
    wrong_check = "110105194912310021"
    not_a_date = "110105194913310023"  # month 13, and its check character is wrong too
    assert ric.calc_check_digit(not_a_date) != not_a_date[-1]
    unknown_place = "990105194912310020"
    unknown_place = unknown_place[:17] + check_chars(np.array([int(unknown_place[:17])]))[0]
    assert _problems([good, wrong_check, not_a_date, unknown_place, None]) == [
        0,
        CHECK,
        DATE | CHECK,
        BIRTHPLACE,
        0,
    ]


def test_check_characters_for_making_numbers() -> None:
    first17 = ["11010519491231002", "44030619880808123", "65322720170811220"]
    made = check_chars(np.array([int(n) for n in first17]))
    assert list(made) == [ric.calc_check_digit(n + "?") for n in first17]  # reads 17 of 18
    con = _connection()
    got = con.sql(
        "SELECT ric_check_char(CAST(d AS BIGINT)) FROM unnest(['11010519491231002']) t(d)"
    ).fetchall()
    assert got == [("X",)]


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


def test_problems_of_any_layout_of_arrow_strings() -> None:
    """DuckDB hands the function chunks of its choosing: a slice of an array, a view type or
    chunks give the same problems as the plain array."""
    numbers = ["11010519491231002X", None, "110105194912310021", "abc"]
    plain = problems(pa.array(numbers)).to_pylist()
    assert plain == [0, 0, CHECK, SHAPE]
    assert problems(pa.array(["x", *numbers])[1:]).to_pylist() == plain
    assert problems(pa.array(numbers).cast(pa.string_view())).to_pylist() == plain
    assert problems(pa.chunked_array([numbers[:2], numbers[2:]])).to_pylist() == plain
    assert problems(pa.array([], type=pa.string())).to_pylist() == []
