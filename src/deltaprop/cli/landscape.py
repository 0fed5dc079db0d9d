"""``deltaprop landscape RUN``: the loss landscape and curvature of a trained run, beside its other files.

Writes into the run folder ``landscape-1d.png`` (the loss and accuracy along a filter-normalised random
direction), ``landscape-2d.png`` (the loss over a plane of two such directions) and ``curvature.json``
(the Hessian's top eigenvalues, its trace with a standard error, the gradient noise scale B_simple and the
ratio η·λ_max/2, with what each cost). Everything is computed first, on a sample of the run's training rows,
then the three files are written, each atomically: Ctrl-C leaves the folder as it was.
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from .._files import atomic_path
from ..errors import InputError
from ..plots import save_figure
from .tables import print_table


def _bar(label: str, enabled: bool):
    """A progress callback(done, total) drawing a tqdm bar on a terminal; None otherwise."""
    if not enabled or not sys.stderr.isatty():
        return None, lambda: None
    from tqdm.auto import tqdm

    bar = tqdm(desc=label, leave=False, file=sys.stderr)

    def progress(done, total):
        bar.total = total
        bar.n = done
        bar.refresh()

    return progress, bar.close


def _run_settings(run_dir: str) -> dict:
    """The [train] settings of the run's config.toml ({} without one)."""
    path = os.path.join(run_dir, "config.toml")
    if not os.path.isfile(path):
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            settings = tomllib.load(handle).get("train", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: damaged, cannot be read ({exc})") from None
    return settings if isinstance(settings, dict) else {}


def _training_rows(args, checkpoint):
    """X, y of the run's training rows (the test rows held out as the run held them out)."""
    from .commands import _missing_cells, _rows, model_input

    model, pre = checkpoint.model, checkpoint.model.preprocessing
    table = _rows(args, checkpoint)
    table, _ = _missing_cells(pre, table)
    X = model_input(model, pre.transform(table.features, table.source, table.lines))
    y = pre.encode_target(table.target, table.source, table.lines)
    return X, y


def _sample(X, y, samples: int, seed: int):
    if samples >= len(X):
        return X, y
    rows = np.sort(np.random.default_rng(seed).choice(len(X), samples, replace=False))
    return X[rows], y[rows]


def _measure(label: str, quiet: bool, work):
    """Run ``work(progress)`` with a progress bar; (its result, seconds)."""
    progress, close = _bar(label, not quiet)
    started = time.perf_counter()
    try:
        return work(progress), time.perf_counter() - started
    finally:
        close()


def run(args) -> int:
    import deltaprop as dp
    from ..training.metrics import Accuracy
    from .commands import _load_model

    run_dir = args.run_dir
    model_path = os.path.join(run_dir, "model.safetensors")
    if not os.path.isdir(run_dir):
        raise InputError(f"{run_dir}: no such run folder")
    if not os.path.isfile(model_path):
        raise InputError(f"{run_dir}: no model.safetensors (is this a folder written by 'deltaprop train'?)")
    for option in ("samples", "grid", "points", "eigenvalues", "lanczos_steps", "trace_vectors"):
        if getattr(args, option) < 1:
            raise InputError(f"--{option.replace('_', '-')} must be at least 1, got {getattr(args, option)}")
    if args.grid < 2 or args.points < 2:
        raise InputError("--grid and --points must be at least 2")
    checkpoint = _load_model(model_path)
    model, pre, info = checkpoint.model, checkpoint.model.preprocessing, checkpoint.info
    args.data = args.data or info.get("data")
    if not args.data:
        raise InputError(f"{model_path}: the run's data is not recorded; give it with --data")
    args.split = "train"
    X, y = _sample(*_training_rows(args, checkpoint), args.samples, args.seed)
    loss = info.get("loss", "cross_entropy" if pre.task == "classification" else "mse")
    settings = _run_settings(run_dir)
    metric = Accuracy() if pre.task == "classification" else None
    quiet = args.quiet
    print(f"{len(X):,} training rows of {args.data}; loss {loss}")

    line, line_s = _measure("line", quiet, lambda p: dp.landscape.line(
        model, loss, X, y, metric=metric, alphas=np.linspace(-1, 1, args.points), seed=args.seed, progress=p))
    axis = np.linspace(-1, 1, args.grid)
    plane, plane_s = _measure("plane", quiet, lambda p: dp.landscape.plane(
        model, loss, X, y, alphas=axis, betas=axis, seed=args.seed, progress=p))
    hessian = dp.curvature.Hessian(model, loss, X, y, batch_size=1024)
    k = min(args.eigenvalues, args.lanczos_steps, hessian.size)

    def top(progress):
        hessian.progress = progress
        return hessian.lanczos(args.lanczos_steps, seed=args.seed).ritz_values()[::-1][:k]

    eigenvalues, eigen_s = _measure("λ_max (Lanczos)", quiet, top)

    def trace(progress):
        hessian.progress = progress
        return hessian.trace(args.trace_vectors, seed=args.seed)

    trace_estimate, trace_s = _measure("trace (Hutchinson)", quiet, trace)
    noise, noise_s, noise_note = None, 0.0, ""
    if model.needs_batch_statistics():
        noise_note = "not defined with BatchNorm (samples interact within a batch)"
    else:
        noise, noise_s = _measure("noise scale", quiet,
                                  lambda p: dp.curvature.gradient_noise_scale(model, loss, X, y))
    lr = settings.get("lr")
    optimizer = settings.get("optimizer")
    stability = float(lr) * float(eigenvalues[0]) / 2 if isinstance(lr, (int, float)) else None
    document = {
        "samples": len(X), "data": args.data, "loss": loss, "seed": args.seed,
        "eigenvalues": [float(v) for v in eigenvalues],
        "eigenvalues_method": f"Lanczos, {args.lanczos_steps} steps (largest Ritz values)",
        "trace": {"value": trace_estimate.value, "standard_error": trace_estimate.standard_error,
                  "n_vectors": trace_estimate.n_vectors},
        "noise_scale": None if noise is None else {"b_simple": noise.b_simple,
                                                   "trace_covariance": noise.trace_covariance,
                                                   "gradient_norm_sq": noise.gradient_norm_sq},
        "noise_scale_note": noise_note,
        "batch_size": settings.get("batch_size"), "lr": lr, "optimizer": optimizer, "stability": stability,
        "line": {"alphas": line.alphas.tolist(), "loss": line.loss.tolist(),
                 "accuracy": None if line.metric is None else line.metric.tolist()},
        "plane": {"alphas": plane.alphas.tolist(), "betas": plane.betas.tolist(), "loss": plane.loss.tolist()},
        "seconds": {"line": line_s, "plane": plane_s, "eigenvalues": eigen_s, "trace": trace_s, "noise_scale": noise_s},
    }
    figures = [("landscape-1d.png", dp.landscape.line_figure(line, f"{os.path.basename(os.path.abspath(run_dir))}: "
                                                                  "loss along a random direction")),
               ("landscape-2d.png", dp.landscape.plane_figure(plane, "Loss over a plane of two random directions"))]
    for name, figure in figures:
        save_figure(figure, os.path.join(run_dir, name))
    with atomic_path(os.path.join(run_dir, "curvature.json")) as temporary, \
            open(temporary, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1)
    rows = [("λ_max" if i == 0 else f"λ_{i + 1}", f"{value:.4g}") for i, value in enumerate(eigenvalues)]
    rows.append(("trace (Hutchinson)", f"{trace_estimate.value:.4g} ± {trace_estimate.standard_error:.2g}"))
    rows.append(("noise scale B_simple", f"{noise.b_simple:.4g}" if noise is not None else noise_note))
    if stability is not None:
        rows.append(("η·λ_max/2", f"{stability:.3g}" + ("" if optimizer in (None, "sgd") else
                                                         f" (indicative: {optimizer} adapts its steps)")))
    print_table(["measure", "value"], rows)
    print(f"wrote {', '.join(name for name, _ in figures)}, curvature.json in {run_dir}")
    return 0
