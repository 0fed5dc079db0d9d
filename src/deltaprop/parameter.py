"""Parameter: a trainable array and its gradient, side by side."""
from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable tensor ``value`` with its gradient ``grad`` (same shape and dtype).

    ``grad`` holds ∂L/∂value from the most recent backward pass; backward overwrites it
    (it does not accumulate). Optimizers keep their per-parameter state keyed on the
    Parameter object itself.

    Parameters
    ----------
    name : str
        Name such as ``"0.W"`` (layer index, then the parameter's name in the layer).
    value : ndarray
        The initial value; stored as given (no copy is made of a float array of the right dtype).
    """

    __slots__ = ("name", "value", "grad", "__weakref__")

    def __init__(self, name: str, value: np.ndarray):
        self.name = name
        self.value = value
        self.grad = np.zeros_like(value)

    @property
    def shape(self):
        return self.value.shape

    @property
    def size(self) -> int:
        return self.value.size

    def astype(self, dtype) -> None:
        """Convert value and grad to ``dtype`` in place (used when a model changes dtype)."""
        self.value = np.ascontiguousarray(self.value, dtype=dtype)
        self.grad = np.zeros_like(self.value)

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, shape={self.value.shape}, dtype={self.value.dtype})"
