"""Reading a CSV file into typed columns, with the line number of every row.

The file is read as a stream of lines — decompressed while it is parsed for ``.csv.gz`` — and its
structure is checked with Python's ``csv`` module (quoting, multi-line fields) before any value is
used: every row must have the header's number of fields (pandas would otherwise turn extra leading
fields into a row index and drop them silently), a quoted field must be closed before the end of the
file (one stray quote would otherwise swallow every line after it), the header must name every
column once. Line 1 is the header unless it looks like data: a row mostly of numbers is refused
(``--no-header`` reads it as data, ``--header`` as the header) — except when its numbers are a run of
years above rows of other values (``Country Name, …, 1960, 1961, …``), which makes it a header, said
in a note; ``--no-header`` on such a file is refused, so that a header row is never trained on. Line numbers in
messages are the file's own: they count blank lines and the lines inside quoted fields. Lines end
at ``\\n``, ``\\r\\n`` or ``\\r`` only, as in pandas: U+2028, U+0085 or a form feed inside a cell is
part of the cell. Values are typed by `columns`.

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
from ..errors import DataError, plural, shorten
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
    missing: dict = field(default_factory=dict)  # column → positions of its missing cells (NaN, or "" for text)


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

    def fields_if_consistent(counts, row_names=False):
        if counts and counts[0] > 1 and counts.count(counts[0]) >= 0.8 * len(counts):
            return counts[0]
        rows = counts[1:]    # a header one field short of rows that all agree: R's row names (said when read)
        if row_names and len(rows) >= 2 and rows[0] == counts[0] + 1 and rows.count(rows[0]) >= 0.8 * len(rows):
            return rows[0]
        return 0

    best, best_fields = ",", 0
    for delimiter in DELIMITERS:
        try:
            fields = fields_if_consistent([len(row) for row in csv.reader(sample, delimiter=delimiter)])
        except csv.Error:
            continue
        if fields > best_fields:
            best, best_fields = delimiter, fields
    if not best_fields and fields_if_consistent([len(_split_whitespace(line)) for line in sample], row_names=True):
        return WHITESPACE
    return best


def _split_whitespace(line: str) -> list:
    """The fields of a whitespace-separated line; a quoted field may hold spaces (``"Mazda RX4" 21 6``)."""
    line = line.strip(" \t\r\n")
    if '"' not in line:
        return [cell for cell in re.split(r"[ \t]+", line) if cell]
    try:
        return next(csv.reader([line.replace("\t", " ")], delimiter=" ", skipinitialspace=True))
    except (csv.Error, StopIteration):
        return [cell for cell in re.split(r"[ \t]+", line) if cell]


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


#: years a header may name (a table of one column per year: Country Name, …, 1960, 1961, …)
YEARS = (1000, 2999)


def _year_run(cells: list) -> list | None:
    """The first row's numbers when they are 2 or more whole years rising by one constant step (1960, 1961, …)."""
    numbers = [float(cell) for cell in cells if _looks_numeric(cell)]
    if len(numbers) < 2 or not all(n == int(n) and YEARS[0] <= n <= YEARS[1] for n in numbers):
        return None
    steps = {b - a for a, b in zip(numbers, numbers[1:])}
    return [int(n) for n in numbers] if len(steps) == 1 and 0 < steps.pop() <= 10 else None


def _header_evidence(first: list, below: list) -> str | None:
    """Why line 1 is a header although it holds numbers, or None: its numbers are a run of years above rows
    that are not (the header of a table of one column per year), and its text cells are distinct names."""
    years = _year_run(first)
    if years is None:
        return None
    texts = [cell.strip() for cell in first if not _looks_numeric(cell)]
    if len(set(texts)) != len(texts):
        return None
    for row in below[:5]:
        if _year_run([row[i] for i, cell in enumerate(first) if _looks_numeric(cell)]) == years:
            return None    # the rows below count the same years: line 1 is data like them
    return f"its numbers {years[0]} … {years[-1]} are a run of years above rows of other values"


