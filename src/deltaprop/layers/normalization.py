"""BatchNorm and LayerNorm: normalize, then scale by γ and shift by β."""
from __future__ import annotations

import math

import numpy as np

from .._checks import check_allocation, check_number, check_positive_int
from ..parameter import Parameter
from .base import Layer, register_layer


class _Normalization(Layer):
    kind = "normalization"
    STATE = ()    # the names of its state arrays (BatchNorm's running statistics), each of n_features values

    def __init__(self, n_features: int, eps: float, affine: bool):
        super().__init__()
        self.n_features = check_positive_int(n_features, "n_features")
        self.eps = check_number(eps, "eps", low=0, low_open=True)
        self.affine = bool(affine)
        check_allocation((4, self.n_features), np.float32, f"{type(self).__name__}({self.n_features})")
        self.gamma = Parameter("gamma", np.ones(self.n_features, dtype=np.float32)) if self.affine else None
        self.beta = Parameter("beta", np.zeros(self.n_features, dtype=np.float32)) if self.affine else None
        self.X_hat = None
        self.inv_std = None

    def parameters(self) -> list:
        return [self.gamma, self.beta] if self.affine else []

    @classmethod
    def expected_shapes(cls, config: dict) -> dict:
        n = check_positive_int(config["n_features"], "n_features")
        shapes = {"gamma": (n,), "beta": (n,)} if config.get("affine", True) else {}
        return {**shapes, **{key: (n,) for key in cls.STATE}}

    def reset_parameters(self, rng):
        if self.affine:
            self.gamma.value[...] = 1
            self.beta.value[...] = 0

    @property
    def input_shape(self) -> tuple:
        return (self.n_features,)

    def _check(self, x):
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"{self.label} expects input of shape (n_samples, {self.n_features}), got shape {x.shape}")

    def _scale_shift(self, x_hat):
        if not self.affine:
            return x_hat
        return x_hat * self.gamma.value + self.beta.value

    def _scale_shift_onnx(self, graph, x_hat):
        if not self.affine:
            return x_hat
        return graph.op("Add", graph.op("Mul", x_hat, graph.constant(self.gamma.value, "gamma")),
                        graph.constant(self.beta.value, "beta"))

    def _grad_x_hat(self, grad_y):
        """∂L/∂x̂ = ∂L/∂y · γ, writing ∂L/∂γ = Σ ∂L/∂y · x̂ and ∂L/∂β = Σ ∂L/∂y (over the batch)."""
        if self.X_hat is None:
            raise RuntimeError(f"{self.label}: backward called before forward")
        if not self.affine:
            return grad_y
        np.sum(grad_y * self.X_hat, axis=0, out=self.gamma.grad)
        np.sum(grad_y, axis=0, out=self.beta.grad)
        return grad_y * self.gamma.value


