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
    """Fraction of units whose pre-activation is ≤ 0 on every row of the batch."""
    return float(np.mean(np.all(z <= 0, axis=0)))


def derivative(layer, a: np.ndarray) -> np.ndarray:
    """f'(z) of a sigmoid or tanh layer from its output a."""
    a = a.astype(np.float64)
    return a * (1 - a) if isinstance(layer, Sigmoid) else 1 - a * a


def saturated_fraction(layer, a: np.ndarray) -> float:
    """Fraction of (sample, unit) pairs whose derivative is below SATURATION_DERIVATIVE."""
    return float(np.mean(derivative(layer, a) < SATURATION_DERIVATIVE))


def rms(array) -> float:
    """Root mean square √(Σx²/n): a size-independent magnitude, comparable across layers."""
    array = np.asarray(array, dtype=np.float64)
    return float(np.sqrt(np.mean(array * array))) if array.size else 0.0


def norm(array) -> float:
    return float(np.linalg.norm(np.asarray(array, dtype=np.float64).ravel()))
