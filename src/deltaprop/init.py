"""Weight initializers.

An initializer is a callable ``init(shape, rng, dtype) -> ndarray`` drawing from a
``numpy.random.Generator``. For a weight matrix of shape ``(n_in, n_out)``,
``fan_in = n_in`` and ``fan_out = n_out``; for a convolution's ``(out_channels, in_channels,
*kernel)``, ``fan_in = in_channels·prod(kernel)`` and ``fan_out = out_channels·prod(kernel)``.

========================  =========================================================
name                      distribution
========================  =========================================================
``zeros``                 0
``constant``              ``value`` (default 0)
``uniform``               U(low, high), default U(-0.05, 0.05)
``normal``                N(mean, std²), default N(0, 0.05²)
``glorot_uniform``        U(−a, a), a = √(6 / (fan_in + fan_out))   (Dense default)
``glorot_normal``         N(0, 2 / (fan_in + fan_out))
``he_uniform``            U(−a, a), a = √(6 / fan_in)
``he_normal``             N(0, 2 / fan_in)
``lecun_normal``          N(0, 1 / fan_in)
========================  =========================================================

Glorot keeps the variance of activations and of δ roughly constant through sigmoid/tanh
layers; He does the same for the ReLU family, whose derivative is zero on half its inputs.
"""
from __future__ import annotations

import math

import numpy as np

from ._registry import Registry


def _fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out): a Dense W (n_in, n_out) → (n_in, n_out); a convolution's W (out, in, *kernel) →
    (in·prod(kernel), out·prod(kernel)), as PyTorch counts them."""
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) > 2:
        receptive = math.prod(shape[2:])
        return shape[1] * receptive, shape[0] * receptive
    return shape[0], shape[1]


class Initializer:
    """Base class: subclasses implement ``__call__(shape, rng, dtype)``."""

    name = "initializer"

    def config(self) -> dict:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class Constant(Initializer):
    name = "constant"

    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def __call__(self, shape, rng, dtype=np.float32):
        return np.full(shape, self.value, dtype=dtype)

    def config(self):
        return {"value": self.value}


class Zeros(Constant):
    name = "zeros"

    def __init__(self):
        super().__init__(0.0)

    def config(self):
        return {}


class Uniform(Initializer):
    name = "uniform"

    def __init__(self, low: float = -0.05, high: float = 0.05):
        if not high > low:
            raise ValueError(f"uniform initializer needs low < high, got low={low}, high={high}")
        self.low, self.high = float(low), float(high)

    def __call__(self, shape, rng, dtype=np.float32):
        return rng.uniform(self.low, self.high, size=shape).astype(dtype)

    def config(self):
        return {"low": self.low, "high": self.high}


class Normal(Initializer):
    name = "normal"

    def __init__(self, mean: float = 0.0, std: float = 0.05):
        if not std >= 0:
            raise ValueError(f"normal initializer needs std >= 0, got std={std}")
        self.mean, self.std = float(mean), float(std)

    def __call__(self, shape, rng, dtype=np.float32):
        return rng.normal(self.mean, self.std, size=shape).astype(dtype)

    def config(self):
        return {"mean": self.mean, "std": self.std}


class _VarianceScaling(Initializer):
    """N(0, scale / fan) or U(−a, a) with a = √(3 · scale / fan)."""

    scale = 1.0
    mode = "fan_in"
    distribution = "normal"

    def __call__(self, shape, rng, dtype=np.float32):
        fan_in, fan_out = _fans(shape)
        fan = fan_in if self.mode == "fan_in" else (fan_in + fan_out) / 2.0
        variance = self.scale / fan
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return rng.uniform(-limit, limit, size=shape).astype(dtype)
        return rng.normal(0.0, math.sqrt(variance), size=shape).astype(dtype)


class GlorotUniform(_VarianceScaling):
    name, mode, distribution = "glorot_uniform", "fan_avg", "uniform"


class GlorotNormal(_VarianceScaling):
    name, mode, distribution = "glorot_normal", "fan_avg", "normal"


class HeUniform(_VarianceScaling):
    name, scale, distribution = "he_uniform", 2.0, "uniform"


class HeNormal(_VarianceScaling):
    name, scale, distribution = "he_normal", 2.0, "normal"


class LecunNormal(_VarianceScaling):
    name = "lecun_normal"


INITIALIZERS = Registry("initializer", Initializer, "an initializer name or a callable(shape, rng, dtype)",
                        argument="init")
INITIALIZERS.register(Zeros, Zeros.name)
INITIALIZERS.register(Constant, Constant.name)
INITIALIZERS.register(Uniform, Uniform.name)
INITIALIZERS.register(Normal, Normal.name)
INITIALIZERS.register(GlorotUniform, GlorotUniform.name)
INITIALIZERS.register(GlorotNormal, GlorotNormal.name)
INITIALIZERS.register(HeUniform, HeUniform.name)
INITIALIZERS.register(HeNormal, HeNormal.name)
INITIALIZERS.register(LecunNormal, LecunNormal.name)


def get(init) -> "Initializer":
    """Return an initializer from a name (``"he_normal"``), an Initializer, a config dict, or any callable."""
    if isinstance(init, dict):
        return from_config(init)
    if callable(init) and not isinstance(init, (str, Initializer)):
        return init
    return INITIALIZERS.get(init)


def to_config(init):
    """Describe an initializer as ``{"name": ..., **args}``, or None for a user callable."""
    if isinstance(init, Initializer):
        return {"name": init.name, **init.config()}
    return None


def from_config(config: dict) -> Initializer:
    """Rebuild an initializer from ``{"name": ..., **args}`` (the inverse of ``to_config``)."""
    config = dict(config)
    name = config.pop("name", None)
    if not isinstance(name, str):
        raise ValueError(f"initializer config needs a 'name', got {config!r}")
    return INITIALIZERS.lookup(name)(**config)
