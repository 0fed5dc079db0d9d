"""The loss landscape: the loss along a line or over a plane through parameter space, and the barrier
between two trained models.

A picture of L(θ) needs directions. A random Gaussian direction d is dominated by the layers with the
largest weights, and its scale means nothing next to θ's; **filter normalisation** (Li et al. 2018) fixes
both: each unit's (filter's) slice of d is scaled to the norm of that unit's incoming weights in θ,

    d_unit ← d_unit · ‖θ_unit‖ / ‖d_unit‖

so that α = 1 moves every unit by as much as it weighs. Biases and normalisation parameters (anything a layer
does not list in ``unit_axes``) are left out: their part of d is zero unless ``include_biases``.

* ``line``: L(θ + α·d) for α in ``alphas``, or L((1 − α)·θ_a + α·θ_b) along the segment to another model;
* ``plane``: L(θ + α·d₁ + β·d₂) on a grid (two independent filter-normalised directions);
* ``barrier``: max over the segment from θ_a to θ_b of L, minus the higher of L(θ_a) and L(θ_b): 0 when the
  two lie in one convex valley, large when a ridge separates two minima;
* ``bezier``: a trained one-bend curve between two models and its barrier — low where the straight line's is
  high when the two minima are connected by a curved valley.

The loss is ``evaluate``'s: eval mode, the model's own dtype, weight penalties included; each point costs one
forward pass over the data (the model itself is never changed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import check_positive_int, check_seed
from .curvature.objective import Objective
from .plots import save_figure


def random_direction(model, *, seed: int | None = 0, normalization: str | None = "filter",
                     include_biases: bool = False) -> np.ndarray:
    """A Gaussian direction in parameter space, flat in ``model.parameters()`` order.

    ``normalization="filter"``: each unit's slice scaled to that unit's weight norm (see the module
    docstring); ``"layer"``: each parameter's whole direction scaled to its norm; None: as drawn.
    Bias-like parameters are zero unless ``include_biases`` (then scaled as a whole, to their own norm).
    """
    if normalization not in ("filter", "layer", None):
        raise ValueError(f"normalization must be 'filter', 'layer' or None, got {normalization!r}")
    rng = np.random.default_rng(check_seed(seed))
    params = model.parameters()
    direction = np.zeros(params.values.size, dtype=np.float64)
    views = params.views(direction)
    position = 0
    for layer in model.layers:
        for param, name in zip(layer.parameters(), layer.parameter_names()):
            d, theta = views[position], param.value.astype(np.float64)
            position += 1
            axis = layer.unit_axes.get(name)
            if axis is None and not include_biases:
                continue
            d[...] = rng.standard_normal(d.shape)
            if normalization == "filter" and axis is not None:
                other = tuple(i for i in range(d.ndim) if i != axis)
                d *= _ratio(np.sqrt((theta ** 2).sum(axis=other, keepdims=True)),
                            np.sqrt((d ** 2).sum(axis=other, keepdims=True)))
            elif normalization is not None:
                d *= _ratio(np.linalg.norm(theta), np.linalg.norm(d))
    return direction


def _ratio(target, current):
    return np.divide(target, current, out=np.zeros_like(np.asarray(current, dtype=np.float64)), where=current > 0)


@dataclass
class LandscapeLine:
    """The loss (and ``metric``) at θ + α·d for each α of ``alphas``; ``kind`` is ``"random"``, ``"models"``
    (α = 0 and 1 are the two models) or ``"curve"`` (a `bezier` path from t = 0 to 1)."""

    alphas: np.ndarray
    loss: np.ndarray
    metric: np.ndarray | None = None
    metric_name: str = ""
    kind: str = "random"


@dataclass
class LandscapePlane:
    """The loss (and ``metric``) at θ + α·d₁ + β·d₂: arrays of shape (len(betas), len(alphas))."""

    alphas: np.ndarray
    betas: np.ndarray
    loss: np.ndarray
    metric: np.ndarray | None = None
    metric_name: str = ""


def _check_same_architecture(model_a, model_b) -> None:
    names_a = [(p.name, p.shape) for p in model_a.parameters()]
    names_b = [(p.name, p.shape) for p in model_b.parameters()]
    if names_a != names_b:
        raise ValueError("the two models must have the same architecture (parameter names and shapes) to be "
                         "joined by a line")


#: the most memory the precomputed first-layer outputs may take (else every point runs the whole network)
HEAD_BUDGET = 256 * 2 ** 20


class _Evaluator:
    """L(θ₀ + Σᵢ cᵢ·dᵢ) (and a metric) for many coefficient vectors c, in eval mode.

    When the first layer with parameters is linear in them (Dense, Conv: Z = A·W + b), its output at any point is
    Z(θ₀) + Σᵢ cᵢ·Z(dᵢ): those outputs are computed once per batch (within HEAD_BUDGET of memory), and each point
    runs only the layers above — on the Quickstart MLP over 784-pixel images, the first layer is 80% of a pass.
    """

    def __init__(self, objective, origin, directions):
        self.objective, self.origin = objective, origin
        self.directions = [np.asarray(d, dtype=np.float64) for d in directions]
        self.first, self.heads = self._heads()

    def _heads(self):
        model, objective = self.objective.model, self.objective
        first = next((i for i, layer in enumerate(model.layers) if layer.parameters()), None)
        if first is None or not model.layers[first].linear_in_parameters:
            return None, None
        heads, used = [], 0
        for _, X_batch, _ in objective.batches():
            inputs = X_batch
            for layer in model.layers[:first]:
                inputs = layer.forward(inputs, training=False)
            outputs = []
            for vector in (self.origin, *self.directions):
                objective.set(vector)
                outputs.append(np.array(model.layers[first].forward(inputs, training=False)))
                used += outputs[-1].nbytes
            if used > HEAD_BUDGET:
                return None, None
            heads.append(outputs)
        return first, heads

    def __call__(self, coefficients, metric=None) -> tuple[float, float]:
        theta = self.origin + sum(c * d for c, d in zip(coefficients, self.directions))
        if self.heads is None:
            result = self.objective.value(theta, metric=metric)
            return result if metric is not None else (result, np.nan)
        objective, model = self.objective, self.objective.model
        objective.set(theta)          # the layers above the first, and the penalties, at the point
        value = score = 0.0
        for (weight, _, y_batch), outputs in zip(objective.batches(), self.heads):
            out = outputs[0]
            for c, head in zip(coefficients, outputs[1:]):
                if c:
                    out = out + head.dtype.type(c) * head
            for layer in model.layers[self.first + 1:]:
                out = layer.forward(out, training=False)
            value += weight * objective.loss.forward(out, y_batch)
            if metric is not None:
                score += weight * float(metric(out, y_batch))
        objective.n_losses += 1
        return float(value + model.penalty()), (score if metric is not None else np.nan)


def _grid(values, default, name):
    values = np.asarray(default if values is None else values, dtype=np.float64).reshape(-1)
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError(f"{name} must be a non-empty list of finite numbers")
    return values


def line(model, loss, X, y, *, to=None, direction=None, alphas=None, metric=None, batch_size: int | None = 1024,
         seed: int | None = 0, progress=None) -> LandscapeLine:
    """The loss along a line through ``model``'s parameters.

    ``to``: another trained model of the same architecture — the segment θ + α·(θ_to − θ), α from 0 to 1
    (default 25 points from −0.25 to 1.25, so both ends show their surroundings). Else ``direction`` (a flat
    vector; default: `random_direction` with ``seed``), α default 41 points in [−1, 1]. ``metric(prediction,
    y)`` (e.g. ``dp.training.Accuracy()``) is recorded beside the loss. One forward pass over ``X`` per α;
    ``progress(done, total)`` is called after each.
    """
    objective = Objective(model, loss, X, y, batch_size=batch_size, training=False, dtype=model.dtype)
    theta = objective.theta.astype(np.float64)
    if to is not None:
        if direction is not None:
            raise ValueError("give to (a second model) or direction, not both")
        _check_same_architecture(model, to)
        direction, kind = to.parameters().values.astype(np.float64) - theta, "models"
        alphas = _grid(alphas, np.linspace(-0.25, 1.25, 25), "alphas")
    else:
        direction = random_direction(model, seed=seed) if direction is None else \
            np.asarray(direction, dtype=np.float64).reshape(-1)
        if direction.size != theta.size:
            raise ValueError(f"direction must have one entry per parameter ({theta.size}), got {direction.size}")
        kind = "random"
        alphas = _grid(alphas, np.linspace(-1.0, 1.0, 41), "alphas")
    evaluate = _Evaluator(objective, theta, [direction])
    losses, scores = np.empty(alphas.size), np.empty(alphas.size)
    for i, alpha in enumerate(alphas):
        losses[i], scores[i] = evaluate([alpha], metric)
        if progress is not None:
            progress(i + 1, alphas.size)
    return LandscapeLine(alphas, losses, scores if metric is not None else None, _metric_name(metric), kind)


def plane(model, loss, X, y, *, directions=None, alphas=None, betas=None, metric=None,
          batch_size: int | None = 1024, seed: int | None = 0, progress=None) -> LandscapePlane:
    """The loss over the plane θ + α·d₁ + β·d₂, by default on a 21 × 21 grid over [−1, 1]², d₁ and d₂ two
    filter-normalised random directions (seeds ``seed`` and ``seed + 1``). One forward pass per grid point."""
    theta_size = model.parameters().values.size
    if directions is None:
        base = 0 if seed is None else check_seed(seed)
        directions = (random_direction(model, seed=base), random_direction(model, seed=base + 1))
    d1, d2 = (np.asarray(d, dtype=np.float64).reshape(-1) for d in directions)
    if d1.size != theta_size or d2.size != theta_size:
        raise ValueError(f"directions must be two flat vectors of {theta_size} entries")
    alphas = _grid(alphas, np.linspace(-1.0, 1.0, 21), "alphas")
    betas = _grid(betas, np.linspace(-1.0, 1.0, 21), "betas")
    objective = Objective(model, loss, X, y, batch_size=batch_size, training=False, dtype=model.dtype)
    theta = objective.theta.astype(np.float64)
    evaluate = _Evaluator(objective, theta, [d1, d2])
    losses = np.empty((betas.size, alphas.size))
    scores = np.empty_like(losses)
    total, done = losses.size, 0
    for j, beta in enumerate(betas):
        for i, alpha in enumerate(alphas):
            losses[j, i], scores[j, i] = evaluate([alpha, beta], metric)
            done += 1
            if progress is not None:
                progress(done, total)
    return LandscapePlane(alphas, betas, losses, scores if metric is not None else None, _metric_name(metric))


@dataclass
class Barrier:
    """The loss barrier between two models: ``height`` = max over the segment − max(L(θ_a), L(θ_b)), with the
    ``path`` (a `LandscapeLine` over α in [0, 1]) it was read from."""

    height: float
    path: LandscapeLine

    @property
    def endpoints(self) -> tuple[float, float]:
        return float(self.path.loss[0]), float(self.path.loss[-1])


def barrier(model_a, model_b, loss, X, y, *, n_points: int = 25, batch_size: int | None = 1024,
            progress=None) -> Barrier:
    """The loss barrier along the straight line from ``model_a`` to ``model_b`` (``n_points`` points,
    both ends included): 0 for a model with itself, and for two minima in one convex valley."""
    n_points = check_positive_int(n_points, "n_points")
    if n_points < 2:
        raise ValueError("n_points must be at least 2 (the two models)")
    path = line(model_a, loss, X, y, to=model_b, alphas=np.linspace(0.0, 1.0, n_points), batch_size=batch_size,
                progress=progress)
    height = float(path.loss.max() - max(path.loss[0], path.loss[-1]))
    return Barrier(height, path)


def bezier(model_a, model_b, loss, X, y, *, epochs: int = 20, batch_size: int = 64, lr: float = 0.01,
           n_points: int = 25, seed: int | None = 0, progress=None) -> Barrier:
    """A one-bend path of low loss between two trained models (Garipov et al. 2018) and its barrier.

    The quadratic Bézier curve θ(t) = (1 − t)²·θ_a + 2t(1 − t)·θ_c + t²·θ_b joins the two models; its bend
    θ_c starts halfway and is trained to minimise the loss averaged along the curve: for each mini-batch a
    point t ~ U(0, 1) is drawn and θ_c moves by Adam(``lr``) along ∂L(θ(t))/∂θ_c = 2t(1 − t)·∇L(θ(t)).
    When two minima are joined by such a curve of low loss (a barrier near 0, where the straight line has a
    large one), they belong to one connected valley. Returns the `Barrier` along the curve, its ``path`` of
    ``kind="curve"``. Costs ``epochs`` passes of training over ``X`` and ``n_points`` forward passes.
    """
    from .optim import Adam
    from .parameter import Parameter

    _check_same_architecture(model_a, model_b)
    epochs, batch_size, n_points = (check_positive_int(v, name) for v, name in
                                    ((epochs, "epochs"), (batch_size, "batch_size"), (n_points, "n_points")))
    rng = np.random.default_rng(check_seed(seed))
    training = Objective(model_a, loss, X, y, dtype=model_a.dtype)     # mini-batches drawn below
    a = training.theta.astype(np.float64)
    b = model_b.parameters().values.astype(np.float64)
    bend = Parameter("bend", (a + b) / 2)
    optimizer = Adam(lr)

    def point(t):
        return (1 - t) ** 2 * a + 2 * t * (1 - t) * bend.value + t ** 2 * b

    n = training.n_samples
    steps = 0
    for epoch in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            if len(rows) < 2 and training.model.needs_batch_statistics():
                continue
            t = rng.uniform()
            training.set(point(t))
            training.batch_gradient(training.X[rows], training.y[rows])
            training.model.add_penalty_gradients()
            bend.grad = 2 * t * (1 - t) * training.params.grads.astype(np.float64)
            optimizer.step([bend])
            steps += 1
        if progress is not None:
            progress(epoch + 1, epochs + 1)
    ts = np.linspace(0.0, 1.0, n_points)
    evaluation = Objective(model_a, loss, X, y, batch_size=1024, training=False, dtype=model_a.dtype)
    evaluate = _Evaluator(evaluation, a, [bend.value - a, b - a])    # θ(t) = a + 2t(1−t)·(c − a) + t²·(b − a)
    losses = np.array([evaluate([2 * t * (1 - t), t ** 2])[0] for t in ts])
    if progress is not None:
        progress(epochs + 1, epochs + 1)
    path = LandscapeLine(ts, losses, kind="curve")
    return Barrier(float(losses.max() - max(losses[0], losses[-1])), path)


def _metric_name(metric) -> str:
    return "" if metric is None else getattr(metric, "name", getattr(metric, "__name__", "metric"))


# -------------------------------------------------------------------- pictures
def line_figure(result: LandscapeLine, title: str = ""):
    """A matplotlib Figure of a `LandscapeLine`: the loss against α (the metric on a second axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    axis.plot(result.alphas, result.loss, "-", color="tab:blue", linewidth=2, label="loss")
    axis.set_xlabel({"models": "α (0 and 1: the two models)", "curve": "t along the curve (0 and 1: the two models)"}
                    .get(result.kind, "α along a filter-normalised random direction"))
    axis.set_ylabel("loss")
    marks = [0.0, 1.0] if result.kind in ("models", "curve") else [0.0]
    for mark in marks:
        axis.axvline(mark, color="grey", linewidth=0.8, linestyle=":")
    lines = axis.get_lines()[:1]
    if result.metric is not None:
        other = axis.twinx()
        lines += other.plot(result.alphas, result.metric, "--", color="tab:orange", linewidth=1.5,
                            label=result.metric_name)
        other.set_ylabel(result.metric_name)
        axis.legend(lines, [line.get_label() for line in lines], loc="upper center", fontsize=8)
    axis.set_title(title or "Loss along a line")
    figure.tight_layout()
    return figure


def plane_figure(result: LandscapePlane, title: str = ""):
    """A matplotlib Figure of a `LandscapePlane`: filled contours of the loss (log-spaced levels when it spans
    more than a factor 10), the model at the centre marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import colors
    from matplotlib.ticker import MaxNLocator

    figure, axis = plt.subplots(figsize=(5.5, 4.6))
    low, high = float(np.nanmin(result.loss)), float(np.nanmax(result.loss))
    if low > 0 and high > 10 * low:
        levels, norm = np.geomspace(low, high, 25), colors.LogNorm(low, high)
    else:
        levels, norm = np.linspace(low, high if high > low else low + 1e-12, 25), None
    filled = axis.contourf(result.alphas, result.betas, result.loss, levels=levels, norm=norm, cmap="viridis")
    axis.contour(result.alphas, result.betas, result.loss, levels=levels[::3], colors="white", linewidths=0.5)
    colorbar = figure.colorbar(filled, ax=axis, label="loss", ticks=levels[::4], format="%.3g")
    colorbar.minorticks_off()
    axis.plot([0], [0], "r*", markersize=10, label="trained model")
    axis.xaxis.set_major_locator(MaxNLocator(5))
    axis.set_xlabel("α (direction 1)")
    axis.set_ylabel("β (direction 2)")
    axis.legend(loc="upper right", fontsize=8)
    axis.set_title(title or "Loss over a plane")
    figure.tight_layout()
    return figure



def plot_line(result: LandscapeLine, path, title: str = "") -> None:
    """Save `line_figure()` as a PNG, atomically."""
    save_figure(line_figure(result, title), path)


def plot_plane(result: LandscapePlane, path, title: str = "") -> None:
    """Save `plane_figure()` as a PNG, atomically."""
    save_figure(plane_figure(result, title), path)
