"""Optimizer base: per-parameter state, step(params), state_dict()/load_state_dict()."""
from __future__ import annotations

import numpy as np

from .._checks import check_number
from . import fused as fused_kernels


class Optimizer:
    """Moves every parameter against its gradient; subclasses write one update rule.

    Subclasses define ``defaults`` (hyperparameter names and values, PyTorch's),
    ``init_state(value) -> dict`` and ``update(value, grad, state)``, which changes ``value``
    and ``state`` in place. ``lr`` may be changed between steps (schedules do).

    State is kept per Parameter object. ``state_dict()`` keys it by parameter name, so it can
    be saved and loaded into a fresh optimizer for a model with the same parameter names.

    ``fused`` (default: True when numba is installed) runs the subclass's ``fused_update``, the
    same rule as one compiled pass per parameter; ``update`` stays the readable reference.
    """

    defaults: dict = {}

    def __init__(self, lr: float, **hyper):
        self.lr = check_number(lr, "lr", low=0)
        self.hyper = hyper
        self.state: dict = {}
        self._pending: dict = {}  # loaded state waiting for its Parameter, by name (kept until it is found)
        self.fused = fused_kernels.AVAILABLE

    def step(self, params) -> None:
        """Update each Parameter in place from its ``.grad``."""
        for param in params:
            state = self.state.get(param)
            if state is None:
                state = self._pending.pop(param.name, None)
                if state is None:
                    state = {"step": 0, **self.init_state(param.value)}
                self.state[param] = state
            state["step"] += 1
            if (self.fused and fused_kernels.ready() and param.value.flags.c_contiguous
                    and param.grad.flags.c_contiguous):
                self.fused_update(param.value, param.grad, state)
            else:
                self.update(param.value, param.grad, state)

    def init_state(self, value: np.ndarray) -> dict:
        return {}

    def update(self, value: np.ndarray, grad: np.ndarray, state: dict) -> None:
        raise NotImplementedError

    def fused_update(self, value: np.ndarray, grad: np.ndarray, state: dict) -> None:
        """The same rule in one compiled pass; optimizers without a kernel use ``update``."""
        self.update(value, grad, state)

    # ------------------------------------------------------------ persistence
    def state_dict(self) -> dict:
        """``{"lr": …, "hyper": {…}, "state": {param name: {key: array or int}}}`` (copies)."""
        state = {name: _copy_state(s) for name, s in self._pending.items()}
        state.update({param.name: _copy_state(s) for param, s in self.state.items()})
        return {"type": type(self).__name__, "lr": self.lr, "hyper": dict(self.hyper), "state": state}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and per-parameter state saved by :meth:`state_dict`."""
        if state_dict.get("type", type(self).__name__) != type(self).__name__:
            raise ValueError(
                f"state_dict is for {state_dict['type']}, cannot load it into {type(self).__name__}"
            )
        self.lr = state_dict["lr"]
        self.hyper.update(state_dict["hyper"])
        self.state = {}
        self._pending = {name: _copy_state(s) for name, s in state_dict["state"].items()}

    def config(self) -> dict:
        return {"lr": self.lr, **self.hyper}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def _copy_state(state: dict) -> dict:
    return {key: value.copy() if isinstance(value, np.ndarray) else value for key, value in state.items()}


def check_betas(betas) -> tuple[float, float]:
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
    return (check_number(beta1, "betas[0]", low=0, high=1, high_open=True),
            check_number(beta2, "betas[1]", low=0, high=1, high_open=True))
