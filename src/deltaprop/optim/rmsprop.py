"""RMSprop and Adagrad."""
from __future__ import annotations

import numpy as np

from .._checks import check_number
from .._math import flush_subnormals
from .base import Optimizer, smallest_normal
from . import fused


class RMSprop(Optimizer):
    """RMSprop as ``torch.optim.RMSprop``. With g = ∂L/∂θ + λθ::

        v ← a·v + (1 − a)·g²
        c ← a·c + (1 − a)·g,  s = √(v − c²) + ε      (centered)
        s = √v + ε                                    (otherwise)
        b ← μ·b + g/s,  θ ← θ − α·b                   (momentum μ > 0)
        θ ← θ − α·g/s                                 (otherwise)

    Parameters
    ----------
    lr : float, default 1e-2
    alpha : float, default 0.99
        Smoothing constant a, in [0, 1).
    eps : float, default 1e-8
    weight_decay : float, default 0
    momentum : float, default 0
    centered : bool, default False
    """

    def __init__(self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False):
        super().__init__(lr, alpha=check_number(alpha, "alpha", low=0, high=1, high_open=True),
                         eps=check_number(eps, "eps", low=0, low_open=True),
                         weight_decay=check_number(weight_decay, "weight_decay", low=0),
                         momentum=check_number(momentum, "momentum", low=0), centered=bool(centered))

    def init_state(self, value):
        state = {"square_avg": np.zeros_like(value)}
        if self.hyper["centered"]:
            state["grad_avg"] = np.zeros_like(value)
        if self.hyper["momentum"]:
            state["momentum_buffer"] = np.zeros_like(value)
        return state

    def update(self, value, grad, state):
        h = self.hyper
        a = h["alpha"]
        g = grad + h["weight_decay"] * value if h["weight_decay"] else grad
        v = state["square_avg"]
        v *= a
        v += (1 - a) * g * g
        flush_subnormals(v)
        if h["centered"]:
            c = state["grad_avg"]
            c *= a
            c += (1 - a) * g
            flush_subnormals(c)
            scale = np.sqrt(v - c * c) + h["eps"]
        else:
            scale = np.sqrt(v) + h["eps"]
        if h["momentum"]:
            buffer = state["momentum_buffer"]
            buffer *= h["momentum"]
            buffer += g / scale
            flush_subnormals(buffer)
            value -= self.lr * buffer
        else:
            value -= self.lr * g / scale

    def fused_update(self, value, grad, state):
        h = self.hyper
        common = (float(self.lr), float(h["alpha"]), 1 - float(h["alpha"]), float(h["eps"]), float(h["weight_decay"]),
                  smallest_normal(value))
        if not h["centered"] and not h["momentum"]:
            fused.run(fused.rmsprop, value, grad, state["square_avg"], *common)
        else:  # unused state arrays are passed as the square average, which the kernel then never reads
            fused.run(fused.rmsprop_general, value, grad, state["square_avg"], state.get("grad_avg", state["square_avg"]),
                state.get("momentum_buffer", state["square_avg"]), *common, float(h["momentum"]),
                bool(h["centered"]))


class Adagrad(Optimizer):
    """Adagrad as ``torch.optim.Adagrad``. With g = ∂L/∂θ + λθ and t the step number::

        α_t = α / (1 + (t − 1)·lr_decay)
        s ← s + g²
        θ ← θ − α_t · g / (√s + ε)

    Parameters
    ----------
    lr : float, default 1e-2
    lr_decay : float, default 0
    weight_decay : float, default 0
    initial_accumulator_value : float, default 0
    eps : float, default 1e-10
    """

    def __init__(self, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10):
        super().__init__(lr, lr_decay=check_number(lr_decay, "lr_decay", low=0),
                         weight_decay=check_number(weight_decay, "weight_decay", low=0),
                         initial_accumulator_value=check_number(initial_accumulator_value,
                                                                "initial_accumulator_value", low=0),
                         eps=check_number(eps, "eps", low=0, low_open=True))

    def init_state(self, value):
        return {"sum": np.full_like(value, self.hyper["initial_accumulator_value"])}

    def update(self, value, grad, state):
        h = self.hyper
        g = grad + h["weight_decay"] * value if h["weight_decay"] else grad
        step_lr = self.lr / (1 + (state["step"] - 1) * h["lr_decay"])
        state["sum"] += g * g
        value -= step_lr * g / (np.sqrt(state["sum"]) + h["eps"])

    def fused_update(self, value, grad, state):
        h = self.hyper
        step_lr = self.lr / (1 + (state["step"] - 1) * h["lr_decay"])
        fused.run(fused.adagrad, value, grad, state["sum"], float(step_lr), float(h["eps"]), float(h["weight_decay"]))
