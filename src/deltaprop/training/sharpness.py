"""Callbacks that measure the loss surface while training: its sharpness λ_max and the gradient noise scale.

Gradient descent with learning rate η is stable along a direction of curvature λ only while η·λ < 2: along
the sharpest direction, λ_max, the step overshoots once λ_max > 2/η. Cohen et al. (2021) found that
full-batch gradient descent drives λ_max up until it reaches 2/η ("progressive sharpening"), then hovers
there while the loss keeps falling, not monotonically ("the edge of stability"). ``Sharpness`` records λ_max
and the ratio λ_max/(2/η) into the history so that this can be seen; ``GradientNoise`` records B_simple,
the batch size beyond which a larger batch hardly improves the gradient (McCandlish et al. 2018).
"""
from __future__ import annotations

import numpy as np

from .._checks import check_positive_int, check_seed
from ..curvature import Hessian, gradient_noise_scale
from .callbacks import Callback, check_state


class _MeasuredEvery(Callback):
    """Every ``every`` epochs, a measure on ``samples`` rows of the training data (a fixed random choice:
    the same rows each time) or on ``data=(X, y)``."""

    def __init__(self, every: int, samples: int | None, data, seed):
        self.every = check_positive_int(every, "every")
        self.samples = None if samples is None else check_positive_int(samples, "samples")
        self.data = data
        self.seed = check_seed(seed)
        self._rows = None

    def _data(self):
        if self.data is not None:
            return self.data
        X, y = self.run.data[0], self.run.data[1]
        if self.samples is not None and self.samples < len(X):
            if self._rows is None:
                self._rows = np.sort(np.random.default_rng(self.seed).choice(len(X), self.samples, replace=False))
            return X[self._rows], y[self._rows]
        return X, y

    def due(self, epoch: int) -> bool:
        return (epoch + 1) % self.every == 0 or epoch == 0


class Sharpness(_MeasuredEvery):
    """Record λ_max, the Hessian's largest eigenvalue, every ``every`` epochs (and after the first) as
    ``history["sharpness"]``, and ``history["stability"]`` = λ_max/(2/η) = η·λ_max/2 with η the epoch's
    learning rate: above 1, plain gradient descent is unstable along the sharpest direction (the edge of
    stability sits at 1). With an adaptive optimizer (Adam …) the limit concerns the preconditioned
    Hessian, and the ratio is only indicative.

    Cost per measure: 2·``steps`` gradient evaluations (Lanczos) on ``samples`` rows of the training data
    (default 1,000; None: all of them) or on ``data=(X, y)``; float64 passes in training mode. Lanczos starts
    from the last measure's top eigenvector, so a few steps follow λ_max as it moves.
    """

    def __init__(self, every: int = 1, *, samples: int | None = 1000, data=None, steps: int = 20,
                 batch_size: int | None = None, seed: int | None = 0):
        super().__init__(every, samples, data, seed)
        self.steps = check_positive_int(steps, "steps")
        self.batch_size = batch_size
        self._vector = None

    def on_train_begin(self, logs):
        self._vector = None

    def measure(self) -> float:
        """λ_max of the run's model now (the Hessian's top Ritz value after ``steps`` Lanczos steps)."""
        X, y = self._data()
        hessian = Hessian(self.run.model, self.run.loss, X, y, batch_size=self.batch_size)
        tridiagonal = hessian.lanczos(self.steps, self._vector, seed=self.seed)
        self._vector = tridiagonal.top_vector()
        return float(tridiagonal.ritz_values()[-1])

    def state_dict(self) -> dict:
        return {"vector": self._vector}

    def load_state_dict(self, state: dict) -> None:
        check_state(state, {"vector": (np.ndarray, None)}, "Sharpness")
        self._vector = state["vector"]

    def on_epoch_end(self, epoch, logs):
        if not self.due(epoch):
            return
        sharpness = self.measure()
        stability = sharpness * float(logs.get("lr", self.run.optimizer.lr)) / 2
        for key, value in (("sharpness", sharpness), ("stability", stability)):
            self.run.history.record(key, value)
            logs[key] = value           # shown in the epoch's progress line


class GradientNoise(_MeasuredEvery):
    """Record the simple gradient noise scale B_simple = tr(Σ)/‖G‖² every ``every`` epochs (and after the
    first) as ``history["noise_scale"]``, from the per-example gradients of ``samples`` training rows (default
    1,000) or of ``data=(X, y)``: one forward and backward pass per 256 rows for a model of Dense layers."""

    def __init__(self, every: int = 1, *, samples: int | None = 1000, data=None, seed: int | None = 0):
        super().__init__(every, samples, data, seed)

    def on_epoch_end(self, epoch, logs):
        if self.due(epoch):
            X, y = self._data()
            logs["noise_scale"] = gradient_noise_scale(self.run.model, self.run.loss, X, y).b_simple
            self.run.history.record("noise_scale", logs["noise_scale"])

