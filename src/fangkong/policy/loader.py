"""Loading policies: by id from the policies directory, the one in force on a date, overlays.

Where the files are. Policy files live in the repository's top-level `policies/` directory, one
copy only. The loader looks, in order, at
  1. the directory named by the environment variable FANGKONG_POLICIES;
  2. `policies/` of the source checkout this package runs from (src/fangkong/policy/ → ../../..),
     recognised by the pyproject.toml beside it (this covers `pip install -e .`);
  3. `<prefix>/share/fangkong/policies`, where a wheel installs them as data files (pyproject:
     [tool.setuptools.data-files] "share/fangkong/policies" = ["policies/*.yaml"]).

Overlays. A file with `extends: <id>` is merged onto the policy it names (from the same
directory, else from the policies directory), then validated as a whole. Sections merge key by
key; a parameter, a list or any other value replaces the base's; `null` removes the base's
entry (e.g. `circuit_breaker: null`). The header is the overlay's own, except that jurisdiction
and date in force are inherited when left out (a declared end, `in_force_until`, never is).
`Policy.lineage` records the overlay's id and every id below it.

Sources. The citations of a file's `sources` table are checked against the research notes in
`sources/` beside it (or the default directory's): see `fangkong.policy.citation`.

In force on a date. `policy_in_force` never falls back: a date before the first regime or after
a declared end with no successor is a NoPolicyInForceError.

Loaded files are cached by path, size and modification time, so a day-by-day simulation can ask
for the policy in force every day.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fangkong.errors import NoPolicyInForceError, NotFoundError, PolicyFileError
from fangkong.policy._document import line_of, read_document, split_parameters
from fangkong.policy.citation import citation_problems, sources_dir_for
from fangkong.policy.consistency import problems
from fangkong.policy.parameter import ParamMeta
from fangkong.policy.schema import HEADER_FIELDS, Policy
from fangkong.policy.terms import PolicyStatus

__all__ = [
    "ENV_VAR",
    "list_policies",
    "load_policy",
    "load_policy_file",
    "policies_dir",
    "policy_in_force",
]

ENV_VAR = "FANGKONG_POLICIES"
_SUFFIX = ".yaml"
_NOT_INHERITED = frozenset(
    {"id", "title", "title_zh", "summary", "extends", "status", "in_force_until"}
)


def policies_dir() -> Path:
    """The default policies directory (see the module docstring)."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        path = Path(configured)
        if not path.is_dir():
            raise NotFoundError(f"{ENV_VAR}={configured}: no such directory")
        return path
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file() and (checkout / "policies").is_dir():
        return checkout / "policies"
    for prefix in (sysconfig.get_path("data"), sys.prefix):
        installed = Path(prefix) / "share" / "fangkong" / "policies"
        if installed.is_dir():
            return installed
    raise NotFoundError(f"no policies directory found: set {ENV_VAR} to one")


@dataclass(frozen=True, slots=True)
class _Loaded:
    policy: Policy
    raw: dict[str, Any]  # the merged file content, before validation
    stamps: tuple[tuple[Path, int, int], ...]  # (file, mtime_ns, size) of the file and its bases


_cache: dict[Path, _Loaded] = {}


def _stamp(path: Path) -> tuple[Path, int, int]:
    st = path.stat()
    return (path, st.st_mtime_ns, st.st_size)


def _fresh(loaded: _Loaded) -> bool:
    try:
        return all(_stamp(p) == (p, m, s) for p, m, s in loaded.stamps)
    except OSError:
        return False


def load_policy_file(path: Path | str) -> Policy:
    """Load and validate one policy file (and the files it extends)."""
    return _load(Path(path).resolve(), ()).policy


def load_policy(policy_id: str, *, directory: Path | str | None = None) -> Policy:
    """Load a policy by id (its file name without .yaml) from the policies directory."""
    folder = Path(directory) if directory is not None else policies_dir()
    path = folder / f"{policy_id}{_SUFFIX}"
    if "/" in policy_id or "\\" in policy_id or not path.is_file():
        raise NotFoundError(f"no policy {policy_id!r} in {folder}")
    return load_policy_file(path)


