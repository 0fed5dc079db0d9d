"""Several random restarts against local minima: keep the best by validation score."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .callbacks import resolve_mode
from .history import History


#: a barrier below this fraction of the endpoints' loss counts as none: the two starts share one valley
ONE_VALLEY = 0.05


@dataclass
class BestOf:
    """Result of [`fit_best_of()`][deltaprop.fit_best_of]: the best model, its history, every start's score, final
    training loss and model, and the loss barriers between the best few.

    ``barriers`` maps a pair of start indices (i, j) to the loss barrier on the straight line between their
    models (`deltaprop.landscape.barrier`); ``curve_barriers`` the same pairs' barriers along a trained Bézier
    curve (``curve=True``). `summary()` says whether the best starts found one valley or separate minima.
    """

    model: object
    history: History
    best_start: int
    seeds: list = field(default_factory=list)
    scores: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    models: list = field(default_factory=list)
    barriers: dict = field(default_factory=dict)
    curve_barriers: dict = field(default_factory=dict)
    mode: str = "min"

    def ranking(self) -> list:
        """Start indices from the best score to the worst."""
        return sorted(range(len(self.scores)), key=lambda i: self.scores[i], reverse=self.mode == "max")

    def separate(self, i: int, j: int) -> bool:
        """True when the straight-line barrier between starts i and j exceeds ONE_VALLEY × their higher loss."""
        height = self.barriers[(min(i, j), max(i, j))]
        return height > ONE_VALLEY * max(self.losses[i], self.losses[j])

    def summary(self) -> str:
        """Every start's score and final loss, then the barriers between the best few and what they mean."""
        lines = ["start  seed        score       final loss"]
        for i in self.ranking():
            mark = "  ← kept" if i == self.best_start else ""
            lines.append(f"{i:5d}  {self.seeds[i]:<10d}  {self.scores[i]:<10.4g}  {self.losses[i]:.4g}{mark}")
        if self.barriers:
            lines.append("loss barriers on the straight line between starts (max on the path − higher end):")
            for (i, j), height in self.barriers.items():
                curve = self.curve_barriers.get((i, j))
                extra = f"; along a trained curve {curve:.4g}" if curve is not None else ""
                verdict = "separate minima" if self.separate(i, j) else "one valley"
                lines.append(f"  {i} – {j}: {height:.4g}{extra} ({verdict})")
        return "\n".join(lines)


def fit_best_of(build_model, X, y, *, n_starts: int = 5, monitor: str = "val_loss", mode: str = "auto",
                seed: int | None = 0, compare: int = 3, curve: bool = False, **fit_options) -> BestOf:
    """Train ``n_starts`` models from different random initializations; keep the best.

    Gradient descent finds a local minimum near where it starts; several starts make a poor
    one less likely. Each start calls ``build_model(seed)`` with its own seed, and trains on a
    deep copy of the ``optimizer``, ``callbacks`` and ``schedule`` given.

    Parameters
    ----------
    build_model : callable(seed) -> Sequential
    X, y : arrays
    n_starts : int, default 5
    monitor : str, default "val_loss"
        Score of each start: this value at its last epoch (its best epoch when an
        ``EarlyStopping`` with ``restore_best_weights`` restored it). Needs validation
        (``validation_split`` or ``validation_data``) unless a training value is monitored.
    mode : "auto", "min" or "max"
    seed : int, optional
        Seeds the per-start seeds.
    compare : int, default 3
        The loss barriers between every pair of the ``compare`` best starts are measured on ``X, y`` (straight
        lines, 11 points each, eval mode; at most 2,000 rows): one valley or separate minima? 0: none.
    curve : bool, default False
        Also train a one-bend Bézier curve between each of those pairs (`deltaprop.landscape.bezier`, 10
        epochs) and report its barrier beside the straight line's.
    **fit_options
        Passed to ``fit`` (loss, optimizer, epochs, …).

    Returns
    -------
    BestOf
    """
    if not isinstance(n_starts, int) or n_starts < 1:
        raise ValueError(f"n_starts must be a positive integer, got {n_starts!r}")
    if monitor.startswith("val_") and not (fit_options.get("validation_split") or fit_options.get("validation_data")):
        raise ValueError(f"monitor={monitor!r} needs validation_split or validation_data")
    mode = resolve_mode(monitor, mode)
    if not isinstance(compare, int) or compare < 0:
        raise ValueError(f"compare must be an integer >= 0, got {compare!r}")
    seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(n_starts)]
    best = None
    scores, losses, models = [], [], []
    for start, start_seed in enumerate(seeds):
        model = build_model(start_seed)
        options = copy.deepcopy({k: v for k, v in fit_options.items() if k in ("optimizer", "callbacks", "schedule")})
        options.update({k: v for k, v in fit_options.items() if k not in options})
        options.setdefault("seed", start_seed)
        history = model.fit(X, y, **options)
        evaluation = model.evaluate(
            *_scoring_data(model, X, y, options, history), loss=options["loss"], metrics=options.get("metrics")
        ) if monitor.startswith("val_") else None
        score = evaluation[monitor[4:]] if evaluation is not None else history[monitor][-1]
        scores.append(score)
        losses.append(history["loss"][-1] if history["loss"] else float("nan"))
        models.append(model)
        better = best is None or (score < best[0] if mode == "min" else score > best[0])
        if better:
            best = (score, start, model, history)
    result = BestOf(model=best[2], history=best[3], best_start=best[1], seeds=seeds, scores=scores, losses=losses,
                    models=models, mode=mode)
    _measure_barriers(result, X, y, fit_options["loss"], compare, curve, seed)
    return result


def _measure_barriers(result: BestOf, X, y, loss, compare: int, curve: bool, seed) -> None:
    """The barriers between every pair of the ``compare`` best starts, on at most 2,000 rows of ``X, y``."""
    from .. import landscape

    best = sorted(result.ranking()[:compare])
    if len(best) < 2:
        return
    if len(X) > 2000:
        rows = np.sort(np.random.default_rng(seed).choice(len(X), 2000, replace=False))
        X, y = X[rows], np.asarray(y)[rows]
    for position, i in enumerate(best):
        for j in best[position + 1:]:
            a, b = result.models[i], result.models[j]
            result.barriers[(i, j)] = landscape.barrier(a, b, loss, X, y, n_points=11).height
            if curve:
                result.curve_barriers[(i, j)] = landscape.bezier(a, b, loss, X, y, epochs=10, n_points=11,
                                                                 seed=seed).height


def _scoring_data(model, X, y, options, history):
    """The validation rows this start was scored on (re-drawn exactly as fit drew them)."""
    if options.get("validation_data") is not None:
        return options["validation_data"]
    from .data import split_validation, training_rng

    rng = training_rng(model.seed, options.get("seed"))
    _, _, X_val, y_val = split_validation(model.check_input(X), np.asarray(y), options["validation_split"], rng)
    return X_val, y_val
