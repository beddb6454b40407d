"""The usage scan: one function body over abstract values (`fangkong.policy.usage`)."""

from __future__ import annotations

import ast
from enum import Enum
from typing import TYPE_CHECKING

from fangkong.policy._scan_values import (
    _ALL,
    _ANY,
    _NONE,
    _Class,
    _Entries,
    _Function,
    _Instance,
    _Key,
    _key_of,
    _Loader,
    _Method,
    _of_model,
    _Section,
    _Table,
    _Value,
    _Values,
)

if TYPE_CHECKING:
    from fangkong.policy._scan import _Scan


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
                cls = self.scan.resolve(self.module, node.name)
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        owner = _Instance(cls) if isinstance(cls, _Class) else None
                        self.function(item, owner)
                    else:
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

    def function(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, owner: _Instance | None = None
    ) -> None:
        """A function, its parameters holding what their annotations say; a method's first
        parameter holds an instance of its class."""
        env = {k: set(v) for k, v in self.env.items()}  # a closure sees the enclosing names
        arguments = node.args
        params = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        for arg in params:
            value = self.scan.annotated(self.module, arg.annotation)
            env[arg.arg] = {value} if value is not None else set()
        static = any(
            isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list
        )
        if owner is not None and params and not static:
            env[params[0].arg] = {owner}
        body = _Body(self.scan, self.module, env, follow_returns=False)
        body.returns_model = self.scan.annotated(self.module, node.returns) is not None
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
                if isinstance(found, _Function | _Class | _Loader):
                    return frozenset({found})
                return _NONE
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
                params = [*f_args.posonlyargs, *f_args.args][1 if callee.bound else 0 :]
                for i, param in enumerate(params[: len(args)]):
                    if scan.annotated(callee.module, param.annotation) is not None:
                        followed.add(i)
                for param in (*params, *f_args.kwonlyargs):
                    if scan.annotated(callee.module, param.annotation) is not None:
                        followed_names.add(param.arg)
                returned = scan.annotated(callee.module, callee.node.returns)
                if returned is not None:
                    out.add(returned)
            elif isinstance(callee, _Loader):
                out.add(_of_model(callee.model))
            elif isinstance(callee, _Class):  # a constructor: model fields are kept, not read
                fields = scan.fields(callee)
                for i, (_name, annotation) in enumerate(fields[: len(args)]):
                    if scan.annotated(callee.module, annotation) is not None:
                        followed.add(i)
                followed_names.update(
                    n for n, a in fields if scan.annotated(callee.module, a) is not None
                )
                out.add(_Instance(callee))
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
