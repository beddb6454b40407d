"""Parameters: the leaves of a policy. In a file each one is written

    centralized_days: {value: 7, unit: days, source: ninth-quarantine, verified: true, note: ...}

and in code it is a plain value (`policy.quarantine[...].centralized_days == 7`): the loader splits
the file into a tree of values, validated by the models of `schema.py`, and the metadata of each
parameter (`ParamMeta`), kept beside the policy under its dotted key.

A model field is a parameter when its type carries a `Spec`: the unit the file must state and the
direction in which a value is stricter (for the 层层加码 audit). The aliases below (`Days`, `Ct`,
`TestDays`, ...) are the parameter types the schema is written in.
"""

from __future__ import annotations

import types
import typing
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum, StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictStr,
)
from pydantic.fields import FieldInfo

__all__ = [
    "SECTION",
    "AtLeastOne",
    "Count",
    "Ct",
    "DayNumber",
    "Days",
    "Flag",
    "Hours",
    "Jurisdiction",
    "LowerCount",
    "Minutes",
    "ParamMeta",
    "Percent",
    "PolicyDate",
    "PolicyId",
    "Rows",
    "ShorterHours",
    "Source",
    "Spec",
    "Stricter",
    "TestDays",
    "Text",
    "Timezone",
    "Unit",
    "categories",
    "category",
    "distinct",
    "non_empty",
    "places",
    "walk",
]


class Unit(StrEnum):
    """The unit a file states for each parameter; it must match the schema's."""

    DAYS = "days"
    HOURS = "hours"
    MINUTES = "minutes"
    COUNT = "count"
    ROWS = "rows"  # seat rows
    CT = "ct"  # cycle threshold of a PCR test
    PERCENT = "percent"
    DAY_OF_PHASE = "day_of_phase"  # 1-based day numbers within a phase (test days)
    FLAG = "flag"  # yes / no
    SECTION = "section"  # a whole section or table entry: only as a documented absence (null)
    CATEGORY = "category"  # one or more named values of a `terms` enumeration
    TIMEZONE = "timezone"  # an IANA time zone name


class Stricter(StrEnum):
    """In which direction a parameter's value is the stricter one."""

    HIGHER = "higher"  # a larger number
    LOWER = "lower"  # a smaller number
    TRUE = "true"  # yes rather than no
    MORE = "more"  # a longer list (more test days, more levels, more reasons)
    RANK = "rank"  # later in the enumeration's `terms.STRICTNESS` order
    NEITHER = "neither"  # not comparable


@dataclass(frozen=True, slots=True)
class Spec:
    """Marks a model field as a parameter. `absent_is_stricter`: for an optional parameter, whether
    its absence is the stricter state (e.g. no dilution pooling allowed at all)."""

    unit: Unit
    stricter: Stricter
    absent_is_stricter: bool = False


def _sorted_days(days: tuple[int, ...]) -> tuple[int, ...]:
    if any(d < 1 for d in days):
        raise ValueError("day numbers start at 1 (day 1 is the first day of the phase)")
    if list(days) != sorted(set(days)):
        raise ValueError("day numbers must be increasing, each listed once")
    return days


def _timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
    return name


_Int = Annotated[int, Strict()]
_Num = Annotated[float, Strict()]  # accepts int or float, never bool or str

Days = Annotated[_Int, Field(ge=0, le=366), Spec(Unit.DAYS, Stricter.HIGHER)]
Hours = Annotated[_Int, Field(ge=0, le=24 * 366), Spec(Unit.HOURS, Stricter.HIGHER)]
Minutes = Annotated[_Int, Field(ge=0, le=24 * 60), Spec(Unit.MINUTES, Stricter.HIGHER)]
Count = Annotated[_Int, Field(ge=0), Spec(Unit.COUNT, Stricter.HIGHER)]
Rows = Annotated[_Int, Field(ge=0, le=100), Spec(Unit.ROWS, Stricter.HIGHER)]
Ct = Annotated[_Num, Field(ge=0, le=45), Spec(Unit.CT, Stricter.HIGHER)]
Percent = Annotated[_Num, Field(ge=0, le=100), Spec(Unit.PERCENT, Stricter.HIGHER)]
Flag = Annotated[StrictBool, Spec(Unit.FLAG, Stricter.TRUE)]
TestDays = Annotated[
    tuple[_Int, ...], AfterValidator(_sorted_days), Spec(Unit.DAY_OF_PHASE, Stricter.MORE)
]
Timezone = Annotated[StrictStr, AfterValidator(_timezone), Spec(Unit.TIMEZONE, Stricter.NEITHER)]


