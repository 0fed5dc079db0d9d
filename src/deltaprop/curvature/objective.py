"""The training objective L(θ) of a model as a function of its flat parameter vector θ, and its gradient.

Curvature is measured by evaluating the gradient at nearby points θ ± h·v, so each evaluation must see the
same function: the same dropout masks, the same data batches, and BatchNorm's running statistics left as
they were. ``Objective`` gives that, on a float64 copy of the model (the model itself is never touched).
"""
from __future__ import annotations

import copy

import numpy as np

from .. import losses as loss_registry
from .._checks import check_positive_int, check_targets


class Objective:
    """L(θ) = Σ_b (n_b / N)·[loss(f(X_b; θ), y_b)] + penalty(θ) over the batches X_b of ``X``, and ∇L(θ).

    For a model without BatchNorm this is the mean loss over all N samples (with the layers' weight
    penalties); with BatchNorm each batch is normalised by its own statistics, as in training.

    Parameters
    ----------
    model : Sequential
        Copied, and the copy converted to float64; the model given is not changed.
    loss : Loss or str
    X, y : arrays
        The data; read in batches of ``batch_size`` rows (all at once by default).
    batch_size : int, optional
    training : bool, default True
        Training-mode passes (batch statistics, dropout). Each batch's dropout masks are drawn once
        and are the same at every evaluation; running statistics are restored after every pass.
        ``False``: eval mode (the running statistics, no dropout), as ``evaluate`` computes the loss.
    dtype : default float64
    """

    def __init__(self, model, loss, X, y, *, batch_size: int | None = None, training: bool = True, dtype="float64"):
        self.model = copy.deepcopy(model).astype(dtype)
        self.loss = copy.deepcopy(loss_registry.get(loss))
        self.X = self.model.check_input(X)
        self.y = check_targets(y, self.X.shape[0])
        n = self.X.shape[0]
        batch_size = n if batch_size is None else check_positive_int(batch_size, "batch_size")
        self.bounds = [(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
        if self.model.needs_batch_statistics() and training and any(b - a < 2 for a, b in self.bounds):
            raise ValueError("batch_size leaves a batch of one sample, which BatchNorm cannot normalise in "
                             "training mode; choose another batch_size")
        self.training = training
        self.params = self.model.parameters()
        self.theta = self.params.values.copy()     # the point the model was at
        # what must be the same at every evaluation: the random layers' Generators, the layers' state
        self._random = [layer for layer in self.model.layers if layer.draws_random]
        self._generator_states = [layer.rng.bit_generator.state for layer in self._random]
        self._layer_states = [{key: value.copy() for key, value in layer.state().items()}
                              for layer in self.model.layers]
        #: gradient evaluations so far (each one a forward and a backward pass over the data)
        self.n_gradients = 0
        #: loss evaluations so far (each one a forward pass over the data)
        self.n_losses = 0

    @property
    def size(self) -> int:
        """The number of parameters (the length of θ)."""
        return self.theta.size

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    def batches(self):
        """(weight n_b / N, X_b, y_b) of each batch."""
        n = self.n_samples
        for start, stop in self.bounds:
            yield (stop - start) / n, self.X[start:stop], self.y[start:stop]

    def set(self, theta=None) -> None:
        """Put the copy's parameters at ``theta`` (default: the model's own) and its random layers back at
        their first draw; `batch_gradient` then works there."""
        self._begin(theta)

    def _begin(self, theta) -> None:
        if theta is not None:
            theta = np.asarray(theta, dtype=self.params.values.dtype)
            if theta.shape != self.theta.shape:
                raise ValueError(f"theta must be a flat vector of {self.size} parameters, got shape {theta.shape}")
            self.params.values[...] = theta
        else:
            self.params.values[...] = self.theta
        for layer, state in zip(self._random, self._generator_states):
            layer.rng.bit_generator.state = state      # the same masks, batch by batch, at every evaluation

    def _end_pass(self) -> None:
        for layer, state in zip(self.model.layers, self._layer_states):
            if state:
                layer.load_state(state)                # BatchNorm's running statistics untouched

    def batch_gradient(self, X_batch, y_batch) -> float:
        """One batch's forward pass, loss and backward pass at the current θ: the loss (without penalties);
        ∂loss/∂θ is left in ``self.params.grads`` and each layer's pass record in place."""
        prediction = self.model.forward_unchecked(X_batch, training=self.training)
        value = self.loss.forward(prediction, y_batch)
        self.model.backward(self.loss.backward(), input_gradient=False)
        self._end_pass()
        return value

    def gradient(self, theta=None, *, penalty: bool = True) -> tuple[float, np.ndarray]:
        """(L(θ), ∇L(θ)) at ``theta`` (default: the model's own parameters); a forward and a backward pass
        over the data. ``penalty=False`` leaves out the weight penalties."""
        self._begin(theta)
        total = np.zeros_like(self.params.grads)
        value = 0.0
        for weight, X_batch, y_batch in self.batches():
            value += weight * self.batch_gradient(X_batch, y_batch)
            total += weight * self.params.grads
        if penalty:
            self.params.grads[...] = 0.0
            self.model.add_penalty_gradients()
            total += self.params.grads
            value += self.model.penalty()
        self.n_gradients += 1
        return float(value), total

    def value(self, theta=None, *, metric=None):
        """L(θ) (a forward pass over the data), or (L(θ), metric) with a ``metric(prediction, y)`` averaged
        over the batches by their sizes."""
        self._begin(theta)
        value = score = 0.0
        for weight, X_batch, y_batch in self.batches():
            prediction = self.model.forward_unchecked(X_batch, training=self.training)
            value += weight * self.loss.forward(prediction, y_batch)
            if metric is not None:
                score += weight * float(metric(prediction, y_batch))
            self._end_pass()
        value = float(value + self.model.penalty())
        self.n_losses += 1
        return value if metric is None else (value, score)
