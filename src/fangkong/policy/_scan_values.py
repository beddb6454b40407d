"""The abstract values of the usage scan (`fangkong.policy.usage` says what they mean)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from fangkong.policy.parameter import _mapping_args, _model
from fangkong.policy.schema import HEADER_FIELDS, Policy

Path_ = tuple[str, ...]
_ANY = "*"  # any one key of a table
_ALL = "**"  # everything under a place
_KEYED = frozenset({"parameter", "source_of"})  # Policy methods that read the key they are given


def _model_paths() -> dict[type[BaseModel], set[Path_]]:
    """Every place of each schema model, tables' keys as `*`."""
    out: dict[type[BaseModel], set[Path_]] = {Policy: {()}}

    def visit(model: type[BaseModel], path: Path_) -> None:
        for name, info in model.model_fields.items():
            if model is Policy and name in HEADER_FIELDS:
                continue
            inner, table = _model(info.annotation), _mapping_args(info.annotation)
            if inner is not None:
                out.setdefault(inner, set()).add((*path, name))
                visit(inner, (*path, name))
            elif table is not None and _model(table[1]) is not None:
                item = _model(table[1])
                assert item is not None
                out.setdefault(item, set()).add((*path, name, _ANY))
                visit(item, (*path, name, _ANY))

    visit(Policy, ())
    return out


_PATHS = _model_paths()


@dataclass(frozen=True, slots=True)
class _Section:
    model: type[BaseModel]
    paths: frozenset[Path_]


@dataclass(frozen=True, slots=True)
class _Table:
    paths: frozenset[Path_]
    item: Any  # the annotation of the entries


@dataclass(frozen=True, slots=True)
class _Entries:  # a table's .values() or .items()
    table: _Table
    items: bool


@dataclass(frozen=True, slots=True)
class _Method:  # an attribute of a section or table, to be called
    owner: _Section | _Table
    name: str


@dataclass(frozen=True, slots=True)
class _Key:  # a constant key: an enumeration member's value
    value: str


@dataclass(frozen=True, slots=True)
class _Function:  # a function of a scanned module; bound: a method called on an instance
    module: str
    node: ast.FunctionDef | ast.AsyncFunctionDef
    bound: bool = False


@dataclass(frozen=True, slots=True)
class _Class:  # a class of a scanned module (a dataclass, a NamedTuple: a context of a rule)
    module: str
    node: ast.ClassDef


@dataclass(frozen=True, slots=True)
class _Instance:  # an instance of such a class: its fields annotated with a model are sections
    cls: _Class


@dataclass(frozen=True, slots=True)
class _Loader:  # a function of the policy package that returns a section (policy_in_force, ...)
    model: type[BaseModel]


_Value = _Section | _Table | _Entries | _Method | _Key | _Function | _Class | _Instance | _Loader
_Values = frozenset[_Value]
_NONE: _Values = frozenset()


def _of_model(model: type[BaseModel]) -> _Section:
    return _Section(model, frozenset(_PATHS.get(model, set())))


def _key_of(values: _Values) -> str:
    keys = [v.value for v in values if isinstance(v, _Key)]
    return keys[0] if len(keys) == 1 else _ANY
