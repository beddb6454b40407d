"""The facts a step's rule reads, as frames (issue 6, item 5: each step a loader, store →
frames, and a rule, frames → orders and rows).

A step's facts are a frozen dataclass of frames, one per kind, each with its schema
(`SCHEMAS`). The step's loader reads them from a store; a caller that holds its own frames (a
simulator, a test) builds them with `of`, which checks each frame has its columns (but those
of `OPTIONAL`, null where left out: a checkout, a carriage, a Ct value), casts them to their
types (a time without a zone is Beijing time, as in imported files: `frames.cast_to`) and
leaves every kind it is not given empty. The rule then reads no store.
"""

from __future__ import annotations

from typing import ClassVar, Self

import polars as pl

from fangkong.engine.frames import cast_to, with_optional

__all__ = ["Facts"]


class Facts:
    """The base of a step's facts (a frozen dataclass whose fields are the kinds of `SCHEMAS`)."""

    SCHEMAS: ClassVar[dict[str, dict[str, pl.DataType]]]
    # per kind, the columns a caller may leave out: facts that may be unknown (a null in the
    # store's column of the same name), null where left out
    OPTIONAL: ClassVar[dict[str, frozenset[str]]] = {}

    @classmethod
    def of(cls, **frames: pl.DataFrame) -> Self:
        """Facts from a caller's own frames: each cast to its schema's columns; a kind left out
        is empty. TypeError names a kind the step has not, or a frame's missing columns (but the
        optional ones)."""
        unknown = set(frames) - set(cls.SCHEMAS)
        if unknown:
            raise TypeError(f"no such kind of fact: {', '.join(sorted(unknown))}")
        for name, frame in frames.items():
            optional = cls.OPTIONAL.get(name, frozenset())
            frames[name], missing = with_optional(frame, cls.SCHEMAS[name], optional)
            if missing:
                raise TypeError(f"the {name} have no column {', '.join(missing)}")
        return cls(
            **{
                name: cast_to(frames[name], schema)
                if name in frames
                else pl.DataFrame(schema=schema)
                for name, schema in cls.SCHEMAS.items()
            }
        )

    def relations(self) -> dict[str, pl.DataFrame]:
        """Each kind's frame under its name: the relations a rule's SQL reads over frames."""
        return {kind: getattr(self, kind) for kind in self.SCHEMAS}
