"""Reading a policy file: YAML with no duplicate keys, the line of every key, and the split of the
body into plain values and parameter metadata."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fangkong.errors import PolicyFileError

__all__ = ["Document", "line_of", "read_document", "split_parameters"]


@dataclass(frozen=True, slots=True)
class Document:
    path: Path
    data: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)  # dotted key → 1-based line


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (YAML would keep the last)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, str | int | float | bool) and key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"key {key!r} is written twice",
                key_node.start_mark,
            )
        if isinstance(key, str | int | float | bool):
            seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _key_lines(node: yaml.Node, prefix: str, lines: dict[str, int]) -> None:
    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        key = f"{prefix}{key_node.value}"
        lines.setdefault(key, key_node.start_mark.line + 1)
        _key_lines(value_node, key + ".", lines)


def read_document(path: Path) -> Document:
    """Parse a policy file; PolicyFileError if it cannot be read or is not a YAML mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyFileError(str(path), "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyFileError(str(path), f"cannot read: {exc}") from None
    try:
        node = yaml.compose(text, Loader=_StrictLoader)
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise PolicyFileError(str(path), f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PolicyFileError(str(path), "a policy file is a YAML mapping (key: value lines)")
    lines: dict[str, int] = {}
    if node is not None:
        _key_lines(node, "", lines)
    for key in data:
        if not isinstance(key, str):
            raise PolicyFileError(str(path), "keys must be text", key=str(key))
    return Document(path=path, data=data, lines=lines)


def line_of(lines: Mapping[str, int], key: str) -> int | None:
    """The line of a dotted key, or of its closest written parent."""
    probe = key.split("[", 1)[0]
    while probe:
        if probe in lines:
            return lines[probe]
        probe = probe.rpartition(".")[0]
    return None


def split_parameters(
    tree: Mapping[str, Any], path: str, prefix: str = ""
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Split a body tree into plain values and the metadata of each parameter. A parameter is a
    mapping with a `value` key; its other keys are its metadata, kept by dotted key."""
    values: dict[str, Any] = {}
    metas: dict[str, dict[str, Any]] = {}
    for name, item in tree.items():
        key = f"{prefix}{name}"
        if not isinstance(name, str):
            raise PolicyFileError(path, "keys must be text", key=key)
        if isinstance(item, dict) and "value" in item:
            values[name] = item["value"]
            metas[key] = {k: v for k, v in item.items() if k != "value"}
        elif isinstance(item, dict):
            values[name], inner = split_parameters(item, path, key + ".")
            metas.update(inner)
        else:
            values[name] = item
    return values, metas
