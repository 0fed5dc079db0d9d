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

from .. import _numba, threads

_compiled: dict = {}
#: values per piece of samples worth a thread of its own (measured: bench/scaling.py)
MIN_CHUNK_VALUES = 1 << 18


def _col2im(cols, grad, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w):
    """grad[n, c, h, w] += every entry of cols (C·kh·kw, N·out_h·out_w) that im2col read from (h, w) of the
    padded input — (h, w) = (i·sh + p·dh − ph, j·sw + q·dw − pw) — taps in order, padding skipped."""
    n_samples, channels, height, width = grad.shape
    for c in range(channels):
        for p in range(kh):
            for q in range(kw):
                row = (c * kh + p) * kw + q
                source = cols[row]
                offset = q * dw - pw
                # the positions j whose column w = j·sw + offset lies inside the input: [first, last)
                first = min(out_w, max(0, (-offset + sw - 1) // sw))
                last = max(first, min(out_w, (width - 1 - offset) // sw + 1))
                for n in range(n_samples):
                    for i in range(out_h):
                        h = i * sh + p * dh - ph
                        if h < 0 or h >= height:
                            continue
                        target = grad[n, c, h]
                        start = (n * out_h + i) * out_w
                        for j in range(first, last):
                            target[j * sw + offset] += source[start + j]


def _swap_add_bias(z, bias, out):
    """out[n, c, k] = z[c, n, k] + bias[c]: the product's (C, N, R) layout to (N, C, R), the bias added."""
    for c in range(z.shape[0]):
        b = bias[c]
        for n in range(z.shape[1]):
            for k in range(z.shape[2]):
                out[n, c, k] = z[c, n, k] + b


def _swap_leading(a, out):
    """out[j, i, k] = a[i, j, k]: (A, B, R) → (B, A, R), R the flattened remaining axes."""
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                out[j, i, k] = a[i, j, k]


def compiled(function):
    """``function`` compiled by numba (once; GIL released), or None without numba."""
    kernel = _compiled.get(function)
    if kernel is None:
        numba = _numba.load()
        if numba is None:
            return None
        kernel = _compiled[function] = numba.njit(cache=True, nogil=True)(function)
    return kernel


def as_2d(shape_tuple, dims: int, fill: int):
    """A 1-D convolution's (size,) setting as the 2-D (fill, size)."""
    return tuple(shape_tuple) if dims == 2 else (fill, *shape_tuple)


def _geometry(kernel, stride, dilation, pads, positions) -> tuple:
    """(kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w) of a 2-D convolution, or of a 1-D one as 1 × L."""
    dims = len(kernel)
    (kh, kw), (sh, sw), (dh, dw) = as_2d(kernel, dims, 1), as_2d(stride, dims, 1), as_2d(dilation, dims, 1)
    ph, pw = as_2d([a for a, _ in pads], dims, 0)
    out_h, out_w = as_2d(positions, dims, 1)
    return kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w


def col2im(cols, input_shape, kernel, stride, dilation, pads, positions):
    """∂L/∂x (N, C, *spatial) of the unpadded input from ∂L/∂cols (C·k, N·positions)."""
    add_back = compiled(_col2im)
    if add_back is None:
        return None
    dims = len(kernel)
    grad = np.zeros(input_shape, dtype=cols.dtype)
    grad4 = grad if dims == 2 else grad[:, :, None, :]
    geometry = _geometry(kernel, stride, dilation, pads, positions)
    per_sample = math.prod(positions)
    cols = np.ascontiguousarray(cols)
    # samples are independent: each piece adds into its own samples (their columns of cols), in the order one
    # call would
    threads.split_samples(lambda start, stop: add_back(cols[:, start * per_sample:stop * per_sample],
                                                       grad4[start:stop], *geometry),
                          input_shape[0], cols.shape[0] * per_sample, MIN_CHUNK_VALUES)
    return grad


def swap_add_bias(z, bias):
    """``z`` (C, N, …) + ``bias`` per C, as a new (N, C, …) array, in one pass; None without numba."""
    if not z.flags.c_contiguous or z.ndim < 3:
        return None
    kernel = compiled(_swap_add_bias)
    if kernel is None:
        return None
    out = np.empty((z.shape[1], z.shape[0], *z.shape[2:]), dtype=z.dtype)
    rows = math.prod(z.shape[2:])
    z3, out3 = z.reshape(z.shape[0], z.shape[1], rows), out.reshape(z.shape[1], z.shape[0], rows)
    threads.split_samples(lambda start, stop: kernel(z3[:, start:stop], bias, out3[start:stop]), z.shape[1],
                          z.shape[0] * rows, MIN_CHUNK_VALUES)
    return out


def swap_leading(a):
    """``a`` with its first two axes swapped, as a new C-contiguous array; None without numba, and for rows of
    64 values or more, which NumPy's transposing copy handles as fast (measured)."""
    if not a.flags.c_contiguous or a.ndim < 3 or math.prod(a.shape[2:]) >= 64:
        return None
    kernel = compiled(_swap_leading)
    if kernel is None:
        return None
    out = np.empty((a.shape[1], a.shape[0], *a.shape[2:]), dtype=a.dtype)
    kernel(a.reshape(a.shape[0], a.shape[1], -1), out.reshape(a.shape[1], a.shape[0], -1))
    return out
