"""`fangkong policy list | show ID | diff A B | in-force DATE | audit LOCAL`.

A policy is named by its id (looked up in the policies directory, see `fangkong.policy.loader`)
or by the path of a .yaml file, so that a draft can be checked before it is released. Errors are
raised as FangkongErrors; the main app maps them to exit code 2.
"""

from __future__ import annotations

import json
from datetime import date
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from fangkong.cli.common import print_rows
from fangkong.errors import InputError
from fangkong.policy import (
    Change,
    Parameter,
    Policy,
    Unit,
    diff,
    list_policies,
    load_policy,
    load_policy_file,
    policy_in_force,
)
from fangkong.policy.audit import national_of, national_reference, stricter_than
from fangkong.policy.usage import unread

__all__ = ["app"]

app = typer.Typer(
    help="Policies as data: list them, show every parameter with its source, diff two.",
    no_args_is_help=True,
)


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


FormatOption = Annotated[Format, typer.Option("--format", "-f", help="table or json")]
DirOption = Annotated[
    Path | None,
    typer.Option("--dir", help="Policies directory (default: FANGKONG_POLICIES or policies/)."),
]


def _console() -> Console:
    return Console(highlight=False)


def _load(ref: str, directory: Path | None) -> Policy:
    """A policy by id, or by the path of a .yaml file."""
    if ref.endswith((".yaml", ".yml")) or "/" in ref:
        return load_policy_file(ref)
    return load_policy(ref, directory=directory)


def _plain(value: Any) -> Any:
    """A value as JSON has it: enums by name, tuples as lists, dates in ISO form."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _text(value: Any) -> str:
    plain = _plain(value)
    if plain is None:
        return "—"
    if isinstance(plain, list):
        return "[" + ", ".join(str(v) for v in plain) + "]"
    if isinstance(plain, bool):
        return "yes" if plain else "no"
    if isinstance(plain, float) and plain.is_integer():
        return str(int(plain))
    return str(plain)


def _header(policy: Policy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "jurisdiction": policy.jurisdiction,
        "in_force_from": policy.in_force_from.isoformat(),
        "in_force_until": policy.in_force_until.isoformat() if policy.in_force_until else None,
        "status": policy.status.value,
        "title": policy.title,
        "title_zh": policy.title_zh,
        "lineage": list(policy.lineage),
        "path": policy.path,
    }


def _parameter_json(p: Parameter, read: bool) -> dict[str, Any]:
    return {
        "value": _plain(p.value),
        "unit": p.unit.value,
        "source": p.source,
        "citation": p.citation,
        "verified": p.verified,
        "read_by_rules": read,
        "note": p.note,
    }


@app.command("list")
def list_command(directory: DirOption = None, fmt: FormatOption = Format.TABLE) -> None:
    """Every policy with its dates in force, status and title. A regime is in force until the
    next one's date, or until its declared end ('until'); no regime is in force after that."""
    policies = list_policies(directory=directory)
    if fmt is Format.JSON:
        typer.echo(json.dumps([_header(p) for p in policies], ensure_ascii=False, indent=2))
        return
    rows = [
        (
            p.id,
            p.in_force_from.isoformat(),
            p.in_force_until.isoformat() if p.in_force_until else "",
            p.status.value,
            p.extends or "",
            p.title,
        )
        for p in policies
    ]
    columns = ("id", "in force from", "until", "status", "extends", "title")
    print_rows(columns, rows, title="Policies", out=_console())


