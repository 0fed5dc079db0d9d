"""Gradient clipping, by global norm and by value."""
from __future__ import annotations

import math

import numpy as np

from .._checks import check_number


def _gradient_buffers(params) -> list:
    """The gradients as few arrays as possible: a model's one gradient buffer, or each parameter's."""
    grads = getattr(params, "grads", None)
    return [grads] if grads is not None else [p.grad for p in params]


def _norm(buffers) -> float:
    return math.sqrt(sum(float(np.vdot(g, g)) for g in buffers))


def global_grad_norm(params) -> float:
    """‖g‖ = √(Σ over every parameter of Σ g²)."""
    return _norm(_gradient_buffers(params))


def clip_grad_norm(params, max_norm: float) -> float:
    """Scale all gradients by min(1, max_norm / (‖g‖ + 1e-6)), as ``torch.nn.utils.clip_grad_norm_``.

    Returns the global norm ‖g‖ before clipping.
    """
    max_norm = check_number(max_norm, "max_norm", low=0, low_open=True)
    buffers = _gradient_buffers(params)   # once: params may be a generator
    total = _norm(buffers)
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in buffers:
            g *= g.dtype.type(scale)
    return total


def clip_grad_value(params, clip_value: float) -> None:
    """Clamp every gradient element to [−clip_value, clip_value]."""
    clip_value = check_number(clip_value, "clip_value", low=0, low_open=True)
    for g in _gradient_buffers(params):
        np.clip(g, -clip_value, clip_value, out=g)
