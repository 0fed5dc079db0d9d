"""Reading a CSV file into typed columns, with the line number of every row.

The file is read as a stream of lines — decompressed while it is parsed for ``.csv.gz`` — and its
structure is checked with Python's ``csv`` module (quoting, multi-line fields) before any value is
used: every row must have the header's number of fields (pandas would otherwise turn extra leading
fields into a row index and drop them silently), a quoted field must be closed before the end of the
file (one stray quote would otherwise swallow every line after it), the header must name every
column once, and a first row of numbers is recognised as data, not a header. Line numbers in
messages are the file's own: they count blank lines and the lines inside quoted fields. Lines end
at ``\\n``, ``\\r\\n`` or ``\\r`` only, as in pandas: U+2028, U+0085 or a form feed inside a cell is
part of the cell. Values are typed by :mod:`.columns`.

Nothing read can take unbounded memory or time: ``--data`` must be a regular file (a FIFO or a
device is refused before it is opened), no line may be longer than the memory available, and the
parsed table may take at most a third of the memory available (the rest is for what comes after);
beyond that the file is refused, naming the line reached — a 4 MB ``.csv.gz`` that inflates to
4 GB fails in seconds, not after exhausting memory.

Also read: semicolon-, tab- and pipe-separated files (the delimiter is sniffed from the first
lines), decimal commas in semicolon- or tab-separated files, and whitespace-separated tables.
"""
from __future__ import annotations

import csv
import gzip
import os
import re
import stat
import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._checks import available_memory, describe_bytes
from ..errors import DataError, shorten
from .columns import MISSING, type_columns  # noqa: F401 - MISSING re-exported for the readers of this module

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
WHITESPACE = "whitespace"
SNIFF_LINES = 20
#: the parsed table may take at most 1/MEMORY_SHARE of the memory available when reading starts
MEMORY_SHARE = 3
#: bytes a parsed cell costs beyond its characters (a Python string and its place in its row's list)
CELL_OVERHEAD = 57
csv.field_size_limit(2 ** 31 - 1)
_LONE_CR = re.compile(r"(?<=\r)(?!\n|$)")


@dataclass
class CsvData:
    """A CSV file's columns (a DataFrame of numbers or strings), and where each row came from."""

    frame: pd.DataFrame
    lines: np.ndarray               # the file's line number of each row (1 = the first line)
    notes: list = field(default_factory=list)  # what was inferred, for the user (delimiter, …)


def check_regular_file(path: str, what: str = "data file") -> None:
    """A data path must be a regular file: a FIFO would block forever, ``/dev/zero`` never ends."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(status.st_mode):
        raise DataError(f"{path}: is a folder, not a {what}")
    if not stat.S_ISREG(status.st_mode):
        raise DataError(f"{path}: is not a regular file (a pipe, a device or a socket); give a {what}")


class Lines:
    """The decoded lines of a data file, one at a time, counted; a ``.gz`` file decompressed as it is read.

    Each line keeps its ending (as ``csv`` needs); ``number`` is the line last returned. A line that is not
    UTF-8, longer than ``max_line`` bytes, or a damaged gzip stream is a DataError naming the line.
    """

    def __init__(self, path: str, max_line: int):
        check_regular_file(path)
        self.path, self.max_line, self.number = path, max_line, 0
        self.bytes_read = 0
        opener = gzip.open if path.lower().endswith(".gz") else open
        self.stream = opener(path, "rb")
        self.pending = []          # the pieces of a line with lone \r endings, still to return

    def close(self) -> None:
        self.stream.close()

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if not self.pending:
            self.pending = self._read()
        self.number += 1
        return self.pending.pop(0)

    def _read(self) -> list:
        try:
            raw = self.stream.readline(self.max_line + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{self.path}: not a readable gzip file ({exc})") from None
        if not raw:
            raise StopIteration
        self.bytes_read += len(raw)
        if len(raw) > self.max_line:
            raise DataError(f"{self.path}: line {self.number + 1} is longer than {describe_bytes(self.max_line)}, more "
                            "than can be read in the memory available")
        if self.number == 0 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"{self.path}: line {self.number + 1} is not UTF-8 text (byte 0x{raw[exc.start]:02x}): save "
                            "the file as UTF-8 (it may be Latin-1 or Windows-1252)") from None
        return _LONE_CR.split(text) if "\r" in text[:-2] else [text]


def sniff_delimiter(sample: list, path: str) -> str:
    """The delimiter of the file, from its first lines.

    A candidate (comma, semicolon, tab, pipe) fits when it splits the header into several fields
    and at least 80% of the first lines into as many; of those that fit, the one giving the most
    fields wins (a comma on a tie). If none fits, whitespace is tried the same way; a file that
    nothing splits is read as one comma-separated column.
    """
    if path.lower().endswith((".tsv", ".tsv.gz", ".tab")):
        return "\t"
    sample = [line for line in sample if line.strip()][:SNIFF_LINES]

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
    if not best_fields and fields_if_consistent([len(_split_whitespace(line)) for line in sample]):
        return WHITESPACE
    return best


def _split_whitespace(line: str) -> list:
    return [cell for cell in re.split(r"[ \t]+", line.strip(" \t\r\n")) if cell]


def _records(lines, delimiter: str, path: str):
    """(first line, fields) of each non-blank record, in file order; a quoted field still open at the end of
    the file is refused, naming the line where it began."""
    if delimiter == WHITESPACE:
        for line in lines:
            if line.strip(" \t\r\n"):
                yield lines.number, _split_whitespace(line)
        return
    record, ended = [], []            # the lines of the record being read; set once the file has ended

    def feed():
        for line in lines:
            record.append(line)
            yield line
        ended.append(True)

    reader = csv.reader(feed(), delimiter=delimiter)
    last = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{path}: line {reader.line_num}: {exc}") from None
        first, last = last + 1, reader.line_num
        if ended and _unclosed_quote(record, delimiter):    # the file ended before the record did
            raise DataError(f"{path}: line {first}: a quoted field opens here and is never closed (the file ends "
                            "inside it); close the quote, or remove the stray '\"'")
        record.clear()
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line
        yield first, row


def _unclosed_quote(record: list, delimiter: str) -> bool:
    """Is the record's last field a quoted one the file ended inside? (``csv`` hands it back silently.)"""
    try:
        list(csv.reader(record, delimiter=delimiter, strict=True))
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


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