@app.command("show")
def show_command(
    ref: Annotated[str, typer.Argument(help="Policy id (e.g. cn-2022-06-28) or a .yaml file")],
    directory: DirOption = None,
    fmt: FormatOption = Format.TABLE,
    prefix: Annotated[
        str, typer.Option("--key", "-k", help="Only keys starting with this (e.g. quarantine)")
    ] = "",
    unverified: Annotated[
        bool, typer.Option("--unverified", help="Only parameters marked verified: false")
    ] = False,
    unread_only: Annotated[
        bool, typer.Option("--unread", help="Only parameters that no rule of the engine reads")
    ] = False,
) -> None:
    """Every parameter of a policy with its value, unit, source and verified flag, and whether a
    rule reads it ('read': a static scan of the code, `fangkong.policy.usage` says what counts).
    A documented absence (a section the policy does not have) is never read: it has no value."""
    policy = _load(ref, directory)
    everything = policy.parameters()
    unread_keys = set(unread(k for k, p in everything.items() if p.unit is not Unit.SECTION))
    params = [
        p
        for p in everything.values()
        if p.key.startswith(prefix)
        and not (unverified and p.verified)
        and not (unread_only and p.key not in unread_keys)
    ]
    if prefix and not params:
        raise InputError(f"policy {policy.id} has no parameter starting with {prefix!r}")
    if fmt is Format.JSON:
        out = {
            **_header(policy),
            "parameters": {p.key: _parameter_json(p, p.key not in unread_keys) for p in params},
        }
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    console = _console()
    console.print(f"[bold]{escape(policy.id)}[/] — {escape(policy.title)}")
    lineage = " ← ".join(policy.lineage)
    console.print(
        Text(
            f"jurisdiction {policy.jurisdiction}, in force from "
            f"{policy.in_force_from.isoformat()}, {policy.status.value}; lineage {lineage}"
        )
    )
    rows = []
    for p in params:
        source = Text(p.citation)
        if p.note:
            source.append("\n" + p.note, style="italic")
        mark = Text("yes") if p.verified else Text("NO", style="yellow")
        if p.unit is Unit.SECTION:
            read = Text("—")
        else:
            read = Text("UNREAD", style="magenta") if p.key in unread_keys else Text("yes")
        rows.append((p.key, _text(p.value), p.unit.value, mark, read, source))
    columns = [(c, {"overflow": "fold"}) for c in ("key", "value", "unit", "verified", "read")]
    print_rows([*columns, ("source", {"overflow": "fold"})], rows, heading=3, out=console)
    console.print(
        f"{len(everything)} parameters, {len(policy.unverified())} not verified, "
        f"{len(unread_keys)} read by no rule (UNREAD)"
    )


@app.command("diff")
def diff_command(
    a: Annotated[str, typer.Argument(help="First policy (id or .yaml file)")],
    b: Annotated[str, typer.Argument(help="Second policy (id or .yaml file)")],
    directory: DirOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Every parameter whose value differs from A to B."""
    first, second = _load(a, directory), _load(b, directory)
    changes: list[Change] = diff(first, second)
    if fmt is Format.JSON:
        rows = [
            {
                "key": c.key,
                "kind": c.kind.value,
                first.id: _plain(c.old),
                second.id: _plain(c.new),
                "unit": c.unit.value,
            }
            for c in changes
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    console = _console()
    if not changes:
        console.print(f"{first.id} and {second.id}: no parameter differs")
        return
    print_rows(
        [(c, {"overflow": "fold"}) for c in ("key", "change", first.id, second.id, "unit")],
        [(c.key, c.kind.value, _text(c.old), _text(c.new), c.unit.value) for c in changes],
        title=f"{first.id} → {second.id}",
        heading=2,
        out=console,
    )
    console.print(f"{len(changes)} parameters differ")


@app.command("in-force")
def in_force_command(
    on: Annotated[str, typer.Argument(help="A date, YYYY-MM-DD")],
    jurisdiction: Annotated[str, typer.Option(help="Jurisdiction")] = "cn",
    directory: DirOption = None,
) -> None:
    """The id of the policy in force on a date."""
    try:
        day = date.fromisoformat(on)
    except ValueError:
        raise InputError(f"not a date: {on!r} (write YYYY-MM-DD)") from None
    policy = policy_in_force(day, jurisdiction, directory=directory)
    typer.echo(policy.id)


@app.command("audit")
def audit_command(
    local: Annotated[str, typer.Argument(help="The local rule set (id or .yaml file)")],
    directory: DirOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Every measure of a local rule set stricter than the national regime in force on its date
    (层层加码), with both values and the national source."""
    policy = _load(local, directory)
    national = national_of(policy, directory=directory)
    rows = []
    for c in stricter_than(policy, national):
        key, source = national_reference(national, c.key)
        rows.append(
            {
                "key": c.key,
                "kind": c.kind.value,
                "national": _plain(c.old),
                "local": _plain(c.new),
                "unit": c.unit.value,
                "national_key": key,
                "national_source": source,
            }
        )
    if fmt is Format.JSON:
        document = {"local": policy.id, "national": national.id, "stricter": rows}
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    console = _console()
    if not rows:
        console.print(f"{policy.id}: nothing stricter than {national.id}")
        return
    columns = ("measure", national.id, policy.id, "unit", "national source")
    print_rows(
        [(c, {"overflow": "fold"}) for c in columns],
        [
            (r["key"], _text(r["national"]), _text(r["local"]), r["unit"], r["national_source"])
            for r in rows
        ],
        title=f"{policy.id}: stricter than {national.id} (层层加码)",
        out=console,
    )
    console.print(f"{len(rows)} measures stricter than the national regime")
