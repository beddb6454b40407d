"""Late lab results at the scale of an outbreak: a twin whose labs send every third tube's result
to the command centre with the next day's import (its report time unchanged, so the run of the
day it was reported never saw it). The engine acts on each result when it first sees it, and the
rules any command centre would state still hold every day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import polars as pl
import pytest

from fangkong.policy import load_policy
from fangkong.sim.twin import Twin
from fangkong.store import Store

from .test_twin_invariants import (
    _CASE_NOT_RED,
    _CONTACT_NOT_QUARANTINED,
    _GREEN_IN_QUARANTINE,
    _ROOMS_WITHOUT_REASON,
    _TWO_TRANSFERS,
)

pytestmark = pytest.mark.slow

LATE_EVERY = 3  # one tube in three, chosen by a hash of its id


class LateLabTwin(Twin):
    """The twin, with some of each day's tube results imported the next day."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._held: pl.DataFrame | None = None

    def _tests(self, day: date) -> tuple[pl.DataFrame, pl.DataFrame]:
        samples, tubes = super()._tests(day)
        late = pl.col("tube_id").hash(7) % LATE_EVERY == 0
        held, self._held = self._held, tubes.filter(late)
        today = tubes.filter(~late)
        return samples, today if held is None else pl.concat([held, today])


# each positive single tube (a person's own result), the run day that first saw it (the first
# run whose watermark covers its import batch), and the first run day that opened a case
# episode for the person (from a derived report)
_POSITIVES = """
SELECT s.person_id, r.tube_id, CAST(r.reported_at AS DATE) AS reported_on,
       (SELECT min(e.run_day) FROM engine_run e WHERE e.batch_watermark >= r.batch_id) AS seen_by,
       (SELECT min(v.run_day) FROM engine_case_event v
        WHERE v.person_id = s.person_id AND v.event_type = 'report') AS reported_by_run
FROM tube_result r JOIN sample s USING (tube_id)
WHERE r."result" = 'positive'
  AND (SELECT count(*) FROM sample m WHERE m.tube_id = r.tube_id) = 1
"""


@pytest.fixture(scope="module")
def late_outbreak() -> Iterator[Store]:
    twin = LateLabTwin(20_000, 1, load_policy("cn-2022-06-28"))
    for _ in twin.run(30):
        pass
    assert twin.store is not None
    yield twin.store
    twin.close()


def test_a_late_positive_opens_its_case_in_the_run_that_first_sees_it(late_outbreak: Store) -> None:
    positives = late_outbreak.fetch(_POSITIVES)
    late = positives.filter(pl.col("seen_by") > pl.col("reported_on"))
    assert late.height > 0  # the outbreak has late positives
    assert late.filter(pl.col("reported_by_run").is_null()).height == 0
    assert late.filter(pl.col("reported_by_run") > pl.col("seen_by")).height == 0


@pytest.mark.parametrize(
    "rule",
    [
        _ROOMS_WITHOUT_REASON,
        _GREEN_IN_QUARANTINE,
        _TWO_TRANSFERS,
        _CASE_NOT_RED,
        _CONTACT_NOT_QUARANTINED,
    ],
    ids=["room", "green", "transfers", "red", "quarantined"],
)
def test_the_rules_still_hold_with_late_results(late_outbreak: Store, rule: str) -> None:
    assert late_outbreak.fetch(rule).height == 0