# Parameter types whose stricter direction differs from the plain ones'.
AtLeastOne = Annotated[_Int, Field(ge=1)]
ShorterHours = Annotated[Hours, Spec(Unit.HOURS, Stricter.LOWER)]  # a tighter deadline or validity
LowerCount = Annotated[Count, Spec(Unit.COUNT, Stricter.LOWER)]  # a lower threshold
DayNumber = Annotated[AtLeastOne, Spec(Unit.DAY_OF_PHASE, Stricter.NEITHER)]


def distinct(items: tuple[Any, ...]) -> tuple[Any, ...]:
    """AfterValidator: no item listed twice."""
    if len(set(items)) != len(items):
        raise ValueError("each item may be listed only once")
    return items


def non_empty(items: tuple[Any, ...]) -> tuple[Any, ...]:
    """AfterValidator: at least one item."""
    if not items:
        raise ValueError("at least one item is required")
    return items


def _plain_date(value: object) -> date:
    """YAML gives a date for `2022-06-28`; a quoted ISO string is accepted too. Nothing else (no
    datetime, no number)."""
    if type(value) is date:
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not a date: {value!r} (write YYYY-MM-DD)") from None
    else:
        raise ValueError(f"not a date: {value!r} (write YYYY-MM-DD)")
    if not 2000 <= parsed.year <= 2099:
        raise ValueError(f"impossible date {parsed.isoformat()}")
    return parsed


