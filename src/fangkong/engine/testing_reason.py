"""The reasons of the testing step's orders, in words, from the facts of each row: the rule, the
tube's Ct and cut-off, how many samples it held, whether the cut-off was the inbound one. A reason
names tubes and numbers, never a person.
"""

from __future__ import annotations

from datetime import timedelta
from functools import reduce

import polars as pl

from fangkong.policy import Policy

__all__ = ["order_reason"]


def _num(expr: pl.Expr) -> pl.Expr:
    """A Ct as text: 37 or 37.5."""
    rounded = expr.round(1)
    return (
        pl.when(rounded == rounded.round(0))
        .then(rounded.cast(pl.Int64).cast(pl.String))
        .otherwise(rounded.cast(pl.String))
    )


def order_reason(policy: Policy, deadline: timedelta) -> pl.Expr:
    """The `reason` of each order, from the facts that ORDERS_SQL returns beside it (`ct`, `cut`,
    `n`, `inbound`, `note`), by rule and order type."""
    t = policy.testing
    ct, cut, n = pl.col("ct"), pl.col("cut"), pl.col("n").cast(pl.String)
    distinct_cutoffs = t.inbound_positive_ct_below != t.positive_ct_below
    cutoff_note = (
        pl.when(pl.col("inbound") & pl.lit(distinct_cutoffs))
        .then(pl.lit(" (the inbound cut-off)"))
        .otherwise(pl.lit(""))
    )
    ct_text = (
        pl.when(ct.is_null())
        .then(pl.lit("no Ct reported"))
        .otherwise(pl.concat_str(pl.lit("Ct "), _num(ct), pl.lit(" < "), _num(cut), cutoff_note))
    )
    assess = t.inbound_release_assessment_ct_below
    hours = f"{deadline.total_seconds() / 3600:g}"
    texts: dict[tuple[str, str], pl.Expr] = {
        ("testing.pool_positive", "temporary_control"): pl.concat_str(
            pl.lit("pooled tube of "),
            n,
            pl.lit(" samples positive ("),
            ct_text,
            pl.lit("): temporary control of each member until a single-tube retest"),
        ),
        ("testing.pool_positive", "retest"): pl.concat_str(
            pl.lit("pooled tube of "),
            n,
            pl.lit(" samples positive ("),
            ct_text,
            pl.lit("): single-tube retest of each member"),
        ),
        ("testing.single_positive", "report_case"): pl.concat_str(
            pl.lit("single-tube test positive ("), ct_text, pl.lit("): report the case")
        ),
        ("testing.retest_positive", "report_case"): pl.concat_str(
            pl.lit("single-tube retest after a positive pool is positive ("),
            ct_text,
            pl.lit("): report the case"),
        ),
        ("testing.retest_negative", "release_control"): pl.lit(
            "single-tube retest negative: temporary control ends"
        ),
        ("testing.pool_not_confirmed", "release_control"): pl.concat_str(
            pl.lit("single-tube retests of all "),
            n,
            pl.lit(
                " members of the positive pool are negative: the pool is not confirmed"
                " (the retests contradict it; the tube goes to laboratory review);"
                " every member is released"
            ),
        ),
        ("testing.pool_corrected", "release_control"): pl.concat_str(
            pl.lit("the pool's positive result was superseded by a later report ("),
            pl.col("note"),
            pl.lit("): temporary control ends"),
        ),
        ("testing.weak_positive", "retest"): pl.concat_str(
            pl.lit("reported positive with Ct "),
            _num(ct),
            pl.lit(", not below the cut-off "),
            _num(cut),
            cutoff_note,
            pl.lit(": a weak positive, not a positive; retest"),
        ),
        ("testing.inbound_assessment", "assess"): pl.concat_str(
            pl.lit("inbound traveller's tube reported positive with Ct "),
            _num(ct),
            pl.lit(f", at or above the inbound cut-off and below {_fmt(assess)}:"),
            pl.lit(" a risk assessment, beside the retest"),
        ),
        ("testing.invalid", "retest"): pl.lit("invalid result: re-sample for a retest"),
        ("testing.tube_not_returned", "retest"): pl.lit(
            f"tube not returned: no result {hours} h after sampling; re-sample for a retest"
        ),
        ("testing.unknown_tube", "retest"): pl.concat_str(
            pl.col("note"),
            pl.lit(
                " result for a tube with no registered sample: its members are unknown;"
                " find the sampling records"
            ),
        ),
    }
    key = (pl.col("rule"), pl.col("order_type"))
    return reduce(
        lambda acc, item: (
            pl.when((key[0] == item[0][0]) & (key[1] == item[0][1])).then(item[1]).otherwise(acc)
        ),
        texts.items(),
        pl.lit(None, dtype=pl.String),
    )


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
