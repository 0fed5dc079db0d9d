"""Fused update kernels: each optimizer's rule as one pass over a parameter (numba, when installed).

The readable update rules live in the optimizer classes (``update``) and stay the reference;
these kernels compute the same formulas element by element, reading each of θ, g and the state
once and writing θ and the state once (on one thread by default: see ``_use_own_threads``). The tests check every
kernel against its reference rule. Without numba (or with ``DELTAPROP_NUMBA=0``) the reference
rules run instead.
"""
from __future__ import annotations

import math
import os

import numpy as np

from .. import _numba, threads

AVAILABLE = _numba.AVAILABLE
THREADS = int(os.environ.get("DELTAPROP_OPTIMIZER_THREADS", "1"))
#: elements of the smallest piece of an update worth a thread of its own (measured: bench/scaling.py)
MIN_CHUNK = 1 << 19
COMPILED: dict = {}   # rule function → its compiled kernel
# LLVM may fuse multiply-adds and use reciprocal/approximate-function forms, never assume away NaN or
# infinity (non-finite values must reach TerminateOnNaN): 25% faster Adam on a 784×256 matrix, and
# the kernels still match the reference rules to 1e-12 in float64 (tests/test_fused.py)
FASTMATH = {"contract", "arcp", "afn"}
numba = None
_range = range  # numba.prange once the kernels are compiled (numba reads globals at compile time)


def _use_own_threads() -> None:
    """Run the kernels on THREADS threads (default 1; ``DELTAPROP_OPTIMIZER_THREADS``).

    Measured on 2 cores (bench/compare.py): a second kernel thread competes with the BLAS
    threads, still spinning after the matrix products, and made training 2-7× slower; one
    thread, vectorized, is the fastest. numba's default threading layer (OpenMP when present)
    runs a one-thread kernel on the calling thread; its 'workqueue' fallback hands it to a
    worker thread, ~90 µs per call, which is why it is not forced here.
    """
    numba.set_num_threads(max(1, min(THREADS, numba.config.NUMBA_NUM_THREADS)))


# Inside the loops the only branches test flags that do not change from one element to the next
# (amsgrad, centered, momentum), which LLVM moves out of the loop, so every variant vectorizes.
# No integer literal meets a scalar in the arithmetic: numba types ``1 - beta1`` (int64 − float32) as
# float64, which turned float32 kernels into scalar float64 loops (vsqrtsd/vdivsd, 3× slower); the
# complements (1 − β, 1 − α, 1 − nesterov) come in precomputed, in the parameter's dtype, as the
# reference rules round them (a Python float meeting a float32 array). The flush of a decaying average,
# ``x if abs(x) >= tiny else x - x``, is a select, not a branch: ``x - x`` is a zero of x's own type (a
# literal 0.0 would make x float64) and keeps NaN (a NaN compares false and stays NaN), as
# ``_math.flush_subnormals`` does in the reference rules.

def adam(value, grad, m, v, v_max, beta1, rest1, beta2, rest2, step_size, bias2_sqrt, eps, weight_decay, decay,
         amsgrad, tiny):
    """Adam/AdamW on each element (rest1 = 1 − β₁, rest2 = 1 − β₂); with ``amsgrad`` the denominator uses
    v̂ = max(v̂, v), kept in ``v_max``. m and v below ``tiny`` (the smallest normal number) become zero."""
    for i in _range(value.size):
        theta = value[i]
        g = grad[i] + weight_decay * theta
        m_i = beta1 * m[i] + rest1 * g
        v_i = beta2 * v[i] + rest2 * g * g
        m_i = m_i if abs(m_i) >= tiny else m_i - m_i
        v_i = v_i if v_i >= tiny else v_i - v_i
        m[i] = m_i
        v[i] = v_i
        if amsgrad:
            v_i = max(v_max[i], v_i)
            v_max[i] = v_i
        value[i] = theta * decay - step_size * m_i / (math.sqrt(v_i) / bias2_sqrt + eps)


def sgd(value, grad, lr, weight_decay):
    for i in _range(value.size):
        theta = value[i]
        value[i] = theta - lr * (grad[i] + weight_decay * theta)


