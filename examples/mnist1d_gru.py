"""MNIST-1D with a bidirectional GRU of 6 units, as in the MNIST-1D paper (Greydanus 2020: 91%).

The 40-step signal is read one value per step; the GRU's outputs at all 40 steps, both directions, are
flattened into a Dense layer of 10 (the paper's model). Adam(0.01), batch 100, 60 epochs on the package's 4,000
training signals, accuracy on its 1,000 test signals.

    python examples/mnist1d_gru.py          # three seeds, about 20 s each on 2 cores
"""
from __future__ import annotations

import numpy as np

import deltaprop as dp


def data():
    """(X_train, y_train, X_test, y_test): the package's split, standardised by the training signals' mean and
    standard deviation, shaped (N, 40 steps, 1 feature)."""
    from deltaprop import datasets

    table = datasets.load("mnist1d")
    X = np.asarray(table.features, dtype=np.float32)
    y = np.asarray(table.target).astype(np.int64)
    mean, std = X[:4000].mean(), X[:4000].std()
    X = ((X - mean) / std)[:, :, None]
    return X[:4000], y[:4000], X[4000:], y[4000:]


def train(seed: int, epochs: int = 60, split=None) -> float:
    """The test accuracy after training from ``seed``."""
    X_train, y_train, X_test, y_test = data() if split is None else split
    model = dp.Sequential([dp.GRU(1, 6, bidirectional=True, return_sequences=True), dp.Flatten(),
                           dp.Dense(2 * 6 * 40, 10)], seed=seed)
    model.fit(X_train, y_train, loss="cross_entropy", optimizer=dp.Adam(0.01), epochs=epochs, batch_size=100,
              verbose=0, seed=seed)
    return float(model.evaluate(X_test, y_test, loss="cross_entropy", metrics=["accuracy"])["accuracy"])


if __name__ == "__main__":
    split = data()
    accuracies = [train(seed, split=split) for seed in range(3)]
    print("test accuracy per seed:", ", ".join(f"{a:.3f}" for a in accuracies), f"(median {np.median(accuracies):.3f})")
