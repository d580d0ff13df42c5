"""Input-queue policies of a core in async mode (registry ``QUEUES``).

- ``fifo``: packets in arrival order.
- ``momentum``: the packet whose source neuron overshot its threshold the
  most when it fired (``V - theta`` before the reset) goes first; ties go to
  the lower source index, then to arrival order. Input packets carry +inf:
  they go first.
- ``random``: a seeded uniform choice among the waiting packets.
"""

from __future__ import annotations

import heapq
from collections import deque
from itertools import count

import numpy as np

__all__ = ["FifoQueue", "MomentumQueue", "RandomQueue", "QUEUES"]


class FifoQueue:
    # Every packet queued when a busy period starts is served before any that arrives
    # during it, so async mode computes the whole busy period in one go.
    serves_busy_period_whole = True

    def __init__(self, rng: np.random.Generator | None = None):
        self._q: deque = deque()
        self.push = self._q.append
        self.pop = self._q.popleft

    def __len__(self) -> int:
        return len(self._q)


class MomentumQueue:
    serves_busy_period_whole = False  # chooses again before every packet

    def __init__(self, rng: np.random.Generator | None = None):
        self._h: list = []
        self._seq = count()

    def push(self, pkt) -> None:
        heapq.heappush(self._h, (-pkt.prio, pkt.src, next(self._seq), pkt))

    def pop(self):
        return heapq.heappop(self._h)[3]

    def __len__(self) -> int:
        return len(self._h)


class RandomQueue:
    serves_busy_period_whole = False

    def __init__(self, rng: np.random.Generator):
        self._items: list = []
        self._rng = rng

    def push(self, pkt) -> None:
        self._items.append(pkt)

    def pop(self):
        items = self._items
        i = int(self._rng.integers(len(items)))
        items[i], items[-1] = items[-1], items[i]
        return items.pop()

    def __len__(self) -> int:
        return len(self._items)


QUEUES = {"fifo": FifoQueue, "momentum": MomentumQueue, "random": RandomQueue}
