"""Which policy parameters the rules read: a static scan (Python `ast`) of the code that applies
policies, so that `fangkong policy show` can mark a parameter that no rule reads.

**Scanned**: every module of the `fangkong` package except `fangkong.policy` and
`fangkong.cli.policy`, which define, validate, list, show and compare policies and so touch every
parameter generically. The
bodies of the schema models' methods and properties (`fangkong.policy.schema`) are read too, to
follow a call such as `policy.regime(...)`.

**What "read" means.** A parameter (a dotted key, e.g. `quarantine.close_contact.home_days`) is
read when a function of the scanned modules fetches it from a policy, as the scan resolves it:

- *A section* is a value the scan knows to be a part of a policy: a parameter or name annotated
  with a schema model (`policy: Policy`, `breaker: CircuitBreaker`: every place of that model in
  the schema), a name assigned from a section expression (`t = policy.testing`), the target of a
  `for` over a table's `.values()` or `.items()`, or the call of a scanned function whose return
  annotation is a schema model.
- *An attribute* of a section named after a field of its model reads that parameter
  (`t.pool_size` reads `testing.pool_size`); a field that is a section or a table yields that
  section or table, and reads nothing yet.
- *A table* (`policy.quarantine`, `risk_areas.drawn_by`) read with a key — `[k]`, `.get(k)` —
  gives that entry: a constant enumeration member (`Population.CLOSE_CONTACT`) names one entry,
  any other key every entry; `.values()` and `.items()` give every entry; `.keys()`, `in` and
  `len` read nothing.
- *A method or property* of a schema model (`regime()`, `phases()`, `total_days`,
  `setting_for()`) reads what its body reads, with the call's arguments bound: so
  `policy.regime(Population.INBOUND_TRAVELLER).total_days` reads the inbound regime's
  `centralized_days` and `home_days` only. `policy.parameter(k)` and `source_of(k)` read key `k`.
- *As a whole*: `getattr(section, name)` with a constant name is that attribute, with any other
  name every parameter of the section; and any use of a section or table that the scan cannot
  follow — passed to a function that is not scanned or whose parameter is not annotated with the
  section's model, put in a container, formatted, stored on an object, returned from a function
  not annotated with its model, `model_dump()` — reads every parameter under it. The scan errs
  on the side of "read": it never calls a parameter unread that the code uses.
- Not a read: testing a section for None or truth (`if policy.contacts is None`), a key's
  presence in a table (`Population.X in policy.quarantine`), a header field (`policy.id`).

What it cannot see: whether the value read changes an order for some input (a parameter read
only to be logged counts as read), and code that builds attribute names other than through
`getattr`. It is a map of the code, not a proof of behaviour; `tests/policy/test_policy_usage.py`
lists the parameters unread today, so that a change either way is visible.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import fangkong
from fangkong.policy import schema
from fangkong.policy.parameter import _mapping_args, _model, places
from fangkong.policy.schema import HEADER_FIELDS, Policy

__all__ = ["is_read", "parameter_keys", "reads_in", "rule_reads", "scanned_modules", "unread"]

Path_ = tuple[str, ...]
_ANY = "*"  # any one key of a table
_ALL = "**"  # everything under a place
_SKIPPED = ("fangkong.policy", "fangkong.cli.policy")  # these packages and modules
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
class _Function:  # a function of a scanned module
    module: str
    node: ast.FunctionDef | ast.AsyncFunctionDef


_Value = _Section | _Table | _Entries | _Method | _Key | _Function
_Values = frozenset[_Value]
_NONE: _Values = frozenset()


def _of_model(model: type[BaseModel]) -> _Section:
    return _Section(model, frozenset(_PATHS.get(model, set())))


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
        if module not in self.modules or isinstance(found, ast.ClassDef):
            return self._runtime(module, name)
        return None

    @staticmethod
    def _runtime(module: str, name: str) -> object:
        """A class of the policy or model packages, by importing it (cheap: no engine code)."""
        if not module.startswith(("fangkong.policy", "fangkong.model")):
            return None
        try:
            value = getattr(importlib.import_module(module), name, None)
        except ImportError:
            return None
        if isinstance(value, type) and issubclass(value, BaseModel | Enum):
            return value
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


def _key_of(values: _Values) -> str:
    keys = [v.value for v in values if isinstance(v, _Key)]
    return keys[0] if len(keys) == 1 else _ANY


class _Body:
    """One function body (or module) evaluated over abstract values, flow-insensitively: names
    collect every value assigned to them; the body is walked twice so a later assignment is
    seen by an earlier use in a loop."""

    def __init__(
        self, scan: _Scan, module: str, env: dict[str, set[_Value]], *, follow_returns: bool
    ) -> None:
        self.scan, self.module, self.env = scan, module, env
        self.follow_returns = follow_returns
        self.returned: set[_Value] = set()
        self.returns_model = False

    def run(self, body: list[ast.stmt]) -> set[_Value]:
        for _ in range(2):
            for stmt in body:
                self.stmt(stmt)
        return self.returned

    # statements

    def stmt(self, node: ast.stmt) -> None:
        match node:
            case ast.FunctionDef() | ast.AsyncFunctionDef():
                self.function(node)
            case ast.ClassDef():
                for item in node.body:
                    self.stmt(item)
            case ast.Assign(targets=targets, value=value):
                for target in targets:
                    self.assign(target, value)
            case ast.AnnAssign(target=target, value=value) if value is not None:
                self.assign(target, value)
            case ast.For(target=target, iter=it) | ast.AsyncFor(target=target, iter=it):
                self.bind_loop(target, self.expr(it))
                for stmt in (*node.body, *node.orelse):
                    self.stmt(stmt)
            case ast.Return(value=value) if value is not None:
                values = self.expr(value)
                if self.follow_returns or self.returns_model:
                    self.returned |= values
                else:
                    self.scan.escape(values)
            case ast.Expr(value=value):
                self.expr(value)
            case ast.If(test=test) | ast.While(test=test):
                self.expr(test)
                for stmt in (*node.body, *node.orelse):
                    self.stmt(stmt)
            case ast.Assert(test=test, msg=msg):
                self.expr(test)
                if msg is not None:
                    self.scan.escape(self.expr(msg))
            case _:
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        self.stmt(child)
                    elif isinstance(child, ast.expr):
                        self.scan.escape(self.expr(child))
                    else:  # with items, handlers, match cases
                        for inner in ast.iter_child_nodes(child):
                            if isinstance(inner, ast.stmt):
                                self.stmt(inner)
                            elif isinstance(inner, ast.expr):
                                self.scan.escape(self.expr(inner))

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        env = {k: set(v) for k, v in self.env.items()}  # a closure sees the enclosing names
        arguments = node.args
        for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
            model = self.scan.annotation(self.module, arg.annotation)
            env[arg.arg] = {_of_model(model)} if model is not None else set()
        body = _Body(self.scan, self.module, env, follow_returns=False)
        body.returns_model = self.scan.annotation(self.module, node.returns) is not None
        body.run(node.body)

    def assign(self, target: ast.expr, value: ast.expr) -> None:
        if (
            isinstance(target, ast.Tuple | ast.List)
            and isinstance(value, ast.Tuple | ast.List)
            and len(target.elts) == len(value.elts)
        ):
            for t, v in zip(target.elts, value.elts, strict=True):
                self.assign(t, v)
            return
        self.bind(target, self.expr(value))

    def bind(self, target: ast.expr, values: _Values) -> None:
        if isinstance(target, ast.Name):
            self.env.setdefault(target.id, set()).update(values)
        else:  # stored on an object, in a container, unpacked: not followed
            self.scan.escape(values)

    def bind_loop(self, target: ast.expr, iterated: _Values) -> None:
        items: set[_Value] = set()
        pairs: set[_Value] = set()
        for v in iterated:
            if isinstance(v, _Entries):
                (pairs if v.items else items).update(self.scan.entry(v.table, _ANY))
            elif isinstance(v, _Section):
                self.scan.read(v.paths, _ALL)
        if isinstance(target, ast.Tuple) and len(target.elts) == 2 and pairs:
            self.bind(target.elts[1], frozenset(pairs))
        elif isinstance(target, ast.Name):
            self.bind(target, frozenset(items))

    # expressions

    def expr(self, node: ast.expr) -> _Values:
        scan = self.scan
        match node:
            case ast.Name(id=name):
                if name in self.env:
                    return frozenset(self.env[name])
                found = scan.resolve(self.module, name)
                return frozenset({found}) if isinstance(found, _Function) else _NONE
            case ast.Attribute(value=ast.Name(id=base), attr=attr) if base not in self.env and (
                isinstance(enum := scan.resolve(self.module, base), type) and issubclass(enum, Enum)
            ):
                member = enum.__members__.get(attr)
                return frozenset({_Key(str(member.value))}) if member is not None else _NONE
            case ast.Attribute(value=value, attr=attr):
                return scan.attribute(self.expr(value), attr)
            case ast.Subscript(value=value, slice=index):
                tables, keys = self.expr(value), self.expr(index)
                out: set[_Value] = set()
                for v in tables:
                    if isinstance(v, _Table):
                        out |= scan.entry(v, _key_of(keys))
                scan.escape(frozenset(k for k in keys if not isinstance(k, _Key)))
                return frozenset(out)
            case ast.Call():
                return self.call(node)
            case ast.Compare(left=left, comparators=rest):
                for operand in (left, *rest):
                    self.expr(operand)
                return _NONE
            case ast.BoolOp(values=operands):
                return frozenset().union(*(self.expr(v) for v in operands))
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                self.expr(operand)
                return _NONE
            case ast.IfExp(test=test, body=body, orelse=orelse):
                self.expr(test)
                return self.expr(body) | self.expr(orelse)
            case ast.NamedExpr(target=target, value=value):
                values = self.expr(value)
                self.bind(target, values)
                return values
            case ast.Lambda(body=body):
                scan.escape(self.expr(body))
                return _NONE
            case ast.ListComp() | ast.SetComp() | ast.GeneratorExp() | ast.DictComp():
                for gen in node.generators:
                    self.bind_loop(gen.target, self.expr(gen.iter))
                    for cond in gen.ifs:
                        self.expr(cond)
                parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
                for part in parts:
                    scan.escape(self.expr(part))
                return _NONE
            case _:
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.expr):
                        scan.escape(self.expr(child))
                return _NONE

    def call(self, node: ast.Call) -> _Values:
        scan = self.scan
        positional = [a.value if isinstance(a, ast.Starred) else a for a in node.args]
        args = [self.expr(a) for a in positional]
        keywords = {k.arg: self.expr(k.value) for k in node.keywords}
        func = node.func
        if isinstance(func, ast.Name) and func.id == "getattr" and func.id not in self.env:
            return self.getattr(args, positional)
        callees = self.expr(func)
        out: set[_Value] = set()
        followed: set[int] = set()
        followed_names: set[str | None] = set()
        for callee in callees:
            if isinstance(callee, _Method):
                out |= scan.call_method(callee, args, positional)
                followed.update(range(len(args)))
                followed_names.update(keywords)
            elif isinstance(callee, _Function):
                f_args = callee.node.args
                params = [*f_args.posonlyargs, *f_args.args]
                for i, param in enumerate(params[: len(args)]):
                    if scan.annotation(callee.module, param.annotation) is not None:
                        followed.add(i)
                for param in (*params, *f_args.kwonlyargs):
                    if scan.annotation(callee.module, param.annotation) is not None:
                        followed_names.add(param.arg)
                model = scan.annotation(callee.module, callee.node.returns)
                if model is not None:
                    out.add(_of_model(model))
        for i, values in enumerate(args):
            if i not in followed:
                scan.escape(values)
        for name, values in keywords.items():
            if name not in followed_names:
                scan.escape(values)
        return frozenset(out)

    def getattr(self, args: list[_Values], nodes: list[ast.expr]) -> _Values:
        if not args:
            return _NONE
        name = nodes[1] if len(nodes) > 1 else None
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            return self.scan.attribute(args[0], name.value)
        self.scan.escape(args[0])
        for values in args[1:]:
            self.scan.escape(values)
        return _NONE


def _match(pattern: Path_, key: Path_) -> bool:
    for i, part in enumerate(pattern):
        if part == _ALL:
            return True
        if i >= len(key) or (part != _ANY and part != key[i]):
            return False
    return len(pattern) == len(key)


def reads_in(modules: Mapping[str, str]) -> frozenset[Path_]:
    """The read patterns of the given modules (name → source text): dotted keys as tuples, `*`
    for any one key of a table, `**` for everything under a place."""
    return _Scan(modules).run()


def scanned_modules() -> dict[str, Path]:
    """The modules whose reads count: every module of `fangkong` but those of `_SKIPPED`."""
    root = Path(fangkong.__file__).resolve().parent
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if not any(name == skip or name.startswith(skip + ".") for skip in _SKIPPED):
            out[name] = path
    return out


@lru_cache(maxsize=1)
def rule_reads() -> frozenset[Path_]:
    """The read patterns of the scanned modules (cached: the code does not change at run time)."""
    return reads_in({n: p.read_text(encoding="utf-8") for n, p in scanned_modules().items()})


def is_read(key: str, reads: Iterable[Path_] | None = None) -> bool:
    """Whether a rule reads the parameter `key` (see the module docstring)."""
    parts = tuple(key.split("."))
    return any(_match(p, parts) for p in (rule_reads() if reads is None else reads))


def parameter_keys() -> list[str]:
    """Every parameter the schema can hold, tables expanded over their key enumerations."""
    return [key for key, _spec in places(Policy, skip=HEADER_FIELDS)]


def unread(keys: Iterable[str], reads: Iterable[Path_] | None = None) -> list[str]:
    """The keys no rule reads, in the given order."""
    patterns = list(rule_reads() if reads is None else reads)
    return [k for k in keys if not is_read(k, patterns)]
