"""What the page draws after an epoch, measured on the real model: the pictures of the output and of every
hidden unit over the grid, the weights, and which units are dead or saturated.

Pictures travel as bytes (one per grid cell, base64): 0–255 stands for the value's range, given beside it.
"""
from __future__ import annotations

import base64

import numpy as np

from ..layers.activations import Softmax
from ..training.measures import dead_units, saturated_share

GRID = 50               # the output's picture has GRID × GRID cells
UNIT_BUDGET = 64 * 1024 # cells of all hidden units' pictures together, per frame
#: a unit is dead when z ≤ 0 on every training row, saturated when f'(z) < 1e-3 on more than half of them
SATURATED_SHARE = 0.5


def _bytes(values: np.ndarray, low: float, high: float) -> str:
    """base64 of round(255·(v − low)/(high − low)), clipped to 0–255."""
    scaled = np.clip((values - low) / (high - low if high > low else 1.0), 0.0, 1.0) * 255
    return base64.b64encode(np.rint(scaled).astype(np.uint8).tobytes()).decode("ascii")


def weight_layers(model) -> list:
    """Indices of the Dense layers in ``model.layers``, in order (the last is the output layer)."""
    return [index for index, layer in enumerate(model.layers) if layer.kind == "weights"]


def output_picture(task: str, logits: np.ndarray, value_range: tuple) -> dict:
    """Classification: P(class 1) for two classes; otherwise the most probable class and its probability.
    Regression: the predicted value within ``value_range``."""
    if task == "regression":
        low, high = value_range
        return {"kind": "value", "low": low, "high": high, "values": _bytes(logits[:, 0], low, high)}
    probabilities = Softmax().forward(logits)
    if probabilities.shape[1] == 2:
        return {"kind": "probability", "values": _bytes(probabilities[:, 1], 0.0, 1.0)}
    return {"kind": "classes", "classes": _bytes(probabilities.argmax(axis=1), 0, 255),
            "values": _bytes(probabilities.max(axis=1), 0.0, 1.0)}


def unit_stride(n_units: int) -> int:
    """A hidden unit's picture takes every ``stride``-th cell of the grid: 2 (25 × 25 cells) while all the units'
    pictures fit in UNIT_BUDGET cells, else 5 (10 × 10) or 10 (5 × 5)."""
    return next((stride for stride in (2, 5) if n_units * (GRID // stride) ** 2 <= UNIT_BUDGET), 10)


def column_pictures(values: np.ndarray, stride: int) -> list:
    """Each column of ``values`` (one row per cell of the grid) over every ``stride``-th cell, scaled to [−m, m]
    with m its largest |value|: ``[{"scale": m, "values": base64}, …]``."""
    pictures = []
    for column in values.T:
        column = column.reshape(GRID, GRID)[::stride, ::stride].ravel()
        scale = float(np.abs(column).max())
        scale = scale if np.isfinite(scale) and scale > 0 else 1.0
        pictures.append({"scale": scale, "values": _bytes(column, -scale, scale)})
    return pictures


def unit_pictures(model, stride: int) -> list:
    """For each hidden Dense layer, the pictures (`column_pictures`) of its units' activations A over the grid, from
    the last forward pass."""
    return [column_pictures(trace.A, stride) for trace in model.inspect()[:-1]]


def unit_states(model, X_train: np.ndarray) -> list:
    """Per hidden layer, per unit: "dead" (ReLU family: z ≤ 0 on every training row), "saturated" (sigmoid or tanh:
    f'(z) < 1e-3 on more than half of the rows) or "" — measured in inference mode on the training rows."""
    model.forward(X_train)
    dense = weight_layers(model)
    states = []
    for position, index in enumerate(dense[:-1]):
        following = model.layers[index + 1:dense[position + 1]]
        activation = next((layer for layer in following if layer.family in ("relu", "squashing")), None)
        if activation is None:
            states.append([""] * model.layers[index].n_out)
        elif activation.family == "relu":
            states.append(["dead" if dead else "" for dead in dead_units(activation.input)])
        else:
            states.append(["saturated" if share > SATURATED_SHARE else ""
                           for share in saturated_share(activation.derivative())])
    return states


def _rounded(values: np.ndarray) -> list:
    """Three significant digits (what an edge's colour and width can show), 0 for non-finite values."""
    values = np.nan_to_num(values, posinf=0.0, neginf=0.0)
    return [float(f"{value:.3g}") for value in values.ravel()] if values.ndim == 1 else \
        [_rounded(row) for row in values]


def weights(model) -> list:
    """Every Dense layer's W (n_in × n_out) and b as lists, for the edges and the unit biases."""
    shown = []
    for index in weight_layers(model):
        layer = model.layers[index]
        bias = layer.b.value.tolist() if getattr(layer, "use_bias", False) else [0.0] * layer.n_out
        shown.append({"W": _rounded(layer.W.value), "b": _rounded(np.asarray(bias))})
    return shown


def picture_frame(model, task: str, grid_inputs: np.ndarray, X_train: np.ndarray, value_range: tuple,
                  stride: int = 2) -> dict:
    """The pictures, weights and unit states of the model as it is now (inference mode, nothing changes)."""
    logits = model.forward(grid_inputs)
    frame = {"output": output_picture(task, logits, value_range), "units": unit_pictures(model, stride),
             "weights": weights(model), "states": unit_states(model, X_train)}
    return frame
