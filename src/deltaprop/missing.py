"""Missing values in a table's features: found, counted, and filled as scikit-learn's
``SimpleImputer(strategy="median", add_indicator=True)`` fills them.

A missing cell is NaN in a numeric column and ``""`` in a text column (how [`deltaprop.datasets`][deltaprop.datasets] reads
``NA``, ``#N/A``, an empty cell …). What happens to them is a policy:

* ``"impute"`` — a numeric cell takes its column's median over the training rows, and a 0/1 "was
  missing" indicator column is added after every column that had missing cells in training; a text cell
  is a category of its own (``""``, shown as "(missing)"), one-hot encoded like the others;
* ``"drop"`` — rows with a missing feature are left out (before the split, so the test rows are complete
  too); at prediction time such rows get no prediction;
* ``"refuse"`` — any missing cell is an error, counted per column with its first line numbers;
* ``"auto"`` (the default) — impute where a column misses at most `MAX_IMPUTED_SHARE` of its
  training cells, and refuse a column that misses more, naming it and the ways on.

The statistics are learned on the training rows only and kept in the model file; ``predict``,
``evaluate`` and the ONNX export apply them (a numeric column that had no missing cell in training is
still filled with its median at prediction time; a missing text cell never seen in training encodes
as all zeros, as any unseen category does).
"""
from __future__ import annotations

import numpy as np

from .errors import DataError, plural

POLICIES = ("auto", "impute", "drop", "refuse")
#: the largest share of a column's training cells that "auto" imputes
MAX_IMPUTED_SHARE = 0.5
MISSING_CATEGORY = ""
LINES_SHOWN = 3


def is_numeric(column) -> bool:
    return column.dtype.kind in "biuf"


def mask(column) -> np.ndarray:
    """True where a cell of ``column`` (a pandas Series) is missing."""
    if is_numeric(column):
        return np.isnan(column.to_numpy(dtype=np.float64)) if column.dtype.kind == "f" else np.zeros(len(column), bool)
    values = column.to_numpy(dtype=object)
    return np.array([value is None or value == MISSING_CATEGORY or value != value for value in values], dtype=bool)


def count(features, columns=None) -> dict:
    """``{column: row positions of its missing cells}`` for the columns (all by default) that have any."""
    found = {}
    for name in (columns if columns is not None else features.columns):
        rows = np.flatnonzero(mask(features[name]))
        if len(rows):
            found[str(name)] = rows
    return found


def incomplete(found: dict, n_rows: int) -> np.ndarray:
    """True for the rows with a missing cell, from `count()`'s ``found``."""
    rows = np.zeros(n_rows, dtype=bool)
    for positions in found.values():
        rows[positions] = True
    return rows


def where(positions, lines) -> str:
    """``lines 3, 7, 9 …`` (the file's lines, where known; else row positions)."""
    shown = [str(lines[p]) if lines is not None else str(p) for p in positions[:LINES_SHOWN]]
    word = ("line" if lines is not None else "row") + ("s" if len(positions) > 1 else "")
    return f"{word} {', '.join(shown)}{' …' if len(positions) > LINES_SHOWN else ''}"


def describe(found: dict, n_rows: int, lines) -> str:
    """``1,915 missing cells in 453 of 524 rows: a 120 (lines 3, 7, 9 …), b 30 (line 5)``."""
    cells = sum(len(rows) for rows in found.values())
    rows = len(set().union(*(set(r.tolist()) for r in found.values()))) if found else 0
    per_column = ", ".join(f"{name!r} {len(positions):,} ({where(positions, lines)})"
                           for name, positions in found.items())
    return f"{plural(cells, 'missing cell')} in {rows:,} of {n_rows:,} rows: {per_column}"


def check_policy(found: dict, n_rows: int, policy: str, source: str, lines) -> None:
    """Refuse what the policy does not take: any missing cell (refuse), or a column missing more than
    MAX_IMPUTED_SHARE of its cells (auto)."""
    if policy not in POLICIES:
        raise ValueError(f"missing must be one of {', '.join(POLICIES)}, got {policy!r}")
    if not found:
        return
    where_from = source or "data"
    if policy == "refuse":
        raise DataError(f"{where_from}: {describe(found, n_rows, lines)}; fill them in, or use --missing impute "
                        "(median and a missing indicator) or --missing drop (leave those rows out)")
    if policy == "auto":
        sparse = {name: rows for name, rows in found.items() if len(rows) > MAX_IMPUTED_SHARE * n_rows}
        if sparse:
            name, rows = next(iter(sparse.items()))
            raise DataError(f"{where_from}: column {name!r} is missing in {len(rows):,} of {n_rows:,} training rows, "
                            f"more than the {MAX_IMPUTED_SHARE:.0%} imputed by default; leave it out with --drop "
                            f"{name!r}, impute it anyway with --missing impute, or leave out incomplete rows with "
                            "--missing drop")


def medians(features, numeric_columns) -> dict:
    """The median of each numeric column over the rows given (the training rows), ignoring missing cells."""
    result = {}
    for name in numeric_columns:
        values = features[name].to_numpy(dtype=np.float64)
        present = values[~np.isnan(values)]
        result[name] = float(np.median(present)) if len(present) else 0.0
    return result


def fill(values: np.ndarray, median: float) -> tuple[np.ndarray, np.ndarray]:
    """(the numeric column with its missing cells set to ``median``, the 0/1 indicator of those cells)."""
    missing = np.isnan(values)
    return np.where(missing, median, values), missing.astype(np.float64)
