"""One file of named tensors and a JSON header: deltaprop's file format, for models and for run backups.

The bytes are safetensors (the tensors, and the header as metadata under the key ``"deltaprop"``);
nothing is ever pickled. `write()` is atomic and durable: a temporary file in the target's
folder is written, flushed, fsynced and renamed over the target, and the folder is fsynced, so an
interrupted write leaves the previous file intact and no partial file. `read()` checks the
bytes before trusting them and raises the caller's error type naming the file and the problem.

Every file carries a checksum (metadata key ``"deltaprop_checksum"``: BLAKE2b-256 of the header text
and of every tensor's name, dtype, shape and bytes, in name order), checked on read: a file damaged
on disk or in transit — one flipped bit anywhere in a value — is refused as "damaged (checksum
mismatch)", never loaded with other numbers.

Nested state (an optimizer's ``state_dict``, a callback's, a history) goes through `pack()`
and `unpack()`: every NumPy array becomes a tensor and its place in the JSON holds
``{"tensor": name}``; everything else must be JSON (numbers, strings, lists, dicts with string keys).
"""
from __future__ import annotations

import json
import os
import struct

import numpy as np

from ._files import atomic_path, fsync_folder, read_bytes

METADATA_KEY = "deltaprop"
CHECKSUM_KEY = "deltaprop_checksum"
CHECKSUM_KIND = "blake2b-256"


# -------------------------------------------------------------------------------------- writing
def encode(tensors: dict, header: dict) -> bytes:
    """The file's bytes: safetensors with the JSON ``header`` and its checksum as metadata."""
    from safetensors.numpy import save as safetensors_bytes

    tensors = {name: np.ascontiguousarray(value) for name, value in tensors.items()}
    text = json.dumps(header)
    return safetensors_bytes(tensors, metadata={METADATA_KEY: text, CHECKSUM_KEY: checksum(text, tensors)})


def write(path, tensors: dict, header: dict) -> None:
    """Write ``tensors`` and the JSON ``header`` to ``path``, atomically (see the module docstring)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"cannot save to {path}: folder {folder} does not exist")
    if os.path.isdir(path):
        raise ValueError(f"cannot save to {path}: it is a folder")
    data = encode(tensors, header)
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())   # the bytes are on disk before the rename makes them the file
    fsync_folder(folder)


# -------------------------------------------------------------------------------------- reading
def checksum(header_text: str, tensors: dict) -> str:
    """``"blake2b-256:<hex>"`` of the header text and every tensor (name, dtype, shape, bytes), in name order."""
    import hashlib

    digest = hashlib.blake2b(header_text.encode("utf-8"), digest_size=32)
    for name in sorted(tensors):
        tensor = np.ascontiguousarray(tensors[name])
        digest.update(f"\0{name}\0{tensor.dtype.str}\0{tensor.shape}\0".encode("utf-8"))
        digest.update(tensor.reshape(-1).view(np.uint8))
    return f"{CHECKSUM_KIND}:{digest.hexdigest()}"


def read(path, error=ValueError, what: str = "file", legacy_versions=()) -> tuple[dict, dict]:
    """The JSON header and the tensors of a file written by `write()`; ``error(message)`` for any problem.

    The checksum must be there and match, except in files whose header's ``format_version`` is one of
    ``legacy_versions`` (written before files carried one)."""
    from safetensors.numpy import load as safetensors_load

    path = os.fspath(path)
    data = read_bytes(path, error, what)
    if len(data) == 0:
        raise error(f"{path}: the file is empty")
    if len(data) < 8:
        raise error(f"{path}: only {len(data)} bytes, too short to be a safetensors file")
    (header_length,) = struct.unpack("<Q", data[:8])
    if header_length > len(data) - 8:
        raise error(f"{path}: header length {header_length} runs past the end of the file ({len(data)} bytes): "
                    "truncated, or not a safetensors file")
    try:
        raw = json.loads(data[8:8 + header_length].decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise error(f"{path}: the header is not UTF-8 text (byte {exc.start}): not a safetensors file") from None
    except json.JSONDecodeError as exc:
        raise error(f"{path}: the header is not valid JSON ({exc.msg} at character {exc.pos})") from None
    except RecursionError:
        raise error(f"{path}: the header is nested too deeply to be a deltaprop {what}") from None
    if not isinstance(raw, dict):
        raise error(f"{path}: the header is not a JSON object")
    metadata = raw.get("__metadata__") or {}
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        raise error(f"{path}: a safetensors file without deltaprop metadata (not a deltaprop {what})")
    try:
        header = json.loads(metadata[METADATA_KEY])
    except (TypeError, json.JSONDecodeError) as exc:
        raise error(f"{path}: the deltaprop metadata is not valid JSON ({exc})") from None
    except RecursionError:
        raise error(f"{path}: the deltaprop metadata is nested too deeply to be a deltaprop {what}") from None
    if not isinstance(header, dict):
        raise error(f"{path}: the deltaprop metadata is not a JSON object")
    try:
        tensors = safetensors_load(data)
    except Exception as exc:  # the safetensors library raises its own types for every malformed layout
        raise error(f"{path}: invalid safetensors data: {exc}") from None
    saved = metadata.get(CHECKSUM_KEY)
    if saved is None:
        if header.get("format_version") not in legacy_versions:
            raise error(f"{path}: is damaged or was edited (it has no checksum)")
    elif saved != checksum(metadata[METADATA_KEY], tensors):
        raise error(f"{path}: is damaged (checksum mismatch): its bytes are not those deltaprop wrote")
    return header, tensors


# ------------------------------------------------------------------------------- nested state
def pack(state, prefix: str = "", tensors: dict | None = None):
    """(JSON-able state, tensors): every array in the nested ``state`` moved into ``tensors``."""
    tensors = {} if tensors is None else tensors
    if isinstance(state, np.ndarray):
        tensors[prefix] = state
        return {"tensor": prefix}, tensors
    if isinstance(state, dict):
        packed = {}
        for key, value in state.items():
            if not isinstance(key, str):
                raise TypeError(f"state keys must be strings, got {key!r} at {prefix or 'the top'}")
            packed[key], _ = pack(value, f"{prefix}/{key}" if prefix else key, tensors)
        return packed, tensors
    if isinstance(state, (list, tuple)):
        return [pack(value, f"{prefix}/{index}", tensors)[0] for index, value in enumerate(state)], tensors
    if isinstance(state, np.generic):
        return state.item(), tensors
    if state is None or isinstance(state, (bool, int, float, str)):
        return state, tensors
    raise TypeError(f"cannot store {type(state).__name__} at {prefix or 'the top'}: state holds arrays, numbers, "
                    "strings, lists and dicts only")


def unpack(packed, tensors: dict):
    """The nested state `pack()` took apart: ``{"tensor": name}`` replaced by a copy of that tensor."""
    if isinstance(packed, dict):
        if set(packed) == {"tensor"} and isinstance(packed["tensor"], str):
            return tensors[packed["tensor"]].copy()
        return {key: unpack(value, tensors) for key, value in packed.items()}
    if isinstance(packed, list):
        return [unpack(value, tensors) for value in packed]
    return packed
