"""The per-layer measurements that the monitor records and ``diagnose`` judges — pure functions.

* δ of a layer: ∂L/∂(its output), from its pass record ``grad_output``; for a Dense layer the
  error term ∂L/∂Z of the algorithm.
* Dead unit (layers of the ReLU family): a unit whose pre-activation z ≤ 0 for every sample of the
  batch — its output is 0 (ReLU) or nearly constant and its gradient 0 (or tiny) for the whole batch.
  After a convolution the unit is a channel (a dead channel: z ≤ 0 at every position).
* Saturated unit (squashing layers: sigmoid, tanh): a unit whose derivative f'(z) is below
  SATURATION_DERIVATIVE on a sample; the saturated fraction is the share of (sample, unit) pairs,
  as a saturated unit sits on either flat side depending on the sample. f'(z) comes from the
  layer itself (``layer.derivative()``).
"""
from __future__ import annotations

import numpy as np

SATURATION_DERIVATIVE = 1e-3


def dead_units(z: np.ndarray) -> np.ndarray:
    """Per unit, whether its pre-activation is ≤ 0 on every row of the batch (max over rows ≤ 0). After a
    convolution, (N, C, …), a unit is a channel: dead when z ≤ 0 at every position of every sample."""
    if z.ndim > 2:
        return z.max(axis=(0, *range(2, z.ndim))) <= 0
    return z.reshape(len(z), -1).max(axis=0) <= 0


def dead_fraction(z: np.ndarray) -> float:
    """Fraction of units that are dead (`dead_units`)."""
    return float(np.mean(dead_units(z)))


def saturated_share(derivative: np.ndarray) -> np.ndarray:
    """Per unit (column), the share of rows whose derivative f'(z) is below SATURATION_DERIVATIVE."""
    return np.mean(derivative < SATURATION_DERIVATIVE, axis=0)


def saturated_fraction(derivative: np.ndarray) -> float:
    """Fraction of (sample, unit) pairs whose derivative f'(z) is below SATURATION_DERIVATIVE."""
    return float(np.mean(derivative < SATURATION_DERIVATIVE))


def unit_measures(layer) -> dict:
    """What the layer's ``family`` says can go wrong with its units: ``{"dead": …}`` for the ReLU family,
    ``{"saturated": …}`` for squashing activations, nothing for other layers."""
    if layer.family == "relu" and layer.input is not None:
        return {"dead": dead_fraction(layer.input)}
    if layer.family == "squashing" and layer.output is not None:
        return {"saturated": saturated_fraction(layer.derivative())}
    return {}


def _sum_of_squares(array: np.ndarray) -> float:
    """Σx² in one BLAS pass, in float64 again if float32 overflows. The elements are read in memory order
    (``order="K"``): a column-major W, or a Dense layer's column-major output, is not copied first."""
    flat = array.ravel(order="K")
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
