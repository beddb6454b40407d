"""The resident identity card number (居民身份证号码, GB 11643-1999) as SQL expressions, so that
25 million numbers are checked in one vectorized pass. python-stdnum's `stdnum.cn.ric` is the
reference: the tests check these expressions against it, value by value.

An 18-character number is 6 digits of the county of first registration, 8 of the birth date,
3 of sequence (odd for men), and a check character: with the 17 digits d1..d17 weighted by
2^(18-i) mod 11 (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), the sum modulo 11 indexes
"10X98765432".

Placeholders: `{id_number}` is the normalized number (trimmed, upper case), `{_ric17}` its first
17 digits as a BIGINT (NULL when the number does not have the 17-digits-and-a-check shape).
"""

from __future__ import annotations

from functools import cache

import polars as pl

from fangkong.store.regions import builtin_region_periods

__all__ = [
    "RIC17",
    "RIC_BIRTHPLACE_INVALID",
    "RIC_BIRTH_DATE_OK",
    "RIC_BIRTH_YEAR",
    "RIC_CHECK_CHAR",
    "RIC_SEX",
    "RIC_YEAR_OF_BIRTH",
    "WEIGHTS",
    "check_char_sql",
    "valid_birthplaces",
]

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

# One regex and one integer cast per number; everything else is integer arithmetic, far cheaper
# than 17 substrings per row.
RIC17 = (
    "CASE WHEN regexp_full_match({id_number}, '[0-9]{17}[0-9X]')"
    " THEN CAST(substr({id_number}, 1, 17) AS BIGINT) END"
)


def check_char_sql(digits17: str) -> str:
    """The check character of a 17-digit BIGINT expression."""
    terms = " + ".join(
        f"(({digits17} // {10 ** (16 - i)}) % 10) * {w}" for i, w in enumerate(WEIGHTS)
    )
    return f"substr('10X98765432', CAST(({terms}) % 11 AS INTEGER) + 1, 1)"


RIC_CHECK_CHAR = check_char_sql("{_ric17}")
# Digits 7-14 are a date of the proleptic Gregorian calendar (as Python's datetime.date, which
# python-stdnum uses): integer arithmetic, no string parsing.
_Y, _M, _D = (
    "({_ric17} // 10000000 % 10000)",
    "({_ric17} // 100000 % 100)",
    "({_ric17} // 1000 % 100)",
)
RIC_BIRTH_DATE_OK = (
    f"({_Y} >= 1 AND {_M} BETWEEN 1 AND 12 AND {_D} BETWEEN 1 AND CASE"
    f" WHEN {_M} IN (4, 6, 9, 11) THEN 30"
    f" WHEN {_M} = 2 THEN CASE WHEN ({_Y} % 4 = 0 AND {_Y} % 100 <> 0) OR {_Y} % 400 = 0"
    " THEN 29 ELSE 28 END ELSE 31 END)"
)
RIC_BIRTH_YEAR = "CAST({_ric17} // 10000000 % 10000 AS SMALLINT)"
# Digits 1-6 must have been a county code in the birth year: python-stdnum's rule, with its table
# of codes and the years each was in use (a code listed without a period is valid in every
# year). The valid (code, year) pairs are registered as `_ric_birthplaces(k)`, k = code * 10000
# + year, so that the check is one integer hash probe per number. Every period in the table
# starts and ends between FIRST_BIRTH_YEAR and LAST_BIRTH_YEAR (a test keeps it so), so a birth
# year outside them is clipped to them without changing the verdict.
FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR = 1880, 2100
RIC_BIRTHPLACE_INVALID = (
    f"{{_ric17}} IS NOT NULL AND {RIC_BIRTH_DATE_OK}"
    f" AND {{_ric17}} // 100000000000 * 10000"
    f" + least(greatest({RIC_BIRTH_YEAR}, {FIRST_BIRTH_YEAR}), {LAST_BIRTH_YEAR})"
    " NOT IN (SELECT k FROM _ric_birthplaces)"
)


@cache
def valid_birthplaces() -> pl.DataFrame:
    """The `_ric_birthplaces` table: every (county code, year) key a birthplace may have."""
    years = pl.DataFrame({"year": range(FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR + 1)})
    return (
        builtin_region_periods()
        .join(years.cast(pl.Int64), how="cross")
        .filter(
            (pl.col("start").is_null() | (pl.col("start") <= pl.col("year")))
            & (pl.col("end").is_null() | (pl.col("end") >= pl.col("year")))
        )
        .select((pl.col("code").cast(pl.Int64) * 10000 + pl.col("year")).alias("k"))
        .unique()
        .sort("k")
    )


# At load time the numbers have passed the checks: plain substrings, no regex.
RIC_SEX = "CASE WHEN ascii(substr({id_number}, 17, 1)) % 2 = 1 THEN 'M' ELSE 'F' END"  # odd: men
RIC_YEAR_OF_BIRTH = "CAST(substr({id_number}, 7, 4) AS SMALLINT)"
