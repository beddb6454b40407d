"""The resident identity card number (居民身份证号码, GB 11643-1999): its checks, compiled, and
registered as DuckDB functions, so that 25 million numbers are checked in one pass of the import.
python-stdnum's `stdnum.cn.ric` is the reference: the tests check these functions against it,
value by value.

An 18-character number is 6 digits of the county of first registration, 8 of the birth date,
3 of sequence (odd for men), and a check character: with the 17 digits d1..d17 weighted by
2^(18-i) mod 11 (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), the sum modulo 11 indexes
"10X98765432".

Why compiled and not SQL: as SQL the checks were one regular expression, a cast of the 17
digits, 17 integer digit extractions for the check digit, the date arithmetic and a hash probe
per number — about 2.1 s per 5 million numbers, the larger part of the persons import's own
cost. One compiled pass over the Arrow bytes of the numbers does all of them (`ric_problems`).

The functions registered on a connection (`register_functions`):

    ric_problems(VARCHAR) -> UTINYINT   the problems of a normalized number (trimmed, upper
                                        case), as bits (SHAPE, DATE, CHECK, BIRTHPLACE); 0 for
                                        a valid number or NULL
    ric_check_char(BIGINT) -> VARCHAR   the check character of 17 digits given as an integer
                                        (for making valid numbers: `fangkong.sample.identity`)
"""

from __future__ import annotations

from functools import cache
from typing import Any

import duckdb
import numba
import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
from duckdb.func import FunctionNullHandling, PythonUDFType
from duckdb.sqltypes import BIGINT, UTINYINT, VARCHAR

from fangkong.store.regions import builtin_region_periods

__all__ = [
    "BIRTHPLACE",
    "CHECK",
    "DATE",
    "FIRST_BIRTH_YEAR",
    "LAST_BIRTH_YEAR",
    "RIC_PROBLEMS",
    "RIC_SEX",
    "RIC_YEAR_OF_BIRTH",
    "SHAPE",
    "WEIGHTS",
    "check_chars",
    "problems",
    "register_functions",
]

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_WEIGHTS = np.array(WEIGHTS, dtype=np.int64)
_CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8).copy()
_ZERO, _NINE, _X = ord("0"), ord("9"), ord("X")

# The problems of a number, as bits: not 17 digits and a check character (the others are then
# not asked); digits 7-14 not a date of the proleptic Gregorian calendar (as Python's
# datetime.date, which python-stdnum uses); a wrong check character; digits 1-6 not a county
# code in the birth year (asked of a number with a date).
SHAPE, DATE, CHECK, BIRTHPLACE = 1, 2, 4, 8

# Digits 1-6 must have been a county code in the birth year: python-stdnum's rule, with its table
# of codes and the years each was in use (a code listed without a period is valid in every
# year). Every period in the table starts and ends between FIRST_BIRTH_YEAR and LAST_BIRTH_YEAR
# (a test keeps it so), so a birth year outside them is clipped to them without changing the
# verdict.
FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR = 1880, 2100
_YEAR_WORDS = (LAST_BIRTH_YEAR - FIRST_BIRTH_YEAR) // 64 + 1


@cache
def _birthplace_table() -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint64]]:
    """The county codes and the years each was in use, as a lookup: slot[code] (-1: never a
    county code) and, per slot, a bit per year from FIRST_BIRTH_YEAR. Two array reads per
    number (a search of the 700,000 valid (code, year) pairs missed the cache at every step)."""
    periods = builtin_region_periods()
    codes = periods.get_column("code").cast(pl.Int64).to_numpy()
    first = periods.get_column("start").fill_null(FIRST_BIRTH_YEAR).to_numpy()[:, None]
    last = periods.get_column("end").fill_null(LAST_BIRTH_YEAR).to_numpy()[:, None]
    distinct, slot_of_period = np.unique(codes, return_inverse=True)
    slots = np.full(1_000_000, -1, dtype=np.int32)
    slots[distinct] = np.arange(distinct.size, dtype=np.int32)
    year = np.arange(FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR + 1)
    in_use = np.zeros((distinct.size, _YEAR_WORDS * 64), dtype=np.bool_)
    np.logical_or.at(in_use[:, : year.size], slot_of_period, (year >= first) & (year <= last))
    # bit k of a slot's words is year FIRST_BIRTH_YEAR + k
    words = np.packbits(in_use, axis=1, bitorder="little").view("<u8").astype(np.uint64)
    return slots, words


@numba.njit(cache=True, nogil=True, inline="always")
def _digits(data: Any, at: int, n: int) -> int:
    value = 0
    for j in range(n):
        value = value * 10 + (int(data[at + j]) - _ZERO)
    return value


