"""The playground's data: 2-D points (a toy, or a table seen through two columns or two principal
components), the split, the derived input features, and the grid the pictures are drawn on.

Every function is public and deterministic: the "as code" script calls them with the run's settings and
gets the same numbers, bit for bit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..datasets import toys
from .settings import FEATURES, TABLES


@dataclass
class Problem:
    """Train and test points in 2-D (``points_train``, ``points_test``), their targets, the inputs the network
    sees (``X_train``, ``X_test``: the chosen features of the points), and how to show them."""

    task: str                 # "classification" or "regression"
    points_train: np.ndarray  # (n, 2) the coordinates x₁, x₂
    points_test: np.ndarray
    y_train: np.ndarray       # class numbers, or standardized targets
    y_test: np.ndarray
    X_train: np.ndarray       # (n, n_features): features(points)
    X_test: np.ndarray
    extent: float             # the pictures span [−extent, extent]²
    axes: list                # the names of x₁ and x₂
    classes: list             # class names (empty for regression)
    columns: list             # every column of the table (a toy's: x₁, x₂)

    @property
    def n_out(self) -> int:
        return len(self.classes) if self.task == "classification" else 1


def load(dataset: str, *, points: int = 500, noise: float = 0.0, seed: int = 0):
    """``(X, y, column names, class names)``: a toy's points, or a scikit-learn table with all its columns."""
    if dataset in toys.NAMES:
        X, y = toys.toy(dataset, points, noise, seed)
        return X, y, ["x₁", "x₂"], ["0", "1"]
    if dataset not in TABLES:
        raise ValueError(f"dataset must be one of {', '.join(toys.NAMES + tuple(TABLES))}, got {dataset!r}")
    from sklearn import datasets as sklearn_datasets

    bunch = getattr(sklearn_datasets, f"load_{dataset}")()
    classes = [str(name) for name in getattr(bunch, "target_names", [])] if TABLES[dataset] == "classification" else []
    return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target), list(bunch.feature_names), classes


def split(n_samples: int, train_fraction: float, seed: int):
    """Row numbers ``(train, test)``: a permutation from the seed, its first round(n·fraction) rows for training."""
    order = np.random.default_rng(seed).permutation(n_samples)
    n_train = min(max(round(n_samples * train_fraction), 1), n_samples - 1)
    return np.sort(order[:n_train]), np.sort(order[n_train:])


def project(X: np.ndarray, train: np.ndarray, columns) -> tuple[np.ndarray, list]:
    """Two coordinates per row, standardized with the training rows' mean and std: the two ``columns``, or
    (None) the first two principal components of the standardized table (the SVD of its training rows)."""
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    Z = (X - mean) / np.where(std > 0, std, 1.0)
    if columns is None:
        _, _, Vt = np.linalg.svd(Z[train], full_matrices=False)
        Vt *= np.sign(Vt[:, :1] + (Vt[:, :1] == 0))          # a fixed sign per component
        points = Z @ Vt[:2].T
        points /= points[train].std(axis=0)
        return points, ["PC1", "PC2"]
    if max(columns) >= X.shape[1]:
        raise ValueError(f"columns must be below {X.shape[1]} (the table's columns), got {columns!r}")
    return Z[:, list(columns)], None


def features(points: np.ndarray, names) -> np.ndarray:
    """The network's inputs from the coordinates: x₁, x₂, x₁², x₂², x₁·x₂, sin x₁, sin x₂ (the chosen ones)."""
    x1, x2 = points[:, 0], points[:, 1]
    columns = {"x1": x1, "x2": x2, "x1^2": x1 * x1, "x2^2": x2 * x2, "x1x2": x1 * x2,
               "sin_x1": np.sin(x1), "sin_x2": np.sin(x2)}
    unknown = [name for name in names if name not in columns]
    if unknown:
        raise ValueError(f"features must be among {', '.join(FEATURES)}, got {unknown[0]!r}")
    return np.ascontiguousarray(np.stack([columns[name] for name in names], axis=1))


def grid(extent: float, size: int) -> np.ndarray:
    """(size², 2) cell centres covering [−extent, extent]², row by row from the top (x₂ = +extent) down."""
    centres = (np.arange(size) + 0.5) / size * 2 * extent - extent
    x1, x2 = np.meshgrid(centres, centres[::-1])
    return np.c_[x1.ravel(), x2.ravel()]


def problem(settings) -> Problem:
    """The run's data from its [`Settings`][deltaprop.playground.settings.Settings]."""
    X, y, names, classes = load(settings.dataset, points=settings.points, noise=settings.noise, seed=settings.seed)
    train, test = split(len(X), settings.train_fraction, settings.seed)
    if settings.dataset in toys.NAMES:
        points, axes = X, names
    else:
        points, chosen = project(X, train, settings.columns)
        axes = chosen or [names[c] for c in settings.columns]
    if settings.task == "regression":
        y = (y - y[train].mean()) / y[train].std()
    else:
        y = y.astype(np.int64)
    extent = max(1.0, math.ceil(float(np.abs(points).max()) * 1.05 * 2) / 2)
    return Problem(settings.task, points[train], points[test], y[train], y[test],
                   features(points[train], settings.features), features(points[test], settings.features),
                   extent, axes, classes, names)
