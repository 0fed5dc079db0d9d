"""Convolutions over sequences and images: Conv1D on (N, C, L), Conv2D on (N, C, H, W) — PyTorch's layouts.

A convolution is a Dense layer applied at every position to the patch of inputs under the kernel,
with the same W everywhere. Written that way (im2col), each pass is one matrix product:

* forward: the patches become the columns of a matrix ``cols`` (C_in·k × N·positions), and
  ``Z = W_flat · cols + b`` (W_flat: C_out × C_in·k) — PyTorch's cross-correlation;
* backward, given δ = ∂L/∂Z arranged as (C_out × N·positions):
  ``∂L/∂W = δ · colsᵀ`` (the input correlated with δ), ``∂L/∂b = Σ δ`` over samples and positions, and
  ``∂L/∂cols = W_flatᵀ · δ``, whose entries are added back onto the input positions they were copied
  from (col2im). That sum *is* the convolution of δ — spread out by the stride — with the flipped
  kernel, the formula of the backward pass, computed without multiplying the zeros the stride leaves.

im2col and col2im copy or add one strided slice per kernel tap (k, or k₁·k₂ array operations), each
vectorized over samples, channels and positions; where numba is installed, col2im and the (N, C) ↔ (C, N)
swaps of short rows run compiled (`deltaprop.layers.conv_kernels`, same sums in the same order). Every
option is checked against finite differences and against PyTorch.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .. import init as initializers
from .._checks import check_allocation, check_positive_int
from ..parameter import Parameter
from . import conv_kernels
from .base import Layer, register_layer


def as_tuple(value, dims: int, name: str, minimum: int = 1) -> tuple:
    """An int, or a tuple of ``dims`` ints, each ≥ ``minimum``, as a tuple of ``dims`` ints."""
    values = (value,) * dims if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    if not isinstance(values, (tuple, list)) or len(values) != dims or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum for v in values):
        raise ValueError(f"{name} must be an integer ≥ {minimum} or a tuple of {dims} such integers, got {value!r}")
    return tuple(int(v) for v in values)


def output_size(size: int, kernel: int, stride: int, before: int, after: int, dilation: int = 1) -> int:
    """Positions of a window of ``kernel`` taps (``dilation`` apart) every ``stride`` over ``size`` padded by
    ``before``/``after``: ⌊(size + before + after − dilation·(kernel − 1) − 1) / stride⌋ + 1."""
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def pad_spatial(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    """``x`` (N, C, *spatial) with ``pads`` ((before, after) per spatial axis) entries of ``value`` added —
    np.pad's result, without its per-call overhead."""
    shape = (*x.shape[:2], *(size + a + b for size, (a, b) in zip(x.shape[2:], pads)))
    padded = np.full(shape, value, dtype=x.dtype) if value else np.zeros(shape, dtype=x.dtype)
    padded[(slice(None), slice(None), *(slice(a, a + size) for size, (a, _) in zip(x.shape[2:], pads)))] = x
    return padded


def swap_leading_axes(a: np.ndarray) -> np.ndarray:
    """``a`` with its first two axes swapped ((C, N, …) ↔ (N, C, …)), as a new C-contiguous array."""
    swapped = conv_kernels.swap_leading(a)
    return swapped if swapped is not None else np.ascontiguousarray(a.transpose(1, 0, *range(2, a.ndim)))


def taps(kernel: tuple, stride: tuple, dilation: tuple, positions: tuple):
    """For each kernel tap (its flat index, in C order), the slices of the padded input that the tap reads at
    every output position: tap t of window o reads x[o·stride + t·dilation] along each axis."""
    for index, tap in enumerate(itertools.product(*(range(k) for k in kernel))):
        yield index, tuple(slice(t * d, t * d + s * (p - 1) + 1, s)
                           for t, d, s, p in zip(tap, dilation, stride, positions))


def im2col(x: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple, positions: tuple) -> np.ndarray:
    """The windows of the (already padded) ``x`` (N, C, *spatial) as a matrix (C·k, N·positions): row
    (c, tap) holds input channel c read by that tap at every sample and position. Built one tap at a
    time (k strided copies, each vectorized over samples, channels and positions)."""
    n, channels = x.shape[:2]
    cols = np.empty((channels, math.prod(kernel), n, *positions), dtype=x.dtype)
    by_channel = x.transpose(1, 0, *range(2, x.ndim))                 # (C, N, *spatial), a view
    for index, where in taps(kernel, stride, dilation, positions):
        cols[:, index] = by_channel[(slice(None), slice(None), *where)]
    return cols.reshape(channels * math.prod(kernel), n * math.prod(positions))


def col2im(cols: np.ndarray, shape: tuple, kernel: tuple, stride: tuple, dilation: tuple,
           positions: tuple) -> np.ndarray:
    """The adjoint of `im2col()`: each entry of ``cols`` (C·k, N·positions) added back onto the input
    position it was read from, giving an array of the padded input's ``shape`` (N, C, *spatial)."""
    n, channels = shape[:2]
    total = np.zeros((channels, n, *shape[2:]), dtype=cols.dtype)
    cols = cols.reshape(channels, math.prod(kernel), n, *positions)
    for index, where in taps(kernel, stride, dilation, positions):
        total[(slice(None), slice(None), *where)] += cols[:, index]
    return total.transpose(1, 0, *range(2, len(shape)))


