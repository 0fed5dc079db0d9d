"""Activation functions as layers: A = f(Z), and in backward ∂L/∂Z = ∂L/∂A ⊙ f'(Z).

Each activation writes f and f' side by side: ``forward`` computes f(z) and keeps the one array
f' needs (ReLU-family layers their input, Sigmoid/Tanh their output); ``derivative`` computes
f'(z) from it; ``backward`` is ∂L/∂A ⊙ f'(Z).
"""
from __future__ import annotations

import math

import numpy as np

from .._checks import check_number
from .._math import stable_sigmoid
from . import activation_kernels
from .base import LAYERS, Layer, register_layer


class Activation(Layer):
    """An elementwise activation: ``backward(g) = g ⊙ derivative()``."""

    kind = "activation"

    def _need(self, stored):
        if stored is None:
            raise RuntimeError(f"{self.label}: backward called before forward")
        return stored

    def backward(self, grad_y):
        return grad_y * self.derivative()


class ReLUFamily(Activation):
    """Activations that are (nearly) zero for z < 0: a unit whose z ≤ 0 for every sample is dead.
    He initialization keeps their forward variance steady."""

    family = "relu"
    recommended_init = "he_uniform"


class Squashing(Activation):
    """Activations that flatten out for large |z| (sigmoid, tanh): units saturate and f'(z) → 0.
    Glorot initialization keeps their variance steady."""

    family = "squashing"


@register_layer(aliases=("linear",))
class Identity(Activation):
    """f(z) = z, f'(z) = 1. Shape: any → same."""

    def forward(self, x, training=False):
        return x

    def backward(self, grad_y):
        return grad_y

    def to_onnx(self, graph, x):
        return x


@register_layer
class ReLU(ReLUFamily):
    """f(z) = max(z, 0), f'(z) = 1 if z > 0 else 0 (0 at the kink, as PyTorch). Shape: any → same."""

    def __init__(self):
        super().__init__()
        self.Z = None

    def forward(self, x, training=False):
        self.Z = x
        return np.maximum(x, 0)

    def derivative(self):
        return self._need(self.Z) > 0

    def backward(self, grad_y):
        """∂L/∂A ⊙ [Z > 0], in one compiled pass when numba is there (the same numbers)."""
        fast = activation_kernels.relu_backward(grad_y, self._need(self.Z))
        return fast if fast is not None else grad_y * self.derivative()

    def to_onnx(self, graph, x):
        return graph.op("Relu", x)


@register_layer
class LeakyReLU(ReLUFamily):
    """f(z) = z if z > 0 else α·z; f'(z) = 1 or α. Shape: any → same.

    Parameters
    ----------
    alpha : float, default 0.01
        Slope for negative inputs.
    """

    def __init__(self, alpha: float = 0.01):
        super().__init__()
        self.alpha = check_number(alpha, "alpha", low=0)
        self.Z = None

    def forward(self, x, training=False):
        self.Z = x
        return np.where(x > 0, x, x * x.dtype.type(self.alpha))

    def derivative(self):
        z = self._need(self.Z)
        return np.where(z > 0, 1, self.alpha).astype(z.dtype, copy=False)

    def backward(self, grad_y):
        """∂L/∂A ⊙ (1 or α), in one compiled pass when numba is there."""
        fast = activation_kernels.leaky_relu_backward(grad_y, self._need(self.Z), self.alpha)
        return fast if fast is not None else grad_y * self.derivative()

    def to_onnx(self, graph, x):
        """Where(z > 0, z, α·z): primitives, as onnxruntime's float64 LeakyRelu is not everywhere."""
        negative = graph.op("Mul", x, graph.scalar(self.alpha))
        return graph.op("Where", graph.op("Greater", x, graph.scalar(0)), x, negative)

    def config(self):
        return {"alpha": self.alpha}


