"""One thread budget for everything deltaprop runs in parallel: its matrix products and its compiled passes.

``dp.set_num_threads(n)`` or the environment variable ``DELTAPROP_NUM_THREADS``; by default, the cores this
process may run on (``os.sched_getaffinity``). deltaprop keeps ``n − 1`` worker threads of its own, which
sleep on a queue when there is nothing to do (they never spin), and runs each parallel piece of work on
them and on the calling thread:

* an **elementwise pass** (an optimizer's update, an activation's derivative) or a pass over **independent
  samples** (pooling, col2im) is cut into pieces (`chunks()`, `split()`, `split_samples()`), each a compiled
  kernel that releases the GIL, run by `run()`;
* a **matrix product** is BLAS's own: while deltaprop trains, BLAS runs on the budget's threads
  (`session()`, through threadpoolctl). Cutting products into blocks run on deltaprop's workers was
  measured too, and lost at every shape of the benchmarks: the OpenBLAS that NumPy ships serializes calls
  made from several threads at once (``bench/scaling.py``).

Each element or sample is computed by the same arithmetic whichever piece holds it, so deltaprop's own passes
give the same bits at 1, 2 or 16 threads; BLAS may round a product differently with another thread count (the same
count always gives the same bits). Work too small to gain from splitting (measured thresholds, in
``bench/scaling.py``) runs on the calling thread as one piece: the result is the same either way.

Under MPI, every rank has its own budget: ranks × threads should not exceed the cores of a machine
(``mpiexec -n 4`` on 16 cores: ``DELTAPROP_NUM_THREADS=4``).
"""
from __future__ import annotations

import itertools
import os
import queue
import threading
from contextlib import contextmanager

import numpy as np

_budget: int | None = None       # set_num_threads's value; None: the default
_pool = None                     # the worker threads (n − 1 of them), made on first use
_pool_lock = threading.Lock()
_in_session = threading.local()


def default_threads() -> int:
    """``DELTAPROP_NUM_THREADS`` if set, else the number of cores this process may use."""
    value = os.environ.get("DELTAPROP_NUM_THREADS")
    if value:
        try:
            count = int(value)
        except ValueError:
            raise ValueError(f"DELTAPROP_NUM_THREADS must be a positive integer, got {value!r}") from None
        if count < 1:
            raise ValueError(f"DELTAPROP_NUM_THREADS must be a positive integer, got {value!r}")
        return count
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):     # not on Linux
        return max(1, os.cpu_count() or 1)


def num_threads() -> int:
    """The thread budget: how many threads deltaprop's matrix products and parallel passes may keep busy at once
    (see [`set_num_threads`][deltaprop.set_num_threads])."""
    return _budget if _budget is not None else default_threads()


def set_num_threads(n: int | None) -> None:
    """Set the thread budget to ``n`` threads; None restores the default: ``DELTAPROP_NUM_THREADS`` when it is
    set, otherwise the cores this process may run on (``os.sched_getaffinity``).

    While ``fit`` trains, BLAS runs its matrix products on this many threads (through threadpoolctl, restored
    after), and deltaprop's own parallel passes (the optimizer's update, the ReLU family's backward pass,
    pooling, col2im) on ``n − 1`` worker threads of its own and the calling thread. ``deltaprop train --threads N``
    sets it for one run. Under MPI each rank has its own budget: keep ranks × threads within the cores.

    The same seeds and the same ``n`` give the same bits; another ``n`` agrees to rounding (deltaprop's own passes
    are cut by size alone, only BLAS may round a product differently). More threads than cores is allowed (it
    only slows things down).

    Raises
    ------
    ValueError
        ``n`` is not a positive integer (nor None).
    """
    global _budget
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
        raise ValueError(f"the number of threads must be a positive integer, got {n!r}")
    _budget = None if n is None else int(n)
    _resize_pool(num_threads())


# ------------------------------------------------------------------------------------- the workers
class _Job:
    """The items of one `run()`: whoever takes part — the calling thread and the workers — takes the next
    item until none is left; ``wait`` returns once every item is done."""

    def __init__(self, function, items):
        self.function, self.items = function, items
        self.next = itertools.count()      # handing out items: atomic in CPython
        self.results = [None] * len(items)
        self.done = threading.Semaphore(0)

    def work(self) -> None:
        while True:
            index = next(self.next)
            if index >= len(self.items):
                return
            try:
                self.results[index] = self.function(self.items[index])
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller, raised there
                self.results[index] = _Failure(exc)
            self.done.release()

    def wait(self) -> list:
        for _ in self.items:
            self.done.acquire()
        for result in self.results:
            if isinstance(result, _Failure):
                raise result.exc
        return self.results


