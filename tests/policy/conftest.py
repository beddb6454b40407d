"""Fixtures for the policy tests: the shipped policies, and a writer of policy files in a
temporary directory (a copy of the shipped files beside them, so that `extends` resolves)."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "policies"

Writer = Callable[..., Path]
Reader = Callable[[str], dict[str, Any]]


def _shipped_data(policy_id: str) -> dict[str, Any]:
    with (SHIPPED / f"{policy_id}.yaml").open(encoding="utf-8") as f:
        data: dict[str, Any] = yaml.safe_load(f)
    return copy.deepcopy(data)


@pytest.fixture
def shipped() -> Reader:
    """shipped(id) is the content of a shipped file, as a fresh dict to modify."""
    return _shipped_data


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A directory holding a copy of every shipped policy file."""
    folder = tmp_path / "policies"
    folder.mkdir()
    for path in SHIPPED.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def write_policy(library: Path) -> Writer:
    """write_policy(data, name=None) writes data as YAML into the library; returns the path."""

    def write(data: dict[str, Any], name: str | None = None) -> Path:
        path = library / f"{name or data['id']}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
        return path

    return write
