"""Several random restarts against local minima: keep the best by validation score."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .callbacks import resolve_mode
from .history import History


@dataclass
class BestOf:
    """Result of [`fit_best_of()`][deltaprop.fit_best_of]: the best model, its history, and every start's score."""

    model: object
    history: History
    best_start: int
    seeds: list = field(default_factory=list)
    scores: list = field(default_factory=list)


def fit_best_of(build_model, X, y, *, n_starts: int = 5, monitor: str = "val_loss", mode: str = "auto",
                seed: int | None = 0, **fit_options) -> BestOf:
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
    seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(n_starts)]
    best = None
    scores = []
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
        better = best is None or (score < best[0] if mode == "min" else score > best[0])
        if better:
            best = (score, start, model, history)
    return BestOf(model=best[2], history=best[3], best_start=best[1], seeds=seeds, scores=scores)


def _scoring_data(model, X, y, options, history):
    """The validation rows this start was scored on (re-drawn exactly as fit drew them)."""
    if options.get("validation_data") is not None:
        return options["validation_data"]
    from .data import split_validation, training_rng

    rng = training_rng(model.seed, options.get("seed"))
    _, _, X_val, y_val = split_validation(model.check_input(X), np.asarray(y), options["validation_split"], rng)
    return X_val, y_val
