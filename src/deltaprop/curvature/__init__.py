"""Curvature of the loss: Hessian-vector products, the Hessian's spectrum, per-example gradients and the
gradient noise scale — the measures of how sharp a minimum is and how noisy a batch's gradient.

>>> import numpy as np, deltaprop as dp
>>> model = dp.Sequential([dp.Dense(3, 4), dp.Tanh(), dp.Dense(4, 1)], seed=0)
>>> X, y = np.random.default_rng(0).normal(size=(32, 3)), np.zeros((32, 1))
>>> hessian = dp.curvature.Hessian(model, "mse", X, y)
>>> Hv = hessian.hvp(np.ones(hessian.size))          # 2 backward passes
>>> Hv.shape
(21,)

Every function takes the model, the loss and the data (in batches of ``batch_size`` rows, so the whole
training set can be used) and leaves the model as it was: the work is done on a float64 copy. Costs are
counted in gradient evaluations, each a forward and a backward pass over the data.
"""
from __future__ import annotations

from .hessian import Hessian, SpectralDensity, TraceEstimate, Tridiagonal
from .noise import NoiseScale, gradient_noise_scale, per_example_grad_norms
from .objective import Objective

__all__ = [
    "Hessian", "Objective", "SpectralDensity", "TraceEstimate", "Tridiagonal", "NoiseScale", "hvp", "eigenvalues",
    "trace", "density", "per_example_grad_norms", "gradient_noise_scale",
]


def hvp(model, loss, X, y, v, *, batch_size: int | None = None, step: float | None = None):
    """H·v, H the Hessian of the mean training loss (with weight penalties) over ``X, y`` with respect to all
    parameters, ``v`` a flat vector in ``model.parameters()`` order. Central differences of two float64
    backward passes (relative error ≤ 1e-6; see `deltaprop.curvature.hessian`)."""
    return Hessian(model, loss, X, y, batch_size=batch_size, step=step).hvp(v)


def eigenvalues(model, loss, X, y, k: int = 1, *, batch_size: int | None = None, which: str = "largest",
                tol: float = 1e-8, seed: int | None = 0):
    """The ``k`` largest eigenvalues of the Hessian, descending (λ_max first), by Lanczos (ARPACK's eigsh on
    a LinearOperator of Hessian-vector products). Cost: 2 gradient evaluations per Lanczos step."""
    return Hessian(model, loss, X, y, batch_size=batch_size).eigenvalues(k, which=which, tol=tol, seed=seed)


def trace(model, loss, X, y, *, n_vectors: int = 100, batch_size: int | None = None, seed: int | None = 0):
    """Hutchinson's estimate of tr(H) with its standard error (a `TraceEstimate`); 2 gradient evaluations
    per Rademacher vector."""
    return Hessian(model, loss, X, y, batch_size=batch_size).trace(n_vectors, seed=seed)


def density(model, loss, X, y, *, n_vectors: int = 5, steps: int = 40, batch_size: int | None = None,
            seed: int | None = 0):
    """The Hessian's spectral density by stochastic Lanczos quadrature (a `SpectralDensity` of nodes and
    weights summing to 1); 2·steps gradient evaluations per vector."""
    return Hessian(model, loss, X, y, batch_size=batch_size).density(n_vectors, steps, seed=seed)
