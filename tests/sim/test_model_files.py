"""Malformed simulator data files are refused with the file and the key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from fangkong.errors import ModelFileError, NotFoundError
from fangkong.sim.census import load_census
from fangkong.sim.parameter import bundled_path, read_model_file
from fangkong.sim.variant import VARIANTS, load_variant

GOOD = "sources:\n  s: {original: x}\n"


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        (
            GOOD + "a:\n  b: {value: 1, unit: days, source: t, verified: true}\n",
            "a.b",
            "source 't'",
        ),
        (GOOD + "a: {value: 1, unit: weeks, source: s, verified: true}\n", "a", "unknown unit"),
        (
            GOOD + "a: {value: 1.5, unit: share, source: s, verified: true}\n",
            "a",
            "not a valid share",
        ),
        (GOOD + "a: {value: -2, unit: days, source: s, verified: true}\n", "a", "not a valid days"),
        (GOOD + "a: {value: 2, unit: days, source: s}\n", "a", "needs 'verified'"),
        (GOOD + "a: {value: 2, unit: days, source: s, verified: yes please}\n", "a", "verified"),
        (GOOD + "a: {value: 2, unit: days, source: s, verified: true, why: x}\n", "a", "unknown"),
    ],
)
def test_bad_parameter(tmp_path: Path, text: str, key: str, message: str) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(ModelFileError, match=message) as err:
        read_model_file(path)
    assert err.value.key == key
    assert str(path) in str(err.value)


def test_not_yaml_and_no_sources(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not valid YAML at line 2"):
        read_model_file(_file(tmp_path, "a: 1\n  b: [\n"))
    with pytest.raises(ModelFileError, match="'sources' table is required"):
        read_model_file(_file(tmp_path, "a: {value: 1}\n"))
    with pytest.raises(ModelFileError, match="cannot read"):
        read_model_file(tmp_path / "absent.yaml")


def test_missing_parameter_in_census_names_the_key(tmp_path: Path) -> None:
    text = bundled_path("census-2020.yaml").read_text(encoding="utf-8")
    cut = text.replace("  mean_household_size:", "  mean_household_size_x:")
    with pytest.raises(ModelFileError) as err:
        load_census(_file(tmp_path, cut))
    assert err.value.key == "population.mean_household_size"


def test_every_bundled_file_and_variant_loads() -> None:
    for name in ("census-2020.yaml", "city.yaml", "variants.yaml"):
        read_model_file(bundled_path(name))
    for key in VARIANTS:
        assert load_variant(key).r0 > 1
    with pytest.raises(NotFoundError, match="no variant 'alpha'"):
        load_variant("alpha")
