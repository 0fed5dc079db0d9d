"""LazyRows: the rows of an array too large for memory, read only when a batch asks for them.

A memory-mapped ``.npy`` file (``np.load(path, mmap_mode="r")``) costs no memory until rows are read.
``LazyRows`` wraps one with a choice of rows, a standardization and a dtype, and reads nothing until
indexed: ``rows[index]`` (an integer array or a slice) reads those rows from the file and returns
``(x − mean) / std`` as an ndarray of ``dtype``. ``fit``, ``predict`` and ``evaluate`` accept it where they
accept an array, and read one mini-batch at a time — in a distributed run, each process only the rows
it trains on.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np


class LazyRows:
    """Rows ``rows`` of the 2-D ``array`` (all by default), standardized and converted when read.

    Parameters
    ----------
    array : 2-D array-like, typically a read-only memmap
    rows : 1-D integer array, optional
        Positions in ``array`` of the rows this object holds, in order.
    mean, std : 1-D arrays, optional
        Per-column standardization applied to every row read (none by default).
    dtype : dtype, default float64
    source : str
        The file the rows come from, for messages and run fingerprints.
    sample_shape : tuple, optional
        Each row read is reshaped to it (C-order), e.g. ``(1, 28, 28)`` for a CNN.
    """

    def __init__(self, array, rows=None, mean=None, std=None, dtype=np.float64, source: str = "",
                 sample_shape: tuple | None = None):
        if getattr(array, "ndim", None) != 2:
            raise ValueError(f"{source or 'array'}: LazyRows needs a 2-D array, got shape {np.shape(array)}")
        self.array = array
        self.rows = np.arange(array.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.std = None if std is None else np.asarray(std, dtype=np.float64)
        self.dtype = np.dtype(dtype)
        self.source = source
        self.sample_shape = None if sample_shape is None else tuple(sample_shape)

    @property
    def shape(self) -> tuple:
        return (len(self.rows), *(self.sample_shape or (self.array.shape[1],)))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key) -> np.ndarray:
        """Read rows ``key`` (a slice or integer positions within this object) as a standardized ndarray."""
        positions = self.rows[key]
        if np.ndim(positions) == 0:
            raise TypeError("index LazyRows with a slice or an array of positions, not a single integer")
        values = np.asarray(self.array[np.sort(positions)] if len(positions) else self.array[:0], dtype=np.float64)
        if len(positions) and not np.all(positions[:-1] <= positions[1:]):   # reads in file order, returns in asked order
            values = values[np.argsort(np.argsort(positions, kind="stable"), kind="stable")]
        if self.mean is not None:
            values = (values - self.mean) / self.std
        if self.sample_shape is not None:
            values = values.reshape(len(values), *self.sample_shape)
        return values.astype(self.dtype, copy=False)

    def subset(self, positions) -> "LazyRows":
        """The rows at ``positions`` of this object, still unread."""
        return LazyRows(self.array, self.rows[np.asarray(positions, dtype=np.int64)], self.mean, self.std, self.dtype,
                        self.source, self.sample_shape)

    def astype(self, dtype) -> "LazyRows":
        return LazyRows(self.array, self.rows, self.mean, self.std, dtype, self.source, self.sample_shape)

    def reshape_samples(self, sample_shape) -> "LazyRows":
        """The same rows, each read as an array of ``sample_shape`` (C-order), e.g. (1, 28, 28) for a CNN."""
        return LazyRows(self.array, self.rows, self.mean, self.std, self.dtype, self.source, sample_shape)

    def content_digest(self, digest, chunk_rows: int = 65536) -> None:
        """Feed the rows' file values (not standardized), their positions and the standardization into the
        hashlib object ``digest``, reading ``chunk_rows`` rows at a time."""
        digest.update(f"{self.array.shape}{np.dtype(self.array.dtype).str}{self.sample_shape}".encode())
        for part in (self.rows, self.mean, self.std):
            if part is not None:
                digest.update(np.ascontiguousarray(part).tobytes())
        for start in range(0, len(self.rows), chunk_rows):
            positions = self.rows[start:start + chunk_rows]
            digest.update(np.ascontiguousarray(self.array[np.sort(positions)]).tobytes())

    def fingerprint(self) -> str:
        """What identifies these rows without reading them: the file (path, size, modification time), the
        row positions and the standardization."""
        digest = hashlib.blake2b(digest_size=16)
        for part in (self.rows, self.mean, self.std):
            if part is not None:
                digest.update(np.ascontiguousarray(part).tobytes())
        stamp = ""
        if self.source and os.path.exists(self.source):
            status = os.stat(self.source)
            stamp = f"{status.st_size}:{status.st_mtime_ns}"
        return f"{self.source}:{self.array.shape}:{self.array.dtype}:{stamp}:{self.dtype}:{digest.hexdigest()}"

    def __repr__(self) -> str:
        return f"LazyRows({self.source or 'array'}, {len(self.rows)} of {self.array.shape[0]} rows, dtype={self.dtype})"
