"""The pictures of docs/landscape.md, from real runs (called by figures.py; nothing in them is hand-made).

* ``edge-of-stability.png``: examples/edge_of_stability.py — full-batch gradient descent on 5,000 MNIST-1D
  samples, a tanh MLP (200, 200), MSE; λ_max every 50 steps beside 2/η, for two learning rates;
* ``landscape-1d.png``, ``landscape-2d.png``: the Quickstart network (64 → 128 → 64 → 10, ReLU) trained on the
  digits with Adam, the loss along one and over two filter-normalised random directions;
* ``barrier.png``: two ``fit_best_of`` starts of a small tanh MLP on the digits, the loss along the straight
  line between them and along a trained Bézier curve;
* ``spectrum.png``: the Hessian's spectral density of the Quickstart network, by stochastic Lanczos quadrature.

``quick=True`` (figures.py --epochs 1, the test) runs every computation at a small size.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import deltaprop as dp
import runs  # beside this script



def edge_of_stability(out: Path, quick: bool) -> None:
    example = runs.example("edge_of_stability")
    data = example.mnist1d_5000()
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    for limit, colour in zip(example.LIMITS, ("tab:blue", "tab:red")):
        history = example.train(2 / limit, epochs=200 if quick else 2500, data=data)
        steps, _, sharpness = example.measured(history)
        top.plot(steps, sharpness, "o-", color=colour, markersize=3, label=f"λ_max, η = 2/{limit}")
        top.axhline(limit, color=colour, linestyle="--", linewidth=1)
        bottom.plot(range(1, len(history["loss"]) + 1), history["loss"], color=colour, linewidth=1,
                    label=f"η = 2/{limit}")
        print(f"edge of stability, 2/η = {limit}: λ_max {sharpness.min():.2f} → {sharpness[-1]:.2f}, "
              f"η·λ_max/2 over the last 10 measures {np.min(sharpness[-10:]) / limit:.3f}–"
              f"{np.max(sharpness[-10:]) / limit:.3f}")
    top.set_ylabel("λ_max (dashed: 2/η)")
    top.set_title("Full-batch GD, 5,000 MNIST-1D samples, tanh MLP 200-200, MSE")
    top.legend(fontsize=8)
    bottom.set_yscale("log")
    bottom.set_xlabel("step")
    bottom.set_ylabel("training loss (log)")
    bottom.legend(fontsize=8)
    runs.save(figure, out / "edge-of-stability.png")


def quickstart_network(X, y, quick: bool) -> dp.Sequential:
    model = dp.mlp([64, 128, 64, 10], seed=0)
    model.fit(X, y, loss="cross_entropy", optimizer=dp.Adam(1e-3), epochs=2 if quick else 30, batch_size=32,
              verbose=0, seed=0)
    return model


def landscapes(out: Path, X, y, quick: bool) -> None:
    model = quickstart_network(X, y, quick)
    accuracy = dp.training.Accuracy()
    line = dp.landscape.line(model, "cross_entropy", X, y, metric=accuracy,
                             alphas=np.linspace(-1, 1, 11 if quick else 41))
    dp.landscape.plot_line(line, out / "landscape-1d.png", "Quickstart MLP on the digits: a random direction")
    size = 5 if quick else 21
    plane = dp.landscape.plane(model, "cross_entropy", X, y, alphas=np.linspace(-1, 1, size),
                               betas=np.linspace(-1, 1, size))
    dp.landscape.plot_plane(plane, out / "landscape-2d.png", "Quickstart MLP on the digits")
    print(f"landscape: loss {line.loss[len(line.loss) // 2]:.4f} at the model, {line.loss[0]:.3f} and "
          f"{line.loss[-1]:.3f} at α = ±1")
    density = dp.curvature.density(model, "cross_entropy", X, y, n_vectors=2 if quick else 8,
                                   steps=10 if quick else 60, seed=0)
    top = dp.curvature.eigenvalues(model, "cross_entropy", X, y, k=3) if not quick else density.nodes[-3:]
    grid = np.linspace(density.nodes.min() - 0.1, density.nodes.max() + 0.1, 2000)
    figure, axis = plt.subplots(figsize=(7, 3.6))
    axis.semilogy(grid, np.maximum(density.smooth(grid, width=0.01), 1e-8), color="tab:purple")
    for value in top:
        axis.axvline(value, color="grey", linestyle=":", linewidth=1)
    axis.set_ylim(1e-6, None)
    axis.set_xlabel("eigenvalue of the Hessian (dotted: the top 3 by Lanczos)")
    axis.set_ylabel("density (log)")
    axis.set_title("Hessian spectrum of the Quickstart MLP on the digits (SLQ)")
    runs.save(figure, out / "spectrum.png")
    print(f"spectrum: top eigenvalues {', '.join(f'{v:.3f}' for v in top)}; nodes from {density.nodes.min():.3f}; "
          f"weight below 0: {density.weights[density.nodes < 0].sum():.3f}; weights sum to {density.weights.sum():.6f}")


def barrier(out: Path, X, y, quick: bool) -> None:
    result = dp.fit_best_of(lambda seed: dp.mlp([64, 32, 10], activation="tanh", seed=seed), X, y, n_starts=2,
                            compare=2, loss="cross_entropy", optimizer=dp.Adam(1e-2), epochs=2 if quick else 20,
                            batch_size=32, verbose=0, monitor="loss")
    a, b = result.models
    line = dp.landscape.barrier(a, b, "cross_entropy", X, y, n_points=11 if quick else 41)
    curve = dp.landscape.bezier(a, b, "cross_entropy", X, y, epochs=2 if quick else 20, n_points=11 if quick else 41)
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.plot(line.path.alphas, line.path.loss, "-", color="tab:red", linewidth=2,
              label=f"straight line: barrier {line.height:.3g}")
    axis.plot(curve.path.alphas, curve.path.loss, "-", color="tab:green", linewidth=2,
              label=f"trained Bézier curve: barrier {curve.height:.3g}")
    axis.set_xlabel("position on the path (0 and 1: the two starts' trained models)")
    axis.set_ylabel("training loss")
    axis.set_title("Two fit_best_of starts, tanh MLP 64-32-10 on the digits")
    axis.legend()
    runs.save(figure, out / "barrier.png")
    print(f"barrier between two starts: straight line {line.height:.4f}, Bézier curve {curve.height:.4f}")


def main(out: Path, X, y, quick: bool) -> None:
    edge_of_stability(out, quick)
    landscapes(out, X, y, quick)
    barrier(out, X, y, quick)
