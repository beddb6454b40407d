"""The contact kernels write into room of a fixed size per chunk and run again with more room
when a chunk overflows: the proposals must not depend on the room first given."""

from __future__ import annotations

import numpy as np

from fangkong.sim.contact import group_contacts
from fangkong.sim.rng import Stream


def test_group_proposals_do_not_depend_on_the_first_room() -> None:
    n = 400
    of_agent = np.zeros(n, dtype=np.int32)  # one household of everyone: many proposals
    start = np.array([0, n], dtype=np.int64)
    members = np.arange(n, dtype=np.int32)
    sources = np.arange(0, n, 4, dtype=np.int32)
    status = np.zeros(n, dtype=np.uint8)
    status[sources] = 128  # infected: takes no infection

    def proposals(cap: int) -> list[tuple[int, int, int]]:
        out = group_contacts(
            sources,
            np.ones(len(sources), dtype=np.float32),
            3,
            7,
            Stream.GROUP_CONTACTS,
            0.05,
            (of_agent, start, members),
            n,
            8,
            (status, np.uint8(1), np.uint8(129)),
            np.ones(4, dtype=np.float32),
            np.zeros(n, dtype=np.uint8),
            cap=cap,
        )
        target, source, place = out.flat()
        return sorted(zip(target.tolist(), source.tolist(), place.tolist(), strict=True))

    roomy = proposals(1 << 16)
    assert len(roomy) > 50  # enough that a room of 1 overflows every chunk
    assert proposals(1) == roomy