class _Conv(Layer):
    """Shared by Conv1D and Conv2D: ``dims`` spatial axes after (N, C)."""

    kind = "weights"
    unit_axes = {"W": 0}
    linear_in_parameters = True
    dims = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 bias: bool = True, init="glorot_uniform", bias_init="zeros"):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = as_tuple(kernel_size, self.dims, "kernel_size")
        self.stride = as_tuple(stride, self.dims, "stride")
        self.dilation = as_tuple(dilation, self.dims, "dilation")
        if padding == "same":
            if any(s != 1 for s in self.stride):
                raise ValueError("padding='same' needs stride 1 (as in PyTorch)")
            # the output keeps the input's size: d·(k − 1) zeros in all, the odd one at the end (as PyTorch)
            total = [d * (k - 1) for k, d in zip(self.kernel_size, self.dilation)]
            self.pads = tuple((t // 2, t - t // 2) for t in total)
        elif padding == "valid":
            self.pads = ((0, 0),) * self.dims
        else:
            self.pads = tuple((p, p) for p in as_tuple(padding, self.dims, "padding", minimum=0))
        self.padding = padding if isinstance(padding, str) else tuple(p for p, _ in self.pads)
        self.use_bias = bool(bias)
        self.init = initializers.get(init)
        self.bias_init = initializers.get(bias_init)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        check_allocation(shape, np.float32, f"{type(self).__name__}({self.in_channels}, {self.out_channels})")
        self.W = Parameter("W", np.empty(shape, dtype=np.float32))
        self.b = Parameter("b", np.empty(self.out_channels, dtype=np.float32)) if self.use_bias else None
        self.cols = None
        self.reset_parameters(np.random.default_rng())

    @classmethod
    def expected_shapes(cls, config: dict) -> dict:
        in_channels = check_positive_int(config["in_channels"], "in_channels")
        out_channels = check_positive_int(config["out_channels"], "out_channels")
        kernel = as_tuple(config["kernel_size"], cls.dims, "kernel_size")
        return {"W": (out_channels, in_channels, *kernel), **({"b": (out_channels,)} if config.get("bias", True) else {})}

    # ---------------------------------------------------------------- parameters
    def parameters(self) -> list:
        return [self.W] if self.b is None else [self.W, self.b]

    def reset_parameters(self, rng):
        """W from ``init`` with fan_in = in_channels·prod(kernel), fan_out = out_channels·prod(kernel)."""
        dtype = self.W.value.dtype
        self.W.value[...] = self.init(self.W.value.shape, rng, dtype)
        if self.b is not None:
            self.b.value[...] = self.bias_init(self.b.value.shape, rng, dtype)

    # -------------------------------------------------------------------- shapes
    @property
    def input_shape(self) -> tuple:
        return (self.in_channels,) + (None,) * self.dims

    def output_shape(self, input_shape: tuple) -> tuple:
        spatial = tuple(None if size is None else output_size(size, k, s, *pad, d) for size, k, s, pad, d in
                        zip(input_shape[1:], self.kernel_size, self.stride, self.pads, self.dilation))
        return (self.out_channels, *spatial)

    def _check(self, x):
        if x.ndim != 2 + self.dims or x.shape[1] != self.in_channels:
            axes = "(N, C, L)" if self.dims == 1 else "(N, C, H, W)"
            raise ValueError(f"{self.label} expects input {axes} with C = {self.in_channels}, got shape {x.shape}")
        padded = [size + a + b for size, (a, b) in zip(x.shape[2:], self.pads)]
        if any(p < d * (k - 1) + 1 for p, k, d in zip(padded, self.kernel_size, self.dilation)):
            raise ValueError(f"{self.label}: input of spatial size {x.shape[2:]} (padded {tuple(padded)}) is smaller "
                             f"than the kernel {self.kernel_size} with dilation {self.dilation}")

    # ---------------------------------------------------------------------- pass
    def forward(self, x, training=False):
        """Z = W_flat · cols + b, cols holding one window (C_in·k values) per sample and position."""
        self._check(x)
        self.input_shape_seen = x.shape
        self.positions = tuple(output_size(size, k, s, a, b, d) for size, k, s, (a, b), d in
                               zip(x.shape[2:], self.kernel_size, self.stride, self.pads, self.dilation))
        self.cols = self._columns(x)                                                          # (C·k, N·O)
        z = self.W.value.reshape(self.out_channels, -1) @ self.cols                            # (C_out, N·O)
        z = z.reshape(self.out_channels, x.shape[0], *self.positions)
        if self.b is not None:
            swapped = conv_kernels.swap_add_bias(z, self.b.value)        # one pass for both: the same sums
            if swapped is not None:
                return swapped
            z += self.b.value.reshape(-1, 1, *(1,) * self.dims)
        return swap_leading_axes(z)

    def _columns(self, x):
        """im2col of x, padding included (NumPy's strided copies: a compiled copy was measured no faster)."""
        padded = pad_spatial(x, self.pads) if any(a or b for a, b in self.pads) else x
        return im2col(padded, self.kernel_size, self.stride, self.dilation, self.positions)

    def _delta_columns(self, grad_y):
        """δ as (C_out, N·positions), the layout of Z's product."""
        return swap_leading_axes(grad_y).reshape(self.out_channels, -1)

    def backward_parameters(self, grad_y):
        """∂L/∂W = δ · colsᵀ, ∂L/∂b = Σ δ (over samples and positions)."""
        if self.cols is None:
            raise RuntimeError(f"{self.label}: backward called before forward")
        delta = self._delta_columns(grad_y)
        np.matmul(delta, self.cols.T, out=self.W.grad.reshape(self.out_channels, -1))
        if self.b is not None:
            np.sum(delta, axis=1, out=self.b.grad)
        return delta

    def backward(self, grad_y):
        """The parameter gradients, and ∂L/∂x: W_flatᵀ · δ added back onto the input (col2im)."""
        delta = self.backward_parameters(grad_y)
        grad_cols = self.W.value.reshape(self.out_channels, -1).T @ delta                     # (C·k, N·O)
        shape = self.input_shape_seen
        grad_x = conv_kernels.col2im(grad_cols, shape, self.kernel_size, self.stride, self.dilation, self.pads,
                                     self.positions)
        if grad_x is None:
            padded_shape = (*shape[:2], *(size + a + b for size, (a, b) in zip(shape[2:], self.pads)))
            grad_padded = col2im(grad_cols, padded_shape, self.kernel_size, self.stride, self.dilation,
                                 self.positions)
            crop = tuple(slice(a, a + size) for (a, _), size in zip(self.pads, shape[2:]))
            grad_x = grad_padded[(slice(None), slice(None), *crop)]
        return grad_x

    # ------------------------------------------------------------------- export
    def to_onnx(self, graph, x):
        inputs = [x, graph.constant(self.W.value, "W")]
        if self.b is not None:
            inputs.append(graph.constant(self.b.value, "b"))
        return graph.op("Conv", *inputs, kernel_shape=list(self.kernel_size), strides=list(self.stride),
                        dilations=list(self.dilation), pads=[a for a, _ in self.pads] + [b for _, b in self.pads])

    def config(self):
        config = {"in_channels": self.in_channels, "out_channels": self.out_channels,
                  "kernel_size": self._plain(self.kernel_size), "stride": self._plain(self.stride),
                  "padding": self.padding if isinstance(self.padding, str) else self._plain(self.padding),
                  "dilation": self._plain(self.dilation), "bias": self.use_bias}
        for name, initializer in (("init", self.init), ("bias_init", self.bias_init)):
            described = initializers.to_config(initializer)     # None for a user's own function
            if described is not None:
                config[name] = described
        return config

    @staticmethod
    def _plain(values: tuple):
        """An int when every axis has the same value (as one writes it), else a list."""
        return values[0] if len(set(values)) == 1 else list(values)

    def describe(self) -> str:
        padding = self.padding if isinstance(self.padding, str) else self._plain(self.padding)
        options = (("stride", self._plain(self.stride), 1), ("padding", padding, 0),
                   ("dilation", self._plain(self.dilation), 1), ("bias", self.use_bias, True))
        extra = "".join(f", {name}={value}" for name, value, default in options if value != default)
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, {self._plain(self.kernel_size)}{extra})"


@register_layer
class Conv1D(_Conv):
    """1-D convolution (``torch.nn.Conv1d``): ``(N, C_in, L) → (N, C_out, L_out)``.

    ``Z[n, o, l] = b[o] + Σ_c Σ_k W[o, c, k] · x_pad[n, c, l·stride + k·dilation]``, with
    ``L_out = ⌊(L + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int
    stride, dilation : int, default 1
    padding : int, "valid" or "same", default 0
        Zeros added at both ends; "same" (stride 1 only) keeps L, the odd zero at the end.
    bias : bool, default True
    init, bias_init : initializer names or callables
        ``W`` has shape ``(out_channels, in_channels, kernel_size)``; its fan-in is
        ``in_channels·kernel_size`` (``dp.cnn`` picks He init before ReLU).

    Notes
    -----
    The backward pass is in the module docstring — one matrix product for ∂L/∂W, one for ∂L/∂x.
    """

    dims = 1


@register_layer
class Conv2D(_Conv):
    """2-D convolution (``torch.nn.Conv2d``): ``(N, C_in, H, W) → (N, C_out, H_out, W_out)``.

    ``Z[n, o, i, j] = b[o] + Σ_c Σ_{p,q} W[o, c, p, q] · x_pad[n, c, i·s₁ + p·d₁, j·s₂ + q·d₂]``.
    ``kernel_size``, ``stride``, ``padding`` and ``dilation`` are an int or a pair (height, width);
    ``padding`` may also be "valid" or "same". ``W`` has shape ``(out_channels, in_channels, k₁, k₂)``.
    """

    dims = 2
