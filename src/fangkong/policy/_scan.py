"""The usage scan: modules, names and reads (`fangkong.policy.usage` says what counts)."""

from __future__ import annotations

import ast
import importlib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from pydantic import BaseModel

from fangkong.policy import schema
from fangkong.policy._scan_body import _Body
from fangkong.policy._scan_values import (
    _ALL,
    _KEYED,
    _NONE,
    _PATHS,
    Path_,
    _Class,
    _Entries,
    _Function,
    _Instance,
    _key_of,
    _Loader,
    _Method,
    _of_model,
    _Section,
    _Table,
    _Value,
    _Values,
)
from fangkong.policy.parameter import _mapping_args, _model
from fangkong.policy.schema import Policy


@dataclass
class _Module:
    name: str
    tree: ast.Module
    symbols: dict[str, ast.AST] = field(default_factory=dict)


def _schema_methods() -> dict[type[BaseModel], dict[str, tuple[ast.FunctionDef, bool]]]:
    tree = ast.parse(Path(schema.__file__).read_text(encoding="utf-8"))
    out: dict[type[BaseModel], dict[str, tuple[ast.FunctionDef, bool]]] = {}
    for node in tree.body:
        model = getattr(schema, node.name, None) if isinstance(node, ast.ClassDef) else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        assert isinstance(node, ast.ClassDef)
        for item in node.body:
            if isinstance(item, ast.FunctionDef):
                prop = any(
                    isinstance(d, ast.Name) and d.id == "property" for d in item.decorator_list
                )
                out.setdefault(model, {})[item.name] = (item, prop)
    return out


