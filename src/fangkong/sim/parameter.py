"""The simulator's data files (`fangkong/sim/data/*.yaml`): every number is written
`{value, unit, source, verified, note?}` with `source` naming an entry of the file's `sources`
table, as in the policy files. `read_model_file` checks that shape for the whole file once and
returns it; `ModelFile.value("a", "b")` then reads one number, with an error naming the file and
the key when it is missing or of the wrong kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from fangkong.errors import ModelFileError

__all__ = ["UNITS", "ModelFile", "bundled_path", "read_model_file"]

UNITS = frozenset({"count", "share", "years", "minutes", "days", "ct", "ratio", "flag"})
_PARAMETER_KEYS = frozenset({"value", "unit", "source", "verified", "note"})


def bundled_path(name: str) -> Path:
    """The path of a data file shipped with the package (`census-2020.yaml`, ...)."""
    return Path(str(files("fangkong.sim") / "data" / name))


@dataclass(frozen=True)
class ModelFile:
    path: str
    data: dict[str, Any]

    def node(self, *keys: str) -> Any:
        here: Any = self.data
        for i, k in enumerate(keys):
            if not isinstance(here, dict) or k not in here:
                raise ModelFileError(self.path, "missing", key=".".join(keys[: i + 1]))
            here = here[k]
        return here

    def value(self, *keys: str) -> Any:
        """The value of the parameter at `keys`."""
        node = self.node(*keys)
        if not (isinstance(node, dict) and "value" in node):
            raise ModelFileError(
                self.path, "not a parameter {value, unit, ...}", key=".".join(keys)
            )
        return node["value"]

    def number(self, *keys: str) -> float:
        v = self.value(*keys)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ModelFileError(self.path, f"not a number: {v!r}", key=".".join(keys))
        return float(v)

    def numbers(self, *keys: str) -> list[float]:
        v = self.value(*keys)
        if not isinstance(v, list) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in v
        ):
            raise ModelFileError(self.path, "not a list of numbers", key=".".join(keys))
        return [float(x) for x in v]

    def flag(self, *keys: str) -> bool:
        v = self.value(*keys)
        if not isinstance(v, bool):
            raise ModelFileError(self.path, f"not true or false: {v!r}", key=".".join(keys))
        return v

    def table(self, *keys: str) -> dict[str, float]:
        """A section of numbers, by key, in file order."""
        section = self.node(*keys)
        if not isinstance(section, dict):
            raise ModelFileError(self.path, "not a section", key=".".join(keys))
        return {str(k): self.number(*keys, str(k)) for k in section}


def _check(path: str, node: Any, sources: dict[str, Any], where: list[str]) -> None:
    if not isinstance(node, dict):
        return
    if "value" not in node:
        for k, v in node.items():
            _check(path, v, sources, [*where, str(k)])
        return
    key = ".".join(where)
    extra = set(node) - _PARAMETER_KEYS
    if extra:
        raise ModelFileError(path, f"unknown field(s) {sorted(extra)}", key=key)
    for field in ("unit", "source", "verified"):
        if field not in node:
            raise ModelFileError(path, f"a parameter needs '{field}'", key=key)
    if node["unit"] not in UNITS:
        raise ModelFileError(path, f"unknown unit {node['unit']!r}", key=key)
    if node["source"] not in sources:
        raise ModelFileError(path, f"source {node['source']!r} is not in 'sources'", key=key)
    if not isinstance(node["verified"], bool):
        raise ModelFileError(path, "verified is true or false", key=key)
    value = node["value"]
    values = value if isinstance(value, list) else [value]
    for v in values:
        if node["unit"] == "flag":
            ok = isinstance(v, bool)
        else:
            ok = isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
            ok = ok and (node["unit"] != "share" or v <= 1)
        if not ok:
            raise ModelFileError(path, f"{v!r} is not a valid {node['unit']}", key=key)


def read_model_file(path: str | Path) -> ModelFile:
    """Read and check a simulator data file."""
    p = str(path)
    try:
        with open(p, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise ModelFileError(p, f"cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ModelFileError(p, f"not valid YAML{at}") from exc
    if not isinstance(data, dict):
        raise ModelFileError(p, "the file is not a mapping")
    sources = data.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise ModelFileError(p, "a 'sources' table is required", key="sources")
    for k, v in data.items():
        if k != "sources":
            _check(p, v, sources, [str(k)])
    return ModelFile(p, data)
