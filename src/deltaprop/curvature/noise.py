"""Per-example gradients and the gradient noise scale.

With the mean loss L = (1/N)·Σᵢ ℓᵢ, the gradient is the mean of per-example gradients gᵢ = ∇ℓᵢ. For a
Dense layer gᵢ(W) = N·aᵢδᵢᵀ, with aᵢ its input row and δᵢ = ∂L/∂Zᵢ from the batch's backward pass, so
‖gᵢ(W)‖ = N·‖aᵢ‖·‖δᵢ‖ comes from the pass records at almost no cost. A layer that cannot give its rows'
shares (``Layer.per_sample_squared_norms`` returns None: a convolution, a user's layer) makes the whole
computation fall back to one backward pass per sample. Samples that interact within a batch (BatchNorm) have
no per-example gradient: that is refused.

The weight penalties are left out: they are the same for every example, part of no example's noise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .objective import Objective


def _check_independent(model) -> None:
    if model.needs_batch_statistics():
        raise ValueError("per-example gradients are not defined for a model whose samples interact within a "
                         "batch (BatchNorm normalises each sample by the batch's statistics)")


def _batch_squared_norms(objective: Objective, X_batch, y_batch):
    """‖gᵢ‖² of each row of one batch from one pass, or None when a layer cannot say."""
    objective.batch_gradient(X_batch, y_batch)
    total = np.zeros(len(X_batch))
    for layer in objective.model.layers:
        shares = layer.per_sample_squared_norms()
        if shares is None:
            return None
        total += shares
    return total * float(len(X_batch)) ** 2       # δ is of the batch mean: row i's share is gᵢ / n_b


def _one_by_one(objective: Objective, X_batch, y_batch) -> np.ndarray:
    """‖gᵢ‖² of each row by a backward pass of that row alone."""
    out = np.empty(len(X_batch))
    for i in range(len(X_batch)):
        objective.batch_gradient(X_batch[i:i + 1], y_batch[i:i + 1])
        out[i] = float(np.dot(objective.params.grads, objective.params.grads))
    return out


def per_example_grad_norms(model, loss, X, y, *, batch_size: int | None = 256) -> np.ndarray:
    """‖∇ℓᵢ(θ)‖ for every sample i of ``X, y``: the norm of its own loss's gradient over all parameters
    (training-mode passes, float64, weight penalties left out). One forward and backward pass per batch
    when every layer with parameters gives its rows' shares (Dense); one per sample otherwise."""
    return np.sqrt(_squared_norms(Objective(model, loss, X, y, batch_size=batch_size)))


def _squared_norms(objective: Objective) -> np.ndarray:
    _check_independent(objective.model)
    parts = []
    for _, X_batch, y_batch in objective.batches():
        shares = _batch_squared_norms(objective, X_batch, y_batch)
        parts.append(shares if shares is not None else _one_by_one(objective, X_batch, y_batch))
    objective.n_gradients += 1
    return np.concatenate(parts)


@dataclass
class NoiseScale:
    """The simple gradient noise scale B_simple = tr(Σ)/‖G‖² (McCandlish et al. 2018), from the per-example
    gradients gᵢ of N samples: G = (1/N)·Σ gᵢ, tr(Σ) = (Σᵢ‖gᵢ‖² − N·‖G‖²)/(N − 1) (the unbiased sample
    covariance's trace). A batch much smaller than B_simple is dominated by noise; one much larger wastes
    computation on a gradient that more samples hardly change."""

    b_simple: float
    trace_covariance: float
    gradient_norm_sq: float
    n_samples: int


def gradient_noise_scale(model, loss, X, y, *, batch_size: int | None = 256) -> NoiseScale:
    """B_simple over the samples ``X, y`` (see `NoiseScale`); per-example norms as
    `per_example_grad_norms`, plus one gradient evaluation for G."""
    objective = Objective(model, loss, X, y, batch_size=batch_size)
    squared = _squared_norms(objective)
    n = len(squared)
    if n < 2:
        raise ValueError("the gradient noise scale needs at least 2 samples")
    _, mean_gradient = objective.gradient(penalty=False)
    g_sq = float(mean_gradient @ mean_gradient)
    trace = float((squared.sum() - n * g_sq) / (n - 1))
    b_simple = trace / g_sq if g_sq > 0 else float("inf")
    return NoiseScale(b_simple, trace, g_sq, n)
