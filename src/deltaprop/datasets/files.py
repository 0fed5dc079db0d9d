"""User data files: CSV (header row, target column by name) and NPZ (arrays ``X`` and ``y``).

CSV files are read by pandas; NPZ files by NumPy with ``allow_pickle=False``. Every problem is
a :class:`DataError` naming the file and, where there is one, the line and column.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..preprocessing import CSV_LINE_OF_ROW
from .table import DataError, Table, from_arrays



def _check_exists(path: str) -> None:
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a folder, not a data file")


def read_csv_frame(path: str) -> pd.DataFrame:
    """The CSV as a DataFrame; cells stay as pandas parses them (numbers or strings)."""
    _check_exists(path)
    try:
        frame = pd.read_csv(path, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty (expected a header row and data rows)") from None
    except pd.errors.ParserError as exc:
        # pandas says e.g. "Error tokenizing data. C error: Expected 3 fields in line 5, saw 4"
        detail = str(exc).split("C error: ")[-1].strip()
        raise DataError(f"{path}: rows do not all have the header's number of columns: {detail}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    if frame.shape[0] == 0:
        raise DataError(f"{path}: has a header row but no data rows")
    unnamed = [str(c) for c in frame.columns if str(c).startswith("Unnamed: ")]
    if unnamed:
        raise DataError(f"{path}: line 1: a header cell is empty (column {int(unnamed[0].split(': ')[1]) + 1})")
    _check_complete(frame, path)
    return frame


def _check_complete(frame: pd.DataFrame, path: str) -> None:
    """Every cell present: a short row or an empty/NaN cell is an error naming its line and column."""
    missing = frame.isna().to_numpy()
    if missing.any():
        row, col = map(int, np.argwhere(missing)[0])
        raise DataError(f"{path}: line {row + CSV_LINE_OF_ROW}, column {frame.columns[col]!r}: "
                        "empty or missing value (fill it in or drop the row)")


def check_numeric_columns(frame: pd.DataFrame, path: str) -> None:
    """A text column whose cells are mostly numbers is a numeric column with a typo: say where."""
    for name in frame.columns:
        column = frame[name]
        if column.dtype.kind in "biuf":
            continue
        as_numbers = pd.to_numeric(column, errors="coerce")
        bad = as_numbers.isna().to_numpy()
        if bad.mean() <= 0.5:  # most cells are numbers: the others are errors, not categories
            row = int(np.argmax(bad))
            raise DataError(f"{path}: line {row + CSV_LINE_OF_ROW}, column {name!r}: "
                            f"{column.iloc[row]!r} is not a number (the column's other values are numbers)")


def load_csv(path: str, target: str | None) -> Table:
    """Features and target from a CSV file; the target column is ``target`` (default: the last column)."""
    frame = read_csv_frame(path)
    if frame.shape[1] < 2:
        raise DataError(f"{path}: needs at least one feature column and a target column, "
                        f"found {frame.shape[1]} column(s)")
    if target is None:
        target = str(frame.columns[-1])
    if target not in frame.columns:
        raise DataError(f"{path}: no target column {target!r}; columns are: {', '.join(map(str, frame.columns))}")
    features = frame.drop(columns=[target])
    check_numeric_columns(features, path)
    name = os.path.splitext(os.path.basename(path))[0]
    return Table(name, features, frame[target], task="auto", source=path)


def load_npz(path: str) -> Table:
    """Features ``X`` (2-D) and target ``y`` (1-D) from an NPZ file, never unpickling anything."""
    _check_exists(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in ("X", "y") if key not in archive.files]
            if missing:
                raise DataError(f"{path}: missing array {missing[0]!r} (an NPZ needs arrays 'X' and 'y'; "
                                f"found {', '.join(archive.files) or 'none'})")
            X, y = archive["X"], archive["y"]
    except ValueError as exc:
        if isinstance(exc, DataError):
            raise
        if "pickle" in str(exc).lower():
            raise DataError(f"{path}: holds object arrays, which need pickle; store numeric or string arrays") \
                from None
        raise DataError(f"{path}: not a readable NPZ file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable NPZ file ({exc})") from None
    if X.ndim != 2 or X.shape[0] == 0:
        raise DataError(f"{path}: 'X' must be 2-D (samples × features) with at least one row, got shape {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise DataError(f"{path}: 'y' must be 1-D with one target per row of X ({X.shape[0]}), got shape {y.shape}")
    if X.dtype.kind not in "biuf":
        raise DataError(f"{path}: 'X' must be numeric, got dtype {X.dtype}")
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        row, col = map(int, np.argwhere(~np.isfinite(X))[0])
        raise DataError(f"{path}: X[{row}, {col}] is not finite")
    name = os.path.splitext(os.path.basename(path))[0]
    return from_arrays(name, X.astype(np.float64), y, "auto", source=path)


def load_file(path: str, target: str | None = None) -> Table:
    """A CSV or NPZ file, chosen by its extension."""
    extension = os.path.splitext(path)[1].lower()
    if extension == ".npz":
        return load_npz(path)
    if extension in (".csv", ".txt", ".tsv", ""):
        return load_csv(path, target)
    raise DataError(f"{path}: unknown data file type {extension!r} (expected .csv or .npz)")
