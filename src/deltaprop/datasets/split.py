"""Train/validation/test splits of a Table, and the preprocessed arrays for training."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..preprocessing import Preprocessor, infer_task
from .table import Table


@dataclass
class Split:
    """Preprocessed arrays: the preprocessing was learned on the training rows only."""

    preprocessor: Preprocessor
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    test_rows: np.ndarray  # positions of the test rows in the original table


def held_out_rows(table: Table, *, test_split: float | None = None, task: str = "auto", seed: int = 0):
    """Row positions (train, test) of a random split, stratified by class for classification.

    ``test_split`` None takes the dataset's default; the same arguments always give the same rows,
    which is how ``deltaprop evaluate --split test`` finds a run's test rows again.
    """
    test_split = table.test_split if test_split is None else test_split
    if not 0 <= test_split < 1:
        raise ValueError(f"test_split must be in [0, 1), got {test_split}")
    rng = np.random.default_rng(seed)
    n = table.n_samples
    if test_split == 0:
        test = np.array([], dtype=np.int64)
    elif resolve_task(table, task) == "classification":
        labels = table.target.astype(str).to_numpy()
        test = []
        for label in np.unique(labels):
            rows = rng.permutation(np.flatnonzero(labels == label))
            test.extend(rows[:int(round(len(rows) * test_split))])
        test = np.sort(np.array(test, dtype=np.int64))
    else:
        test = np.sort(rng.permutation(n)[:int(round(n * test_split))])
    train = np.setdiff1d(np.arange(n), test)
    if len(train) < 2:
        raise ValueError(f"test_split={test_split} leaves {len(train)} training rows of {n}")
    return train, test


def resolve_task(table: Table, task: str) -> str:
    """The task asked for, else the dataset's own, else the one inferred from the target column."""
    if task != "auto":
        return task
    if table.task != "auto":
        return table.task
    return infer_task(table.target)


def split(table: Table, *, test_split: float | None = None, task: str = "auto", seed: int = 0) -> Split:
    """Hold out a random ``test_split`` fraction (the dataset's default if None) and learn the
    preprocessing on the rest.

    Classification splits are stratified, so every class keeps its share on both sides.
    """
    train, test = held_out_rows(table, test_split=test_split, task=task, seed=seed)
    train_table = table.subset(train)
    pre = Preprocessor.fit(train_table.features, train_table.target, resolve_task(table, task), source=table.source)
    X_train = pre.transform(train_table.features, table.source)
    y_train = pre.encode_target(train_table.target, table.source)
    if len(test):
        test_table = table.subset(test)
        X_test = pre.transform(test_table.features, table.source)
        y_test = pre.encode_target(test_table.target, table.source)
    else:
        X_test, y_test = X_train[:0], y_train[:0]
    return Split(pre, X_train, y_train, X_test, y_test, test)
