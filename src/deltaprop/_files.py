"""Atomic file output: write to a temporary file in the target's folder, then rename over the target.

A reader never sees a half-written file, and an interrupted write leaves any earlier file in place
and no temporary behind. (Model files add fsync on top: see [`deltaprop.io.save()`][deltaprop.io.save].)
"""
from __future__ import annotations

import csv
import os
import tempfile
from contextlib import contextmanager


def default_mode() -> int:
    """The permissions a plain ``open(path, "w")`` would give: 0o666 minus the process umask.

    (``mkstemp`` creates 0o600 files; without this a renamed output would be readable only by its owner.)
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _temporary_affixes(path: str, suffix: str = "") -> tuple[str, str]:
    return f".{os.path.basename(path)}-", suffix or ".tmp"


@contextmanager
def atomic_path(path, suffix: str = ""):
    """Yield a temporary path next to ``path``; on success rename it to ``path``, on failure remove it.

    ``suffix`` keeps an extension some writers insist on (``np.savez`` adds ``.npz`` otherwise).
    A process killed while writing leaves its temporary behind (``.NAME-XXXX.tmp``): never read as
    the file, and removed by `remove_temporaries()`.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    prefix, suffix = _temporary_affixes(path, suffix)
    handle, temporary = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    os.close(handle)
    try:
        os.chmod(temporary, default_mode())
        yield temporary
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def remove_temporaries(path, suffix: str = "") -> list:
    """Remove the temporaries a killed `atomic_path()` writer of ``path`` left; returns their names."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    prefix, suffix = _temporary_affixes(path, suffix)
    if not os.path.isdir(folder):
        return []
    removed = []
    for name in os.listdir(folder):
        if name.startswith(prefix) and name.endswith(suffix):
            try:
                os.unlink(os.path.join(folder, name))
                removed.append(name)
            except OSError:
                pass
    return removed


def fsync_folder(folder) -> None:
    """Make renames and removals in ``folder`` durable (where the platform allows opening a folder)."""
    try:
        descriptor = os.open(os.fspath(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_columns_csv(columns: dict, path) -> None:
    """A dict of equal-length lists as CSV: a header of the keys, one row per index (None → empty cell).

    An ``epoch`` column is written counting from 1, as the progress lines show epochs (inside, as
    for Keras callbacks, epochs count from 0).
    """
    keys = list(columns)
    with atomic_path(path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(keys)
        for row in zip(*(columns[key] for key in keys)):
            writer.writerow(["" if value is None else value + 1 if key == "epoch" else value
                             for key, value in zip(keys, row)])


def read_bytes(path, error=ValueError, what: str = "file") -> bytes:
    """The bytes of the file at ``path``; ``error(message)`` naming the path when it is missing or a folder."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise error(f"{path}: no such file")
    if os.path.isdir(path):
        raise error(f"{path}: is a folder, not a {what}")
    with open(path, "rb") as file:
        return file.read()