@register_layer
class ELU(ReLUFamily):
    """f(z) = z if z > 0 else α·(e^z − 1); f'(z) = 1 or f(z) + α. Shape: any → same."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = check_number(alpha, "alpha", low=0)
        self.Z = None
        self.A = None

    def forward(self, x, training=False):
        self.Z = x
        # expm1 of min(z, 0) never overflows, and is exact near 0.
        self.A = np.where(x > 0, x, x.dtype.type(self.alpha) * np.expm1(np.minimum(x, 0)))
        return self.A

    def derivative(self):
        z = self._need(self.Z)
        return np.where(z > 0, 1, self.A + self.alpha).astype(z.dtype, copy=False)

    def to_onnx(self, graph, x):
        """Where(z > 0, z, α·expm1(min(z, 0))) (onnxruntime has no float64 Elu)."""
        negative = graph.op("Mul", graph.scalar(self.alpha), graph.expm1(graph.op("Min", x, graph.scalar(0))))
        return graph.op("Where", graph.op("Greater", x, graph.scalar(0)), x, negative)

    def config(self):
        return {"alpha": self.alpha}


@register_layer
class GELU(ReLUFamily):
    """Gaussian error linear unit, **tanh approximation** (as ``torch.nn.GELU(approximate="tanh")``).

    f(z) = ½·z·(1 + tanh(u)),  u = √(2/π)·(z + 0.044715·z³)

    f'(z) = ½·(1 + tanh(u)) + ½·z·(1 − tanh²(u))·√(2/π)·(1 + 3·0.044715·z²)

    Shape: any → same.
    """

    _C = math.sqrt(2.0 / math.pi)
    _K = 0.044715

    def __init__(self):
        super().__init__()
        self.Z = None
        self.T = None

    def forward(self, x, training=False):
        self.Z = x
        c, k = x.dtype.type(self._C), x.dtype.type(self._K)
        # u grows like z³ but tanh saturates; clip z so z³ stays finite in float32.
        z = np.clip(x, -1e6, 1e6)
        self.T = np.tanh(c * (z + k * z * z * z))
        return 0.5 * x * (1 + self.T)

    def derivative(self):
        z, t = self._need(self.Z), self.T
        c, k = z.dtype.type(self._C), z.dtype.type(self._K)
        z = np.clip(z, -1e6, 1e6)
        return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * c * (1 + 3 * k * z * z)

    def to_onnx(self, graph, x):
        """½·x·(1 + tanh(√(2/π)·(z + 0.044715·z³))), z = x clipped to ±1e6 as in forward."""
        z = graph.op("Clip", x, graph.scalar(-1e6), graph.scalar(1e6))
        cube = graph.op("Mul", graph.op("Mul", z, z), z)
        inner = graph.op("Mul", graph.scalar(self._C), graph.op("Add", z, graph.op("Mul", graph.scalar(self._K), cube)))
        half_x = graph.op("Mul", graph.scalar(0.5), x)
        return graph.op("Mul", half_x, graph.op("Add", graph.scalar(1.0), graph.op("Tanh", inner)))


@register_layer
class Sigmoid(Squashing):
    """f(z) = 1 / (1 + e^(−z)); f'(z) = f(z)·(1 − f(z)). Stable for any z. Shape: any → same."""

    def __init__(self):
        super().__init__()
        self.A = None

    def forward(self, x, training=False):
        self.A = stable_sigmoid(x)
        return self.A

    def derivative(self):
        a = self._need(self.A)
        return a * (1 - a)

    def to_onnx(self, graph, x):
        return graph.op("Sigmoid", x)


@register_layer
class Tanh(Squashing):
    """f(z) = tanh z; f'(z) = 1 − tanh² z. Shape: any → same."""

    def __init__(self):
        super().__init__()
        self.A = None

    def forward(self, x, training=False):
        self.A = np.tanh(x)
        return self.A

    def derivative(self):
        a = self._need(self.A)
        return 1 - a * a

    def to_onnx(self, graph, x):
        return graph.op("Tanh", x)


@register_layer
class Softplus(Activation):
    """f(z) = ln(1 + e^z), computed as max(z, 0) + ln(1 + e^(−|z|)); f'(z) = σ(z). Shape: any → same."""

    def __init__(self):
        super().__init__()
        self.Z = None

    def forward(self, x, training=False):
        self.Z = x
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def derivative(self):
        return stable_sigmoid(self._need(self.Z))

    def to_onnx(self, graph, x):
        """max(z, 0) + log1p(e^(−|z|)) (onnxruntime has no float64 Softplus)."""
        tail = graph.log1p(graph.op("Exp", graph.op("Neg", graph.op("Abs", x))))
        return graph.op("Add", graph.op("Max", x, graph.scalar(0)), tail)


@register_layer
class Softmax(Activation):
    """Row-wise softmax: a_ij = e^(z_ij) / Σ_k e^(z_ik) (computed after subtracting the row max).

    Not elementwise: backward is the exact Jacobian-vector product ∂L/∂z = a ⊙ (g − Σ_k g_k·a_k)
    for each row. For classification prefer raw logits with [`deltaprop.CrossEntropy`][deltaprop.CrossEntropy], which
    fuses the softmax and its gradient.

    Shape: ``(N, C)`` → ``(N, C)``.
    """

    def __init__(self):
        super().__init__()
        self.A = None

    def forward(self, x, training=False):
        shifted = x - x.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        self.A = e / e.sum(axis=1, keepdims=True)
        return self.A

    def backward(self, grad_y):
        a = self._need(self.A)
        return a * (grad_y - (grad_y * a).sum(axis=1, keepdims=True))

    def to_onnx(self, graph, x):
        return graph.op("Softmax", x, axis=-1)


def is_activation(cls) -> bool:
    return cls.kind == "activation"


def get(activation) -> Layer:
    """An activation layer from a registered name (``"relu"``, ``"tanh"``, a user's ``"swish"``) or a Layer."""
    if isinstance(activation, Layer):
        return activation
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a name or a Layer, got {activation!r}")
    if activation in LAYERS and is_activation(LAYERS.lookup(activation)):
        return LAYERS.lookup(activation)()
    raise ValueError(f"unknown activation {activation!r}; known activations: {', '.join(LAYERS.names(is_activation))}")
