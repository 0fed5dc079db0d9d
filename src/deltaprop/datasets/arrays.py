"""Data larger than memory: a folder with ``X.npy`` (rows × features) and ``y.npy`` (one target per row).

``X.npy`` is memory-mapped, never read whole: the column statistics for standardization are computed
in chunks (in a distributed run each process reads its share of the chunks, and the statistics are
merged), and training reads one mini-batch at a time through `deltaprop.rows.LazyRows` — each
process only the rows it trains on. ``y.npy`` (one value per row) is read into memory.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError
from ..preprocessing import Preprocessor
from ..rows import LazyRows
from .npyfile import load_npy

#: rows per chunk of the statistics pass: about 32 MB of float64 at a time
CHUNK_BYTES = 32 * 2**20


def is_npy_folder(path: str) -> bool:
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, "X.npy"))


@dataclass
class ArrayTable:
    """A memory-mapped ``X`` and an in-memory target ``y``; the Table fields the command line reads."""

    name: str
    X: np.ndarray
    y: np.ndarray
    source: str
    task: str = "auto"
    test_split: float = 0.2
    lines: None = None
    notes: list = field(default_factory=list)
    sample_shape: tuple | None = None
    #: what a 2-D ``sample_shape`` means: "sequence" (steps, features) for a 3-D X.npy
    sample_kind: str = "image"

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def target(self) -> pd.Series:
        return pd.Series(self.y, name="y")

    @property
    def features(self):
        raise self._train_only()

    def subset(self, rows):
        raise self._train_only()

    def _train_only(self) -> DataError:
        return DataError(f"{self.source}: a folder of .npy arrays is read by deltaprop train only; save X and y in "
                         "an .npz file for this command")

    def where(self, row: int) -> str:
        return f"row {row}"


def _load(path: str, name: str, mmap: bool) -> np.ndarray:
    file = os.path.join(path, name)
    if not os.path.isfile(file):
        raise DataError(f"{path}: no {name} (a data folder needs X.npy and y.npy)")
    return load_npy(file, mmap)


def load_npy_folder(path: str) -> ArrayTable:
    """``X.npy`` memory-mapped and ``y.npy`` loaded, their shapes and dtypes checked (values are checked by
    [`split_arrays()`][deltaprop.datasets.arrays.split_arrays], which reads them in chunks)."""
    X, y = _load(path, "X.npy", mmap=True), _load(path, "y.npy", mmap=False)
    x_file, y_file = os.path.join(path, "X.npy"), os.path.join(path, "y.npy")
    if X.ndim < 2 or 0 in X.shape:
        raise DataError(f"{x_file}: must be 2-D (rows × features), or 3-D (rows × time steps × features) for "
                        f"sequences, with no empty axis, got shape {X.shape}")
    sample_shape = None
    if X.ndim > 2:          # each row a sequence (or an image): read as flat features, reshaped for the network
        if X.ndim != 3:
            raise DataError(f"{x_file}: must be 2-D (rows × features) or 3-D (rows × time steps × features), got "
                            f"shape {X.shape}")
        sample_shape = X.shape[1:]
        X = X.reshape(X.shape[0], -1)
    if X.dtype.kind not in "biuf":
        raise DataError(f"{x_file}: must hold numbers, got dtype {X.dtype}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise DataError(f"{y_file}: must be 1-D with one target per row of X.npy ({X.shape[0]}), got shape {y.shape}")
    if y.dtype.kind not in "biufU":
        raise DataError(f"{y_file}: must hold numbers or strings, got dtype {y.dtype}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        row = int(np.argmax(~np.isfinite(y)))
        raise DataError(f"{y_file}: y[{row}] is {y[row]}, not a finite number")
    name = os.path.basename(os.path.normpath(path))
    return ArrayTable(name, X, y, source=os.path.normpath(path), sample_shape=sample_shape,
                      sample_kind="image" if sample_shape is None else "sequence")


def _merge(a: tuple, b: tuple) -> tuple:
    """Chan et al.'s pairwise update: (n, mean, M2) of two parts → of their union (M2 = Σ(x − mean)²)."""
    n_a, mean_a, m2_a = a
    n_b, mean_b, m2_b = b
    n = n_a + n_b
    if n == 0:
        return a
    delta = mean_b - mean_a
    return n, mean_a + delta * (n_b / n), m2_a + m2_b + delta * delta * (n_a * n_b / n)


