"""The Layer protocol every building block of a network follows."""
from __future__ import annotations

import numpy as np


class Layer:
    """One step of the forward pass and its mirror in the backward pass.

    ``forward(x, training=False) -> y`` computes the output and keeps on ``self`` only what
    ``backward`` needs. ``backward(grad_y) -> grad_x`` receives ∂L/∂y, writes ∂L/∂θ into
    every ``Parameter.grad`` and returns ∂L/∂x for the layer below.

    Subclasses with weights override ``parameters``, ``reset_parameters`` and ``astype``;
    every layer describes its constructor arguments in ``config`` so that a model file can
    rebuild it.
    """

    #: Smallest batch the layer accepts in training mode (BatchNorm needs 2).
    min_training_batch = 1

    #: The name shown in messages; a Sequential sets it to e.g. ``"layer 2 (Dense)"``.
    label: str

    def __init__(self):
        self.label = type(self).__name__

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward_parameters(self, grad_y: np.ndarray) -> None:
        """Write ∂L/∂param only (the input gradient is not needed: this is the first trainable layer)."""
        self.backward(grad_y)

    def parameters(self) -> list:
        """Trainable Parameters of this layer, in a fixed order (Dense: W then b)."""
        return []

    def state(self) -> dict:
        """Non-trainable arrays saved with the model (BatchNorm's running statistics)."""
        return {}

    def load_state(self, state: dict) -> None:
        for key, value in state.items():
            getattr(self, key)[...] = value

    def penalty(self) -> float:
        """Weight penalty added to the loss (L1/L2 on Dense); 0 for most layers."""
        return 0.0

    def add_penalty_gradients(self) -> None:
        """Add ∂penalty/∂θ to each Parameter.grad (after backward)."""

    def reset_parameters(self, rng: np.random.Generator) -> None:
        """Draw fresh initial parameters from ``rng`` (no-op for layers without weights)."""

    def astype(self, dtype) -> None:
        """Convert parameters and state to ``dtype`` in place."""

    def output_features(self, n_in: int) -> int:
        """Number of output features for ``n_in`` input features."""
        return n_in

    def config(self) -> dict:
        """Constructor arguments, JSON-serialisable, such that ``type(self)(**config)`` rebuilds it."""
        return {}

    def describe(self) -> str:
        """A short description for tables, e.g. ``Dense(4, 8)``."""
        return repr(self)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"
