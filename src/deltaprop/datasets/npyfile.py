""".npy and .npz files, their headers checked against the bytes really there before anything is allocated.

A ``.npy`` header states the array's shape and dtype, and NumPy allocates what it states: a forged
header claiming 10¹² rows in a 1 KB file would ask for terabytes. Here the header is read first and
the array's size compared with the bytes that follow it in the file (for an ``.npz``, with the size of
its member in the archive) and with the memory available; a mismatch is a DataError naming the file.
Nothing is ever unpickled.
"""
from __future__ import annotations

import math
import os
import zipfile

import numpy as np

from .._checks import available_memory, describe_bytes
from ..errors import DataError
from .csvfile import check_regular_file


def _header(stream, where: str) -> tuple[tuple, np.dtype, int, bool]:
    """(shape, dtype, header length, Fortran order) of the .npy data in ``stream`` (at its start)."""
    from numpy.lib import format as npy_format

    try:
        version = npy_format.read_magic(stream)
        reader = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
        shape, fortran, dtype = reader(stream)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        raise DataError(f"{where}: not a readable .npy file ({exc})") from None
    return tuple(shape), dtype, stream.tell(), bool(fortran)


def _check(shape: tuple, dtype: np.dtype, stored: int, where: str, in_memory: bool) -> None:
    needed = math.prod(shape) * dtype.itemsize
    if needed != stored:
        raise DataError(f"{where}: the header claims shape {shape} of {dtype} ({describe_bytes(needed)}) but the file "
                        f"holds {describe_bytes(stored)} of data: damaged or forged")
    if in_memory and needed > available_memory():
        raise DataError(f"{where}: shape {shape} of {dtype} needs {describe_bytes(needed)} of memory, more than the "
                        f"{describe_bytes(available_memory())} available")


def load_npy(path: str, mmap: bool) -> np.ndarray:
    """The array in ``path``: memory-mapped (``mmap``) or read, after its header was checked against the file."""
    check_regular_file(path, ".npy file")
    with open(path, "rb") as stream:
        shape, dtype, offset, _ = _header(stream, path)
    if dtype.hasobject:
        raise DataError(f"{path}: holds objects, which need pickle; store numbers or strings")
    _check(shape, dtype, os.path.getsize(path) - offset, path, in_memory=not mmap)
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: not a readable .npy file ({exc})") from None


def load_npz(path: str, names: tuple) -> dict:
    """The arrays ``names`` of the archive ``path`` (DataError naming a missing one), each checked as above."""
    check_regular_file(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{path}: not a readable NPZ file ({exc})") from None
    with archive:
        members = {name[:-4] if name.endswith(".npy") else name: name for name in archive.namelist()}
        missing = [name for name in names if name not in members]
        if missing:
            found = ", ".join(repr(name) for name in list(members)[:8]) or "none"
            raise DataError(f"{path}: missing array {missing[0]!r} (an NPZ needs arrays "
                            f"{' and '.join(map(repr, names))}; found {found})")
        arrays = {}
        for name in names:
            where = f"{path}: array {name!r}"
            info = archive.getinfo(members[name])
            try:
                with archive.open(info) as stream:
                    shape, dtype, offset, fortran = _header(stream, where)
                    if dtype.hasobject:
                        raise DataError(f"{path}: holds object arrays, which need pickle; store numeric or string "
                                        "arrays")
                    _check(shape, dtype, info.file_size - offset, where, in_memory=True)
                    data = stream.read(info.file_size - offset)
                arrays[name] = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                if isinstance(exc, DataError):
                    raise
                raise DataError(f"{where}: not readable ({exc})") from None
        return arrays
