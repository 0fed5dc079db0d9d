"""Reading a CSV file into typed columns, with the line number of every row.

The structure is read with Python's ``csv`` module (quoting, multi-line fields) and checked
before any value is used: every row must have the header's number of fields (pandas would
otherwise turn extra leading fields into a row index and drop them silently), the header must
name every column once, and a first row of numbers is recognised as data, not a header.
Line numbers in messages are the file's own: they count blank lines and the lines inside
quoted fields. Columns whose cells are all numbers become float or integer columns; the others
stay text. Missing cells (empty, ``NA``, ``NaN`` …) and ±inf are errors naming line and column.

Also read: ``.csv.gz`` (gzip), semicolon-, tab- and pipe-separated files (the delimiter is
sniffed from the first lines), decimal commas in semicolon- or tab-separated files, and
whitespace-separated tables.
"""
from __future__ import annotations

import csv
import gzip
import os
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._files import read_bytes
from ..errors import DataError, shorten

MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "-nan"}
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
WHITESPACE = "whitespace"
SNIFF_LINES = 20
DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+([eE][+-]?\d+)?$|^[+-]?\d+$")
csv.field_size_limit(2 ** 31 - 1)


@dataclass
class CsvData:
    """A CSV file's columns (a DataFrame of numbers or strings), and where each row came from."""

    frame: pd.DataFrame
    lines: np.ndarray               # the file's line number of each row (1 = the first line)
    notes: list = field(default_factory=list)  # what was inferred, for the user (delimiter, …)


def read_text(path: str) -> str:
    """The file's text: gunzipped for ``.gz``, decoded as UTF-8, with the line of any bad byte."""
    data = read_bytes(path, DataError, "data file")
    if path.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DataError(f"{path}: not a readable gzip file ({exc})") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line} is not UTF-8 text (byte 0x{data[exc.start]:02x}): save the file as "
                        "UTF-8 (it may be Latin-1 or Windows-1252)") from None


def sniff_delimiter(text: str, path: str) -> str:
    """The delimiter of the file, from its first lines.

    A candidate (comma, semicolon, tab, pipe) fits when it splits the header into several fields
    and at least 80% of the first lines into as many; of those that fit, the one giving the most
    fields wins (a comma on a tie). If none fits, whitespace is tried the same way; a file that
    nothing splits is read as one comma-separated column.
    """
    if path.lower().endswith((".tsv", ".tsv.gz", ".tab")):
        return "\t"
    sample = [line for line in text.splitlines()[:SNIFF_LINES * 2] if line.strip()][:SNIFF_LINES]

    def fields_if_consistent(counts):
        return counts[0] if counts and counts[0] > 1 and counts.count(counts[0]) >= 0.8 * len(counts) else 0

    best, best_fields = ",", 0
    for delimiter in DELIMITERS:
        try:
            fields = fields_if_consistent([len(row) for row in csv.reader(sample, delimiter=delimiter)])
        except csv.Error:
            continue
        if fields > best_fields:
            best, best_fields = delimiter, fields
    if not best_fields and fields_if_consistent([len(line.split()) for line in sample]):
        return WHITESPACE
    return best


def _records(text: str, delimiter: str, path: str):
    """(first line, fields) of each non-blank record, in file order."""
    if delimiter == WHITESPACE:
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                yield number, line.split()
        return
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    last = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{path}: line {reader.line_num}: {exc}") from None
        first, last = last + 1, reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line
        yield first, row


def _looks_numeric(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _header(fields: list, path: str, has_header: bool) -> list:
    if not has_header:
        return [f"column{i + 1}" for i in range(len(fields))]
    names = [name.strip() for name in fields]
    numeric = [name for name in names if _looks_numeric(name)]
    if len(numeric) > len(names) / 2:
        raise DataError(f"{path}: line 1 looks like data, not a header ({len(numeric)} of {len(names)} cells are "
                        f"numbers: {shorten(numeric, 3)}): add a header row of column names, or use --no-header")
    for index, name in enumerate(names):
        if not name:
            raise DataError(f"{path}: line 1: the header cell of column {index + 1} is empty; name every column")
    seen = {}
    for index, name in enumerate(names):
        if name in seen:
            raise DataError(f"{path}: line 1: column name {name!r} appears twice (columns {seen[name] + 1} and "
                            f"{index + 1}); column names must be unique")
        seen[name] = index
    return names


def _column(name: str, cells: list, lines: np.ndarray, path: str, decimal_comma: bool, notes: list):
    """Numbers (int64 or float64) when every cell is one, text otherwise; missing or infinite cells are errors."""
    values = pd.Series(cells, dtype=object).str.strip()
    missing = values.str.lower().isin(MISSING).to_numpy()
    if missing.any():
        row = int(np.argmax(missing))
        raise DataError(f"{path}: line {lines[row]}, column {name!r}: empty or missing value "
                        f"{'' if not values.iloc[row] else repr(values.iloc[row]) + ' '}(fill it in or drop the row)")
    numbers = pd.to_numeric(values, errors="coerce")
    not_numbers = numbers.isna().to_numpy()
    if not_numbers.any() and decimal_comma and values.str.match(DECIMAL_COMMA).all():
        numbers = pd.to_numeric(values.str.replace(",", ".", regex=False), errors="coerce")
        not_numbers = numbers.isna().to_numpy()
        if not not_numbers.any():
            notes.append(f"column {name!r}: decimal commas read as decimal points")
    if not not_numbers.any():
        array = numbers.to_numpy()
        infinite = ~np.isfinite(array.astype(np.float64))
        if infinite.any():
            row = int(np.argmax(infinite))
            raise DataError(f"{path}: line {lines[row]}, column {name!r}: {values.iloc[row]!r} is not a finite "
                            "number")
        return array
    if not_numbers.mean() <= 0.5:  # mostly numbers: the others are typos, not categories
        row = int(np.argmax(not_numbers))
        raise DataError(f"{path}: line {lines[row]}, column {name!r}: {values.iloc[row]!r} is not a number "
                        "(the column's other values are numbers)")
    return values.to_numpy(dtype=object)


def read_csv(path: str, header: bool = True) -> CsvData:
    """The file's columns and the line number of each row; see the module docstring for what is checked."""
    text = read_text(path)
    if not text.strip():
        raise DataError(f"{path}: the file is empty (expected a header row and data rows)")
    delimiter = sniff_delimiter(text, path)
    notes = []
    if delimiter != ",":
        notes.append(f"{os.path.basename(path)} is {DELIMITERS.get(delimiter, delimiter)}-separated")
    records = iter(_records(text, delimiter, path))
    first_line, first = next(records)
    names = _header(first, path, header)
    rows, lines = ([], []) if header else ([first], [first_line])
    for line, fields in records:
        if len(fields) != len(names):
            raise DataError(f"{path}: line {line} has {len(fields)} field{'s' if len(fields) != 1 else ''} but the "
                            f"header has {len(names)}")
        rows.append(fields)
        lines.append(line)
    if not rows:
        raise DataError(f"{path}: has a header row but no data rows")
    lines = np.asarray(lines, dtype=np.int64)
    columns = zip(*rows)
    decimal_comma = delimiter not in (",", WHITESPACE)
    frame = pd.DataFrame({name: _column(name, list(cells), lines, path, decimal_comma, notes)
                          for name, cells in zip(names, columns)})
    return CsvData(frame, lines, notes)
