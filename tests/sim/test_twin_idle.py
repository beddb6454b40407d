"""A twin's outbreak that ends: the runs of the days after it have nothing to do and skip their
steps (`fangkong.engine.idle`), and the twin's residents, who obey what the runs derive, lead the
same lives as in a twin whose every run runs every step: every derived row is the same."""

from __future__ import annotations

import pytest

from fangkong.engine.day import DERIVED_TABLES
from fangkong.policy import load_policy
from fangkong.sim.twin import Twin

pytestmark = pytest.mark.slow

# the engine's derived rows, compared whole (ids included)
_DERIVED = (*DERIVED_TABLES, "health_code", "health_code_reason")


def test_idle_days_skipped_give_the_rows_of_every_step() -> None:
    """The twenty measures over a city of 20,000 (seed 6: the imported case and one more, some
    1,500 orders for their contacts, and idle days between the last of them)."""
    policy = load_policy("cn-2022-11-11")
    skipping, full = Twin(20_000, 6, policy), Twin(20_000, 6, policy, skip_idle=False)
    try:
        for _ in range(26):
            skipping.step()
            full.step()
        assert skipping.store is not None and full.store is not None
        assert full.store.scalar("SELECT count(*) FROM engine_order") > 1000
        idle = skipping.store.scalar(
            "SELECT count(*) FROM engine_run r WHERE NOT EXISTS"
            " (SELECT 1 FROM engine_order o WHERE o.run_day = r.run_day)"
        )
        assert idle >= 5
        assert [d.infected for d in skipping.days] == [d.infected for d in full.days]
        for table in _DERIVED:
            sql = f"SELECT * FROM {table} ORDER BY ALL"
            assert skipping.store.fetch(sql).equals(full.store.fetch(sql)), table
    finally:
        skipping.close()
        full.close()
