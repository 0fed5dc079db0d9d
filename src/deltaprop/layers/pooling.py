"""Pooling and reshaping: MaxPool1D/2D, AvgPool1D/2D, GlobalAvgPool and Flatten (PyTorch's semantics).

Pooling has no parameters; its backward pass routes δ to the inputs each output came from:

* max pooling: ``y = max over the window``; ∂L/∂x adds each δ to the position of its window's maximum
  (the first one, on ties, as PyTorch), so windows that overlap add up;
* average pooling: ``y = (1/k)·Σ window`` (padding zeros counted, PyTorch's ``count_include_pad=True``);
  ∂L/∂x adds δ/k to every position of the window;
* global average pooling: ``y[n, c] = mean over positions of x[n, c, …]``; ∂L/∂x = δ/positions everywhere.
"""
from __future__ import annotations

import math

import numpy as np

from . import pool_kernels
from .base import Layer, register_layer
from .conv import as_tuple, output_size, pad_spatial, taps


class _Pool(Layer):
    kind = "shape"
    dims = 1

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = as_tuple(kernel_size, self.dims, "kernel_size")
        self.stride = self.kernel_size if stride is None else as_tuple(stride, self.dims, "stride")
        self.padding = as_tuple(padding, self.dims, "padding", minimum=0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"padding must be at most half the kernel size, got padding={padding} for kernel_size="
                             f"{kernel_size} (as in PyTorch)")
        self.ones = (1,) * self.dims

    @property
    def input_shape(self) -> tuple:
        return (None,) * (1 + self.dims)

    def output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], *(None if size is None else output_size(size, k, s, p, p) for size, k, s, p in
                                  zip(input_shape[1:], self.kernel_size, self.stride, self.padding)))

    def _check(self, x):
        if x.ndim != 2 + self.dims:
            raise ValueError(f"{self.label} expects input {'(N, C, L)' if self.dims == 1 else '(N, C, H, W)'}, "
                             f"got shape {x.shape}")
        if any(size + 2 * p < k for size, k, p in zip(x.shape[2:], self.kernel_size, self.padding)):
            raise ValueError(f"{self.label}: input of spatial size {x.shape[2:]} is smaller than the window "
                             f"{self.kernel_size}")

    def _pad(self, x, value):
        if not any(self.padding):
            return x
        return pad_spatial(x, [(p, p) for p in self.padding], value)

    def _crop(self, grad):
        return grad[(slice(None), slice(None), *(slice(p, p + size) for p, size in zip(self.padding, self.spatial)))]

    def config(self):
        plain = (lambda values: values[0] if len(set(values)) == 1 else list(values))
        return {"kernel_size": plain(self.kernel_size), "stride": plain(self.stride), "padding": plain(self.padding)}

    def _onnx_attributes(self) -> dict:
        return {"kernel_shape": list(self.kernel_size), "strides": list(self.stride),
                "pads": list(self.padding) * 2}


class _MaxPool(_Pool):
    def forward(self, x, training=False):
        """y = the largest entry of each window; which tap held it (the first, on ties) is kept for backward.
        Compiled when numba is there (`pool_kernels`: the same numbers), else `numpy_forward()`."""
        self._check(x)
        self.spatial = x.shape[2:]
        self.positions = self.output_shape(x.shape[1:])[1:]
        self.input_shape_seen = x.shape
        compiled = pool_kernels.max_pool(self, x)
        if compiled is None:
            return self.numpy_forward(x)
        best, self.argmax = compiled
        return best

    def backward(self, grad_y):
        """Each δ added to the input position of its window's maximum."""
        compiled = pool_kernels.max_pool_backward(self, grad_y, self.argmax, self.input_shape_seen)
        return compiled if compiled is not None else self.numpy_backward(grad_y)

    def numpy_forward(self, x):
        """The reference pass in NumPy: one strided view of the padded input per tap."""
        self._check(x)
        self.spatial = x.shape[2:]
        padded = self._pad(x, -np.inf)
        self.padded_shape = padded.shape
        self.positions = self.output_shape(x.shape[1:])[1:]
        windows = [padded[(slice(None), slice(None), *where)]
                   for _, where in taps(self.kernel_size, self.stride, self.ones, self.positions)]
        best = windows[0].copy()
        for values in windows[1:]:
            np.maximum(best, values, out=best)
        # argmax = the first tap equal to the maximum (PyTorch's rule on ties): walking the taps from the last to
        # the first, argmax ← argmax·(1 − equal) + tap·equal leaves the smallest tap that matched
        self.argmax = np.zeros(best.shape, dtype=np.uint8 if len(windows) <= 256 else np.uint16)
        equal = np.empty(best.shape, dtype=bool)
        for index in range(len(windows) - 1, -1, -1):
            np.equal(windows[index], best, out=equal)
            self.argmax *= ~equal
            if index:
                self.argmax += equal * self.argmax.dtype.type(index)
        return best

    def numpy_backward(self, grad_y):
        """The reference backward pass in NumPy (after `numpy_forward()`)."""
        total = np.zeros(self.padded_shape, dtype=grad_y.dtype)
        routed, chosen = np.empty_like(grad_y), np.empty(grad_y.shape, dtype=bool)
        disjoint = all(s >= k for s, k in zip(self.stride, self.kernel_size))   # windows do not overlap
        for index, where in taps(self.kernel_size, self.stride, self.ones, self.positions):
            np.equal(self.argmax, index, out=chosen)
            target = total[(slice(None), slice(None), *where)]
            if disjoint:                                   # each input position is in one window: write
                np.multiply(grad_y, chosen, out=target)
            else:                                          # overlapping windows add up
                np.multiply(grad_y, chosen, out=routed)
                target += routed
        return self._crop(total)

    def to_onnx(self, graph, x):
        return graph.op("MaxPool", x, **self._onnx_attributes())


