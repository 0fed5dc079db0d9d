"""The cells of a table, typed: each column numbers (int64 or float64) or text, all cells at once.

The rules are pandas's, so that a table reads here as ``pandas.read_csv`` reads it: a cell is a
number when ``pandas.to_numeric`` takes it (surrounding spaces allowed; ``1_000`` or ``0x10`` are
text). A column is numeric when every cell is a number; integers when every cell is written as one.
Missing cells (empty, ``NA``, ``NaN`` …) and ±inf are errors naming the line and the column; so is
a text cell in a column of numbers (a typo, not a category).

All cells are typed in one pass over one flat array, not column by column: a table of 100,000
columns takes about as long as one of 100,000 rows.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..errors import DataError

MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "-nan"}
DECIMAL_COMMA = r"^[+-]?\d*,\d+([eE][+-]?\d+)?$|^[+-]?\d+$"


def type_columns(names: list, rows: list, lines: np.ndarray, path: str, decimal_comma: bool, notes: list) -> dict:
    """``{name: array}`` from ``rows`` (lists of cell strings, one per name); DataError for a cell that cannot be."""
    n_rows, n_columns = len(rows), len(names)
    cells = pd.Series(list(itertools.chain.from_iterable(rows)), dtype=object).str.strip()
    grid = cells.to_numpy(dtype=object).reshape(n_rows, n_columns)
    missing = cells.str.lower().isin(MISSING).to_numpy().reshape(n_rows, n_columns)
    numbers = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    numbers = numbers.reshape(n_rows, n_columns)
    is_number = ~np.isnan(numbers) & ~missing
    all_numbers = is_number.all(axis=0)
    with np.errstate(invalid="ignore"):
        integral = all_numbers & np.all(numbers == np.floor(numbers), axis=0)
    integers = np.zeros(n_columns, dtype=bool)
    for index in np.flatnonzero(integral):   # pandas's int64: every cell written as an integer ("3", not "3.0")
        written = "".join(grid[:, index])
        integers[index] = not any(mark in written for mark in ".eE")

    columns = {}
    for index, name in enumerate(names):
        if missing[:, index].any():
            row = int(np.argmax(missing[:, index]))
            shown = "" if not grid[row, index] else repr(grid[row, index]) + " "
            raise DataError(f"{path}: line {lines[row]}, column {name!r}: empty or missing value {shown}(fill it in "
                            "or drop the row)")
        if all_numbers[index]:
            columns[name] = _numbers(name, numbers[:, index], grid[:, index], integers[index], lines, path)
            continue
        values = grid[:, index]
        if decimal_comma:
            comma_numbers = _decimal_comma(values)
            if comma_numbers is not None:
                notes.append(f"column {name!r}: decimal commas read as decimal points")
                columns[name] = _numbers(name, comma_numbers, values, False, lines, path)
                continue
        not_numbers = ~is_number[:, index]
        if not_numbers.mean() <= 0.5:  # mostly numbers: the others are typos, not categories
            row = int(np.argmax(not_numbers))
            raise DataError(f"{path}: line {lines[row]}, column {name!r}: {values[row]!r} is not a number "
                            "(the column's other values are numbers)")
        columns[name] = values
    return columns


def _numbers(name: str, values: np.ndarray, cells: np.ndarray, integers: bool, lines, path: str) -> np.ndarray:
    infinite = ~np.isfinite(values)
    if infinite.any():
        row = int(np.argmax(infinite))
        raise DataError(f"{path}: line {lines[row]}, column {name!r}: {cells[row]!r} is not a finite number")
    if integers and np.all(np.abs(values) < 2 ** 53):
        return values.astype(np.int64)
    return values


def _decimal_comma(values: np.ndarray) -> np.ndarray | None:
    """The numbers of a column written with decimal commas (``3,14``), or None if it is not one."""
    cells = pd.Series(values, dtype=object)
    if not cells.str.match(DECIMAL_COMMA).all():
        return None
    numbers = pd.to_numeric(cells.str.replace(",", ".", regex=False), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan)
    return None if np.isnan(numbers).any() else numbers