@numba.njit(cache=True, nogil=True, inline="always")
def _is_date(year: int, month: int, day: int) -> bool:
    if year < 1 or month < 1 or month > 12 or day < 1:
        return False
    if month == 2:
        leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
        return day <= (29 if leap else 28)
    if month in (4, 6, 9, 11):
        return day <= 30
    return day <= 31


@numba.njit(cache=True, nogil=True)
def _problems(
    offsets: Any, data: Any, valid: Any, slots: Any, years: Any, out: Any
) -> None:  # pragma: no cover - compiled (the tests run it through `problems`)
    for i in range(out.size):
        out[i] = 0
        if not valid[i]:
            continue
        at = offsets[i]
        if offsets[i + 1] - at != 18:
            out[i] = SHAPE
            continue
        total, digits = 0, True
        for j in range(17):
            digit = int(data[at + j]) - _ZERO
            if digit < 0 or digit > 9:
                digits = False
                break
            total += digit * _WEIGHTS[j]
        last = data[at + 17]
        if not digits or not (_ZERO <= last <= _NINE or last == _X):
            out[i] = SHAPE
            continue
        found = 0
        if _CHECK_CHARS[total % 11] != last:
            found |= CHECK
        year = _digits(data, at + 6, 4)
        if not _is_date(year, _digits(data, at + 10, 2), _digits(data, at + 12, 2)):
            found |= DATE
        else:
            slot = slots[_digits(data, at, 6)]
            y = min(max(year, FIRST_BIRTH_YEAR), LAST_BIRTH_YEAR) - FIRST_BIRTH_YEAR
            if slot < 0 or (years[slot, y // 64] >> np.uint64(y % 64)) & np.uint64(1) == 0:
                found |= BIRTHPLACE
        out[i] = found


@numba.njit(cache=True, nogil=True)
def _check_chars(first17: Any, out: Any) -> None:  # pragma: no cover - compiled
    for i in range(first17.size):
        value, total = first17[i], 0
        for j in range(16, -1, -1):
            total += (value % 10) * _WEIGHTS[j]
            value //= 10
        out[i] = _CHECK_CHARS[total % 11]


def problems(numbers: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The problems (bits) of each normalized number of `numbers` (Arrow strings); 0 for a
    valid number or a null."""
    array = numbers.combine_chunks() if isinstance(numbers, pa.ChunkedArray) else numbers
    if not pa.types.is_large_string(array.type):
        array = array.cast(pa.large_string())  # one layout of offsets for the compiled pass
    n = len(array)
    if n == 0:  # an empty array may have no offsets at all
        return pa.array([], type=pa.uint8())
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64, count=array.offset + n + 1)
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)
        if data_buffer is not None
        else np.zeros(0, np.uint8)
    )
    valid = (
        array.is_valid().to_numpy(zero_copy_only=False)
        if array.null_count
        else np.ones(n, dtype=np.bool_)
    )
    out = np.empty(n, dtype=np.uint8)
    slots, years = _birthplace_table()
    _problems(offsets[array.offset :], data, valid, slots, years, out)
    return pa.array(out)


def check_chars(first17: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
    """The check character of each number of 17 digits (given as integers)."""
    out = np.empty(len(first17), dtype=np.uint8)
    _check_chars(np.ascontiguousarray(first17, dtype=np.int64), out)
    return out.view("S1").astype("<U1")


def _check_char_column(first17: pa.Array | pa.ChunkedArray) -> pa.Array:
    return pa.array(check_chars(first17.to_numpy(zero_copy_only=False)), type=pa.string())


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Register `ric_problems` and `ric_check_char` on `con` (a connection that has them keeps
    them: imports on one store's connection register them once)."""
    functions: tuple[tuple[str, Any, Any, Any, FunctionNullHandling], ...] = (
        ("ric_problems", problems, VARCHAR, UTINYINT, FunctionNullHandling.SPECIAL),
        ("ric_check_char", _check_char_column, BIGINT, VARCHAR, FunctionNullHandling.DEFAULT),
    )
    for name, function, argument, result, nulls in functions:
        try:
            con.create_function(
                name,
                function,
                [argument],
                result,
                type=PythonUDFType.ARROW,
                null_handling=nulls,
                side_effects=False,
            )
        except duckdb.Error:  # registered before (by another import), or a real failure
            if not con.execute(
                "SELECT count(*) FROM duckdb_functions() WHERE function_name = ?", [name]
            ).fetchall()[0][0]:
                raise


# The problems of a staged number, once per row (the checks read its bits).
RIC_PROBLEMS = "ric_problems({id_number})"

# At load time the numbers have passed the checks: plain substrings.
RIC_SEX = "CASE WHEN ascii(substr({id_number}, 17, 1)) % 2 = 1 THEN 'M' ELSE 'F' END"  # odd: men
RIC_YEAR_OF_BIRTH = "CAST(substr({id_number}, 7, 4) AS SMALLINT)"
