"""scikit-learn's MLP objective on a deltaprop network: the loss, its penalty and one backpropagation step.

With sample weights s (all 1 when none are given), output activations a = f(z) of the logits z and
targets y, scikit-learn minimizes

    J = D(a, y; s) + α·Σ‖W‖² / (2·Σs)          (biases are not penalized)

where the data term D is the weighted mean over samples of

* ``softmax`` (multiclass):            −Σ_c y_c·ln a_c
* ``logistic`` (binary, multilabel):   −Σ_k [y_k·ln a_k + (1 − y_k)·ln(1 − a_k)]
* ``identity`` (squared error):        ½·Σ_k (y_k − a_k)²   (scikit-learn averages the outputs in the
  value it reports but follows the summed gradient; the sum is minimized here, so value and gradient agree)
* ``exp`` (Poisson):                    Σ_k [y_k·ln(y_k/a_k) − y_k + a_k]

Each output activation is the canonical link of its loss, so the output error is one formula for all four:

    δ_out = ∂J/∂z = s·(a − y) / Σs

and backpropagation carries it down as for any deltaprop network; the penalty adds α·W/Σs to ∂J/∂W.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax, xlogy

OUTPUT_ACTIVATIONS = {
    "softmax": lambda z: softmax(z, axis=1),
    "logistic": expit,
    "identity": lambda z: z,
    "exp": np.exp,
}


def loss_sum(out_activation: str, a: np.ndarray, y: np.ndarray, sample_weight=None) -> float:
    """Σ_i s_i·ℓ_i: the weighted sum over samples of each sample's loss (see the module docstring)."""
    if out_activation in ("softmax", "logistic"):
        eps = np.finfo(a.dtype).eps
        a = np.clip(a, eps, 1 - eps)
        values = -xlogy(y, a) if out_activation == "softmax" else -(xlogy(y, a) + xlogy(1 - y, 1 - a))
    elif out_activation == "identity":
        values = 0.5 * (y - a) ** 2
    else:
        values = xlogy(y, y / a) - y + a
    per_sample = values.reshape(len(values), -1).sum(axis=1)
    return float(per_sample.sum() if sample_weight is None else per_sample @ sample_weight)


def weight_sum(X, sample_weight) -> float:
    """Σs: the number of rows, or the sum of their weights."""
    return float(X.shape[0] if sample_weight is None else np.sum(sample_weight))


def data_step(model, X, y, sample_weight, out_activation: str, total: float) -> float:
    """Forward pass, these rows' share of D (Σ s·ℓ / ``total``), output error and backward pass: writes
    ∂D/∂θ for these rows into every Parameter.grad and returns their share of D."""
    logits = model.forward_unchecked(X, training=True)
    a = OUTPUT_ACTIVATIONS[out_activation](logits)
    delta = a - y                                            # δ_out = s·(a − y)/Σs
    if sample_weight is not None:
        delta *= sample_weight.reshape(-1, 1)
    model.backward((delta / total).astype(logits.dtype, copy=False), input_gradient=False)
    return loss_sum(out_activation, a, y, sample_weight) / total


def add_penalty(model, alpha: float, total: float) -> float:
    """α·Σ‖W‖²/(2·Σs) over every weight layer (biases are not penalized); adds α·W/Σs to each ∂J/∂W."""
    if not alpha:
        return 0.0
    value = 0.0
    for layer in model.layers:
        if layer.kind == "weights":
            W = layer.parameters()[0]
            value += float(np.vdot(W.value, W.value))
            W.grad += W.value.dtype.type(alpha / total) * W.value
    return alpha * value / (2 * total)


def backprop(model, X, y, sample_weight, alpha: float, out_activation: str) -> float:
    """One step of backpropagation on a mini-batch (scikit-learn's ``_backprop``): forward pass, loss,
    output error, backward pass and penalty. Writes ∂J/∂θ into every Parameter.grad; returns J."""
    total = weight_sum(X, sample_weight)
    return data_step(model, X, y, sample_weight, out_activation, total) + add_penalty(model, alpha, total)
