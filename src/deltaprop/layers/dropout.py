"""Dropout: randomly silence units in training, so no unit can rely on another."""
from __future__ import annotations

import numpy as np

from .._checks import check_number
from .base import Layer, register_layer


@register_layer
class Dropout(Layer):
    """Inverted dropout.

    Training mode: each element is kept with probability 1 − p and scaled by 1/(1 − p), so the
    expected output equals the input::

        y = x ⊙ m / (1 − p),   m ~ Bernoulli(1 − p),   ∂L/∂x = ∂L/∂y ⊙ m / (1 − p)

    Eval mode: the identity. Masks come from ``self.rng``, a Generator that ``fit`` (and the
    Sequential constructor) seed from the model and fit seeds, so runs are reproducible. In
    data-parallel training every process draws the mask of the whole global batch and keeps its rows
    (see `deltaprop.shard`): the masks one process would draw.

    Parameters
    ----------
    p : float in [0, 1)
        Probability of dropping an element.

    Shape
    -----
    any → same.
    """

    kind = "noise"
    draws_random = True

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = check_number(p, "p", low=0, high=1, high_open=True)
        self.rng = np.random.default_rng()
        self.mask = None

    def forward(self, x, training=False):
        if not training or self.p == 0:
            self.mask = None
            return x
        if self.shard is None:
            keep = self.rng.random(x.shape, dtype=x.dtype) >= self.p
        else:   # the global batch's mask, drawn alike in every process; this process's rows of it
            keep = (self.rng.random((self.shard.total, *x.shape[1:]), dtype=x.dtype) >= self.p)[
                self.shard.start:self.shard.stop]
        self.mask = keep * x.dtype.type(1.0 / (1.0 - self.p))
        return x * self.mask

    def backward(self, grad_y):
        return grad_y if self.mask is None else grad_y * self.mask

    def to_onnx(self, graph, x):
        """Eval mode: the identity."""
        return x

    def config(self):
        return {"p": self.p}
