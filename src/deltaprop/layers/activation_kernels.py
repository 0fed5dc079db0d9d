"""Compiled backward passes of the ReLU family (numba, when installed), cut over deltaprop's threads.

``∂L/∂Z = ∂L/∂A ⊙ f'(Z)`` written as NumPy builds f'(Z) as an array of its own, then multiplies: two passes
and a temporary the size of the layer. These kernels compute ∂L/∂Z element by element in one pass — the
same products (a zero where f' is zero) — and large layers are cut into chunks run on deltaprop's worker
threads (:mod:`deltaprop.threads`). Each function returns None when numba is not there; the layer then
computes ``grad ⊙ derivative()`` in NumPy, the reference.
"""
from __future__ import annotations

import numpy as np

from .. import threads
from .conv_kernels import compiled

#: elements per chunk worth a thread of its own (measured: bench/scaling.py)
MIN_CHUNK = 1 << 20


def _relu_backward(grad, z, out):
    for i in range(out.size):
        out[i] = grad[i] if z[i] > 0 else 0.0


def _leaky_relu_backward(grad, z, out, alpha):
    for i in range(out.size):
        out[i] = grad[i] if z[i] > 0 else grad[i] * alpha


def _elementwise(function, grad, z, *scalars):
    kernel = compiled(function)
    if kernel is None or grad.shape != z.shape:
        return None
    grad, z = np.ascontiguousarray(grad).reshape(-1), np.ascontiguousarray(z).reshape(-1)
    out = np.empty_like(grad)
    if out.size < 2 * MIN_CHUNK:
        kernel(grad, z, out, *scalars)
    else:
        threads.parallel(lambda start, stop: kernel(grad[start:stop], z[start:stop], out[start:stop], *scalars),
                         out.size, MIN_CHUNK)
    return out


def relu_backward(grad, z):
    """∂L/∂A ⊙ [z > 0] in one pass (the shape of ``grad``); None without numba."""
    out = _elementwise(_relu_backward, grad, z)
    return None if out is None else out.reshape(grad.shape)


def leaky_relu_backward(grad, z, alpha: float):
    """∂L/∂A ⊙ (1 if z > 0 else α) in one pass; None without numba."""
    out = _elementwise(_leaky_relu_backward, grad, z, grad.dtype.type(alpha))
    return None if out is None else out.reshape(grad.shape)
