"""Which policy parameters the rules read: a static scan (Python `ast`) of the code that applies
policies, so that `fangkong policy show` can mark a parameter that no rule reads.

**Scanned**: every module of the `fangkong` package except `fangkong.policy` and
`fangkong.cli.policy`, which define, validate, list, show and compare policies and so touch every
parameter generically, and `fangkong.engine.zones_audit`, which compares a local rule set's
areas with the national rules and cites each national parameter it finds broken. The bodies
of the schema models' methods and properties (`fangkong.policy.schema`) are read too, to follow
a call such as `policy.regime(...)`.

**What "read" means.** A parameter (a dotted key, e.g. `quarantine.close_contact.home_days`) is
read when a function of the scanned modules fetches it from a policy, as the scan resolves it:

- *A section* is a value the scan knows to be a part of a policy: a parameter or name annotated
  with a schema model (`policy: Policy`, `breaker: CircuitBreaker`: every place of that model in
  the schema), a name assigned from a section expression (`t = policy.testing`), the target of a
  `for` over a table's `.values()` or `.items()`, the call of a scanned function whose return
  annotation is a schema model, or a field annotated with a schema model of an instance of a
  scanned class (a dataclass or NamedTuple carrying the policy: `ctx.policy.testing`, where
  `ctx: Context` or `self` in a method of `Context`); constructing such an instance keeps the
  sections passed to those fields, it does not read them.
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
  not annotated with its model, `model_dump()` — reads every parameter under it. Where the scan
  knows a value is a section, it errs on the side of "read".
- Not a read: testing a section for None or truth (`if policy.contacts is None`), a key's
  presence in a table (`Population.X in policy.quarantine`), a header field (`policy.id`).

A section also comes from a call of a function of the policy package annotated to return one
(`policy_in_force(day)`, `load_policy(id)`).

What it cannot see: whether the value read changes an order for some input (a parameter read
only to be logged counts as read); code that builds attribute names other than through
`getattr`; a policy held by a name it cannot type (an unannotated lambda parameter, an element
taken out of a list): reads through such a name are missed. The package is checked by mypy
--strict, so every function's parameters are annotated. It is a map of the code, not a proof of
behaviour; `tests/policy/test_policy_usage.py` lists the parameters unread today, so that a
change either way is visible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

import fangkong
from fangkong.policy._scan import _Scan
from fangkong.policy._scan_values import _ALL, _ANY, Path_
from fangkong.policy.parameter import places
from fangkong.policy.schema import HEADER_FIELDS, Policy

__all__ = ["is_read", "parameter_keys", "reads_in", "rule_reads", "scanned_modules", "unread"]

# these packages and modules; the areas' audit compares a local rule set with the national one
# key by key (each finding cites its national parameter), as `policy audit` does
_SKIPPED = ("fangkong.policy", "fangkong.cli.policy", "fangkong.engine.zones_audit")


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
