"""User data files: CSV (header row, target column by name) and NPZ (arrays ``X`` and ``y``).

CSV files are read by `csvfile` (structure checked with Python's csv module, values typed
with pandas); NPZ files by NumPy with ``allow_pickle=False``. Every problem is a
[`DataError`][deltaprop.DataError] naming the file and, where there is one, the line and column (CSV) or the
array and index (NPZ).
"""
from __future__ import annotations

import os

import numpy as np

from .. import missing as missing_values
from ..errors import plural, shorten
from . import npyfile
from .csvfile import read_csv
from .table import DataError, Table, from_arrays

CSV_EXTENSIONS = (".csv", ".txt", ".tsv", ".tab", ".dat", "")


def load_csv(path: str, target: str | None, header: bool | None = None, decimal: str | None = None) -> Table:
    """Features and target from a CSV file; the target column is ``target`` (default: the last column).

    Rows whose target is missing are left out, said in a note (they can be neither trained nor tested on).
    ``header`` and ``decimal``: see `read_csv()`.
    """
    data = read_csv(path, header=header, decimal=decimal)
    frame = data.frame
    if frame.shape[1] < 2:
        raise DataError(f"{path}: needs at least one feature column and a target column, "
                        f"found {frame.shape[1]} column(s)")
    if target is None:
        target = str(frame.columns[-1])
    target = column_named(target, frame.columns, path)
    notes = list(data.notes)
    lines = data.lines
    unlabelled = data.missing.get(target)
    if unlabelled is not None and len(unlabelled):
        notes.append(f"{plural(len(unlabelled), 'row')} without a target value left out "
                     f"({missing_values.where(unlabelled, lines)})")
        keep = np.setdiff1d(np.arange(len(frame)), unlabelled)
        frame, lines = frame.iloc[keep].reset_index(drop=True), lines[keep]
    name = _stem(path)
    return Table(name, frame.drop(columns=[target]), frame[target], task="auto", source=path, lines=lines,
                 notes=notes)


def column_named(name: str, columns, path: str) -> str:
    """The column ``name`` names: exactly, or once any quotes the user typed around it are set aside (a header
    cell ``'vote'`` is found by ``--target vote``); otherwise a DataError listing the columns unambiguously."""
    columns = [str(c) for c in columns]
    if name in columns:
        return name
    bare = name.strip("'\"")
    matches = [c for c in columns if c.strip("'\"") == bare]
    if len(matches) == 1:
        return matches[0]
    raise DataError(f"{path}: no target column {name!r}; columns are: {shorten(columns, 12)}")


def _stem(path: str) -> str:
    name = os.path.basename(path)
    for extension in (".gz", ".csv", ".tsv", ".txt", ".npz"):
        if name.lower().endswith(extension):
            name = name[:-len(extension)]
    return name


def _check_finite(array: np.ndarray, name: str, path: str) -> None:
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        index = ", ".join(str(int(i)) for i in np.argwhere(~np.isfinite(array))[0])
        raise DataError(f"{path}: {name}[{index}] is {array[tuple(np.argwhere(~np.isfinite(array))[0])]}, "
                        "not a finite number")


def load_npz(path: str) -> Table:
    """Features ``X`` (2-D) and target ``y`` (1-D) from an NPZ file, never unpickling anything."""
    arrays = npyfile.load_npz(path, ("X", "y"))
    X, y = arrays["X"], arrays["y"]
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"{path}: 'X' must be 2-D (samples × features) with at least one row and column, got "
                        f"shape {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise DataError(f"{path}: 'y' must be 1-D with one target per row of X ({X.shape[0]}), got shape {y.shape}")
    if X.dtype.kind not in "biuf":
        raise DataError(f"{path}: 'X' must be numeric, got dtype {X.dtype}")
    if y.dtype.kind not in "biufU":
        raise DataError(f"{path}: 'y' must hold numbers or strings, got dtype {y.dtype}")
    _check_finite(X, "X", path)
    _check_finite(y, "y", path)
    return from_arrays(_stem(path), X.astype(np.float64), y, "auto", source=path)


def load_file(path: str, target: str | None = None, header: bool | None = None, decimal: str | None = None) -> Table:
    """A CSV (possibly gzipped) or NPZ file, chosen by its extension."""
    lower = path.lower()
    extension = os.path.splitext(lower[:-3] if lower.endswith(".gz") else lower)[1]
    if extension == ".npz":
        if target is not None:
            raise DataError(f"{path}: --target applies to CSV files; an NPZ's target is its array 'y'")
        return load_npz(path)
    if extension in CSV_EXTENSIONS:
        return load_csv(path, target, header, decimal)
    raise DataError(f"{path}: unknown data file type {extension!r} (expected .csv, .csv.gz, .tsv or .npz)")
