"""Regenerate the pictures of docs/gradients.md, docs/landscape.md and docs/recurrent.md from real training runs
(nothing in them is hand-made; landscape_figures.py and rnn_figures.py draw those of the last two pages).

Four networks of ten hidden layers of 64 units on scikit-learn's digits (80/20 split, standardized),
SGD(lr=0.1), batch 32, seed 0 — the deep-sigmoid story and its three remedies:

* ``sigmoid``: Dense → Sigmoid, Glorot init — δ shrinks by up to ¼ per layer on its way back;
* ``relu_he``: Dense → ReLU, He init;
* ``sigmoid_batchnorm``: Dense → BatchNorm → Sigmoid;
* ``sigmoid_residual``: Dense → Sigmoid, then blocks ``x + σ(x·W + b)``.

    python docs/scripts/figures.py                 # writes docs/img/*.png
    python docs/scripts/figures.py --out /tmp/img --epochs 2
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import deltaprop as dp  # noqa: E402
from deltaprop.diagnostics.report import gradient_heatmap  # noqa: E402
import landscape_figures  # noqa: E402  (beside this script)
import rnn_figures  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

DEPTH, WIDTH = 10, 64
LABELS = {"sigmoid": "sigmoid, Glorot", "relu_he": "ReLU, He", "sigmoid_batchnorm": "sigmoid + BatchNorm",
          "sigmoid_residual": "sigmoid, residual blocks"}


def network(name: str) -> dp.Sequential:
    if name == "sigmoid":
        return dp.mlp([64] + [WIDTH] * DEPTH + [10], activation="sigmoid", seed=0)
    if name == "relu_he":
        return dp.mlp([64] + [WIDTH] * DEPTH + [10], activation="relu", seed=0)
    if name == "sigmoid_batchnorm":
        return dp.mlp([64] + [WIDTH] * DEPTH + [10], activation="sigmoid", normalization="batchnorm", seed=0)
    blocks = [dp.Residual([dp.Dense(WIDTH, WIDTH), dp.Sigmoid()]) for _ in range(DEPTH - 1)]
    return dp.Sequential([dp.Dense(64, WIDTH), dp.Sigmoid(), *blocks, dp.Dense(WIDTH, 10)], seed=0)


def data():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0) + 1e-8
    return (X_train - mean) / std, (X_test - mean) / std, y_train, y_test


def delta_per_layer(model: dp.Sequential, X, y) -> list:
    """RMS of δ = ∂L/∂Z at every weight layer (inside residual blocks too), input side first, one pass."""
    loss = dp.CrossEntropy()
    loss.forward(model.forward(X, training=True), y)
    model.backward(loss.backward())
    weighted = []
    for layer in model.layers:
        inner = getattr(layer, "layers", [layer])
        weighted += [sub for sub in inner if sub.kind == "weights"]
    return [float(np.sqrt(np.mean(layer.grad_output ** 2))) for layer in weighted]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "img"))
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    X_train, X_test, y_train, y_test = data()

    figure, axis = plt.subplots(figsize=(7, 4))
    for name, label in LABELS.items():
        rms = delta_per_layer(network(name), X_train[:256], y_train[:256])
        axis.semilogy(range(1, len(rms) + 1), rms, marker="o", label=label)
    axis.set_xlabel("weight layer (1 = next to the input)")
    axis.set_ylabel("RMS of δ = ∂L/∂Z (log scale)")
    axis.set_title("δ per layer at initialization, one batch of 256 digits")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out / "delta-per-layer.png", dpi=100)
    plt.close(figure)

    accuracy = {}
    for name, label in LABELS.items():
        model = network(name)
        history = model.fit(X_train, y_train, loss=dp.CrossEntropy(), optimizer=dp.SGD(lr=0.1),
                            epochs=args.epochs, batch_size=32, validation_data=(X_test, y_test),
                            metrics=["accuracy"], monitor=True, seed=0, verbose=0)
        accuracy[name] = history["val_accuracy"]
        if name in ("sigmoid", "sigmoid_batchnorm"):
            heatmap = gradient_heatmap(history.diagnostics, history.diagnostics.layer_names)
            heatmap.axes[0].set_title(f"‖∂L/∂W‖ per layer over training (log10): {label}")
            heatmap.savefig(out / f"gradient-heatmap-{name.replace('_', '-')}.png", dpi=80)
            plt.close(heatmap)

    figure, axis = plt.subplots(figsize=(7, 4))
    for name, label in LABELS.items():
        axis.plot(range(1, len(accuracy[name]) + 1), accuracy[name], marker=".", label=label)
    axis.set_xlabel("epoch")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))    # epochs are whole
    axis.set_ylabel("test accuracy")
    axis.set_ylim(0, 1)
    axis.set_title(f"{DEPTH} hidden layers of {WIDTH}, SGD(lr=0.1), digits")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out / "accuracy-remedies.png", dpi=100)
    plt.close(figure)
    for name, values in accuracy.items():
        print(f"{name:18s} final test accuracy {values[-1]:.3f}")
    landscape_figures.main(out, X_train, y_train, quick=args.epochs < 5)
    rnn_figures.main(out, quick=args.epochs < 5)


if __name__ == "__main__":
    main()
