"""One training point, one step, explained: the library's own numbers for each phase of backpropagation.

The step runs on a copy of the model and its optimizer, so the run itself does not change: what the page
shows is what ``train_step`` and ``inspect()`` give for that point (as ``deltaprop explain`` prints them),
then the optimizer's update of that copy.
"""
from __future__ import annotations

import copy

import numpy as np

from ..training.step import train_step


def explain_point(model, optimizer, loss, x: np.ndarray, target) -> dict:
    """Forward pass (Z, A per layer), loss, δ from the output back, ∂L/∂W, ∂L/∂b and the update ΔW, Δb of one
    point ``x`` (its input features) with ``target``; the model and optimizer passed in are not changed.

    Raises
    ------
    ValueError
        For a model with BatchNorm: one point has no batch statistics (its variance is 0).
    """
    if model.needs_batch_statistics():
        raise ValueError("one point cannot be stepped through BatchNorm (a batch of one has no variance): "
                         "turn BatchNorm off to use step mode")
    model, optimizer = copy.deepcopy((model, optimizer))
    X = model.check_input(np.asarray(x, dtype=np.float64).reshape(1, -1))
    y = np.asarray([target])
    value = train_step(model, loss, X, y, input_gradient=True)
    grad_output = loss.backward()
    traces = model.inspect()
    before = [(trace.layer, model.layers[trace.layer].W.value.copy(), _bias(model.layers[trace.layer]))
              for trace in traces]
    optimizer.step(model.parameters())
    layers = []
    for trace, (index, W_before, b_before) in zip(traces, before):
        layer = model.layers[index]
        layers.append({
            "layer": index, "A_in": trace.A_in[0].tolist(), "Z": trace.Z[0].tolist(), "A": trace.A[0].tolist(),
            "delta": trace.delta[0].tolist(), "dW": trace.dW.tolist(),
            "db": trace.db.tolist() if trace.db is not None else None,
            "W": W_before.tolist(), "W_after": layer.W.value.tolist(),
            "update_W": (layer.W.value - W_before).tolist(),
            "update_b": (_bias(layer) - b_before).tolist() if b_before is not None else None})
    loss_after = float(loss.forward(model.forward(X), y) + model.penalty())
    return {"x": X[0].tolist(), "target": target.item() if hasattr(target, "item") else target,
            "loss": float(value), "grad_output": grad_output[0].tolist(), "layers": layers,
            "loss_after": loss_after, "optimizer": repr(optimizer)}


def _bias(layer):
    return layer.b.value.copy() if getattr(layer, "use_bias", False) else None