def sgd_momentum(value, grad, buffer, lr, momentum, keep, add, weight_decay, nesterov, plain, tiny):
    """b ← keep·b + add·g (keep = μ, add = 1 − dampening; keep = 0, add = 1 on the first step, b = 0), zero below
    ``tiny``; step along g + μ·b (nesterov = 1, plain = 0) or b (nesterov = 0, plain = 1)."""
    for i in _range(value.size):
        theta = value[i]
        g = grad[i] + weight_decay * theta
        b = keep * buffer[i] + add * g
        b = b if abs(b) >= tiny else b - b
        buffer[i] = b
        value[i] = theta - lr * (nesterov * (g + momentum * b) + plain * b)


def rmsprop(value, grad, square_avg, lr, alpha, rest, eps, weight_decay, tiny):
    """RMSprop on each element (rest = 1 − α); the square average zero below ``tiny``."""
    for i in _range(value.size):
        theta = value[i]
        g = grad[i] + weight_decay * theta
        s = alpha * square_avg[i] + rest * g * g
        s = s if s >= tiny else s - s
        square_avg[i] = s
        value[i] = theta - lr * g / (math.sqrt(s) + eps)


def rmsprop_general(value, grad, square_avg, grad_avg, buffer, lr, alpha, rest, eps, weight_decay, tiny, momentum,
                    centered):
    """RMSprop with centering and/or momentum (rest = 1 − α); the averages and the buffer zero below ``tiny``."""
    for i in _range(value.size):
        theta = value[i]
        g = grad[i] + weight_decay * theta
        s = alpha * square_avg[i] + rest * g * g
        s = s if s >= tiny else s - s
        square_avg[i] = s
        if centered:
            c = alpha * grad_avg[i] + rest * g
            c = c if abs(c) >= tiny else c - c
            grad_avg[i] = c
            s = s - c * c
        scale = math.sqrt(s) + eps
        if momentum != 0:
            b = momentum * buffer[i] + g / scale
            b = b if abs(b) >= tiny else b - b
            buffer[i] = b
            value[i] = theta - lr * b
        else:
            value[i] = theta - lr * g / scale


def adagrad(value, grad, total, step_lr, eps, weight_decay):
    for i in _range(value.size):
        theta = value[i]
        g = grad[i] + weight_decay * theta
        s = total[i] + g * g
        total[i] = s
        value[i] = theta - step_lr * g / (math.sqrt(s) + eps)


def ready() -> bool:
    """Import numba (once); False if it is not there or does not work with this NumPy."""
    global AVAILABLE, numba, _range
    if numba is not None or not AVAILABLE:
        return AVAILABLE
    imported = _numba.load()
    if imported is None:
        AVAILABLE = False
        return False
    numba, _range = imported, imported.prange
    _use_own_threads()
    return True


def same_layout(*arrays) -> bool:
    """All arrays contiguous in the same memory order, so that their flat views line up element by element."""
    return all(a.flags.c_contiguous for a in arrays) or all(a.flags.f_contiguous for a in arrays)


def _flat(array: np.ndarray) -> np.ndarray:
    """A 1-D view in memory order (a column-major W's too: reshape(-1) would copy it)."""
    return array.reshape(-1, order="F" if array.flags.f_contiguous and not array.flags.c_contiguous else "C")


def run(rule, value, *arrays_and_scalars) -> None:
    """Run the compiled kernel of ``rule`` (one of this module's functions) on flat views of ``value``
    and the arrays (all C-contiguous, same size)."""
    kernel = COMPILED.get(rule)
    if kernel is None:
        # one compiled version per function: numba's on-disk cache keys entries by function and
        # signature, not by compile options, so a serial and a parallel build would overwrite each other
        kernel = COMPILED[rule] = numba.njit(cache=True, nogil=True, parallel=True, fastmath=FASTMATH)(rule)
    # scalars in the parameter's dtype: float32 parameters are updated in float32 arithmetic, as the
    # reference rules do (NumPy keeps float32 when Python floats meet float32 arrays), at twice the
    # vector width of float64
    scalar = value.dtype.type
    flat_value = _flat(value)
    flat = [_flat(a) if isinstance(a, np.ndarray) else a if isinstance(a, bool) else scalar(a)
            for a in arrays_and_scalars]
    pieces = threads.chunks(flat_value.size, MIN_CHUNK)
    if len(pieces) == 1:
        kernel(flat_value, *flat)
        return

    def piece(bounds):   # the same elementwise rule on a slice of every array: the same bits in any order
        numba.set_num_threads(1)     # (numba's own thread count is per calling thread)
        start, stop = bounds
        kernel(flat_value[start:stop],
               *[a[start:stop] if isinstance(a, np.ndarray) and a.size == flat_value.size else a for a in flat])

    threads.run(piece, pieces)
