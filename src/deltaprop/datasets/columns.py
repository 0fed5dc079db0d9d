"""The cells of a table, typed: each column numbers (int64 or float64) or text, all cells at once.

A cell is a number when ``pandas.to_numeric`` takes it (surrounding spaces allowed; ``1_000`` or ``0x10``
are text), so a table reads here as ``pandas.read_csv`` reads it. A column is numeric when every
cell that is not missing is a number; integers when, besides, every cell is written as one and none
is missing (pandas's int64).

**Missing cells** are what pandas reads as missing — empty, ``NA``, ``N/A``, ``#N/A``, ``NULL``,
``NaN``, ``None`` … (`MISSING`, any case) — and also ``-``, ``.`` and ``?``, common placeholders in
published tables. They become NaN in a numeric column and ``""`` in a text one, and are counted
(`missing`); what happens to them is the preprocessing's decision.

**Formatted numbers** — thousands separators (``57,690``, ``1.234.567,89``), percent signs (``44.8%``),
currency symbols (``$1,234.50``, ``12 €``), accounting negatives (``(1,234)``) — are read as numbers,
and a note says so (the value is kept as written: ``44.8%`` is 44.8). A column whose cells read as
numbers two ways (``57,690``: 57690 with a thousands separator, or 57.69 with a decimal comma) is
refused, naming the column and ``--decimal`` — unless the file says which: in a comma-separated file a
comma in a (quoted) number separates thousands. A decimal comma is read where nothing else fits
(``3,14``), in semicolon- and tab-separated files above all.

±inf cells are errors naming the line and the column; so is a text cell in a column of numbers (a
typo, not a category). All cells are typed in one pass over one flat array, not column by column: a
table of 100,000 columns takes about as long as one of 100,000 rows.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError

#: cells read as missing (compared in lower case): pandas's default missing values, and -, . and ?
MISSING = {"", "na", "n/a", "#n/a", "#n/a n/a", "#na", "<na>", "nan", "-nan", "1.#ind", "-1.#ind", "1.#qnan",
           "-1.#qnan", "null", "none", "-", ".", "?"}
CURRENCY = "$€£¥₹"
#: a number written with separators: the integer part in groups of three (or none), then the decimals
_SEPARATED = {"point": re.compile(r"^(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$"),
              "comma": re.compile(r"^(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$")}
_DECORATION = re.compile(rf"^([+-]?)\s*([{CURRENCY}]?)\s*([+-]?)(.*?)\s*([{CURRENCY}%]?)$")


@dataclass
class Columns:
    """Typed columns, and the missing cells found: ``missing[name]`` is the row positions of a column's."""

    values: dict
    missing: dict = field(default_factory=dict)


def type_columns(names: list, rows: list, lines: np.ndarray, path: str, decimal: str | None, notes: list) -> Columns:
    """Typed columns of ``rows`` (lists of cell strings, one per name); DataError for a cell that cannot be.

    ``decimal`` is the decimal mark of formatted numbers: "point", "comma", or None to decide from the cells.
    """
    n_rows, n_columns = len(rows), len(names)
    cells = pd.Series(list(itertools.chain.from_iterable(rows)), dtype=object).str.strip()
    grid = cells.to_numpy(dtype=object).reshape(n_rows, n_columns)
    missing = cells.str.lower().isin(MISSING).to_numpy().reshape(n_rows, n_columns)
    numbers = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    numbers = numbers.reshape(n_rows, n_columns)
    is_number = ~np.isnan(numbers) & ~missing
    plain = (is_number | missing).all(axis=0)
    with np.errstate(invalid="ignore"):
        integral = plain & ~missing.any(axis=0) & np.all(numbers == np.floor(numbers), axis=0)
    integers = np.zeros(n_columns, dtype=bool)
    for index in np.flatnonzero(integral):   # pandas's int64: every cell written as an integer ("3", not "3.0")
        written = "".join(grid[:, index])
        integers[index] = not any(mark in written for mark in ".eE")

    result = Columns({})
    for index, name in enumerate(names):
        gaps = missing[:, index]
        if gaps.all():
            raise DataError(f"{path}: column {name!r} has no value in any row (all {n_rows} cells are missing); "
                            f"leave it out with --drop {name!r}")
        if gaps.any():
            result.missing[name] = np.flatnonzero(gaps)
        values = grid[:, index]
        if plain[index]:
            column = np.where(gaps, np.nan, numbers[:, index])
            result.values[name] = _numbers(name, column, values, integers[index], lines, path)
            continue
        formatted = _formatted_numbers(name, values, gaps, decimal, path, notes)
        if formatted is not None:
            result.values[name] = _numbers(name, formatted, values, False, lines, path)
            continue
        not_numbers = ~is_number[:, index] & ~gaps
        if not_numbers.sum() <= 0.5 * (~gaps).sum():   # mostly numbers: the others are typos, not categories
            row = int(np.argmax(not_numbers))
            raise DataError(f"{path}: line {lines[row]}, column {name!r}: {values[row]!r} is not a number "
                            "(the column's other values are numbers)")
        result.values[name] = np.where(gaps, "", values).astype(object)
    return result


