"""Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay."""
from __future__ import annotations

import numpy as np

from .._checks import check_number
from .._math import flush_subnormals
from .base import Optimizer, smallest_normal
from . import fused


class SGD(Optimizer):
    """SGD as ``torch.optim.SGD``. With g = ∂L/∂θ + λθ (λ = weight_decay)::

        b ← g                        on the first step
        b ← μ·b + (1 − dampening)·g  afterwards          (if μ = momentum > 0)
        g ← g + μ·b  (Nesterov)   or   g ← b
        θ ← θ − α·g

    Parameters
    ----------
    lr : float
        Learning rate α (>= 0).
    momentum : float, default 0
    dampening : float, default 0
    nesterov : bool, default False
        Needs momentum > 0 and dampening = 0.
    weight_decay : float, default 0
        L2 penalty coefficient λ added to the gradient.
    """

    def __init__(self, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0):
        momentum = check_number(momentum, "momentum", low=0)
        dampening = check_number(dampening, "dampening", low=0, high=1)
        weight_decay = check_number(weight_decay, "weight_decay", low=0)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov=True needs momentum > 0 and dampening = 0")
        super().__init__(lr, momentum=momentum, dampening=dampening, nesterov=bool(nesterov),
                         weight_decay=weight_decay)

    def init_state(self, value):
        return {"momentum_buffer": None} if self.hyper["momentum"] else {}

    def update(self, value, grad, state):
        h = self.hyper
        g = grad + h["weight_decay"] * value if h["weight_decay"] else grad
        if h["momentum"]:
            buffer = state["momentum_buffer"]
            if buffer is None:
                buffer = state["momentum_buffer"] = g.copy()
            else:
                buffer *= h["momentum"]
                buffer += (1 - h["dampening"]) * g
                flush_subnormals(buffer)
            g = g + h["momentum"] * buffer if h["nesterov"] else buffer
        value -= self.lr * g

    def fused_update(self, value, grad, state):
        h = self.hyper
        if not h["momentum"]:
            fused.run(fused.sgd, value, grad, float(self.lr), float(h["weight_decay"]))
            return
        buffer = state["momentum_buffer"]
        if buffer is None:  # first step: b = g, written as b = 0·0 + 1·g
            buffer = state["momentum_buffer"] = np.zeros_like(value)
            keep, add = 0.0, 1.0
        else:
            keep, add = float(h["momentum"]), 1 - float(h["dampening"])
        fused.run(fused.sgd_momentum, value, grad, buffer, float(self.lr), float(h["momentum"]), keep, add,
            float(h["weight_decay"]), 1.0 if h["nesterov"] else 0.0, 0.0 if h["nesterov"] else 1.0,
            smallest_normal(value))