def read_csv(path: str, header: bool = True) -> CsvData:
    """The file's columns and the line number of each row; see the module docstring for what is checked."""
    budget = available_memory() // MEMORY_SHARE
    lines = Lines(path, max_line=budget)
    try:
        sample = [line for _, line in zip(range(2 * SNIFF_LINES), lines)]
        if not "".join(sample).strip():
            raise DataError(f"{path}: the file is empty (expected a header row and data rows)")
        delimiter = sniff_delimiter(sample, path)
        replay = _Replay(sample, lines)
        names, rows, row_lines = _read_rows(replay, delimiter, header, path, budget)
    finally:
        lines.close()
    notes = []
    if delimiter != ",":
        notes.append(f"{os.path.basename(path)} is {DELIMITERS.get(delimiter, delimiter)}-separated")
    row_lines = np.asarray(row_lines, dtype=np.int64)
    decimal_comma = delimiter not in (",", WHITESPACE)
    columns = type_columns(names, rows, row_lines, path, decimal_comma, notes)
    del rows
    return CsvData(pd.DataFrame(columns, columns=names), row_lines, notes)


class _Replay:
    """The sniffed first lines, then the rest of the file, with the file's own line numbers."""

    def __init__(self, sample: list, lines: Lines):
        self.sample, self.lines, self.number = list(sample), lines, 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.number < len(self.sample):
            self.number += 1
            return self.sample[self.number - 1]
        line = next(self.lines)
        self.number = self.lines.number
        return line


def _read_rows(lines, delimiter: str, header: bool, path: str, budget: int):
    """(column names, rows of cell strings, the line of each row), refusing a table larger than ``budget`` bytes."""
    records = _records(lines, delimiter, path)
    try:
        first_line, first = next(records)
    except StopIteration:
        raise DataError(f"{path}: the file is empty (expected a header row and data rows)") from None
    names = _header(first, path, header)
    rows, row_lines = ([], []) if header else ([first], [first_line])
    size = 0
    for line, fields in records:
        if len(fields) != len(names):
            raise DataError(f"{path}: line {line} has {len(fields)} field{'s' if len(fields) != 1 else ''} but the "
                            f"header has {len(names)}")
        rows.append(fields)
        row_lines.append(line)
        size += 64 + sum(map(len, fields)) + CELL_OVERHEAD * len(fields)
        if size > budget:
            raise DataError(f"{path}: too large to read into memory: by line {line} the table takes more than "
                            f"{describe_bytes(budget)}, a third of the memory available; put the data in a folder "
                            "of .npy files (X.npy, y.npy), which deltaprop reads in chunks")
    if not rows:
        raise DataError(f"{path}: has a header row but no data rows")
    return names, rows, row_lines
