"""The thread plan of a fit: how many threads the matrix products (BLAS) and the optimizer kernel get.

Chosen by the size of the work, once per fit, from shapes alone (so a run is as reproducible as before:
GEMMs split their output among threads, never a sum, and the optimizer kernels are elementwise).

Measured on 2 cores (bench/compare.py, 784-H-128-10, Adam, float32, ms per epoch of 4,000 rows):

    batch 16, H=256:    139 (BLAS 2 threads, optimizer 1)   122 (BLAS 1, optimizer on both cores)
    batch 16, H=1024:   456                                  411
    batch 32, H=1024:   250                                  290
    batch 64, H=1024:   178                                  267

At a batch of 16 or fewer rows a product is too skinny to split well, and OpenBLAS's idle workers spin
for milliseconds after each call, taking the cores a parallel optimizer pass needs; from 32 rows the
products gain more from the second thread than the optimizer does. So small batches get one BLAS
thread and an optimizer spread over the cores (when it has at least ``PARALLEL_OPTIMIZER_MIN``
parameters, below which starting the threads costs more than it saves); larger batches keep the BLAS
default and one optimizer thread.
"""
from __future__ import annotations

import contextlib
import os

from ..optim import fused

SKINNY_BATCH = 16
PARALLEL_OPTIMIZER_MIN = 100_000


def cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # macOS, Windows
        return os.cpu_count() or 1


def plan(batch_size: int, n_parameters: int, n_cores: int | None = None) -> dict:
    """``{"blas": threads or None (the library's default), "optimizer": threads}`` for these sizes."""
    n_cores = cores() if n_cores is None else n_cores
    if n_cores < 2 or batch_size > SKINNY_BATCH:
        return {"blas": None, "optimizer": 1}
    return {"blas": 1, "optimizer": n_cores if n_parameters >= PARALLEL_OPTIMIZER_MIN else 1}


@contextlib.contextmanager
def thread_plan(batch_size: int, n_parameters: int):
    """Apply :func:`plan` inside the block (threadpoolctl for BLAS, when installed)."""
    chosen = plan(batch_size, n_parameters)
    with contextlib.ExitStack() as stack:
        if chosen["blas"] is not None:
            try:
                from threadpoolctl import threadpool_limits
            except ImportError:
                pass
            else:
                stack.enter_context(threadpool_limits(limits=chosen["blas"], user_api="blas"))
        if fused.AVAILABLE:
            stack.enter_context(fused.threads(chosen["optimizer"]))
        yield chosen