class _Scan:
    """The reads of a set of modules (see the module docstring)."""

    def __init__(self, modules: Mapping[str, str]) -> None:
        self.modules: dict[str, _Module] = {}
        for name, text in modules.items():
            module = _Module(name, ast.parse(text))
            for node in module.tree.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    module.symbols[node.name] = node
                elif isinstance(node, ast.ImportFrom | ast.Import):
                    for alias in node.names:
                        module.symbols[alias.asname or alias.name.split(".")[0]] = node
            self.modules[name] = module
        self.methods = _schema_methods()
        self.reads: set[Path_] = set()
        self.depth = 0

    # -- names ---------------------------------------------------------------------------------

    def resolve(self, module: str, name: str, seen: int = 0) -> object:
        """What a module-level name is: a schema model or enumeration class, a scanned
        function, or None."""
        found = self.modules[module].symbols.get(name) if module in self.modules else None
        if isinstance(found, ast.FunctionDef | ast.AsyncFunctionDef):
            return _Function(module, found)
        if isinstance(found, ast.ImportFrom) and found.module and seen < 10:
            target = next(a.name for a in found.names if (a.asname or a.name) == name)
            if found.module in self.modules:
                return self.resolve(found.module, target, seen + 1)
            return self._runtime(found.module, target)
        if module not in self.modules:
            return self._runtime(module, name)
        if isinstance(found, ast.ClassDef):
            return self._runtime(module, name) or _Class(module, found)
        return None

    @staticmethod
    def _runtime(module: str, name: str) -> object:
        """A class of the policy or model packages, or a function of theirs that returns a
        section (`policy_in_force`), by importing it (cheap: no engine code)."""
        if not module.startswith(("fangkong.policy", "fangkong.model")):
            return None
        try:
            value = getattr(importlib.import_module(module), name, None)
        except ImportError:
            return None
        if isinstance(value, type) and issubclass(value, BaseModel | Enum):
            return value
        if callable(value) and not isinstance(value, type):
            try:
                returned = typing.get_type_hints(value).get("return")
            except (NameError, TypeError):
                return None
            model = _model(returned)
            return _Loader(model) if model is not None and model in _PATHS else None
        return None

    def annotation(self, module: str, node: ast.expr | None) -> type[BaseModel] | None:
        """The schema model an annotation names (`Policy`, `CircuitBreaker | None`), else None."""
        if node is None:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self.annotation(module, node.left) or self.annotation(module, node.right)
        if isinstance(node, ast.Name):
            found = self.resolve(module, node.id)
            if isinstance(found, type) and issubclass(found, BaseModel) and found in _PATHS:
                return found
        return None

    def annotated(self, module: str, node: ast.expr | None) -> _Value | None:
        """The value a name annotated so holds: a section, an instance of a scanned class."""
        model = self.annotation(module, node)
        if model is not None:
            return _of_model(model)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self.annotated(module, node.left) or self.annotated(module, node.right)
        if isinstance(node, ast.Name):
            found = self.resolve(module, node.id)
            if isinstance(found, _Class):
                return _Instance(found)
        return None

    def fields(self, cls: _Class) -> list[tuple[str, ast.expr]]:
        """The annotated fields of a class, in order (a dataclass's or NamedTuple's)."""
        return [
            (item.target.id, item.annotation)
            for item in cls.node.body
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
        ]

    def instance_field(self, inst: _Instance, name: str) -> _Values:
        for field_name, annotation in self.fields(inst.cls):
            if field_name == name:
                value = self.annotated(inst.cls.module, annotation)
                return frozenset({value}) if value is not None else _NONE
        for item in inst.cls.node.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == name:
                return frozenset({_Function(inst.cls.module, item, bound=True)})
        return _NONE

    # -- reads ---------------------------------------------------------------------------------

    def read(self, paths: Iterable[Path_], *tail: str) -> None:
        self.reads.update((*p, *tail) for p in paths)

    def escape(self, values: _Values) -> None:
        """A use the scan cannot follow: everything under the value is read."""
        for v in values:
            if isinstance(v, _Section | _Table):
                self.read(v.paths, _ALL)
            elif isinstance(v, _Entries):
                self.read(v.table.paths, _ALL)
            elif isinstance(v, _Method) and v.name not in ("keys",):
                self.read(v.owner.paths, _ALL)
            elif isinstance(v, _Instance):
                for name, _annotation in self.fields(v.cls):
                    self.escape(self.instance_field(v, name))

    def field_of(self, section: _Section, name: str) -> _Values:
        info = section.model.model_fields.get(name)
        if info is None:
            return _NONE
        paths = frozenset((*p, name) for p in section.paths)
        inner, table = _model(info.annotation), _mapping_args(info.annotation)
        if inner is not None:
            return frozenset({_Section(inner, paths)})
        if table is not None:
            return frozenset({_Table(paths, table[1])})
        self.read(paths)
        return _NONE

    def entry(self, table: _Table, key: str) -> _Values:
        paths = frozenset((*p, key) for p in table.paths)
        item = _model(table.item)
        if item is not None:
            return frozenset({_Section(item, paths)})
        self.read(paths)
        return _NONE

    def attribute(self, base: _Values, name: str) -> _Values:
        out: set[_Value] = set()
        for v in base:
            if isinstance(v, _Section):
                if name in v.model.model_fields:
                    out |= self.field_of(v, name)
                elif name in self.methods.get(v.model, {}):
                    node, prop = self.methods[v.model][name]
                    out |= self.inline(node, v, []) if prop else {_Method(v, name)}
                elif name.startswith("model_"):
                    out.add(_Method(v, name))
            elif isinstance(v, _Table) and name in ("get", "items", "values", "keys"):
                out.add(_Method(v, name))
            elif isinstance(v, _Instance):
                out |= self.instance_field(v, name)
        return frozenset(out)

    def inline(self, node: ast.FunctionDef, owner: _Section, args: list[_Values]) -> _Values:
        """The return of a schema method called on `owner`, recording what its body reads."""
        if self.depth > 8:
            self.read(owner.paths, _ALL)
            return _NONE
        params = [a.arg for a in node.args.args]
        env: dict[str, set[_Value]] = {params[0]: {owner}}
        for name, values in zip(params[1:], args, strict=False):
            env[name] = set(values)
        self.depth += 1
        try:
            returned = _Body(self, schema.__name__, env, follow_returns=True).run(node.body)
        finally:
            self.depth -= 1
        return frozenset(returned)

    def call_method(self, m: _Method, args: list[_Values], nodes: list[ast.expr]) -> _Values:
        owner = m.owner
        if isinstance(owner, _Table):
            if m.name == "get":
                return self.entry(owner, _key_of(args[0] if args else _NONE))
            if m.name in ("items", "values"):
                return frozenset({_Entries(owner, m.name == "items")})
            return _NONE
        if m.name in _KEYED and owner.model is Policy:
            node = nodes[0] if nodes else None
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                self.read(owner.paths, *node.value.split("."))
            else:
                self.read(owner.paths, _ALL)
            return _NONE
        found = self.methods.get(owner.model, {}).get(m.name)
        if found is None:  # model_dump and the like
            self.read(owner.paths, _ALL)
            return _NONE
        return self.inline(found[0], owner, args)

    # -- modules -------------------------------------------------------------------------------

    def run(self) -> frozenset[Path_]:
        for module in self.modules.values():
            _Body(self, module.name, {}, follow_returns=False).run(module.tree.body)
        return frozenset(self.reads)
