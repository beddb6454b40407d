"""The public surface of the bulletin modules: what `__all__` declares exists."""

from __future__ import annotations

import importlib

import pytest

MODULES = (
    "fangkong.bulletin",
    "fangkong.bulletin.bulletin",
    "fangkong.bulletin.regions",
    "fangkong.bulletin.registry",
    "fangkong.bulletin.reports",
    "fangkong.bulletin.reports_file",
    "fangkong.bulletin.render",
    "fangkong.bulletin.render_en",
    "fangkong.bulletin.nhc2020",
    "fangkong.bulletin.contacts",
    "fangkong.bulletin.replay_hk",
    "fangkong.bulletin.replay_hk_compare",
    "fangkong.sample.bulletin_20200407",
    "fangkong.sample.bulletin_20200407_plan",
    "fangkong.sample.bulletin_20200407_cases",
    "fangkong.sample.residents",
    "fangkong.sample.identity",
    "fangkong.sample.canghailan",
    "fangkong.cli.bulletin",
)


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    public = module.__all__
    assert len(set(public)) == len(public)
    for attr in public:
        assert hasattr(module, attr), f"{name}.{attr}"