def list_policies(*, directory: Path | str | None = None) -> list[Policy]:
    """Every policy of the directory, validated, by jurisdiction, date in force and id. A
    released policy whose declared end (`in_force_until`) is not before the date in force of the
    next released policy of its jurisdiction is an error: the two would overlap."""
    folder = Path(directory) if directory is not None else policies_dir()
    loaded = [load_policy_file(p) for p in sorted(folder.glob(f"*{_SUFFIX}"))]
    ordered = sorted(loaded, key=lambda p: (p.jurisdiction, p.in_force_from, p.id))
    released = [p for p in ordered if p.status is PolicyStatus.RELEASED]
    for this, after in pairwise(released):
        until = this.in_force_until
        if this.jurisdiction == after.jurisdiction and until and until >= after.in_force_from:
            raise PolicyFileError(
                this.path,
                f"in force until {until.isoformat()}, but {after.id} is in force from "
                f"{after.in_force_from.isoformat()}: a regime must end before its successor "
                "starts",
                key="in_force_until",
            )
    return ordered


def policy_in_force(
    on: date, jurisdiction: str = "cn", *, directory: Path | str | None = None
) -> Policy:
    """The released policy of a jurisdiction whose date in force is the latest on or before `on`.

    NoPolicyInForceError when no encoded regime is in force on `on`: before the first one, or
    after the declared end (`in_force_until`) of the latest one. Never a fallback to another
    regime."""
    if isinstance(on, datetime):
        raise TypeError("give a calendar date: convert a timestamp to its local date first")
    released = [
        p
        for p in list_policies(directory=directory)
        if p.jurisdiction == jurisdiction and p.status is PolicyStatus.RELEASED
    ]
    if not released:
        raise NotFoundError(f"no released policy for jurisdiction {jurisdiction!r}")
    candidates = [p for p in released if p.in_force_from <= on]
    if not candidates:
        first = min(released, key=lambda p: (p.in_force_from, p.id))
        raise NoPolicyInForceError(
            jurisdiction,
            on,
            f"no {jurisdiction} regime is encoded for {on.isoformat()}: the first is in force "
            f"from {first.in_force_from.isoformat()} ({first.id})",
        )
    found = max(candidates, key=lambda p: (p.in_force_from, p.id))
    if found.in_force_until is not None and on > found.in_force_until:
        raise NoPolicyInForceError(
            jurisdiction,
            on,
            f"no {jurisdiction} regime is encoded for {on.isoformat()}: {found.id} ended on "
            f"{found.in_force_until.isoformat()} and no later regime is encoded",
        )
    return found


def _base_path(path: Path, extends: str) -> Path:
    """The file an overlay at `path` extends: beside it, else the policies directory's (a local
    overlay kept in a folder of its own extends the national regime where that is kept)."""
    beside = (path.parent / f"{extends}{_SUFFIX}").resolve()
    if beside.is_file():
        return beside
    try:
        library = (policies_dir() / f"{extends}{_SUFFIX}").resolve()
    except NotFoundError:  # no policies directory: the error names the overlay's own folder
        return beside
    return library if library.is_file() else beside


def _load(path: Path, chain: tuple[Path, ...]) -> _Loaded:
    cached = _cache.get(path)
    if cached is not None and _fresh(cached):
        return cached
    document = read_document(path)
    data = document.data
    name = str(path)
    base: _Loaded | None = None
    extends = data.get("extends")
    if extends is not None:
        if not isinstance(extends, str) or not extends:
            raise PolicyFileError(name, "must be the id of another policy", key="extends")
        base_path = _base_path(path, extends)
        if base_path == path or base_path in chain:
            raise PolicyFileError(name, f"{extends!r} extends this file back", key="extends")
        if "/" in extends or not base_path.is_file():
            raise PolicyFileError(
                name, f"no policy {extends!r} to extend in {path.parent}", key="extends"
            )
        base = _load(base_path, (*chain, path))
        data = _merge_file(base.raw, data)
    policy, meta = _build(name, data, document.lines, _sources_dir(path))
    if base is not None:
        _check_successor(name, policy, base.policy, document.lines)
        lineage = (policy.id, *base.policy.lineage)
        stamps = (_stamp(path), *base.stamps)
    else:
        lineage = (policy.id,)
        stamps = (_stamp(path),)
    if policy.id != path.stem:
        raise PolicyFileError(
            name, f"the file is named {path.name} but its id is {policy.id!r}", key="id"
        )
    policy._attach(meta, lineage, name)
    loaded = _Loaded(policy=policy, raw=data, stamps=stamps)
    _cache[path] = loaded
    return loaded


