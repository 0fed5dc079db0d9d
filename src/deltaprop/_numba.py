"""numba, when installed (the ``fast`` extra): imported once, on first use, for the compiled kernels.

Kernels are optional everywhere: each has a NumPy reference beside it that runs when numba is missing,
broken, or switched off with ``DELTAPROP_NUMBA=0``, and the tests check one against the other.
"""
from __future__ import annotations

import importlib.util
import os

# numba is imported on first use, not with deltaprop: it costs ~0.5 s and ~70 MB, which loading a model or
# predicting with an MLP never needs
AVAILABLE = os.environ.get("DELTAPROP_NUMBA", "1") != "0" and importlib.util.find_spec("numba") is not None
_module = None


def load():
    """The numba module (imported once), or None where it is not installed, switched off or broken."""
    global AVAILABLE, _module
    if _module is not None or not AVAILABLE:
        return _module
    # numba colours its error messages with colorama when that is installed, whose terminal set-up then writes
    # a stray reset sequence (ESC[0m) to stdout at each compile under a pseudo-terminal such as mpiexec's; the
    # kernels never show numba's errors to users, so the colouring is switched off (unless the user set it)
    os.environ.setdefault("NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING", "1")
    try:
        import numba
    except Exception:  # noqa: BLE001 - e.g. a numba that does not support this NumPy: the NumPy references run
        AVAILABLE = False
        return None
    _module = numba
    return numba