def _header(first: list, below: list, path: str, header: bool | None, notes: list) -> bool:
    """Whether line 1 is the header: forced by ``header`` (True: --header, False: --no-header) or decided from
    the evidence (see the module docstring); a first row of numbers without that evidence is refused."""
    evidence = _header_evidence(first, below)
    if header is False:
        if evidence:
            raise DataError(f"{path}: --no-header, but line 1 looks like a header ({evidence}); training on it would "
                            "put the header into the data: use --header")
        return False
    if header is None:
        numeric = [cell.strip() for cell in first if _looks_numeric(cell)]
        if evidence:
            notes.append(f"line 1 read as the header: {evidence} (--no-header to read it as data)")
        elif len(numeric) > len(first) / 2:
            raise DataError(f"{path}: line 1 looks like data, not a header ({len(numeric)} of {len(first)} cells are "
                            f"numbers: {shorten(numeric, 3)}): add a header row of column names, or use --no-header "
                            "(or --header if it is one)")
    return True


def _names(fields: list, path: str) -> list:
    names = [name.strip() for name in fields]
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


def read_csv(path: str, header: bool | None = None, decimal: str | None = None) -> CsvData:
    """The file's columns and the line number of each row; see the module docstring for what is checked.

    ``header``: None decides whether line 1 names the columns, True says it does (``--header``), False that it
    is data (``--no-header``: columns named column1, column2 …). ``decimal``: the decimal mark of formatted
    numbers, "point" or "comma" (None: from the cells; see `columns`).
    """
    budget = available_memory() // MEMORY_SHARE
    lines = Lines(path, max_line=budget)
    try:
        sample = [line for _, line in zip(range(2 * SNIFF_LINES), lines)]
        if not "".join(sample).strip():
            raise DataError(f"{path}: the file is empty (expected a header row and data rows)")
        delimiter = sniff_delimiter(sample, path)
        replay = _Replay(sample, lines)
        first_line, first, rows, row_lines = _read_rows(replay, delimiter, path, budget)
    finally:
        lines.close()
    notes = []
    if delimiter != ",":
        notes.append(f"{os.path.basename(path)} is {DELIMITERS.get(delimiter, delimiter)}-separated")
    if _header(first, rows, path, header, notes):
        names = _names(first, path)
        if not rows:
            raise DataError(f"{path}: has a header row but no data rows")
    else:
        names = [f"column{i + 1}" for i in range(len(first))]
        rows, row_lines = [first] + rows, [first_line] + row_lines
    row_lines = np.asarray(row_lines, dtype=np.int64)
    if decimal is None and delimiter == ",":
        decimal = "point"          # a comma inside a number of a comma-separated file separates thousands
    columns = type_columns(names, rows, row_lines, path, decimal, notes)
    del rows
    return CsvData(pd.DataFrame(columns.values, columns=names), row_lines, notes, columns.missing)


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


def _read_rows(lines, delimiter: str, path: str, budget: int):
    """(line 1's number and fields, the other rows of cell strings, the line of each), every row with line 1's
    number of fields, refusing a table larger than ``budget`` bytes."""
    records = _records(lines, delimiter, path)
    try:
        first_line, first = next(records)
    except StopIteration:
        raise DataError(f"{path}: the file is empty (expected a header row and data rows)") from None
    rows, row_lines = [], []
    size = 0
    for line, fields in records:
        if len(fields) != len(first):
            hint = ""
            if len(fields) == len(first) + 1 and not row_lines:
                hint = (" (rows that begin with a row name the header has no column for, as R's write.table writes "
                        "them? name that column in the header, or write the table without row names)")
            raise DataError(f"{path}: line {line} has {plural(len(fields), 'field')} but the "
                            f"header has {len(first)}{hint}")
        rows.append(fields)
        row_lines.append(line)
        size += 64 + sum(map(len, fields)) + CELL_OVERHEAD * len(fields)
        if size > budget:
            raise DataError(f"{path}: too large to read into memory: by line {line} the table takes more than "
                            f"{describe_bytes(budget)}, a third of the memory available; put the data in a folder "
                            "of .npy files (X.npy, y.npy), which deltaprop reads in chunks")
    return first_line, first, rows, row_lines