def _sources_dir(path: Path) -> Path | None:
    try:
        default: Path | None = policies_dir()
    except NotFoundError:
        default = None
    return sources_dir_for(path, default)


def _build(
    name: str, data: Mapping[str, Any], lines: Mapping[str, int], sources: Path | None
) -> tuple[Policy, dict[str, ParamMeta]]:
    """Validate a (merged) file: the values, each parameter's metadata, then the consistency."""
    header = {k: v for k, v in data.items() if k in HEADER_FIELDS}
    body = {k: v for k, v in data.items() if k not in HEADER_FIELDS}
    values, raw_meta = split_parameters(body, name)
    try:
        policy = Policy.model_validate({**header, **values})
    except ValidationError as exc:
        raise _file_error(name, exc, lines) from None
    meta: dict[str, ParamMeta] = {}
    for key, fields in raw_meta.items():
        try:
            meta[key] = ParamMeta.model_validate(fields)
        except ValidationError as exc:
            raise _file_error(name, exc, lines, prefix=f"{key}.") from None
    found = [*problems(policy, meta), *citation_problems(policy.sources, sources)]
    if found:
        raise _error(name, found, lines)
    return policy, meta


def _merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, item in overlay.items():
        below = out.get(key)
        if item is None:
            out.pop(key, None)
        elif isinstance(item, dict) and isinstance(below, dict) and _is_section(item):
            out[key] = _merge(below, item) if _is_section(below) else item
        else:
            out[key] = item
    return out


def _is_section(item: Mapping[str, Any]) -> bool:
    return "value" not in item


def _merge_file(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    inherited = {k: v for k, v in base.items() if k not in _NOT_INHERITED}
    return _merge(inherited, overlay)


def _check_successor(name: str, policy: Policy, base: Policy, lines: Mapping[str, int]) -> None:
    if policy.status is PolicyStatus.RELEASED and policy.in_force_from < base.in_force_from:
        raise _error(
            name,
            [
                (
                    "in_force_from",
                    f"{policy.in_force_from.isoformat()} is before the date in force of "
                    f"{base.id} ({base.in_force_from.isoformat()}), which it extends",
                )
            ],
            lines,
        )


def _dotted(prefix: str, loc: Iterable[int | str]) -> tuple[str, bool]:
    key, as_key = prefix.rstrip("."), False
    for part in loc:
        if part == "[key]":
            as_key = True
        elif isinstance(part, int):
            key += f"[{part}]"
        else:
            key = f"{key}.{part}" if key else str(part)
    return key, as_key


def _describe(error: Mapping[str, Any], as_key: bool) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (not in the policy schema)"
    if kind == "missing":
        return "missing (required)"
    text = str(error["msg"]).removeprefix("Value error, ")
    if kind.endswith("_type") or kind in ("enum", "literal_error", "string_pattern_mismatch"):
        text += f"; found {error['input']!r}"
    return f"as a key: {text}" if as_key else text


def _file_error(
    name: str, exc: ValidationError, lines: Mapping[str, int], *, prefix: str = ""
) -> PolicyFileError:
    found = []
    for error in exc.errors(include_url=False):
        key, as_key = _dotted(prefix, error["loc"])
        found.append((key, _describe(error, as_key)))
    return _error(name, found, lines)


def _error(name: str, found: list[tuple[str, str]], lines: Mapping[str, int]) -> PolicyFileError:
    key, message = found[0]
    line = line_of(lines, key)
    if line is not None:
        message += f" (line {line})"
    if len(found) > 1:
        message += f"; and {len(found) - 1} more: " + "; ".join(f"{k}: {m}" for k, m in found[1:])
    return PolicyFileError(name, message, key=key or None)
