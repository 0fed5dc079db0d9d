"""Train/validation/test splits of a Table, and the preprocessed arrays for training."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..preprocessing import Preprocessor, infer_task
from .table import DataError, Table


@dataclass
class Split:
    """Preprocessed arrays: the preprocessing was learned on the training rows only."""

    preprocessor: Preprocessor
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    test_rows: np.ndarray  # positions of the test rows in the original table
    train_table: Table
    test_table: Table


def held_out(labels, fraction: float, rng: np.random.Generator, stratify: bool) -> np.ndarray:
    """Sorted positions of a random ``fraction`` of the rows; with ``stratify``, round(n_c·fraction)
    rows of every class c (but never all of them), so each class keeps its share on both sides."""
    labels = np.asarray(labels)
    if not fraction:
        return np.array([], dtype=np.int64)
    if not stratify:
        return np.sort(rng.permutation(len(labels))[:int(round(len(labels) * fraction))])
    rows = []
    for label in np.unique(labels.astype(str)):
        members = rng.permutation(np.flatnonzero(labels.astype(str) == label))
        rows.extend(members[:min(int(round(len(members) * fraction)), len(members) - 1)])
    return np.sort(np.array(rows, dtype=np.int64))


def held_out_rows(table: Table, *, test_split: float | None = None, task: str = "auto", seed: int = 0):
    """Row positions (train, test) of a random split, stratified by class for classification.

    ``test_split`` None takes the dataset's default; the same arguments always give the same rows,
    which is how ``deltaprop evaluate --split test`` finds a run's test rows again.
    """
    test_split = table.test_split if test_split is None else test_split
    if not 0 <= test_split < 1:
        raise ValueError(f"test_split must be in [0, 1), got {test_split}")
    classification = resolve_task(table, task) == "classification"
    test = held_out(table.target.to_numpy(), test_split, np.random.default_rng(seed), classification)
    return np.setdiff1d(np.arange(table.n_samples), test), test


def resolve_task(table: Table, task: str) -> str:
    """The task asked for, else the dataset's own, else the one inferred from the target column."""
    if task != "auto":
        return task
    if table.task != "auto":
        return table.task
    return infer_task(table.target)


def split(table: Table, *, test_split: float | None = None, task: str = "auto", seed: int = 0, drop=(),
          keep=(), replicas=None, missing: str = "auto") -> Split:
    """Hold out a random ``test_split`` fraction (the dataset's default if None) and learn the
    preprocessing on the rest (``drop``/``keep``/``missing``: see [`fit()`][deltaprop.Preprocessor.fit]; with
    ``missing="drop"`` pass a table already without incomplete rows: [`complete_rows()`][deltaprop.datasets.split.complete_rows]).

    Classification splits are stratified, so every class keeps its share on both sides. A folder of
    .npy arrays is split by `split_arrays()` (``replicas``: the processes that share its
    statistics pass in a distributed run).
    """
    if hasattr(table, "X"):   # an ArrayTable
        from .arrays import split_arrays

        return split_arrays(table, test_split=test_split, task=task, seed=seed, drop=drop, keep=keep,
                            replicas=replicas)
    train, test = held_out_rows(table, test_split=test_split, task=task, seed=seed)
    if len(train) < 2:
        fraction = table.test_split if test_split is None else test_split
        raise DataError(f"--test-split {fraction:g} leaves {len(train)} training row(s) of the {table.n_samples} rows; "
                        "at least 2 are needed: use a smaller --test-split")
    train_table, test_table = table.subset(train), table.subset(test)
    pre = Preprocessor.fit(train_table.features, train_table.target, resolve_task(table, task), source=table.source,
                           drop=drop, keep=keep, lines=train_table.lines, missing=missing,
                           drop_constant=table.sample_shape is None)
    X_train = pre.transform(train_table.features, table.source, train_table.lines)
    y_train = pre.encode_target(train_table.target, table.source, train_table.lines)
    X_test = pre.transform(test_table.features, table.source, test_table.lines)
    y_test = pre.encode_target(test_table.target, table.source, test_table.lines) if len(test) else y_train[:0]
    return Split(pre, X_train, y_train, X_test, y_test, test, train_table, test_table)


def complete_rows(table: Table, drop=()) -> tuple[Table, str | None]:
    """The table without its rows that miss a feature (columns in ``drop`` aside), and a note saying how many
    went, or None when none did (``--missing drop``)."""
    from .. import missing

    columns = [str(c) for c in table.features.columns if str(c) not in set(drop)]
    gaps = missing.incomplete(missing.count(table.features.rename(columns=str), columns), table.n_samples)
    if not gaps.any():
        return table, None
    if gaps.all():
        raise DataError(f"{table.source or table.name}: every row misses a feature value; --missing drop would leave "
                        "none (use --missing impute, or --drop the emptiest columns)")
    rows = np.flatnonzero(gaps)
    note = (f"--missing drop: {len(rows):,} of {table.n_samples:,} rows with missing cells left out "
            f"({missing.where(rows, table.lines)})")
    return table.subset(np.flatnonzero(~gaps)), note
