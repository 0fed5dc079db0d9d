"""The pictures of docs/recurrent.md, from real runs of examples/adding_problem.py (called by figures.py).

* ``rnn-adding-loss.png``: the training loss per epoch of a tanh RNN, a GRU and an LSTM (16 units each) on the
  adding problem over 50 steps, beside the loss of predicting the mean;
* ``rnn-delta-through-time.png``: ‖δₜ‖ at every step of each trained network, for a loss on the last output.

``quick=True`` (figures.py --epochs 1, the test) trains 2 epochs.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import deltaprop as dp
import runs  # beside this script

COLOURS = {"RNN": "tab:red", "GRU": "tab:blue", "LSTM": "tab:green"}


def main(out: Path, quick: bool) -> None:
    example = runs.example("adding_problem")
    baseline = example.baseline()
    trained = {name: example.train(name, epochs=2 if quick else 30) for name in example.LAYERS}
    figure, axis = plt.subplots(figsize=(7, 4))
    for name, (_, history, mse) in trained.items():
        axis.semilogy(range(1, len(history["loss"]) + 1), history["loss"], color=COLOURS[name],
                      label=f"{name}: test MSE {mse:.4f}")
        print(f"adding problem, {name}: test MSE {mse:.4f} (predicting the mean: {baseline:.4f})")
    axis.axhline(baseline, color="black", linestyle="--", linewidth=1, label=f"predicting the mean: {baseline:.3f}")
    axis.set_xlabel("epoch")
    axis.set_ylabel("training MSE (log)")
    axis.set_title(f"The adding problem over {example.T} steps, 16 units each")
    axis.legend(fontsize=8)
    runs.save(figure, out / "rnn-adding-loss.png")

    X, y = example.adding(256, seed=2)
    figure, axis = plt.subplots(figsize=(7, 4))
    for name, (model, _, _) in trained.items():
        loss = dp.MSE()
        loss.forward(model.forward(X, training=True), y)
        model.backward(loss.backward())
        norms = model.layers[0].delta_norms_through_time()
        axis.semilogy(range(len(norms)), np.maximum(norms, 1e-30), color=COLOURS[name], label=name)
        print(f"‖δ‖ through time, {name}: step 0 / step {len(norms) - 1} = {norms[0] / norms[-1]:.2e}")
    axis.set_xlabel("time step t (the loss reads the state after the last step)")
    axis.set_ylabel("‖δₜ‖ = ‖∂L/∂hₜ‖ (log)")
    axis.set_title("How much of the error reaches each step, after training")
    axis.legend(fontsize=8)
    runs.save(figure, out / "rnn-delta-through-time.png")
