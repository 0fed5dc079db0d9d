"""A digest of the data trained on, read in chunks: what tells two copies of a dataset apart, however large.

BLAKE2b over each array's shape, dtype and bytes, a block of rows at a time (never a second copy of
the whole array in memory); a SciPy sparse matrix by its CSR arrays; rows read lazily from a file
(`deltaprop.rows.LazyRows`) by the values of the rows they hold. Two arrays differing in any
one value — not only in their first and last rows or their statistics — give different digests.
"""
from __future__ import annotations

import hashlib

import numpy as np

#: bytes hashed per block of rows
CHUNK_BYTES = 16 * 2**20


def update(digest, array) -> None:
    """Feed ``array`` (an ndarray, a sparse matrix, LazyRows, or None) into the hashlib object ``digest``."""
    if array is None:
        digest.update(b"none")
        return
    if hasattr(array, "content_digest"):          # rows read from a file: their values, chunk by chunk
        array.content_digest(digest)
        return
    if hasattr(array, "tocsr"):
        csr = array.tocsr()
        digest.update(f"sparse{csr.shape}".encode())
        for part in (csr.data, csr.indices, csr.indptr):
            update(digest, np.asarray(part))
        return
    array = np.asarray(array)
    digest.update(f"{array.shape}{array.dtype.str}".encode())
    if array.dtype.kind in "OU":     # text labels: their characters
        digest.update("\0".join(map(str, array.reshape(-1))).encode("utf-8", "surrogatepass"))
        return
    rows = max(1, CHUNK_BYTES // max(1, array[:1].nbytes)) if array.ndim else 1
    flat = array.reshape(len(array), -1) if array.ndim else array.reshape(1, 1)
    for start in range(0, len(flat), rows):
        digest.update(np.ascontiguousarray(flat[start:start + rows]).reshape(-1).view(np.uint8))


def data_digest(*arrays, size: int = 16) -> str:
    """The hex BLAKE2b digest (``size`` bytes) of ``arrays`` in order."""
    digest = hashlib.blake2b(digest_size=size)
    for array in arrays:
        update(digest, array)
    return digest.hexdigest()
