"""Finite-difference gradient checks: backward against central differences, in float64."""
from __future__ import annotations

import copy

import numpy as np

from .layers.base import Layer
from .losses import Loss
from .model import Sequential


class GradcheckReport(dict):
    """``{tensor name: worst relative error}`` with a ``worst`` figure and a printable table."""

    @property
    def worst(self) -> float:
        return max(self.values()) if self else 0.0

    def table(self, tolerance: float = 1e-6) -> str:
        width = max([len("tensor")] + [len(name) for name in self])
        lines = [f"{'tensor'.ljust(width)}  rel. error  status", f"{'-' * width}  ----------  ------"]
        for name, error in self.items():
            lines.append(f"{name.ljust(width)}  {error:10.2e}  {'ok' if error <= tolerance else 'FAIL'}")
        return "\n".join(lines)

    __str__ = table


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """max|a − n| / max(max|a|, max|n|): the worst error relative to the gradient's scale (0 if both are 0)."""
    scale = max(np.abs(analytic).max(initial=0.0), np.abs(numeric).max(initial=0.0))
    if scale == 0:
        return 0.0
    return float(np.abs(analytic - numeric).max() / scale)


def _generators(obj) -> list:
    """The Generator of every layer that draws random numbers (dropout masks), to replay them."""
    layers = obj.layers if isinstance(obj, Sequential) else [obj]
    return [layer.rng for layer in layers if layer.draws_random]


def _numeric_gradient(f, array: np.ndarray, eps: float, indices) -> np.ndarray:
    """(f(x + ε) − f(x − ε)) / 2ε for each chosen element of ``array`` (perturbed in place)."""
    numeric = np.empty(len(indices))
    for k, index in enumerate(indices):
        original = array[index]
        array[index] = original + eps
        f_plus = f()
        array[index] = original - eps
        f_minus = f()
        array[index] = original
        numeric[k] = (f_plus - f_minus) / (2 * eps)
    return numeric


def _chosen_indices(shape, max_checks, rng):
    indices = list(np.ndindex(*shape))
    if max_checks is not None and len(indices) > max_checks:
        picks = rng.choice(len(indices), size=max_checks, replace=False)
        indices = [indices[i] for i in sorted(picks)]
    return indices


def gradcheck(obj, x, target=None, *, loss: Loss | None = None, eps: float = 1e-6, training: bool = True,
              check_input: bool = True, max_checks: int | None = None, seed: int = 0) -> GradcheckReport:
    """Compare backward's gradients with central finite differences, in float64.

    The object is copied and converted to float64 first; the original is not touched.

    * A **Loss**: the scalar is ``loss.forward(x, target)``; checks ∂L/∂pred (named ``"pred"``).
    * A **Layer** or **Sequential**: the scalar is ``loss.forward(obj.forward(x), target)`` when a
      loss is given, otherwise ``Σ R ⊙ obj.forward(x)`` for a fixed random R (so every output
      element matters). Weight penalties (``Dense(l1=…, l2=…)``) are part of the scalar.
      Checks every Parameter (by name) and, with ``check_input``, ∂L/∂x (``"input"``).

    Each numerical derivative is (f(θ + ε) − f(θ − ε)) / 2ε. Random generators in the layers
    (dropout) are replayed so every evaluation sees the same masks.

    Parameters
    ----------
    obj : Layer, Sequential or Loss
    x : array
        Input (for a Loss: the prediction).
    target : array, optional
        Target for a Loss, or for ``loss`` with a layer or model.
    loss : Loss, optional
    eps : float, default 1e-6
    training : bool, default True
        Forward mode for layers and models.
    check_input : bool, default True
    max_checks : int, optional
        Check at most this many random elements per tensor (all by default).
    seed : int
        Seed for R and for the choice of elements.

    Returns
    -------
    GradcheckReport
        ``{name: worst relative error}``, the error being max|a − n| / max(max|a|, max|n|).

    Examples
    --------
    >>> import numpy as np
    >>> import deltaprop as dp
    >>> report = dp.gradcheck(dp.Dense(3, 2), np.random.default_rng(0).normal(size=(5, 3)))
    >>> report.worst < 1e-6
    True
    """
    rng = np.random.default_rng(seed)
    report = GradcheckReport()
    x = np.array(x, dtype=np.float64)

    if isinstance(obj, Loss):
        obj = copy.deepcopy(obj)
        obj.forward(x, target)
        analytic = np.array(obj.backward(), dtype=np.float64)
        indices = _chosen_indices(x.shape, max_checks, rng)
        numeric = _numeric_gradient(lambda: obj.forward(x, target), x, eps, indices)
        report["pred"] = relative_error(np.array([analytic[i] for i in indices]), numeric)
        return report

    if not isinstance(obj, (Layer, Sequential)):
        raise TypeError(f"gradcheck needs a Layer, Sequential or Loss, got {type(obj).__name__}")
    obj = copy.deepcopy(obj)
    obj.astype(np.float64)
    loss = copy.deepcopy(loss)
    generators = _generators(obj)
    states = [g.bit_generator.state for g in generators]

    def replay():
        for generator, state in zip(generators, states):
            generator.bit_generator.state = state

    projection = None

    def scalar() -> float:
        nonlocal projection
        replay()
        out = obj.forward(x, training=training)
        if loss is not None:
            return loss.forward(out, target) + obj.penalty()
        if projection is None:
            projection = rng.standard_normal(out.shape)
        return float(np.sum(projection * out)) + obj.penalty()

    scalar()
    grad_out = loss.backward() if loss is not None else projection
    replay()
    obj.forward(x, training=training)
    grad_x = np.array(obj.backward(grad_out), dtype=np.float64)
    obj.add_penalty_gradients()
    params = obj.parameters()
    analytic_grads = {param.name: param.grad.copy() for param in params}

    for param in params:
        indices = _chosen_indices(param.value.shape, max_checks, rng)
        numeric = _numeric_gradient(scalar, param.value, eps, indices)
        analytic = np.array([analytic_grads[param.name][i] for i in indices])
        report[param.name] = relative_error(analytic, numeric)
    if check_input:
        indices = _chosen_indices(x.shape, max_checks, rng)
        numeric = _numeric_gradient(scalar, x, eps, indices)
        report["input"] = relative_error(np.array([grad_x[i] for i in indices]), numeric)
    return report
