"""Compiled max and average pooling (numba, when installed), cut by samples over deltaprop's threads.

The NumPy passes in `deltaprop.layers.pooling` read the input once per kernel tap (a strided view
each) and compare every tap again to find the maximum's tap for backward: on the small images CNNs see,
NumPy spends its time stepping through short rows. These kernels visit each window once — the maximum
and the first tap holding it (PyTorch's rule on ties) in one pass; backward adds each δ to that position
(or δ/k to the whole window for average pooling), padding skipped, in the same order as the NumPy
passes, so that the numbers are the same (the tests check it). A 1-D input (N, C, L) is handled as
(N, C, 1, L). Samples are independent, so the batch is cut into chunks of samples run on deltaprop's
worker threads (`deltaprop.threads`) when it is large enough to gain.

Each function returns None when numba is not there; the caller then runs the NumPy version. The kernels are
compiled once per window size, with its height and width as constants (about 0.3 s the first time a size is
used): the window loops unroll, which made 2×2 max pooling of the benchmark CNN 8× faster than with sizes
passed as arguments.
"""
from __future__ import annotations

import numpy as np

from .. import _numba, threads
from .conv_kernels import as_2d

_by_window: dict = {}    # (kh, kw) → its compiled kernels

#: values per chunk of samples worth a thread of its own (measured: bench/scaling.py)
MIN_CHUNK_VALUES = 1 << 20


