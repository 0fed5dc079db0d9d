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

    Moving averages that decay (m ← β·m + …) are flushed to zero once they fall below the smallest
    normal number of their dtype (`flush_subnormals()`), in both forms of every rule.
    """

    defaults: dict = {}

    def __init__(self, lr: float, **hyper):
        self.lr = check_number(lr, "lr", low=0)
        self.hyper = hyper
        self.state: dict = {}
        self._pending: dict = {}  # loaded state waiting for its Parameter, by name (kept until it is found)
        self._buffers = None      # (ParameterList, joined state, per-parameter states) of the buffer path
        self.fused = fused_kernels.AVAILABLE

    def step(self, params) -> None:
        """Update each Parameter in place from its ``.grad``.

        For a model's `ParameterList` (``model.parameters()``) with the fused
        kernels available, the update is one kernel call over the whole parameter buffer, the state kept
        in buffers of the same layout (each parameter's state is a view of them).
        """
        if self.fused and getattr(params, "values", None) is not None and fused_kernels.ready() \
                and self._step_buffers(params):
            return
        for param in params:
            state = self._state_of(param)
            state["step"] += 1
            if self.fused and fused_kernels.ready() and fused_kernels.same_layout(param.value, param.grad):
                self.fused_update(param.value, param.grad, state)
            else:
                self.update(param.value, param.grad, state)

    def __getstate__(self):
        # a copy's per-parameter state arrays are no longer views of the joined buffers: rebuild them on its next step
        return {**self.__dict__, "_buffers": None}

    def _state_of(self, param) -> dict:
        state = self.state.get(param)
        if state is None:
            state = self._pending.pop(param.name, None)
            if state is None:
                state = {"step": 0, **self.init_state(param.value)}
            self.state[param] = state
        return state

    def _step_buffers(self, params) -> bool:
        """One fused update over the ParameterList's buffers; False when the parameters' states cannot be
        joined (different step counts), and the per-parameter path runs instead."""
        if self._buffers is None or self._buffers[0] is not params:
            states = [self._state_of(param) for param in params]
            steps = {state["step"] for state in states}
            if len(steps) > 1:
                return False
            joined = {"step": steps.pop(), **self.init_state(params.values)}
            for key in list(joined):
                if not isinstance(joined[key], np.ndarray) and any(isinstance(s.get(key), np.ndarray) for s in states):
                    joined[key] = np.zeros_like(params.values)   # created lazily by the rule, but restored already
                if isinstance(joined[key], np.ndarray):
                    for state, view in zip(states, params.views(joined[key])):
                        if isinstance(state.get(key), np.ndarray):
                            view[...] = state[key]     # state saved before, or from per-parameter steps
                        state[key] = view
            self._buffers = (params, joined, states)
        _, joined, states = self._buffers
        joined["step"] += 1
        for state in states:
            state["step"] = joined["step"]
        self.fused_update(params.values, params.grads, joined)
        for key, value in joined.items():   # state the rule created on its first step (SGD's momentum buffer)
            if isinstance(value, np.ndarray) and not isinstance(states[0].get(key), np.ndarray):
                for state, view in zip(states, params.views(value)):
                    state[key] = view
        return True

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

    def check_state_dict(self, state_dict, params, same_hyper: bool = True) -> None:
        """Raise ``ValueError`` naming the first field of ``state_dict`` (from a file) that does not fit this
        optimizer and ``params``: another optimizer type, other hyperparameters (with ``same_hyper``), a
        learning rate that is not a finite number ≥ 0, a parameter name not in ``params``, state keys other
        than the rule's, a step count that is not an integer ≥ 0, or an array that is not exactly the
        parameter's shape and dtype, or not finite (a shape that would broadcast is refused too)."""
        if not isinstance(state_dict, dict) or set(state_dict) != {"type", "lr", "hyper", "state"}:
            raise ValueError("optimizer state must hold exactly type, lr, hyper and state")
        if state_dict["type"] != type(self).__name__:
            raise ValueError(f"optimizer state is for {state_dict['type']!r}, not {type(self).__name__}")
        lr = state_dict["lr"]
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not np.isfinite(lr) or lr < 0:
            raise ValueError(f"optimizer lr must be a finite number >= 0, got {lr!r}")
        hyper = state_dict["hyper"]
        if not isinstance(hyper, dict) or set(hyper) != set(self.hyper) or (same_hyper and _plain(hyper) != _plain(self.hyper)):
            raise ValueError(f"optimizer hyperparameters {hyper!r} differ from this optimizer's {self.hyper!r}")
        if not isinstance(state_dict["state"], dict):
            raise ValueError("optimizer state must map parameter names to their state")
        by_name = {param.name: param for param in params}
        for name, state in state_dict["state"].items():
            if name not in by_name:
                raise ValueError(f"optimizer state names {name!r}, which is not a parameter of the model")
            value = by_name[name].value
            expected = {"step": 0, **self.init_state(value)}
            if not isinstance(state, dict) or set(state) - {"step"} - set(expected) or "step" not in state:
                raise ValueError(f"optimizer state of {name!r} must hold {sorted(expected)}, got "
                                 f"{sorted(state) if isinstance(state, dict) else type(state).__name__}")
            step = state["step"]
            if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
                raise ValueError(f"optimizer step of {name!r} must be an integer >= 0, got {step!r}")
            for key, initial in expected.items():
                saved = state.get(key)
                if key == "step" or saved is None and initial is None:   # a buffer the rule creates on its first step
                    continue
                if not isinstance(saved, np.ndarray) or saved.shape != value.shape or saved.dtype != value.dtype:
                    raise ValueError(f"optimizer state {name!r}/{key} must be an array of shape {value.shape} and "
                                     f"dtype {value.dtype}, got {_describe(saved)}")
                if not np.isfinite(saved).all():
                    raise ValueError(f"optimizer state {name!r}/{key} holds non-finite values")

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and per-parameter state saved by [`state_dict()`][deltaprop.optim.base.Optimizer.state_dict]."""
        if state_dict.get("type", type(self).__name__) != type(self).__name__:
            raise ValueError(
                f"state_dict is for {state_dict['type']}, cannot load it into {type(self).__name__}"
            )
        self.lr = state_dict["lr"]
        self.hyper.update(state_dict["hyper"])
        self.state = {}
        self._buffers = None
        self._pending = {name: _copy_state(s) for name, s in state_dict["state"].items()}

    def config(self) -> dict:
        return {"lr": self.lr, **self.hyper}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def smallest_normal(value: np.ndarray) -> float:
    """The dtype's smallest normal number, for the compiled rules' flush (a Python float that converts back
    to ``value``'s dtype exactly)."""
    return float(np.finfo(value.dtype).tiny)


def _copy_state(state: dict) -> dict:
    return {key: value.copy() if isinstance(value, np.ndarray) else value for key, value in state.items()}


def check_betas(betas) -> tuple[float, float]:
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
    return (check_number(beta1, "betas[0]", low=0, high=1, high_open=True),
            check_number(beta2, "betas[1]", low=0, high=1, high_open=True))


def _plain(value):
    """Tuples as lists: hyperparameters as a file's JSON holds them."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"shape {value.shape}, dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:80]
