"""Adam and AdamW."""
from __future__ import annotations

import math

import numpy as np

from .._checks import check_number
from .._math import flush_subnormals
from .base import Optimizer, check_betas, smallest_normal
from . import fused


class Adam(Optimizer):
    """Adam as ``torch.optim.Adam``. With g = ∂L/∂θ + λθ and t the step number::

        m ← β₁·m + (1 − β₁)·g
        v ← β₂·v + (1 − β₂)·g²     (each flushed to zero below the smallest normal number)
        v̂ ← max(v̂, v)   (amsgrad; otherwise v̂ = v)
        θ ← θ − α/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)

    Parameters
    ----------
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
        Each in [0, 1).
    eps : float, default 1e-8
        > 0.
    weight_decay : float, default 0
        L2 penalty λ added to the gradient (see [`AdamW`][deltaprop.AdamW] for decoupled decay).
    amsgrad : bool, default False
    """

    decoupled = False

    def __init__(self, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False):
        beta1, beta2 = check_betas(betas)
        super().__init__(lr, betas=(beta1, beta2), eps=check_number(eps, "eps", low=0, low_open=True),
                         weight_decay=check_number(weight_decay, "weight_decay", low=0), amsgrad=bool(amsgrad))

    def init_state(self, value):
        state = {"exp_avg": np.zeros_like(value), "exp_avg_sq": np.zeros_like(value)}
        if self.hyper["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(value)
        return state

    def update(self, value, grad, state):
        h = self.hyper
        beta1, beta2 = h["betas"]
        t = state["step"]
        if self.decoupled:
            value *= 1 - self.lr * h["weight_decay"]
            g = grad
        else:
            g = grad + h["weight_decay"] * value if h["weight_decay"] else grad
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        flush_subnormals(m)
        flush_subnormals(v)
        if h["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        step_size = self.lr / (1 - beta1 ** t)
        denominator = np.sqrt(v) / math.sqrt(1 - beta2 ** t) + h["eps"]
        value -= step_size * m / denominator

    def fused_update(self, value, grad, state):
        h = self.hyper
        beta1, beta2 = h["betas"]
        t = state["step"]
        decay = 1 - self.lr * h["weight_decay"] if self.decoupled else 1.0
        weight_decay = 0.0 if self.decoupled else float(h["weight_decay"])
        v = state["exp_avg_sq"]
        fused.run(fused.adam, value, grad, state["exp_avg"], v, state.get("max_exp_avg_sq", v),
                  float(beta1), 1 - float(beta1), float(beta2), 1 - float(beta2), self.lr / (1 - beta1 ** t),
                  math.sqrt(1 - beta2 ** t), float(h["eps"]), weight_decay, float(decay), bool(h["amsgrad"]),
                  smallest_normal(value))


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``::

        θ ← θ·(1 − α·λ), then the Adam step on g = ∂L/∂θ (without λθ).

    Same parameters as [`Adam`][deltaprop.Adam]; ``weight_decay`` defaults to 0.01.
    """

    decoupled = True

    def __init__(self, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False):
        super().__init__(lr, betas, eps, weight_decay, amsgrad)