def _kernels(kh: int, kw: int):
    """The four pooling kernels for windows of kh × kw, compiled with kh and kw as constants (so that LLVM unrolls
    the window), once per window size. Windows wholly inside the input take a path without bounds checks."""
    numba = _numba.load()
    if numba is None:
        return None
    key = (kh, kw)
    if key in _by_window:
        return _by_window[key]

    def max_forward(x, out, argmax, sh, sw, ph, pw):
        """out[n, c, i, j] = the largest x in window (i, j), argmax = the first tap (row-major) holding it (padding
        skipped). A NaN is kept only as a window's first value: TerminateOnNaN finds it in the layer before."""
        n_samples, channels, height, width = x.shape
        out_h, out_w = out.shape[2], out.shape[3]
        for n in range(n_samples):
            for c in range(channels):
                plane = x[n, c]
                for i in range(out_h):
                    h0 = i * sh - ph
                    inside = h0 >= 0 and h0 + kh <= height
                    for j in range(out_w):
                        w0 = j * sw - pw
                        if inside and w0 >= 0 and w0 + kw <= width:
                            best = plane[h0, w0]
                            best_tap = 0
                            for p in range(kh):
                                for q in range(kw):
                                    value = plane[h0 + p, w0 + q]
                                    if value > best:
                                        best = value
                                        best_tap = p * kw + q
                        else:
                            best = plane[0, 0]
                            best_tap = -1
                            for p in range(kh):
                                for q in range(kw):
                                    h, w = h0 + p, w0 + q
                                    if 0 <= h < height and 0 <= w < width:
                                        value = plane[h, w]
                                        if best_tap < 0 or value > best:
                                            best = value
                                            best_tap = p * kw + q
                        out[n, c, i, j] = best
                        argmax[n, c, i, j] = best_tap

    def max_backward(grad_y, argmax, grad_x, sh, sw, ph, pw):
        """grad_x[position of each window's maximum] += δ of that window."""
        n_samples, channels, out_h, out_w = grad_y.shape
        for n in range(n_samples):
            for c in range(channels):
                for i in range(out_h):
                    for j in range(out_w):
                        tap = argmax[n, c, i, j]
                        grad_x[n, c, i * sh + tap // kw - ph, j * sw + tap % kw - pw] += grad_y[n, c, i, j]

    def avg_forward(x, out, sh, sw, ph, pw, k):
        """out = Σ window / k (padding zeros counted: PyTorch's count_include_pad=True)."""
        n_samples, channels, height, width = x.shape
        out_h, out_w = out.shape[2], out.shape[3]
        for n in range(n_samples):
            for c in range(channels):
                for i in range(out_h):
                    h0 = i * sh - ph
                    for j in range(out_w):
                        w0 = j * sw - pw
                        total = x.dtype.type(0)
                        for p in range(kh):
                            for q in range(kw):
                                h, w = h0 + p, w0 + q
                                if 0 <= h < height and 0 <= w < width:
                                    total += x[n, c, h, w]
                        out[n, c, i, j] = total / k

    def avg_backward(grad_y, grad_x, sh, sw, ph, pw, k):
        """δ/k added to every (unpadded) position of each window."""
        n_samples, channels, out_h, out_w = grad_y.shape
        height, width = grad_x.shape[2], grad_x.shape[3]
        for n in range(n_samples):
            for c in range(channels):
                for i in range(out_h):
                    h0 = i * sh - ph
                    for j in range(out_w):
                        w0 = j * sw - pw
                        share = grad_y[n, c, i, j] / k
                        for p in range(kh):
                            for q in range(kw):
                                h, w = h0 + p, w0 + q
                                if 0 <= h < height and 0 <= w < width:
                                    grad_x[n, c, h, w] += share

    compile_ = numba.njit(nogil=True)
    kernels = _by_window[key] = {name: compile_(function) for name, function in (
        ("max_forward", max_forward), ("max_backward", max_backward), ("avg_forward", avg_forward),
        ("avg_backward", avg_backward))}
    return kernels


def _window(layer) -> tuple:
    return as_2d(layer.kernel_size, layer.dims, 1)


def _geometry(layer):
    """(sh, sw, ph, pw): the strides and paddings of a 2-D (or a 1-D, as 1 × L) pooling."""
    dims = layer.dims
    (sh, sw), (ph, pw) = as_2d(layer.stride, dims, 1), as_2d(layer.padding, dims, 0)
    return sh, sw, ph, pw


def _four(array, dims: int):
    return array if dims == 2 else array[:, :, None, :]


def _by_samples(kernel, n_samples: int, values_per_sample: int, *arrays_then_scalars, n_arrays: int):
    """``kernel`` on pieces of samples (`threads.split_samples()`): the first ``n_arrays`` arguments cut along the
    batch axis."""
    arrays, scalars = arrays_then_scalars[:n_arrays], arrays_then_scalars[n_arrays:]
    threads.split_samples(lambda start, stop: kernel(*(a[start:stop] for a in arrays), *scalars), n_samples,
                          values_per_sample, MIN_CHUNK_VALUES)


def max_pool(layer, x):
    """(y, argmax) of ``layer``'s max pooling over ``x`` (N, C, *spatial); None without numba."""
    kernels = _kernels(*_window(layer))
    if kernels is None:
        return None
    positions = layer.output_shape(x.shape[1:])[1:]
    out = np.empty((*x.shape[:2], *positions), dtype=x.dtype)
    argmax = np.empty(out.shape, dtype=np.uint8 if np.prod(layer.kernel_size) <= 256 else np.uint16)
    _by_samples(kernels["max_forward"], x.shape[0], x[0].size, _four(np.ascontiguousarray(x), layer.dims),
                _four(out, layer.dims), _four(argmax, layer.dims), *_geometry(layer), n_arrays=3)
    return out, argmax


def max_pool_backward(layer, grad_y, argmax, input_shape):
    """∂L/∂x of max pooling (the unpadded input's shape); None without numba."""
    kernels = _kernels(*_window(layer))
    if kernels is None:
        return None
    grad_x = np.zeros(input_shape, dtype=grad_y.dtype)
    _by_samples(kernels["max_backward"], grad_y.shape[0], grad_x[0].size,
                _four(np.ascontiguousarray(grad_y), layer.dims), _four(argmax, layer.dims), _four(grad_x, layer.dims),
                *_geometry(layer), n_arrays=3)
    return grad_x


def avg_pool(layer, x):
    """Average pooling of ``x`` (N, C, *spatial); None without numba."""
    kernels = _kernels(*_window(layer))
    if kernels is None:
        return None
    positions = layer.output_shape(x.shape[1:])[1:]
    out = np.empty((*x.shape[:2], *positions), dtype=x.dtype)
    k = x.dtype.type(np.prod(layer.kernel_size))
    _by_samples(kernels["avg_forward"], x.shape[0], x[0].size, _four(np.ascontiguousarray(x), layer.dims),
                _four(out, layer.dims), *_geometry(layer), k, n_arrays=2)
    return out


def avg_pool_backward(layer, grad_y, input_shape):
    """∂L/∂x of average pooling (the unpadded input's shape); None without numba."""
    kernels = _kernels(*_window(layer))
    if kernels is None:
        return None
    grad_x = np.zeros(input_shape, dtype=grad_y.dtype)
    k = grad_y.dtype.type(np.prod(layer.kernel_size))
    _by_samples(kernels["avg_backward"], grad_y.shape[0], grad_x[0].size,
                _four(np.ascontiguousarray(grad_y), layer.dims), _four(grad_x, layer.dims), *_geometry(layer), k,
                n_arrays=2)
    return grad_x
