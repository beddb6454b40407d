"""Agent ids and the small types of the synthetic city's arrays.

An agent id is the agent's position in every per-agent array (`int32`: a city holds at most 2**31
people); it is a type of its own (`AgentId`, arrays `AgentIds`) so that a position in some other
array (a visit, a household) is never taken for one. Exported frames carry it as `person_id`.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag
from typing import NewType, TypeAlias

import numpy as np
import numpy.typing as npt

from fangkong.model.glossary import VenueCategory

__all__ = [
    "AGENT_DTYPE",
    "DAY_DTYPE",
    "NEVER",
    "AgentId",
    "AgentIds",
    "Days",
    "KeyGroup",
    "Layer",
    "VenueKind",
]

AgentId = NewType("AgentId", int)
AGENT_DTYPE = np.int32
AgentIds: TypeAlias = npt.NDArray[np.int32]

DAY_DTYPE = np.int16
"""A simulated day is an integer index (day 0 is the first simulated day)."""
Days: TypeAlias = npt.NDArray[np.int16]
NEVER = -1
"""The day of an event that does not happen (or has not happened yet)."""


class KeyGroup(IntFlag):
    """重点人群: the key groups, as bits of `Persons.groups`."""

    ELDERLY = 1  # 老年人 (60 and over)
    CHILD = 2  # 儿童 (under 14)
    PREGNANT = 4  # 孕产妇
    STUDENT = 8  # 学生
    MEDICAL_WORKER = 16  # 医务人员
    INSTITUTION_RESIDENT = 32  # 特殊单位 (养老机构, 儿童福利院, 监狱, 精神卫生医疗机构) residents


class VenueKind(IntEnum):
    """Venue categories as small integers, in the order of `fangkong.model.glossary.VenueCategory`
    (the first three are the public venues people check in to)."""

    ESSENTIAL = 0
    OPEN_AIR = 1
    ENCLOSED_ENTERTAINMENT = 2
    ELDERLY_CARE = 3
    CHILD_WELFARE = 4
    PRISON = 5
    MENTAL_HEALTH = 6

    @property
    def category(self) -> VenueCategory:
        return list(VenueCategory)[int(self)]


PUBLIC_VENUE_KINDS = (VenueKind.ESSENTIAL, VenueKind.OPEN_AIR, VenueKind.ENCLOSED_ENTERTAINMENT)


class Layer(IntEnum):
    """Where an infection happened."""

    SEED = 0  # seeded (imported) infection
    HOUSEHOLD = 1
    SCHOOL = 2
    WORK = 3
    INSTITUTION = 4
    VENUE = 5
