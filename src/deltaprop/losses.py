"""Loss functions: L(prediction, target) and ∂L/∂prediction, averaged over the batch.

Values equal PyTorch's with ``reduction="mean"`` (``MSELoss``, ``L1Loss``, ``HuberLoss``,
``BCEWithLogitsLoss``, ``CrossEntropyLoss``). The mean is taken here, so layers never divide
by the batch size. The two phases stay apart: ``forward`` computes the value (a Python float)
and keeps what the gradient needs; ``backward`` computes ∂L/∂prediction (an array with the
prediction's shape and dtype).

Targets are checked (shape, NaN/infinity, label range); a non-finite *prediction* is not an
input error but a diverging network, so it yields a non-finite loss (which ``TerminateOnNaN``
catches) rather than an exception.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_finite, check_number
from ._math import stable_sigmoid
from ._registry import Registry


class Loss:
    """Base class: ``forward(pred, target) -> float`` then ``backward() -> ∂L/∂pred``.

    ``task`` says what the loss is for: ``"regression"`` (values) or ``"classification"`` (labels).
    """

    task = "regression"

    def __init__(self):
        self.saved = None   # what forward kept for backward (arrays), None before the first forward

    def forward(self, pred: np.ndarray, target) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """∂L/∂prediction for the last `forward()`."""
        if self.saved is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self.gradient(*self.saved)

    def gradient(self, *saved) -> np.ndarray:
        raise NotImplementedError

    __call__ = forward

    def config(self) -> dict:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def _check_pred(pred) -> np.ndarray:
    pred = np.asarray(pred)
    if pred.dtype.kind != "f":
        pred = pred.astype(np.float64)
    if pred.ndim not in (1, 2) or pred.size == 0:
        raise ValueError(f"pred must be a non-empty 1-D or 2-D array, got shape {pred.shape}")
    return pred


def _regression_pair(loss_name: str, pred, target) -> tuple[np.ndarray, np.ndarray]:
    """Check pred and target and return them with equal shapes and pred's dtype.

    A 1-D target of length N is accepted for a prediction of shape (N, 1).
    """
    pred = _check_pred(pred)
    target = np.asarray(target)
    if target.dtype.kind not in "biuf":
        raise TypeError(f"{loss_name}: target must be numeric, got dtype {target.dtype}")
    if target.shape != pred.shape:
        if pred.ndim == 2 and pred.shape[1] == 1 and target.shape == (pred.shape[0],):
            target = target.reshape(-1, 1)
        else:
            raise ValueError(
                f"{loss_name}: pred and target shapes differ: pred {pred.shape}, target {target.shape}"
            )
    target = np.asarray(target, dtype=pred.dtype)
    check_finite(target, f"{loss_name}: target")
    return pred, target


class MSE(Loss):
    """Mean squared error: L = mean((ŷ − y)²); ∂L/∂ŷ = 2(ŷ − y)/n, n = number of elements."""

    def forward(self, pred, target) -> float:
        pred, target = _regression_pair("MSE", pred, target)
        diff = pred - target
        self.saved = (diff,)
        return float(np.mean(diff * diff))

    def gradient(self, diff):
        return diff * diff.dtype.type(2.0 / diff.size)


class MAE(Loss):
    """Mean absolute error (PyTorch ``L1Loss``): L = mean|ŷ − y|; ∂L/∂ŷ = sign(ŷ − y)/n."""

    def forward(self, pred, target) -> float:
        pred, target = _regression_pair("MAE", pred, target)
        diff = pred - target
        self.saved = (diff,)
        return float(np.mean(np.abs(diff)))

    def gradient(self, diff):
        return np.sign(diff) * diff.dtype.type(1.0 / diff.size)


class Huber(Loss):
    """Huber loss with threshold δ (PyTorch ``HuberLoss``), r = ŷ − y::

        ℓ(r) = ½ r²                 if |r| ≤ δ
               δ·(|r| − ½ δ)        otherwise
        ∂ℓ/∂r = clip(r, −δ, δ)

    L is the mean of ℓ over all elements.
    """

    def __init__(self, delta: float = 1.0):
        super().__init__()
        self.delta = check_number(delta, "delta", low=0, low_open=True)

    def forward(self, pred, target) -> float:
        pred, target = _regression_pair("Huber", pred, target)
        r = pred - target
        abs_r = np.abs(r)
        quadratic = abs_r <= self.delta
        values = np.where(quadratic, 0.5 * r * r, self.delta * (abs_r - 0.5 * self.delta))
        self.saved = (r,)
        return float(np.mean(values))

    def gradient(self, r):
        return np.clip(r, -self.delta, self.delta) * r.dtype.type(1.0 / r.size)

    def config(self):
        return {"delta": self.delta}


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy on logits (PyTorch ``BCEWithLogitsLoss``), targets in [0, 1]::

        ℓ(x, y) = −[y·ln σ(x) + (1 − y)·ln(1 − σ(x))] = max(x, 0) − x·y + ln(1 + e^(−|x|))
        ∂L/∂x = (σ(x) − y) / n

    The right-hand form is finite for any logit. A 1-D target is accepted for logits of
    shape (N, 1).
    """

    task = "classification"

    def forward(self, pred, target) -> float:
        pred, target = _regression_pair("BinaryCrossEntropy", pred, target)
        if target.min() < 0 or target.max() > 1:
            raise ValueError(
                f"BinaryCrossEntropy: target values must lie in [0, 1], got range "
                f"[{target.min()}, {target.max()}]"
            )
        values = np.maximum(pred, 0) - pred * target + np.log1p(np.exp(-np.abs(pred)))
        self.saved = (pred, target)
        return float(np.mean(values))

    def gradient(self, pred, target):
        return (stable_sigmoid(pred) - target) * pred.dtype.type(1.0 / pred.size)


