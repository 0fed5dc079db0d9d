"""Checks and splits of training data."""
from __future__ import annotations

import numpy as np

from .._checks import check_number, check_seed


def training_rng(model_seed, fit_seed) -> np.random.Generator:
    """The Generator for shuffling, validation splits and dropout masks.

    Seeded from both the model seed and the fit seed; fresh entropy only when both are None.
    """
    fit_seed = check_seed(fit_seed)
    if model_seed is None and fit_seed is None:
        return np.random.default_rng()
    entropy = [0 if model_seed is None else int(model_seed) + 1, 0 if fit_seed is None else int(fit_seed) + 1]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def split_validation(X, y, validation_split: float, rng: np.random.Generator):
    """Hold out a random ``validation_split`` fraction of the rows: (X_train, y_train, X_val, y_val)."""
    validation_split = check_number(validation_split, "validation_split", low=0, high=1, high_open=True)
    n_val = int(round(len(X) * validation_split))
    if validation_split > 0 and (n_val < 1 or n_val >= len(X)):
        raise ValueError(
            f"validation_split={validation_split} leaves {n_val} of {len(X)} samples for validation; "
            "need at least one sample on each side"
        )
    order = rng.permutation(len(X))
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    if hasattr(X, "subset"):   # LazyRows: choose the rows, read none
        return X.subset(train), y[train], X.subset(val), y[val]
    return X[train], y[train], X[val], y[val]
