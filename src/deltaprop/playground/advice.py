"""`diagnose`'s findings for the page, each with the one-click changes its advice names.

An action is a label and the settings it changes; applying it starts a new run with those settings.
"""
from __future__ import annotations

import math

from ..diagnostics import diagnose
from .frames import weight_layers

SQUASHING = ("sigmoid", "tanh")


def actions(kind: str, settings) -> list:
    """The changes that follow the advice of a finding of ``kind`` and are not already made."""
    options = []
    relu_he = {"label": "Switch to ReLU + He", "change": {"activation": "relu", "init": "he_normal"}}
    batchnorm = {"label": "Add BatchNorm", "change": {"batchnorm": True}}
    lower_lr = {"label": f"Lower the learning rate to {settings.lr / 10:g}", "change": {"lr": settings.lr / 10}}
    if kind == "vanishing":
        options += [batchnorm] if not settings.batchnorm else []
        options += [relu_he] if settings.activation in SQUASHING else []
    elif kind == "exploding":
        options += [lower_lr] + ([batchnorm] if not settings.batchnorm else [])
    elif kind == "dead_units":
        options += [{"label": "Switch to LeakyReLU", "change": {"activation": "leaky_relu"}}, lower_lr]
    elif kind == "saturation":
        options += [relu_he]
        if settings.init not in ("auto", "glorot_uniform", "glorot_normal"):
            options.append({"label": "Use Glorot init", "change": {"init": "glorot_uniform"}})
    elif kind == "nonfinite":
        options.append(lower_lr)
    return options


#: what a finding's value measures, as the page words it
MEASURES = {"vanishing": "RMS δ relative to the output layer's", "exploding": "RMS δ relative to the output layer's",
            "dead_units": "share of dead units", "saturation": "share of saturated units"}


def findings(model, X, y, loss, settings) -> list:
    """``diagnose`` on the training rows (2 batches of up to 256 rows; nothing in the model changes), one entry per
    kind of finding: ``{"kind", "layers", "where", "value", "measure", "advice", "actions"}`` — ``value`` is the
    worst layer's (the smallest ratio for vanishing, the largest value otherwise)."""
    if model.needs_batch_statistics() and len(X) < 2:
        return []
    grouped = {}
    for finding in diagnose(model, X, y, loss, n_batches=2, batch_size=min(256, len(X)), seed=0):
        grouped.setdefault(finding.kind, []).append(finding)
    shown = []
    for kind, group in grouped.items():
        values = [finding.value for finding in group if math.isfinite(finding.value)]
        worst = (min(values) if kind == "vanishing" else max(values)) if values else None
        shown.append({"kind": kind, "layers": [finding.layer for finding in group],
                      "where": ", ".join(dict.fromkeys(_page_name(model, finding.layer) for finding in group)),
                      "value": worst,
                      "measure": MEASURES.get(kind, ""), "advice": group[0].advice,
                      "actions": actions(kind, settings)})
    return shown


def _page_name(model, index: int) -> str:
    """What the page calls the layer at ``model.layers[index]``: "hidden k" for the k-th hidden Dense and the layers
    after it (its BatchNorm, activation, dropout), "output" for the last Dense."""
    weights = weight_layers(model)
    position = sum(i <= index for i in weights)
    return "output" if position >= len(weights) else f"hidden {max(position, 1)}"


def non_finite(message: str, settings) -> dict:
    """The finding of a run that TerminateOnNaN stopped (its weights are back at the last finite ones)."""
    return {"kind": "nonfinite", "layers": [], "where": "training", "value": None, "measure": "",
            "advice": "training diverged: " + message.removeprefix("TerminateOnNaN: ") +
                      ". Lower the learning rate, or clip gradients",
            "actions": actions("nonfinite", settings)}