class CrossEntropy(Loss):
    """Softmax cross-entropy on logits (PyTorch ``CrossEntropyLoss``), fused with the softmax.

    With p = softmax(z) row-wise and target rows y (one-hot from integer labels, or
    probability rows)::

        L = −(1/N) Σ_i Σ_c y_ic · ln p_ic        ∂L/∂z = (p − y) / N

    ln p is computed as z − max(z) − ln Σ e^(z − max z), finite for any logit.

    Parameters
    ----------
    label_smoothing : float in [0, 1), default 0
        Mixes the target with the uniform distribution: y ← (1 − ε)·y + ε/C (as PyTorch).
    """

    task = "classification"

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__()
        self.label_smoothing = check_number(label_smoothing, "label_smoothing", low=0, high=1, high_open=True)

    def _target_rows(self, target, n_samples: int, n_classes: int, dtype) -> np.ndarray:
        target = np.asarray(target)
        if target.ndim == 1:
            if target.shape[0] != n_samples:
                raise ValueError(
                    f"CrossEntropy: pred has {n_samples} rows but target has {target.shape[0]} labels"
                )
            if target.dtype.kind == "f":
                check_finite(target, "CrossEntropy: target")
                if not np.all(target == np.round(target)):
                    bad = target[target != np.round(target)][0]
                    raise ValueError(f"CrossEntropy: class labels must be integers, got {bad}")
            elif target.dtype.kind not in "iub":
                raise TypeError(f"CrossEntropy: class labels must be integers, got dtype {target.dtype}")
            labels = target.astype(np.int64)
            if labels.min() < 0 or labels.max() >= n_classes:
                bad = labels[(labels < 0) | (labels >= n_classes)][0]
                raise ValueError(
                    f"CrossEntropy: class label {bad} is out of range for {n_classes} classes "
                    f"(labels must be in [0, {n_classes - 1}])"
                )
            rows = np.zeros((n_samples, n_classes), dtype=dtype)
            rows[np.arange(n_samples), labels] = 1
        elif target.ndim == 2:
            if target.shape != (n_samples, n_classes):
                raise ValueError(
                    f"CrossEntropy: pred and target shapes differ: pred {(n_samples, n_classes)}, "
                    f"target {target.shape}"
                )
            if target.dtype.kind not in "biuf":
                raise TypeError(f"CrossEntropy: target must be numeric, got dtype {target.dtype}")
            rows = np.asarray(target, dtype=dtype)
            check_finite(rows, "CrossEntropy: target")
            if rows.min() < 0:
                raise ValueError("CrossEntropy: target probabilities must be >= 0")
        else:
            raise ValueError(
                f"CrossEntropy: target must be labels of shape ({n_samples},) or rows of shape "
                f"({n_samples}, {n_classes}), got shape {target.shape}"
            )
        if self.label_smoothing:
            rows = rows * (1 - self.label_smoothing) + self.label_smoothing / n_classes
        return rows

    def forward(self, pred, target) -> float:
        pred = _check_pred(pred)
        if pred.ndim != 2 or pred.shape[1] < 2:
            raise ValueError(
                f"CrossEntropy: pred must be logits of shape (n_samples, n_classes >= 2), got shape "
                f"{pred.shape}; for one output use BinaryCrossEntropy"
            )
        n_samples, n_classes = pred.shape
        rows = self._target_rows(target, n_samples, n_classes, pred.dtype)
        shifted = pred - pred.max(axis=1, keepdims=True)
        exp_shifted = np.exp(shifted)
        sum_exp = exp_shifted.sum(axis=1, keepdims=True)
        log_p = shifted - np.log(sum_exp)
        self.saved = (exp_shifted, sum_exp, rows)
        return float(-(rows * log_p).sum() / n_samples)

    def gradient(self, exp_shifted, sum_exp, rows):
        """(p·Σ_c y_c − y)/N with p = softmax(z): (p − y)/N for target rows that sum to 1."""
        p = exp_shifted / sum_exp
        return (p * rows.sum(axis=1, keepdims=True) - rows) * p.dtype.type(1.0 / len(rows))

    def config(self):
        return {"label_smoothing": self.label_smoothing}


LOSSES = Registry("loss", Loss, "a name or a Loss", plural="losses")
LOSSES.register(MSE, "mse")
LOSSES.register(MAE, "mae")
LOSSES.register(Huber, "huber")
LOSSES.register(BinaryCrossEntropy, "binary_cross_entropy", "bce")
LOSSES.register(CrossEntropy, "cross_entropy", "ce")


def get(loss) -> Loss:
    """A Loss from a name (``"cross_entropy"``, ``"mse"`` …) or a Loss instance."""
    return LOSSES.get(loss)
