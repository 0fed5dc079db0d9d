"""Activation functions as layers: A = f(Z), and in backward ∂L/∂Z = ∂L/∂A ⊙ f'(Z).

Each layer keeps the one array its derivative needs: ReLU-family layers their input,
Sigmoid/Tanh/Softmax their output.
"""
from __future__ import annotations

import math

import numpy as np

from .._checks import check_number
from .base import Layer


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^(−x)), computed from e^(−|x|) so that it never overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


class _Activation(Layer):
    def _need(self, stored):
        if stored is None:
            raise RuntimeError(f"{self.label}: backward called before forward")
        return stored


class Identity(_Activation):
    """f(z) = z, f'(z) = 1. Shape: any → same."""

    def forward(self, x, training=False):
        return x

    def backward(self, grad_y):
        return grad_y


class ReLU(_Activation):
    """f(z) = max(z, 0), f'(z) = 1 if z > 0 else 0 (0 at the kink, as PyTorch). Shape: any → same."""

    def __init__(self):
        super().__init__()
        self.Z = None

    def forward(self, x, training=False):
        self.Z = x
        return np.maximum(x, 0)

    def backward(self, grad_y):
        return grad_y * (self._need(self.Z) > 0)


class LeakyReLU(_Activation):
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

    def backward(self, grad_y):
        slope = np.where(self._need(self.Z) > 0, 1, self.alpha).astype(grad_y.dtype, copy=False)
        return grad_y * slope

    def config(self):
        return {"alpha": self.alpha}


class ELU(_Activation):
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

    def backward(self, grad_y):
        slope = np.where(self._need(self.Z) > 0, 1, self.A + self.alpha).astype(grad_y.dtype, copy=False)
        return grad_y * slope

    def config(self):
        return {"alpha": self.alpha}


class GELU(_Activation):
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

    def backward(self, grad_y):
        z, t = self._need(self.Z), self.T
        c, k = z.dtype.type(self._C), z.dtype.type(self._K)
        z_clipped = np.clip(z, -1e6, 1e6)
        slope = 0.5 * (1 + t) + 0.5 * z_clipped * (1 - t * t) * c * (1 + 3 * k * z_clipped * z_clipped)
        return grad_y * slope


class Sigmoid(_Activation):
    """f(z) = 1 / (1 + e^(−z)); f'(z) = f(z)·(1 − f(z)). Stable for any z. Shape: any → same."""

    def __init__(self):
        super().__init__()
        self.A = None

    def forward(self, x, training=False):
        self.A = stable_sigmoid(x)
        return self.A

    def backward(self, grad_y):
        a = self._need(self.A)
        return grad_y * a * (1 - a)


class Tanh(_Activation):
    """f(z) = tanh z; f'(z) = 1 − tanh² z. Shape: any → same."""

    def __init__(self):
        super().__init__()
        self.A = None

    def forward(self, x, training=False):
        self.A = np.tanh(x)
        return self.A

    def backward(self, grad_y):
        a = self._need(self.A)
        return grad_y * (1 - a * a)


class Softplus(_Activation):
    """f(z) = ln(1 + e^z), computed as max(z, 0) + ln(1 + e^(−|z|)); f'(z) = σ(z). Shape: any → same."""

    def __init__(self):
        super().__init__()
        self.Z = None

    def forward(self, x, training=False):
        self.Z = x
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def backward(self, grad_y):
        return grad_y * stable_sigmoid(self._need(self.Z))


class Softmax(_Activation):
    """Row-wise softmax: a_ij = e^(z_ij) / Σ_k e^(z_ik) (computed after subtracting the row max).

    Backward is the exact Jacobian-vector product ∂L/∂z = a ⊙ (g − Σ_k g_k·a_k) for each row.
    For classification prefer raw logits with :class:`deltaprop.CrossEntropy`, which fuses
    the softmax and its gradient.

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


ACTIVATIONS = {
    "identity": Identity,
    "linear": Identity,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "gelu": GELU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softplus": Softplus,
    "softmax": Softmax,
}

#: Activations for which He initialization keeps the forward variance steady.
RELU_FAMILY = {"relu", "leaky_relu", "elu", "gelu"}


def get(activation) -> Layer:
    """Return an activation layer from a name (``"relu"``) or a Layer instance."""
    if isinstance(activation, Layer):
        return activation
    if isinstance(activation, str):
        key = activation.lower()
        if key in ACTIVATIONS:
            return ACTIVATIONS[key]()
        raise ValueError(
            f"unknown activation {activation!r}; known activations: {', '.join(sorted(ACTIVATIONS))}"
        )
    raise TypeError(f"activation must be a name or a Layer, got {activation!r}")
