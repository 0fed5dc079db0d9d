"""``report.html``: a run's curves, sharpness, loss landscape and curvature, gradient-norm heatmap, activation
histograms and findings, in one file.

Every image is a PNG embedded as base64, so the report reads offline and can be mailed as is.
Inputs, all in the run folder: ``history.csv`` (required), ``diagnostics.csv`` and
``activations.npz`` (written by ``train --diagnose``), ``findings.json`` (before/after findings),
``landscape-1d.png``, ``landscape-2d.png`` and ``curvature.json`` (written by ``deltaprop landscape``).
"""
from __future__ import annotations

import base64
import contextlib
import csv
import html
import io
import json
import os
import sys
import zipfile

import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .._files import atomic_path
from ..errors import InputError, malformed_reason
from ..plots import history_figure, sharpness_figure


@contextlib.contextmanager
def _damaged(path: str):
    """A file of the run folder that cannot be read as it should: one InputError naming it, not a traceback."""
    try:
        yield
    except InputError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError, EOFError,
            zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: damaged, cannot be read for the report ({malformed_reason(exc)[:160]})") from None


def _check_findings(saved) -> tuple[dict, dict]:
    """(findings by "before"/"after", layer names by index) of a findings.json, its structure checked."""
    if not isinstance(saved, dict):
        raise ValueError("not a JSON object")
    findings, names = saved.get("findings", {}), saved.get("layer_names", {})
    if not isinstance(findings, dict) or not isinstance(names, dict) or \
            not all(isinstance(v, list) and all(isinstance(f, dict) for f in v) for v in findings.values()):
        raise ValueError("findings must map 'before'/'after' to lists of findings")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in names.items()):
        raise ValueError("layer_names must map layer indices to names")
    return findings, names


def _read_columns(path: str) -> dict:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return {}
    columns = {key: [] for key in rows[0]}
    for row in rows:
        for key, value in row.items():
            try:
                columns[key].append(float(value) if value not in ("", None) else None)
            except ValueError:
                columns[key].append(None)
    return columns


def _png(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _layer_label(key: str, names: dict) -> str:
    """``layer 3 (Dense)``: the layer's label, whether the names are keyed by index (a monitor's records) or by its
    text (a findings.json)."""
    return names.get(key) or names.get(int(key)) or f"layer {key}"


def gradient_heatmap(diagnostics: dict, names: dict):
    """Layers with parameters (rows, input at the top) × recorded steps (columns), colour = log10 ‖∂L/∂W‖."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = sorted({key.split(".")[0] for key in diagnostics if key.endswith(".grad_norm")}, key=int)
    steps = diagnostics["step"]
    values = np.array([[v if v else np.nan for v in diagnostics[f"{layer}.grad_norm"]] for layer in layers])
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(values)
    figure, axis = plt.subplots(figsize=(10, 0.45 * len(layers) + 1.8))
    image = axis.imshow(logs, aspect="auto", cmap="viridis", interpolation="nearest",
                        extent=(steps[0] - 0.5, steps[-1] + 0.5, len(layers) - 0.5, -0.5))
    axis.set_yticks(range(len(layers)), [_layer_label(layer, names) for layer in layers])
    axis.set_xlabel("training step")
    axis.set_title("Gradient norm ‖∂L/∂W‖ per layer with weights (log10)")
    figure.colorbar(image, ax=axis, label="log10 ‖∂L/∂W‖")
    figure.tight_layout()
    return figure


def activation_histograms(samples: dict, names: dict):
    """One panel per activation layer: its outputs at the start (blue) and end (orange) of training."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers = sorted({int(key.split("_")[1]) for key in samples})
    columns = min(3, len(layers))
    rows = -(-len(layers) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), squeeze=False)
    for axis in axes.ravel()[len(layers):]:
        axis.axis("off")
    for axis, layer in zip(axes.ravel(), layers):
        start, end = samples.get(f"start_{layer}"), samples.get(f"end_{layer}")
        both = np.concatenate([a for a in (start, end) if a is not None])
        bins = np.linspace(float(both.min()), float(both.max()) + 1e-12, 40)
        if start is not None:
            axis.hist(start, bins=bins, alpha=0.6, color="tab:blue", label="start")
        if end is not None:
            axis.hist(end, bins=bins, alpha=0.6, color="tab:orange", label="end")
        axis.set_title(_layer_label(str(layer), names), fontsize=10)
        axis.set_xlabel("activation value")
        axis.set_ylabel("count")
        axis.legend(fontsize=8)
    figure.suptitle("Activations per layer, start and end of training")
    figure.tight_layout()
    return figure