def column_statistics(table: ArrayTable, train_rows: np.ndarray, replicas=None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) std of each column over ``train_rows``, reading X in chunks of rows — in a
    distributed run each process its share of the chunks — and checking every value is finite."""
    X = table.X
    is_train = np.zeros(X.shape[0], dtype=bool)
    is_train[train_rows] = True
    chunk = max(1, CHUNK_BYTES // (8 * X.shape[1]))
    starts = range(0, X.shape[0], chunk)
    rank, size = (0, 1) if replicas is None else (replicas.rank, replicas.size)
    zero = (0, np.zeros(X.shape[1]), np.zeros(X.shape[1]))
    mine, problem = zero, None
    for number, start in enumerate(starts):
        if number % size != rank:
            continue
        values = np.asarray(X[start:start + chunk], dtype=np.float64)
        finite = np.isfinite(values)
        if not finite.all():
            row, column = (int(i) for i in np.argwhere(~finite)[0])
            problem = (start + row, f"{table.source}/X.npy: X[{start + row}, {column}] is {values[row, column]}, "
                                    "not a finite number")
            break
        rows = values[is_train[start:start + chunk]]
        if len(rows):
            mean = rows.mean(axis=0)
            mine = _merge(mine, (len(rows), mean, ((rows - mean) ** 2).sum(axis=0)))
    parts = [(mine, problem)] if replicas is None or size == 1 else replicas.allgather((mine, problem))
    problems = sorted(problem for _, problem in parts if problem is not None)
    if problems:
        raise DataError(problems[0][1])
    total = zero
    for part, _ in parts:   # in rank order: every process gets the same numbers
        total = _merge(total, part)
    n, mean, m2 = total
    std = np.sqrt(m2 / max(n, 1))
    return mean, np.where(std > 0, std, 1.0)


def split_arrays(table: ArrayTable, *, test_split=None, task="auto", seed=0, drop=(), keep=(), replicas=None):
    """The Split of an array folder: rows held out as for a table, the standardization learned in chunks from
    the training rows, and X_train/X_test as unread `LazyRows`."""
    from .split import Split, held_out_rows, resolve_task

    if drop or keep:
        raise DataError(f"{table.source}: --drop and --keep name columns of a CSV file; a folder of .npy arrays "
                        "has unnamed columns (select them when writing X.npy)")
    train, test = held_out_rows(table, test_split=test_split, task=task, seed=seed)
    if len(train) < 2:
        fraction = table.test_split if test_split is None else test_split
        raise DataError(f"--test-split {fraction:g} leaves {len(train)} training row(s) of the {table.n_samples} rows; "
                        "at least 2 are needed: use a smaller --test-split")
    task = resolve_task(table, task)
    mean, std = column_statistics(table, train, replicas)
    pre = Preprocessor(task=task, feature_columns=[f"x{i}" for i in range(table.n_features)], categories={},
                       mean=mean, std=std, target_name="y", source=table.source)
    target = table.target
    pre.learn_target(target.iloc[train], table.source)
    x_file = os.path.join(table.source, "X.npy")
    X_train = LazyRows(table.X, train, mean, std, source=x_file)
    X_test = LazyRows(table.X, test, mean, std, source=x_file)
    y_train = pre.encode_target(target.iloc[train].reset_index(drop=True), table.source)
    y_test = pre.encode_target(target.iloc[test].reset_index(drop=True), table.source) if len(test) else y_train[:0]
    return Split(pre, X_train, y_train, X_test, y_test, test, table, table)