class _Pool:
    """Worker threads that take jobs from one queue, and sleep while it is empty."""

    def __init__(self, n_workers: int):
        self.tasks = queue.SimpleQueue()
        self.workers = [threading.Thread(target=self._work, name=f"deltaprop-{i}", daemon=True)
                        for i in range(n_workers)]
        for worker in self.workers:
            worker.start()

    def _work(self) -> None:
        while True:
            job = self.tasks.get()
            if job is None:
                return
            job.work()

    def stop(self) -> None:
        for _ in self.workers:
            self.tasks.put(None)


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def _forget_pool_after_fork() -> None:
    """A forked child has none of its parent's threads: it starts its own pool when it needs one."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _resize_pool(n_threads: int) -> None:
    global _pool
    with _pool_lock:
        if _pool is not None and len(_pool.workers) != n_threads - 1:
            _pool.stop()
            _pool = None


def _workers():
    global _pool
    n_workers = num_threads() - 1
    if n_workers < 1:
        return None
    with _pool_lock:
        if _pool is None:
            _pool = _Pool(n_workers)
        return _pool


def run(function, items: list) -> list:
    """``[function(item) for item in items]``, the items shared among the worker threads and the calling thread
    (each takes the next item left); the results in the order of the items (an exception raised by one is
    raised here, once every item is done)."""
    pool = _workers() if len(items) > 1 else None
    if pool is None:
        return [function(item) for item in items]
    job = _Job(function, items)
    for _ in range(min(len(pool.workers), len(items) - 1)):
        pool.tasks.put(job)
    job.work()
    return job.wait()


def chunks(n_items: int, min_items: int, max_pieces: int = 64) -> list:
    """``[(start, stop), …]``: ``n_items`` cut into pieces of at least ``min_items`` (all of it in one piece when
    it is smaller), at most ``max_pieces`` of them — decided by the sizes alone, never by the thread count."""
    if n_items <= 0:
        return [(0, 0)]
    pieces = max(1, min(max_pieces, n_items // max(1, min_items)))
    if pieces == 1:          # the common case of small layers: no arithmetic (this runs on every step)
        return [(0, n_items)]
    bounds = _even_bounds(n_items, pieces)
    return list(zip(bounds[:-1], bounds[1:]))


def _even_bounds(n_items: int, pieces: int) -> list:
    """``pieces + 1`` integer bounds cutting ``n_items`` into pieces whose sizes differ by at most one."""
    return [n_items * piece // pieces for piece in range(pieces + 1)]


# ------------------------------------------------------------------------------------------ BLAS
def _blas_controller():
    """threadpoolctl's controller of the BLAS libraries loaded now (a scan of the process, ~2 ms: once per session,
    so that a library loaded since — SciPy's — is seen too), or None where threadpoolctl cannot help."""
    try:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController().select(user_api="blas")
    except Exception:  # noqa: BLE001 - threadpoolctl missing or unable to see the libraries: leave BLAS alone
        return None


@contextmanager
def session():
    """While deltaprop trains: BLAS runs its products on the budget's threads (restored after). Nested sessions are
    one. (``predict`` leaves BLAS as it is: a session costs a scan of the loaded libraries.)"""
    if getattr(_in_session, "active", False):
        yield
        return
    controller = _blas_controller()
    limiter = controller.limit(limits=num_threads()) if controller is not None else None
    _in_session.active = True
    try:
        yield
    finally:
        _in_session.active = False
        if limiter is not None:
            limiter.restore_original_limits()


def split(function, n_items: int, min_items: int) -> None:
    """``function(start, stop)`` over one piece of ``n_items`` per thread (pieces of at least ``min_items``): for
    work whose result does not depend on how it is cut — copies, elementwise passes, independent samples —,
    where fewer, larger pieces cost less to hand out."""
    pieces = max(1, min(num_threads(), n_items // max(1, min_items)))
    if pieces == 1:
        function(0, n_items)
        return
    bounds = _even_bounds(n_items, pieces)
    run(lambda piece: function(bounds[piece], bounds[piece + 1]), list(range(pieces)))


def split_samples(function, n_samples: int, values_per_sample: int, min_values: int) -> None:
    """`split()` over a batch of independent samples: ``function(start, stop)`` on one piece of samples per
    thread, each piece holding at least ``min_values`` values (a batch smaller than two such pieces: one call)."""
    split(function, n_samples, max(1, min_values // max(1, values_per_sample)))