class _AvgPool(_Pool):
    def forward(self, x, training=False):
        """y = the mean of each window, padding zeros included (compiled when numba is there: the same numbers)."""
        self._check(x)
        self.spatial = x.shape[2:]
        self.input_shape_seen = x.shape
        compiled = pool_kernels.avg_pool(self, x)
        return compiled if compiled is not None else self.numpy_forward(x)

    def backward(self, grad_y):
        """δ/k added to every position of each window."""
        compiled = pool_kernels.avg_pool_backward(self, grad_y, self.input_shape_seen)
        return compiled if compiled is not None else self.numpy_backward(grad_y)

    def numpy_forward(self, x):
        """The reference pass in NumPy: one strided view of the padded input per tap."""
        self._check(x)
        self.spatial = x.shape[2:]
        padded = self._pad(x, 0.0)
        self.padded_shape = padded.shape
        self.positions = self.output_shape(x.shape[1:])[1:]
        total = np.zeros((*x.shape[:2], *self.positions), dtype=x.dtype)
        for _, where in taps(self.kernel_size, self.stride, self.ones, self.positions):
            total += padded[(slice(None), slice(None), *where)]
        return total / x.dtype.type(math.prod(self.kernel_size))

    def numpy_backward(self, grad_y):
        """The reference backward pass in NumPy (after `numpy_forward()`)."""
        self.positions = grad_y.shape[2:]
        share = grad_y / grad_y.dtype.type(math.prod(self.kernel_size))
        total = np.zeros(self.padded_shape, dtype=grad_y.dtype)
        for _, where in taps(self.kernel_size, self.stride, self.ones, self.positions):
            total[(slice(None), slice(None), *where)] += share
        return self._crop(total)

    def to_onnx(self, graph, x):
        return graph.op("AveragePool", x, count_include_pad=1, **self._onnx_attributes())


@register_layer
class MaxPool1D(_MaxPool):
    """Max pooling over (N, C, L) (``torch.nn.MaxPool1d``): windows of ``kernel_size`` every ``stride``
    (default ``kernel_size``), ``padding`` (≤ kernel_size/2) counted as −∞."""

    dims = 1


@register_layer
class MaxPool2D(_MaxPool):
    """Max pooling over (N, C, H, W) (``torch.nn.MaxPool2d``); sizes an int or a pair."""

    dims = 2


@register_layer
class AvgPool1D(_AvgPool):
    """Average pooling over (N, C, L) (``torch.nn.AvgPool1d``, ``count_include_pad=True``)."""

    dims = 1


@register_layer
class AvgPool2D(_AvgPool):
    """Average pooling over (N, C, H, W) (``torch.nn.AvgPool2d``, ``count_include_pad=True``)."""

    dims = 2


@register_layer
class GlobalAvgPool(Layer):
    """The mean over every spatial axis: ``(N, C, …) → (N, C)``, ``∂L/∂x = δ / positions`` at each position."""

    kind = "shape"

    def forward(self, x, training=False):
        if x.ndim < 3:
            raise ValueError(f"{self.label} expects input (N, C, L) or (N, C, H, W), got shape {x.shape}")
        self.spatial = x.shape[2:]
        return x.mean(axis=tuple(range(2, x.ndim)))

    def backward(self, grad_y):
        share = grad_y / grad_y.dtype.type(math.prod(self.spatial))
        return np.broadcast_to(share.reshape(*share.shape, *(1,) * len(self.spatial)),
                               (*share.shape, *self.spatial)).copy()

    def output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0],)

    def to_onnx(self, graph, x):
        return graph.op("Flatten", graph.op("GlobalAveragePool", x), axis=1)


@register_layer
class Flatten(Layer):
    """``(N, …) → (N, product of the rest)``, C order (``torch.nn.Flatten``); backward reshapes δ back."""

    kind = "shape"

    def forward(self, x, training=False):
        self.sample_shape = x.shape[1:]
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_y):
        return grad_y.reshape(grad_y.shape[0], *self.sample_shape)

    def output_shape(self, input_shape: tuple) -> tuple:
        return (None if None in input_shape else math.prod(input_shape),)

    def to_onnx(self, graph, x):
        return graph.op("Flatten", x, axis=1)