def _numbers(name: str, values: np.ndarray, cells: np.ndarray, integers: bool, lines, path: str) -> np.ndarray:
    infinite = np.isinf(values)
    if infinite.any():
        row = int(np.argmax(infinite))
        raise DataError(f"{path}: line {lines[row]}, column {name!r}: {cells[row]!r} is not a finite number")
    if integers and np.all(np.abs(values) < 2 ** 53):
        return values.astype(np.int64)
    return values


def _formatted_numbers(name: str, cells: np.ndarray, gaps: np.ndarray, decimal: str | None, path: str,
                       notes: list) -> np.ndarray | None:
    """The numbers of a column of formatted numbers (see the module docstring), or None if it is not one."""
    present = [str(cell) for cell, gap in zip(cells, gaps) if not gap]
    parts = [_DECORATION.match(cell) for cell in present]
    if not all(parts):
        return None
    bodies = []
    negative, percent, currency = [], False, False
    for part in parts:
        sign, prefix, inner_sign, body, suffix = part.groups()
        accounting = body.startswith("(") and body.endswith(")")
        body = body[1:-1] if accounting else body
        negative.append((sign == "-") != (inner_sign == "-") or accounting)
        percent |= suffix == "%"
        currency |= bool(prefix) or suffix in CURRENCY and bool(suffix)
        bodies.append(body)
    readings = {}
    for mark in ("point", "comma") if decimal is None else (decimal,):
        if all(_SEPARATED[mark].match(body) for body in bodies):
            thousands, point = (",", ".") if mark == "point" else (".", ",")
            readings[mark] = np.array([float(body.replace(thousands, "").replace(point, ".")) for body in bodies])
    if not readings:
        return None
    if len(readings) == 2 and not np.array_equal(readings["point"], readings["comma"]):
        example = next(body for body, a, b in zip(bodies, readings["point"], readings["comma"]) if a != b)
        raise DataError(f"{path}: column {name!r}: {example!r} reads as {_shown(readings['point'], bodies, example)} "
                        f"with a thousands separator or as {_shown(readings['comma'], bodies, example)} with a decimal "
                        "comma; say which with --decimal point or --decimal comma")
    mark, values = next(iter(readings.items()))
    if not (percent or currency or any(("," in body or "." in body and mark == "comma") for body in bodies)):
        return None      # nothing formatted: plain text such as "12a" stays for the typo check
    values = np.where(negative, -values, values)
    what = [label for label, used in (("thousands separators", any(_has_thousands(b, mark) for b in bodies)),
                                      ("a decimal comma", mark == "comma" and any("," in b for b in bodies)),
                                      ("percent signs", percent), ("currency symbols", currency)) if used]
    if what == ["a decimal comma"]:
        notes.append(f"column {name!r}: decimal commas read as decimal points")
    else:
        shown = ", ".join(what[:-1]) + " and " + what[-1] if len(what) > 1 else what[0]
        notes.append(f"column {name!r}: numbers written with {shown} (like {present[0]!r}) read as numbers")
    column = np.full(len(cells), np.nan)
    column[~gaps] = values
    return column


def _has_thousands(body: str, mark: str) -> bool:
    separator = "," if mark == "point" else "."
    return separator in body


def _shown(values: np.ndarray, bodies: list, example: str) -> str:
    return f"{values[bodies.index(example)]:g}"
