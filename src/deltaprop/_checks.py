"""Input checks shared by layers, losses and models.

Every check raises ``ValueError`` or ``TypeError`` with a message that names the argument
and states what was expected and what was given, so a user never meets a bare NumPy
broadcasting error.
"""
from __future__ import annotations

import numbers
import os

import numpy as np

def resolve_dtype(dtype) -> np.dtype:
    """Return ``np.float32`` or ``np.float64`` for a dtype given by name or NumPy type."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be 'float32' or 'float64', got {dtype!r}") from None
    if resolved not in (np.float32, np.float64):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return resolved


def as_float_array(x, name: str, dtype=None, ndim: int | None = 2) -> np.ndarray:
    """Check that ``x`` is a non-empty, finite, numeric array with ``ndim`` dimensions (batch first;
    None: at least 2) and return it as ``dtype``.

    ``dtype=None`` keeps a floating dtype and turns integers into float64.
    """
    try:
        array = np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise TypeError(f"{name} must be a numeric array, could not convert it: {exc}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got an array of dtype {array.dtype}")
    if ndim == 2 and array.ndim != 2:
        hint = " (use X.reshape(-1, 1) for a single feature)" if array.ndim == 1 else ""
        raise ValueError(
            f"{name} must be 2-D with shape (n_samples, n_features), got {array.ndim}-D "
            f"shape {array.shape}{hint}"
        )
    if (ndim is not None and array.ndim != ndim) or array.ndim < 2:
        raise ValueError(f"{name} must be {ndim or 'at least 2'}-D (samples first), got {array.ndim}-D shape "
                         f"{array.shape}")
    if 0 in array.shape:
        raise ValueError(f"{name} is empty: shape {array.shape}, need at least one sample and one feature")
    if dtype is None:
        dtype = array.dtype if array.dtype.kind == "f" else np.float64
    check_finite(array, name)
    with np.errstate(over="ignore"):   # an overflow is reported below, naming the first value
        converted = np.asarray(array, dtype=dtype)
    if converted.dtype.itemsize < array.dtype.itemsize and not np.isfinite(converted).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(converted))[0])
        limit = np.finfo(converted.dtype).max
        raise ValueError(
            f"{name} has values beyond {converted.dtype.name}'s range (±{limit:.3g}), first at index "
            f"[{', '.join(map(str, bad))}]: {array[bad]:g}; rescale the data or use dtype='float64'"
        )
    return converted



def check_finite(array: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` naming the first non-finite entry of ``array``."""
    if not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        where = ", ".join(str(int(i)) for i in bad)
        raise ValueError(f"{name} contains NaN or infinity (first at index [{where}]: {array[tuple(bad)]})")


def check_seed(seed, name: str = "seed"):
    """None, or a non-negative integer (what ``numpy.random.default_rng`` accepts as a seed)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative integer or None, got {seed!r}")
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative integer or None, got {seed}")
    return int(seed)


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def check_number(value, name: str, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """Check a real hyperparameter against an interval; the message states the interval."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if not np.isfinite(value) or too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return value


# ------------------------------------------------------------------------------------ memory
def _meminfo_bytes(key: str) -> int | None:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _address_space_left() -> int | None:
    """What the soft RLIMIT_AS leaves this process (None when there is no such limit)."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (ImportError, OSError, ValueError):
        return None
    if limit == resource.RLIM_INFINITY:
        return None
    used = 0
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmSize:"):
                    used = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return max(limit - used, 0)


def available_memory() -> int:
    """Bytes this process can still allocate: the system's available memory (``MemAvailable``, else the
    physical memory), or less where ``RLIMIT_AS`` leaves less."""
    candidates = [_meminfo_bytes("MemAvailable")]
    if candidates[0] is None:
        try:
            candidates[0] = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            candidates[0] = None
    candidates.append(_address_space_left())
    known = [value for value in candidates if value is not None]
    return min(known) if known else 2 ** 62


def describe_bytes(n_bytes: float) -> str:
    """``1.5 GB``, ``320 MB``, ``12 kB``: a size for messages (powers of 1000)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= size:
            return f"{n_bytes / size:.3g} {unit}"
    return f"{int(n_bytes)} bytes"


def check_allocation(shape, dtype, what: str) -> None:
    """Refuse (``ValueError``) an array of ``shape`` that cannot fit in the memory still available, naming ``what``,
    its number of values and the memory it needs — instead of NumPy's MemoryError, or of swapping for minutes."""
    count = 1
    for size in shape:
        count *= int(size)
    needed = count * np.dtype(dtype).itemsize
    if needed > 2 ** 24 and needed > available_memory():   # small arrays need no look at the system
        raise ValueError(f"{what}: {count:,} values need {describe_bytes(needed)} of memory, more than the "
                         f"{describe_bytes(available_memory())} available")


def check_targets(y, n_samples: int, name: str = "y") -> np.ndarray:
    """Check that ``y`` has one target per sample and no NaN/infinity; return it as an array."""
    try:
        y = np.asarray(y)
    except Exception as exc:
        raise TypeError(f"{name} must be an array of targets: {exc}") from None
    if y.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D labels or 2-D targets, got {y.ndim}-D shape {y.shape}")
    if y.shape[0] != n_samples:
        raise ValueError(f"X has {n_samples} samples but {name} has {y.shape[0]}")
    if y.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must be numeric, got dtype {y.dtype} (encode string labels as integers 0..C-1)"
        )
    if y.dtype.kind == "f":
        check_finite(y, name)
    return y
