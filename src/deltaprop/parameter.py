"""Parameter: a trainable array and its gradient, side by side — and the buffers a model keeps them in."""
from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable tensor ``value`` with its gradient ``grad`` (same shape and dtype).

    ``grad`` holds ∂L/∂value from the most recent backward pass; backward overwrites it
    (it does not accumulate). Optimizers keep their per-parameter state keyed on the
    Parameter object itself.

    In a model, ``value`` and ``grad`` are views into the model's two contiguous buffers (see
    `ParameterList`); assigning ``p.value = array`` then copies into the view, so the
    buffer stays whole.

    Parameters
    ----------
    name : str
        Name such as ``"0.W"`` (layer index, then the parameter's name in the layer).
    value : ndarray
        The initial value; stored as given (no copy is made of a float array of the right dtype).
    """

    __slots__ = ("name", "_value", "_grad", "_bound", "__weakref__")

    def __init__(self, name: str, value: np.ndarray):
        self.name = name
        self._bound = False
        self._value = value
        self._grad = np.zeros_like(value)

    @property
    def value(self) -> np.ndarray:
        return self._value

    @value.setter
    def value(self, new) -> None:
        if self._bound:
            self._value[...] = new
        else:
            self._value = new

    @property
    def grad(self) -> np.ndarray:
        return self._grad

    @grad.setter
    def grad(self, new) -> None:
        if self._bound:
            self._grad[...] = new
        else:
            self._grad = new

    @property
    def shape(self):
        return self._value.shape

    @property
    def size(self) -> int:
        return self._value.size

    def bind(self, value_view: np.ndarray, grad_view: np.ndarray) -> None:
        """Keep value and grad in these views (of a model's buffers), copying the current ones in."""
        value_view[...] = self._value
        grad_view[...] = self._grad
        self._value, self._grad, self._bound = value_view, grad_view, True

    def astype(self, dtype) -> None:
        """Convert value and grad to ``dtype`` (new arrays, memory order kept; a model binds them again)."""
        self._value = np.array(self._value, dtype=dtype, order="K")
        self._grad = np.zeros_like(self._value)
        self._bound = False

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, shape={self._value.shape}, dtype={self._value.dtype})"


class ParameterList(list):
    """A model's Parameters, their values in one contiguous buffer ``values`` and their gradients in
    another, ``grads``, in parameter order (each Parameter's ``value`` and ``grad`` are views).

    One buffer serves whatever treats all parameters alike: one optimizer kernel call per step, one
    reduction for clipping by global norm, one copy for a snapshot, one MPI Allreduce (over
    ``reduce_buffer``: the gradients, then a slot for the loss and one for stop votes). A parameter's
    memory order (a Dense layer may store W column-major) is kept within its region.
    """

    def __init__(self, params, dtype):
        super().__init__(params)
        sizes = [p.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(int)
        self.values = np.empty(int(self.offsets[-1]), dtype=dtype)
        # the gradients and two more slots (the batch's loss, and the processes' votes to stop): what
        # data-parallel training sums over the processes in one call
        self.reduce_buffer = np.zeros(self.values.size + 2, dtype=dtype)
        self.grads = self.reduce_buffer[:-2]
        for param, start, stop in zip(params, self.offsets[:-1], self.offsets[1:]):
            param.bind(self.view(self.values, param, start, stop), self.view(self.grads, param, start, stop))

    def __reduce__(self):
        # pickle and deepcopy copy views as separate arrays: bind the parameters to new buffers instead
        return type(self), (list(self), self.values.dtype)

    @staticmethod
    def view(buffer: np.ndarray, param: Parameter, start: int, stop: int) -> np.ndarray:
        """``buffer[start:stop]`` shaped as ``param`` is, in its memory order."""
        region = buffer[start:stop]
        value = param.value
        if value.ndim > 1 and value.flags.f_contiguous and not value.flags.c_contiguous:
            return region.reshape(value.shape[::-1]).T
        return region.reshape(value.shape)

    def views(self, buffer: np.ndarray) -> list:
        """One view per parameter into a buffer laid out like ``values`` (an optimizer's flat state)."""
        return [self.view(buffer, p, start, stop) for p, start, stop in zip(self, self.offsets[:-1], self.offsets[1:])]
