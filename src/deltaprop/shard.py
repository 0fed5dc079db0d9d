"""BatchShard: this process's rows of a global mini-batch, for layers whose pass depends on the whole batch.

In data-parallel training (``fit(..., distributed=True)``) each process holds rows ``start:stop`` of a
global batch of ``total`` rows. Most layers treat rows independently and need not know. The two that do
not ask their ``shard`` (set by the model for a training step; None otherwise):

* BatchNorm normalizes by the statistics of the *global* batch: μ = Σx / total, σ² = Σ(x − μ)² / total,
  each Σ taken over every process's rows with `sum()`, and its backward needs Σg and
  Σg·x̂ the same way;
* Dropout draws the mask of the whole global batch, identically in every process (same seed), and keeps
  rows ``start:stop`` of it — so the masks are the ones a single process would draw.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


class BatchShard:
    """Rows ``start:stop`` of a global mini-batch of ``total`` rows; ``sum`` adds an array over all shards."""

    __slots__ = ("start", "stop", "total", "_reduce")

    def __init__(self, start: int, stop: int, total: int, reduce: Callable[[np.ndarray], np.ndarray] | None = None):
        self.start, self.stop, self.total = int(start), int(stop), int(total)
        self._reduce = reduce

    def sum(self, local: np.ndarray) -> np.ndarray:
        """Σ over every shard of ``local`` (the same shape in each); every shard gets the same result."""
        return local if self._reduce is None else self._reduce(local)

    def __repr__(self) -> str:
        return f"BatchShard(rows {self.start}:{self.stop} of {self.total})"
