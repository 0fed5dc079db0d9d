"""The per-layer measurements that the monitor records and ``diagnose`` judges.

* δ of a Dense layer: ∂L/∂Z, the error term it receives in the backward pass.
* Dead unit: a ReLU-family unit whose pre-activation z ≤ 0 for every sample of the batch —
  its output is 0 (ReLU) or nearly constant and its gradient 0 (or tiny) for the whole batch.
* Saturated unit: a sigmoid or tanh unit whose derivative f'(z) < SATURATION_DERIVATIVE on a sample,
  with σ'(z) = σ(z)·(1 − σ(z)) and tanh'(z) = 1 − tanh²(z); the saturated fraction is the share of
  the layer's units saturated on a sample, averaged over the batch. (Unlike a dead ReLU, a saturated
  unit sits on either flat side depending on the sample, so it is counted per sample.)
"""
from __future__ import annotations

import numpy as np

from ..layers import ELU, GELU, LeakyReLU, ReLU, Sigmoid, Tanh
from ..layers.dense import Dense

SATURATION_DERIVATIVE = 1e-3
RELU_FAMILY = (ReLU, LeakyReLU, ELU, GELU)
SQUASHING = (Sigmoid, Tanh)


def dense_indices(model) -> list:
    return [index for index, layer in enumerate(model.layers) if isinstance(layer, Dense)]


def activation_indices(model) -> list:
    """Layers whose units can die (ReLU family) or saturate (sigmoid, tanh)."""
    return [index for index, layer in enumerate(model.layers) if isinstance(layer, RELU_FAMILY + SQUASHING)]


def layer_input(model, index: int) -> np.ndarray:
    """The input of ``model.layers[index]`` in the last forward pass."""
    return model._input if index == 0 else model._outputs[index - 1]


def dead_fraction(z: np.ndarray) -> float:
    """Fraction of units whose pre-activation is ≤ 0 on every row of the batch (max over rows ≤ 0)."""
    return float(np.mean(z.max(axis=0) <= 0))


def derivative(layer, a: np.ndarray) -> np.ndarray:
    """f'(z) of a sigmoid or tanh layer from its output a."""
    a = a.astype(np.float64)
    return a * (1 - a) if isinstance(layer, Sigmoid) else 1 - a * a


def saturated_fraction(layer, a: np.ndarray) -> float:
    """Fraction of (sample, unit) pairs whose derivative is below SATURATION_DERIVATIVE."""
    return float(np.mean(derivative(layer, a) < SATURATION_DERIVATIVE))


def _sum_of_squares(array: np.ndarray) -> float:
    """Σx² in one BLAS pass, in float64 again if float32 overflows."""
    flat = array.reshape(-1)
    total = float(np.vdot(flat, flat))
    if not np.isfinite(total) and np.isfinite(flat).all():
        flat = flat.astype(np.float64)
        total = float(np.vdot(flat, flat))
    return total


def norm(array) -> float:
    """‖x‖ = √(Σx²) (Frobenius norm for a matrix)."""
    return float(np.sqrt(_sum_of_squares(np.asarray(array))))


def rms(array) -> float:
    """Root mean square √(Σx²/n): a size-independent magnitude, comparable across layers."""
    array = np.asarray(array)
    return float(np.sqrt(_sum_of_squares(array) / array.size)) if array.size else 0.0


def mean_and_std(array: np.ndarray) -> tuple[float, float]:
    """Mean and (population) standard deviation from Σx and Σx² — one pass each, no temporaries."""
    n = array.size
    mean = float(np.sum(array, dtype=np.float64)) / n
    variance = max(_sum_of_squares(array) / n - mean * mean, 0.0)
    return mean, float(np.sqrt(variance))
