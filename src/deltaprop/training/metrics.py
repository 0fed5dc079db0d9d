"""Metrics reported during training: accuracy, MSE, MAE, R².

A metric is a callable ``metric(pred, target) -> float`` with a ``name``, a ``mode`` ("max" when
larger is better, "min" otherwise: what EarlyStopping's ``mode="auto"`` follows) and the ``task``
it measures.
"""
from __future__ import annotations

import numpy as np

from .._registry import Registry


class Metric:
    name = "metric"
    mode = "max"
    task = "regression"  # what it measures: "regression" (values) or "classification" (labels)

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _as_column_pair(pred, target):
    target = np.asarray(target)
    if target.ndim == 1 and pred.ndim == 2 and pred.shape[1] == 1:
        target = target.reshape(-1, 1)
    return pred, target


class Accuracy(Metric):
    """Fraction of correct predictions.

    Several output columns: the predicted class is the argmax, compared with integer labels
    (or the argmax of one-hot rows). One column: the prediction is positive when it exceeds
    ``threshold`` (0 for logits, 0.5 for a sigmoid output).
    """

    name = "accuracy"
    task = "classification"

    def __init__(self, threshold: float = 0.0):
        self.threshold = threshold

    def __call__(self, pred, target):
        pred = np.asarray(pred)
        target = np.asarray(target)
        if pred.ndim == 2 and pred.shape[1] > 1:
            labels = target.argmax(axis=1) if target.ndim == 2 else target
            return float(np.mean(pred.argmax(axis=1) == labels))
        return float(np.mean((pred.reshape(-1) > self.threshold) == (target.reshape(-1) > 0.5)))


class MeanSquaredError(Metric):
    """mean((ŷ − y)²)."""

    name, mode = "mse", "min"

    def __call__(self, pred, target):
        pred, target = _as_column_pair(pred, target)
        return float(np.mean((pred - target) ** 2))


class MeanAbsoluteError(Metric):
    """mean|ŷ − y|."""

    name, mode = "mae", "min"

    def __call__(self, pred, target):
        pred, target = _as_column_pair(pred, target)
        return float(np.mean(np.abs(pred - target)))


class R2(Metric):
    """Coefficient of determination R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)², averaged over output columns
    (scikit-learn's ``r2_score`` with ``multioutput="uniform_average"``)."""

    name = "r2"

    def __call__(self, pred, target):
        pred, target = _as_column_pair(pred, target)
        residual = ((target - pred) ** 2).sum(axis=0)
        total = ((target - target.mean(axis=0)) ** 2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), 0.0)
        return float(np.mean(scores))


METRICS = Registry("metric", Metric, "a name or a Metric")
METRICS.register(Accuracy, "accuracy", "acc")
METRICS.register(MeanSquaredError, "mse")
METRICS.register(MeanAbsoluteError, "mae")
METRICS.register(R2, "r2")


def get(metric) -> Metric:
    """A Metric from a name (``"accuracy"``, ``"mse"``, ``"mae"``, ``"r2"``) or a Metric instance."""
    return METRICS.get(metric)
