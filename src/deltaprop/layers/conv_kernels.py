"""Compiled col2im and axis swaps for the convolutions (numba, when installed).

The NumPy versions in `deltaprop.layers.conv` add one strided slice per kernel tap; on the small
sequences and images CNNs see (10–30 positions a row) NumPy spends much of its time stepping through short
inner loops. These kernels do the same sums element by element, padding and cropping included, in the same
order, so they give the same numbers (the tests check that, and both against PyTorch). A 1-D input
(N, C, L) is handled as (N, C, 1, L). im2col stays in NumPy: a compiled copy was measured no faster.

Each function returns None when numba is not there; the caller then runs the NumPy version.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _numba

_compiled: dict = {}


def _col2im(cols, grad, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w):
    """grad[n, c, h, w] += every entry of cols (C·kh·kw, N·out_h·out_w) that im2col read from (h, w) of the
    padded input — (h, w) = (i·sh + p·dh − ph, j·sw + q·dw − pw) — taps in order, padding skipped."""
    n_samples, channels, height, width = grad.shape
    for c in range(channels):
        for p in range(kh):
            for q in range(kw):
                row = (c * kh + p) * kw + q
                for n in range(n_samples):
                    for i in range(out_h):
                        h = i * sh + p * dh - ph
                        if h < 0 or h >= height:
                            continue
                        start = (n * out_h + i) * out_w
                        for j in range(out_w):
                            w = j * sw + q * dw - pw
                            if 0 <= w < width:
                                grad[n, c, h, w] += cols[row, start + j]


def _swap_leading(a, out):
    """out[j, i, k] = a[i, j, k]: (A, B, R) → (B, A, R), R the flattened remaining axes."""
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                out[j, i, k] = a[i, j, k]


def _kernel(function):
    kernel = _compiled.get(function)
    if kernel is None:
        numba = _numba.load()
        if numba is None:
            return None
        kernel = _compiled[function] = numba.njit(cache=True, nogil=True)(function)
    return kernel


def _as_2d(shape_tuple, dims: int, fill: int):
    """A 1-D convolution's (size,) setting as the 2-D (fill, size)."""
    return tuple(shape_tuple) if dims == 2 else (fill, *shape_tuple)


def col2im(cols, input_shape, kernel, stride, dilation, pads, positions):
    """∂L/∂x (N, C, *spatial) of the unpadded input from ∂L/∂cols (C·k, N·positions)."""
    compiled = _kernel(_col2im)
    if compiled is None:
        return None
    dims = len(kernel)
    grad = np.zeros(input_shape, dtype=cols.dtype)
    grad4 = grad if dims == 2 else grad[:, :, None, :]
    (kh, kw), (sh, sw), (dh, dw) = _as_2d(kernel, dims, 1), _as_2d(stride, dims, 1), _as_2d(dilation, dims, 1)
    ph, pw = _as_2d([a for a, _ in pads], dims, 0)
    out_h, out_w = _as_2d(positions, dims, 1)
    compiled(np.ascontiguousarray(cols), grad4, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w)
    return grad


def swap_leading(a):
    """``a`` with its first two axes swapped, as a new C-contiguous array; None without numba, and for rows of
    64 values or more, which NumPy's transposing copy handles as fast (measured)."""
    if not a.flags.c_contiguous or a.ndim < 3 or math.prod(a.shape[2:]) >= 64:
        return None
    compiled = _kernel(_swap_leading)
    if compiled is None:
        return None
    out = np.empty((a.shape[1], a.shape[0], *a.shape[2:]), dtype=a.dtype)
    compiled(a.reshape(a.shape[0], a.shape[1], -1), out.reshape(a.shape[1], a.shape[0], -1))
    return out