@register_layer
class BatchNorm(_Normalization):
    """Batch normalization over the batch axis (``torch.nn.BatchNorm1d``).

    Training mode, with μ and σ² the batch mean and *biased* variance of each feature::

        x̂ = (x − μ) / √(σ² + ε),   y = γ·x̂ + β
        running_mean ← (1 − m)·running_mean + m·μ
        running_var  ← (1 − m)·running_var  + m·σ²·N/(N − 1)      (unbiased estimate)

    Eval mode uses the running statistics in place of μ and σ². Backward in training mode
    (the batch statistics depend on every row)::

        ∂L/∂x = (1/√(σ² + ε)) · (g − mean(g) − x̂·mean(g·x̂)),   g = ∂L/∂y · γ

    ``running_mean`` and ``running_var`` are state saved with the model, not parameters. In
    data-parallel training μ, σ² and the means of the backward pass are those of the global batch
    (summed over the processes: see `deltaprop.shard`), so every process normalizes as one
    process would.

    Parameters
    ----------
    n_features : int
    momentum : float, default 0.1
        m in the running averages, in [0, 1].
    eps : float, default 1e-5
    affine : bool, default True
        Learn γ (initially 1) and β (initially 0).

    Shape
    -----
    ``(N, n_features)`` → same (``torch.nn.BatchNorm1d``); N >= 2 in training mode. Also
    ``(N, C, L)`` and ``(N, C, H, W)`` with ``n_features = C`` (``BatchNorm1d``/``BatchNorm2d`` after a
    convolution): one μ, σ², γ, β per channel, over the samples and positions.
    """

    min_training_batch = 2
    STATE = ("running_mean", "running_var")

    def __init__(self, n_features: int, momentum: float = 0.1, eps: float = 1e-5, affine: bool = True):
        super().__init__(n_features, eps, affine)
        self.momentum = check_number(momentum, "momentum", low=0, high=1)
        self.running_mean = np.zeros(self.n_features, dtype=np.float32)
        self.running_var = np.ones(self.n_features, dtype=np.float32)
        self._trained_batch = False

    def state(self) -> dict:
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def check_state(self, state: dict) -> None:
        """A variance is never negative: one flipped sign bit would make every prediction NaN."""
        negative = np.flatnonzero(np.asarray(state["running_var"]) < 0)
        if len(negative):
            raise ValueError(f"running_var[{negative[0]}] is {state['running_var'][negative[0]]:g}; a variance "
                             "cannot be negative")

    def _check(self, x):
        if x.ndim not in (2, 3, 4) or x.shape[1] != self.n_features:
            raise ValueError(f"{self.label} expects input of shape (n_samples, {self.n_features}) or (n_samples, "
                             f"{self.n_features}, …) with channels second, got shape {x.shape}")

    #: (n_features,), (n_features, L) or (n_features, H, W): any rank, checked by fits_input
    input_shape = None

    def fits_input(self, shape) -> bool:
        return 1 <= len(shape) <= 3 and shape[0] == self.n_features

    def describe_input(self) -> str:
        return f"{self.n_features} input features"

    # (N, C, …): statistics per channel over the samples and positions (BatchNorm1d/2d) — the same formulas
    # on a matrix with one row per (sample, position), channels as its columns
    def _as_rows(self, x):
        return x if x.ndim == 2 else np.moveaxis(x, 1, -1).reshape(-1, self.n_features)

    def _from_rows(self, rows, shape):
        if len(shape) == 2:
            return rows
        return np.ascontiguousarray(np.moveaxis(rows.reshape(shape[0], *shape[2:], self.n_features), -1, 1))

    def forward(self, x, training=False):
        self._check(x)
        return self._from_rows(self._forward_rows(self._as_rows(x), training, math.prod(x.shape[2:])), x.shape)

    def _forward_rows(self, x, training: bool, per_sample: int):
        self._trained_batch = training
        if training:
            n = x.shape[0] if self.shard is None else self.shard.total * per_sample
            if n < self.min_training_batch:
                raise ValueError(
                    f"{self.label} needs at least 2 samples per batch in training mode to estimate a "
                    f"variance, got a batch of {n} (use a larger batch_size, or avoid a last batch of 1)"
                )
            if self.shard is None:
                mean = x.mean(axis=0)
                centered = x - mean
                var = np.mean(centered * centered, axis=0)
            else:    # the statistics of the global batch, summed over every process's rows
                mean = self.shard.sum(x.sum(axis=0)) / n
                centered = x - mean
                var = self.shard.sum(np.sum(centered * centered, axis=0)) / n
            self._n = n
            m = self.momentum
            self.running_mean *= 1 - m
            self.running_mean += m * mean
            self.running_var *= 1 - m
            self.running_var += (m * n / (n - 1)) * var
        else:
            centered = x - self.running_mean
            var = self.running_var
        self.inv_std = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
        self.X_hat = centered * self.inv_std
        return self._scale_shift(self.X_hat)

    def to_onnx(self, graph, x):
        """Eval mode: ONNX BatchNormalization with the running statistics (channels on axis 1, any rank)."""
        ones, zeros = np.ones(self.n_features), np.zeros(self.n_features)
        scale = self.gamma.value if self.affine else ones
        shift = self.beta.value if self.affine else zeros
        return graph.op("BatchNormalization", x, graph.constant(scale, "gamma"), graph.constant(shift, "beta"),
                        graph.constant(self.running_mean, "running_mean"),
                        graph.constant(self.running_var, "running_var"), epsilon=float(self.eps))

    def backward(self, grad_y):
        return self._from_rows(self._backward_rows(self._as_rows(grad_y)), grad_y.shape)

    def _backward_rows(self, grad_y):
        g = self._grad_x_hat(grad_y)
        if not self._trained_batch:  # eval mode: the statistics are constants
            return g * self.inv_std
        x_hat = self.X_hat
        if self.shard is None:
            return self.inv_std * (g - g.mean(axis=0) - x_hat * np.mean(g * x_hat, axis=0))
        # the means over the global batch: one sum over every process's rows for both
        sums = self.shard.sum(np.concatenate([g.sum(axis=0), np.sum(g * x_hat, axis=0)])) / self._n
        return self.inv_std * (g - sums[:self.n_features] - x_hat * sums[self.n_features:])

    def config(self):
        return {"n_features": self.n_features, "momentum": self.momentum, "eps": self.eps, "affine": self.affine}


@register_layer
class LayerNorm(_Normalization):
    """Layer normalization over the features of each sample (``torch.nn.LayerNorm(n_features)``).

    With μ and σ² the mean and biased variance of each row::

        x̂ = (x − μ) / √(σ² + ε),   y = γ·x̂ + β
        ∂L/∂x = (1/√(σ² + ε)) · (g − mean_row(g) − x̂·mean_row(g·x̂)),   g = ∂L/∂y · γ

    Same in training and eval mode; no running statistics.

    Shape
    -----
    ``(N, n_features)`` → ``(N, n_features)``.
    """

    def __init__(self, n_features: int, eps: float = 1e-5, affine: bool = True):
        super().__init__(n_features, eps, affine)

    def forward(self, x, training=False):
        self._check(x)
        centered = x - x.mean(axis=1, keepdims=True)
        var = np.mean(centered * centered, axis=1, keepdims=True)
        self.inv_std = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
        self.X_hat = centered * self.inv_std
        return self._scale_shift(self.X_hat)

    def backward(self, grad_y):
        g = self._grad_x_hat(grad_y)
        x_hat = self.X_hat
        return self.inv_std * (g - g.mean(axis=1, keepdims=True) - x_hat * np.mean(g * x_hat, axis=1, keepdims=True))

    def to_onnx(self, graph, x):
        """x̂ = (x − mean_row)·(1/√(var_row + ε)), then γ·x̂ + β."""
        centered = graph.op("Sub", x, graph.reduce_mean(x, [-1]))
        variance = graph.reduce_mean(graph.op("Mul", centered, centered), [-1])
        std = graph.op("Sqrt", graph.op("Add", variance, graph.scalar(self.eps)))
        inv_std = graph.op("Div", graph.scalar(1.0), std)
        return self._scale_shift_onnx(graph, graph.op("Mul", centered, inv_std))

    def config(self):
        return {"n_features": self.n_features, "eps": self.eps, "affine": self.affine}