def _findings_html(title: str, findings: list) -> str:
    if not findings:
        return f"<h3>{html.escape(title)}</h3><p class='ok'>No finding: gradients flow, no dead or saturated layer.</p>"
    rows = "".join(
        f"<tr><td class='kind {html.escape(f['kind'])}'>{html.escape(f['kind'])}</td>"
        f"<td>{html.escape(f['layer_name'])}</td><td>{f['value']:.3g}</td><td>{html.escape(f['advice'])}</td></tr>"
        for f in findings)
    return (f"<h3>{html.escape(title)}</h3><table><tr><th>finding</th><th>layer</th><th>value</th>"
            f"<th>what to do</th></tr>{rows}</table>")


STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.1em; } .sub { color: #666; margin-top: 0; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
img { max-width: 100%; border: 1px solid #eee; }
table { border-collapse: collapse; width: 100%; margin: 0.6em 0; font-size: 0.95em; }
th, td { border: 1px solid #ddd; padding: 0.35em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } .ok { color: #1a7f37; }
.kind { font-weight: 600; } .vanishing, .dead_units, .saturation { color: #9a6700; }
.exploding, .nonfinite, .beyond_stability { color: #cf222e; }
.edge_of_stability, .small_batch, .large_batch, .sharp_minimum, .vanishing_through_time { color: #9a6700; }
.exploding_through_time { color: #cf222e; }
.note { color: #666; font-size: 0.9em; }
"""


def write_report(run_dir: str, name: str | None = None) -> str:
    """Write ``run_dir/report.html`` from the run's files; returns its path.

    ``name`` is the run's name in the title (default: the folder's own name).
    """
    history_path = os.path.join(run_dir, "history.csv")
    if not os.path.isdir(run_dir):
        raise InputError(f"{run_dir}: no such run folder")
    if not os.path.isfile(history_path):
        raise InputError(f"{run_dir}: no history.csv (is this a folder written by 'deltaprop train'?)")
    with _damaged(history_path):
        history = _read_columns(history_path)
        if not history.get("loss") or None in history["loss"]:
            raise InputError(f"{history_path}: no epochs recorded")
    config = {}
    config_path = os.path.join(run_dir, "config.toml")
    if os.path.isfile(config_path):   # the run's settings, shown as they were saved
        with _damaged(config_path), open(config_path, "rb") as handle:
            config = tomllib.load(handle).get("train", {})
            if not isinstance(config, dict):
                raise ValueError("[train] is not a table of settings")
    names = {}
    findings = {}
    findings_path = os.path.join(run_dir, "findings.json")
    if os.path.isfile(findings_path):
        with _damaged(findings_path), open(findings_path, encoding="utf-8") as handle:
            saved = json.load(handle)
            findings, names = _check_findings(saved)

    sections = []
    with _damaged(findings_path):
        sections += _findings_sections(findings)
    sections += ["<h2>Loss and metric</h2>", f"<img alt='training curves' src='data:image/png;base64,"
                 f"{_png(history_figure(history))}'>"]
    if any(value is not None for value in history.get("sharpness", [])):
        sections += ["<h2>Sharpness</h2>",
                     "<p>λ_max, the largest eigenvalue of the loss's Hessian, measured during training. Gradient "
                     "descent with learning rate η is unstable along a direction of curvature above 2/η: where "
                     "λ_max meets 2/η and stays, training runs at the edge of stability.</p>",
                     f"<img alt='sharpness' src='data:image/png;base64,{_png(sharpness_figure(history))}'>"]
    sections += _landscape_sections(run_dir)
    diagnostics_path = os.path.join(run_dir, "diagnostics.csv")
    if os.path.isfile(diagnostics_path):
        with _damaged(diagnostics_path):
            diagnostics = _read_columns(diagnostics_path)
            heatmap = _png(gradient_heatmap(diagnostics, names))
        sections += ["<h2>Gradient flow</h2>",
                     "<p>Each row is a layer with weights (input at the top), each column a recorded training step. "
                     "A colour band much darker at the top than at the bottom is a vanishing gradient; much "
                     "brighter, an exploding one.</p>",
                     f"<img alt='gradient norm heatmap' src='data:image/png;base64,{heatmap}'>"]
    else:
        sections.append("<p class='note'>No gradient diagnostics in this run: train with --diagnose to record "
                        "them.</p>")
    activations_path = os.path.join(run_dir, "activations.npz")
    if os.path.isfile(activations_path):
        with _damaged(activations_path):
            with np.load(activations_path, allow_pickle=False) as archive:
                samples = {key: archive[key] for key in archive.files}
            histograms = _png(activation_histograms(samples, names)) if samples else None
        if histograms:
            sections += ["<h2>Activations</h2>",
                         "<p>A spike at 0 for a ReLU layer means dead units; mass piled at 0 and 1 (sigmoid) or "
                         "±1 (tanh) means saturation.</p>",
                         f"<img alt='activation histograms' src='data:image/png;base64,{histograms}'>"]
    return _write(run_dir, name, history, config, sections)


def _embedded_png(path: str) -> str:
    with open(path, "rb") as handle:
        data = handle.read()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("not a PNG image")
    return base64.b64encode(data).decode("ascii")


def _curvature_rows(measures: dict) -> list:
    """(measure, value) rows of a curvature.json written by ``deltaprop landscape``, its structure checked."""
    eigenvalues, trace = measures["eigenvalues"], measures["trace"]
    if not isinstance(eigenvalues, list) or not all(isinstance(v, (int, float)) for v in eigenvalues):
        raise ValueError("eigenvalues must be a list of numbers")
    rows = [("λ_max" if i == 0 else f"λ_{i + 1}", f"{float(v):.4g}") for i, v in enumerate(eigenvalues)]
    rows.append(("trace (Hutchinson)", f"{float(trace['value']):.4g} ± {float(trace['standard_error']):.2g}"))
    noise = measures.get("noise_scale")
    rows.append(("noise scale B_simple", f"{float(noise['b_simple']):.4g}" if noise else
                 str(measures.get("noise_scale_note", ""))))
    if measures.get("stability") is not None:
        rows.append(("η·λ_max/2", f"{float(measures['stability']):.3g}"))
    rows.append(("measured on", f"{int(measures['samples']):,} training rows"))
    return rows


def _landscape_sections(run_dir: str) -> list:
    """The pictures and measures of ``deltaprop landscape`` where the run folder has them."""
    sections = []
    curvature_path = os.path.join(run_dir, "curvature.json")
    if os.path.isfile(curvature_path):
        with _damaged(curvature_path), open(curvature_path, encoding="utf-8") as handle:
            rows = _curvature_rows(json.load(handle))
        table = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
        sections += ["<h2>Curvature</h2>", "<p>The Hessian of the training loss at the trained weights: its top "
                     "eigenvalues (the sharpness of the minimum), its trace, and the gradient noise scale — the batch "
                     "size beyond which a larger batch hardly improves the gradient.</p>", f"<table>{table}</table>"]
    pictures = [(name, alt) for name, alt in (("landscape-1d.png", "loss along a random direction"),
                                              ("landscape-2d.png", "loss over a plane"))
                if os.path.isfile(os.path.join(run_dir, name))]
    if pictures:
        sections += ["<h2>Loss landscape</h2>", "<p>The loss around the trained weights along filter-normalised "
                     "random directions (α = 0: the model): a wide basin is a flat minimum, a narrow one a sharp "
                     "minimum.</p>"]
        for name, alt in pictures:
            path = os.path.join(run_dir, name)
            with _damaged(path):
                sections.append(f"<img alt='{alt}' src='data:image/png;base64,{_embedded_png(path)}'>")
    return sections


def _findings_sections(findings: dict) -> list:
    sections = []
    if findings:  # what to do comes first
        sections.append("<h2>Findings</h2><p class='note'>value: for vanishing and exploding, the layer's δ "
                        "(RMS of ∂L/∂Z) relative to the output layer's; for dead units and saturation, the "
                        "fraction of the layer's units.</p>")
        for when in ("before", "after"):
            if when in findings:
                sections.append(_findings_html(f"{when.capitalize()} training", findings[when]))
    return sections


def _write(run_dir: str, name, history: dict, config: dict, sections: list) -> str:
    settings = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
                       for k, v in config.items())
    if settings:
        sections += ["<h2>Settings</h2>", f"<table>{settings}</table>"]
    title = f"deltaprop run: {html.escape(os.path.basename(os.path.abspath(name or run_dir)))}"
    epochs = len(history["loss"])
    document = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
                f"<style>{STYLE}</style></head><body><h1>{title}</h1>"
                f"<p class='sub'>{epochs} epochs; final training loss {history['loss'][-1]:.4g}</p>"
                + "".join(sections) + "</body></html>")
    path = os.path.join(run_dir, "report.html")
    with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8") as handle:
        handle.write(document)
    return path
