"""Comparing policies: `diff` lists every parameter whose value differs; `stricter_than` lists the
measures of a local rule set that are stricter than the national ones (纠正层层加码: the November
2022 twenty measures asked for exactly this list).

Each parameter type declares in which direction a value is stricter (`parameter.Stricter`):
longer quarantine, more test days, a wider exposure window, more risk levels, a shorter test
validity, a stricter kind of quarantine... A parameter the local set adds counts as stricter
(a test requirement where there was none), one it drops as laxer, except where the schema says
the absence is the strict state (no dilution pooling allowed, no cap on tests a day).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fangkong.policy.loader import policy_in_force
from fangkong.policy.parameter import Spec, Stricter, Unit, walk
from fangkong.policy.schema import HEADER_FIELDS, Policy
from fangkong.policy.terms import STRICTNESS

__all__ = ["Change", "ChangeKind", "diff", "national_of", "national_reference", "stricter_than"]


class ChangeKind(StrEnum):
    ADDED = "added"  # only the second policy has the parameter
    REMOVED = "removed"  # only the first policy has it
    CHANGED = "changed"  # both have it, with different values


@dataclass(frozen=True, slots=True)
class Change:
    """One parameter that differs. `old` is the first policy's value (None if absent), `new` the
    second's; for `stricter_than`, old is the national value and new the local one."""

    key: str
    kind: ChangeKind
    old: Any
    new: Any
    unit: Unit


def _flatten(policy: Policy) -> dict[str, tuple[Any, Spec]]:
    return {
        key: (value, spec)
        for key, value, spec in walk(policy, skip=HEADER_FIELDS)
        if value is not None
    }


def _union_order(first: list[str], second: list[str]) -> list[str]:
    """The keys of both, in the first's order, with the second's own keys where it has them."""
    in_first = set(first)
    out: list[str] = []
    pending = iter(first)
    for key in second:
        if key not in in_first:
            out.append(key)
            continue
        for earlier in pending:  # the first's keys up to this one
            out.append(earlier)
            if earlier == key:
                break
    out.extend(pending)
    return out


def diff(a: Policy, b: Policy) -> list[Change]:
    """Every parameter whose value differs between `a` and `b`, by dotted key."""
    fa, fb = _flatten(a), _flatten(b)
    changes = []
    for key in _union_order(list(fa), list(fb)):
        if key not in fb:
            value, spec = fa[key]
            changes.append(Change(key, ChangeKind.REMOVED, value, None, spec.unit))
        elif key not in fa:
            value, spec = fb[key]
            changes.append(Change(key, ChangeKind.ADDED, None, value, spec.unit))
        elif fa[key][0] != fb[key][0]:
            changes.append(Change(key, ChangeKind.CHANGED, fa[key][0], fb[key][0], fb[key][1].unit))
    return changes


def _rank(value: StrEnum) -> int:
    return STRICTNESS[type(value)].index(value)


def _stricter(spec: Spec, national: Any, local: Any) -> bool:
    match spec.stricter:
        case Stricter.HIGHER:
            return bool(local > national)
        case Stricter.LOWER:
            return bool(local < national)
        case Stricter.TRUE:
            return bool(local) and not bool(national)
        case Stricter.MORE:
            return len(local) > len(national)
        case Stricter.RANK:
            return _rank(local) > _rank(national)
        case _:
            return False


def _added_is_stricter(spec: Spec, local: Any) -> bool:
    """Whether having a parameter the national set lacks is stricter than not having it."""
    if spec.absent_is_stricter:
        return False
    match spec.stricter:
        case Stricter.HIGHER:
            return bool(local > 0)
        case Stricter.TRUE:
            return bool(local)
        case Stricter.MORE:
            return len(local) > 0
        case Stricter.LOWER:
            return True
        case Stricter.RANK:
            return _rank(local) > 0  # anything but the laxest member
        case _:
            return False


def stricter_than(local: Policy, national: Policy) -> list[Change]:
    """The measures of `local` that are stricter than those of `national` (层层加码)."""
    specs = {key: spec for key, (_value, spec) in _flatten(local).items()}
    specs.update({k: s for k, (_v, s) in _flatten(national).items() if k not in specs})
    found = []
    for change in diff(national, local):
        spec = specs[change.key]
        if change.kind is ChangeKind.CHANGED:
            stricter = _stricter(spec, change.old, change.new)
        elif change.kind is ChangeKind.ADDED:
            stricter = _added_is_stricter(spec, change.new)
        else:
            stricter = spec.absent_is_stricter
        if stricter:
            found.append(change)
    return found


def national_of(local: Policy, *, directory: Any = None) -> Policy:
    """The national regime in force on a local rule set's date: the released policy of the
    country its jurisdiction belongs to (`cn` for `cn-31`)."""
    return policy_in_force(
        local.in_force_from, local.jurisdiction.split("-")[0], directory=directory
    )


def national_reference(national: Policy, key: str) -> tuple[str, str]:
    """The national parameter a finding on `key` is measured against, and its source written
    out: `key` itself where the national regime has it, else the nearest parameter of the same
    section (a local rule the regime does not have: its section's rule is what it adds to)."""
    params = national.parameters()
    if key in params:
        return key, params[key].citation
    parts = key.split(".")
    for n in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:n]) + "."
        near = next((k for k in params if k.startswith(prefix)), None)
        if near is not None:
            return near, params[near].citation
    return key, f"{national.id} has no such rule"