# Header types.
PolicyId = Annotated[StrictStr, Field(pattern=r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$", max_length=100)]
Jurisdiction = Annotated[StrictStr, Field(pattern=r"^[a-z]{2}(?:-[a-z0-9]+)*$")]
PolicyDate = Annotated[date, BeforeValidator(_plain_date)]
Text = Annotated[StrictStr, Field(min_length=1)]


def category(stricter: Stricter = Stricter.RANK) -> Spec:
    """The Spec of a parameter whose value is one member of an enumeration."""
    return Spec(Unit.CATEGORY, stricter)


def categories() -> Spec:
    """The Spec of a parameter whose value is a list of members of an enumeration."""
    return Spec(Unit.CATEGORY, Stricter.MORE)


class Source(BaseModel):
    """An entry of a policy file's `sources` table. `facts` is a section of
    `sources/policy-facts.md` (None: no section, e.g. an engineering choice); `original` names the
    original text and where it was read; `read_at` points into the files of `policies/sources/`
    (`sources/policy-notes.md § <section>`). The loader checks both against those files
    (`fangkong.policy.citation`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    facts: Text | None
    original: Text
    read_at: Text | None = None

    def citation(self) -> str:
        parts = [f"sources/policy-facts.md § {self.facts}"] if self.facts else []
        parts.append(self.original + (f" ({self.read_at})" if self.read_at else ""))
        return "; ".join(parts)


class ParamMeta(BaseModel):
    """What a file says about a parameter besides its value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: Unit
    source: Text
    verified: StrictBool
    note: Text | None = None


def _spec_in(annotation: Any) -> Spec | None:
    """The Spec carried by an annotation, looking inside Annotated and `X | None`."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        for extra in reversed(annotation.__metadata__):  # the outermost Spec wins
            if isinstance(extra, Spec):
                return extra
        return _spec_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _spec_in(arg)
            if found is not None:
                return found
    return None


def _field_spec(field: FieldInfo) -> Spec | None:
    for extra in reversed(field.metadata):  # the outermost Spec wins
        if isinstance(extra, Spec):
            return extra
    return _spec_in(field.annotation)


def _mapping_value_spec(annotation: Any) -> Spec | None:
    """For a `Mapping[K, V] | None` field: the Spec of V, if V is a parameter type."""
    mapping = _mapping_args(annotation)
    return _spec_in(mapping[1]) if mapping else None


def _bare(annotation: Any) -> Any:
    """The type inside `Annotated[...]` and `X | None`."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _bare(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _bare(args[0]) if len(args) == 1 else annotation
    return annotation


def _mapping_args(annotation: Any) -> tuple[Any, Any] | None:
    """(K, V) of a `Mapping[K, V]` annotation (inside Annotated and `| None`), else None."""
    bare = _bare(annotation)
    if typing.get_origin(bare) in (dict, Mapping):
        key, value = typing.get_args(bare)
        return key, value
    return None


def _model(annotation: Any) -> type[BaseModel] | None:
    bare = _bare(annotation)
    return bare if isinstance(bare, type) and issubclass(bare, BaseModel) else None


SECTION = Spec(Unit.SECTION, Stricter.NEITHER)


def walk(
    model: BaseModel, prefix: str = "", *, skip: frozenset[str] = frozenset()
) -> Iterator[tuple[str, Any, Spec]]:
    """Every parameter of a model tree as (dotted key, value, spec), in declaration order.
    Optional parameters that are absent come with value None. A section that is absent (a
    field of a model type that is None, or an enumeration member missing from a table of
    sections such as `quarantine`) comes as (key, None, SECTION): a file may document it as
    `{value: null, unit: section, source, verified}`; present table entries come first, in the
    file's order, then the absent ones in the enumeration's order."""
    for name, field in type(model).model_fields.items():
        if name in skip:
            continue
        key = f"{prefix}{name}"
        value = getattr(model, name)
        spec = _field_spec(field)
        if spec is not None:
            yield key, value, spec
        elif isinstance(value, BaseModel):
            yield from walk(value, key + ".")
        elif isinstance(value, Mapping):
            value_spec = _mapping_value_spec(field.annotation)
            for item_key, item in value.items():
                if value_spec is not None:
                    yield f"{key}.{item_key}", item, value_spec
                elif isinstance(item, BaseModel):
                    yield from walk(item, f"{key}.{item_key}.")
            yield from _absent_entries(key, value, field.annotation)
        elif value is None and (_model(field.annotation) or _mapping_args(field.annotation)):
            yield key, None, SECTION
        elif value is not None:  # pragma: no cover - a schema bug, not a file error
            raise TypeError(f"field {key} has no Spec: declare it with a parameter type")


def _absent_entries(
    key: str, value: Mapping[Any, Any], annotation: Any
) -> Iterator[tuple[str, Any, Spec]]:
    mapping = _mapping_args(annotation)
    if mapping is None or _model(mapping[1]) is None:
        return
    keys = mapping[0]
    if isinstance(keys, type) and issubclass(keys, Enum):
        for member in keys:
            if member not in value:
                yield f"{key}.{member.value}", None, SECTION


def places(
    model: type[BaseModel], prefix: str = "", *, skip: frozenset[str] = frozenset()
) -> Iterator[tuple[str, Spec]]:
    """Every parameter the schema can hold, as (dotted key, spec), in declaration order: the
    keys of a table are every member of its key enumeration. Absent sections are not listed."""
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        key = f"{prefix}{name}"
        spec = _field_spec(field)
        inner = _model(field.annotation)
        mapping = _mapping_args(field.annotation)
        if spec is not None:
            yield key, spec
        elif inner is not None:
            yield from places(inner, key + ".")
        elif mapping is not None:
            keys, item = mapping
            members = list(keys) if isinstance(keys, type) and issubclass(keys, Enum) else []
            item_spec, item_model = _spec_in(item), _model(item)
            for member in members:
                if item_spec is not None:
                    yield f"{key}.{member.value}", item_spec
                elif item_model is not None:
                    yield from places(item_model, f"{key}.{member.value}.")
