"""Findings about the loss surface: a learning rate past the stability limit, a batch far from the gradient noise
scale, a minimum sharper than other starts reached.

Thresholds (module constants):

* ``beyond_stability`` — η·λ_max/2 > STABILITY_HIGH = 1.1 for plain gradient descent (SGD without momentum;
  with heavy-ball momentum μ the limit is 2(1 + μ)/η): along the sharpest direction each step overshoots, so
  training diverges or oscillates at the edge of stability.
* ``edge_of_stability`` — η·λ_max/2 within [STABILITY_LOW, STABILITY_HIGH] = [0.9, 1.1]: the loss still falls,
  but not monotonically, with λ_max pinned at 2/η (Cohen et al. 2021).
* ``small_batch`` / ``large_batch`` — the training batch below B_simple/NOISE_FACTOR or above
  NOISE_FACTOR·B_simple (NOISE_FACTOR = 10), B_simple the gradient noise scale (McCandlish et al. 2018).
* ``sharp_minimum`` — λ_max more than SHARP_RATIO = 2 times the median λ_max of other starts' models.

Adaptive optimizers (Adam, RMSprop, Adagrad) scale each step by their own statistics: their stability limit
concerns a preconditioned Hessian, and no learning-rate finding is made for them.
"""
from __future__ import annotations

import numpy as np

from ..curvature import Hessian, gradient_noise_scale
from .findings import Finding

STABILITY_LOW = 0.9
STABILITY_HIGH = 1.1
NOISE_FACTOR = 10.0
SHARP_RATIO = 2.0
KINDS = ("beyond_stability", "edge_of_stability", "small_batch", "large_batch", "sharp_minimum")


def stability_limit(optimizer) -> float | None:
    """The largest curvature λ along which the optimizer's steps are stable on a quadratic: 2/η for SGD,
    2(1 + μ)/η with heavy-ball momentum μ (without Nesterov or dampening); None for any other optimizer."""
    from ..optim import SGD

    if not isinstance(optimizer, SGD) or optimizer.lr <= 0:
        return None
    momentum = optimizer.hyper.get("momentum", 0.0)
    if momentum and (optimizer.hyper.get("nesterov") or optimizer.hyper.get("dampening")):
        return None
    return 2 * (1 + momentum) / optimizer.lr


def sharpness(model, loss, X, y, *, steps: int = 20, seed: int = 0) -> float:
    """λ_max by ``steps`` Lanczos steps (2·steps gradient evaluations)."""
    return Hessian(model, loss, X, y, batch_size=1024).top_eigenvalue(steps, seed=seed)


def curvature_findings(model, X, y, loss, *, optimizer=None, batch_size: int | None = None, starts=(),
                       samples: int = 1000, seed: int = 0) -> list:
    """Findings about the learning rate (with ``optimizer``), the batch size (``batch_size``) and the sharpness
    of the minimum next to other ``starts`` (models), measured on ``samples`` rows of ``X, y``."""
    rng = np.random.default_rng(seed)
    if len(X) > samples:
        rows = np.sort(rng.choice(len(X), samples, replace=False))
        X, y = X[rows], y[rows]
    findings = []
    limit = stability_limit(optimizer) if optimizer is not None else None
    lam = sharpness(model, loss, X, y, seed=seed) if limit is not None or starts else None
    if limit is not None:
        ratio = lam / limit
        if ratio > STABILITY_HIGH:
            findings.append(Finding(
                "beyond_stability", -1, "the optimizer", ratio,
                f"the learning rate {optimizer.lr:g} is {ratio:.2g}× past the stability limit: λ_max = {lam:.3g}, "
                f"so steps overshoot along the sharpest direction unless lr < {optimizer.lr / ratio:.3g} — training "
                "diverges, or oscillates at the edge of stability; lower the learning rate, or warm it up "
                "(LinearWarmup) so that the network can sharpen gradually"))
        elif ratio >= STABILITY_LOW:
            findings.append(Finding(
                "edge_of_stability", -1, "the optimizer", ratio,
                f"training runs at the edge of stability: λ_max = {lam:.3g} sits at the limit of the learning "
                f"rate {optimizer.lr:g}; the loss still falls, but not monotonically — a learning rate below "
                f"{0.5 * optimizer.lr:.3g} descends steadily, if more slowly"))
    if batch_size is not None and not model.needs_batch_statistics() and len(X) >= 2:
        scale = gradient_noise_scale(model, loss, X, y).b_simple
        if np.isfinite(scale) and batch_size < scale / NOISE_FACTOR:
            findings.append(Finding(
                "small_batch", -1, "the batch", batch_size / scale,
                f"the batch of {batch_size} is far below the gradient noise scale B_simple ≈ {scale:,.0f}: each "
                "step's gradient is mostly noise; a larger batch (with the learning rate raised in proportion) "
                "reaches the same loss in fewer steps"))
        elif batch_size > NOISE_FACTOR * scale:
            findings.append(Finding(
                "large_batch", -1, "the batch", batch_size / scale,
                f"the batch of {batch_size} is far above the gradient noise scale B_simple ≈ {scale:,.1f}: more "
                "samples hardly improve each step's gradient; a smaller batch makes more progress per pass over "
                "the data"))
    if starts:
        others = [sharpness(start, loss, X, y, seed=seed) for start in starts]
        typical = float(np.median(others))
        if typical > 0 and lam > SHARP_RATIO * typical:
            findings.append(Finding(
                "sharp_minimum", -1, "the model", lam / typical,
                f"this minimum is {lam / typical:.2g}× sharper (λ_max {lam:.3g}) than the median of "
                f"{len(others)} other starts ({typical:.3g}): sharp minima tend to generalise worse; prefer a "
                "flatter start of similar validation loss, or train with a smaller batch or a larger learning rate"))
    return findings
