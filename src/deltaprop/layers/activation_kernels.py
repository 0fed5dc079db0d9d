"""Compiled backward passes of the ReLU family (numba, when installed), cut over deltaprop's threads.

``∂L/∂Z = ∂L/∂A ⊙ f'(Z)`` written as NumPy builds f'(Z) as an array of its own, then multiplies: two passes
and a temporary the size of the layer. These kernels compute ∂L/∂Z element by element in one pass — the
same products (a zero where f' is zero) — and large layers are cut into chunks run on deltaprop's worker
threads (`deltaprop.threads`). Each function returns None when numba is not there or the layer is small;
the layer then computes ``grad ⊙ derivative()`` in NumPy, the reference.
"""
from __future__ import annotations

import numpy as np

from .. import threads
from .conv_kernels import compiled

#: elements per chunk worth a thread of its own (measured: bench/scaling.py)
MIN_CHUNK = 1 << 20
#: below this many elements NumPy's two passes beat the call into a compiled kernel (measured: 2,048 elements
#: 2.0 µs NumPy against 3.8 µs compiled; 65,536 elements 27 µs against 11 µs)
MIN_COMPILED = 1 << 14


def _relu_backward(grad, z, out):
    for i in range(out.size):
        out[i] = grad[i] if z[i] > 0 else 0.0


def _leaky_relu_backward(grad, z, out, alpha):
    for i in range(out.size):
        out[i] = grad[i] if z[i] > 0 else grad[i] * alpha


def _memory_order(*arrays) -> str | None:
    """"C" or "F" when every array is contiguous in that order (a Dense layer's Z and δ·Wᵀ are column-major), so
    that their flat views line up element by element; None otherwise (NumPy then computes the pass)."""
    if all(a.flags.c_contiguous for a in arrays):
        return "C"
    if all(a.flags.f_contiguous for a in arrays):
        return "F"
    return None


def _elementwise(function, grad, z, *scalars):
    if grad.size < MIN_COMPILED:
        return None
    kernel = compiled(function)
    order = _memory_order(grad, z) if grad.shape == z.shape else None
    if kernel is None or order is None:
        return None
    out = np.empty_like(grad, order=order)
    flat_grad, flat_z, flat_out = (a.reshape(-1, order=order) for a in (grad, z, out))   # views, no copies
    threads.split(lambda start, stop: kernel(flat_grad[start:stop], flat_z[start:stop], flat_out[start:stop],
                                             *scalars), out.size, MIN_CHUNK)
    return out


def relu_backward(grad, z):
    """∂L/∂A ⊙ [z > 0] in one pass (in ``grad``'s memory order); None without numba, for small layers or mixed layouts."""
    return _elementwise(_relu_backward, grad, z)


def leaky_relu_backward(grad, z, alpha: float):
    """∂L/∂A ⊙ (1 if z > 0 else α) in one pass; None without numba, for small layers or mixed layouts."""
    return _elementwise(_leaky_relu_backward, grad, z, grad.dtype.type(alpha))
