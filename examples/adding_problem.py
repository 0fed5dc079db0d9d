"""The adding problem (Hochreiter & Schmidhuber 1997): a long dependency that a plain RNN cannot learn.

Each sequence has T = 50 steps of two features: a value drawn from U(0, 1) and a marker, 1 at two steps and 0
elsewhere — one step among the first 5, one in the second half. The target is the sum of the two marked values.
Predicting the mean (1.0) gives an MSE of about 0.16; learning the task means carrying the first marked value
across 25 to 50 steps. A tanh RNN's δ fades on its way back through those steps and it stays at the baseline;
a GRU and an LSTM of the same width learn it.

    python examples/adding_problem.py        # the three networks, about 20 s on 2 cores
"""
from __future__ import annotations

import numpy as np

import deltaprop as dp

T = 50
LAYERS = {"RNN": dp.RNN, "GRU": dp.GRU, "LSTM": dp.LSTM}


def adding(n: int, seed: int, steps: int = T):
    """(X (n, steps, 2), y (n, 1)) of the adding problem."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(size=(n, steps))
    rows = np.arange(n)
    first, second = rng.integers(0, steps // 10, n), rng.integers(steps // 2, steps, n)
    marks = np.zeros((n, steps))
    marks[rows, first] = marks[rows, second] = 1.0
    X = np.stack([values, marks], axis=2).astype(np.float32)
    return X, (values[rows, first] + values[rows, second])[:, None].astype(np.float32)


def train(name: str, epochs: int = 30, hidden: int = 16, monitor=None):
    """(model, history, test MSE) of a ``name`` layer ("RNN", "GRU", "LSTM") and a Dense output, Adam(0.005),
    batch 50, gradient norm clipped at 1, on 3,000 training and 500 test sequences."""
    X, y = adding(3000, seed=0)
    X_test, y_test = adding(500, seed=1)
    model = dp.Sequential([LAYERS[name](2, hidden), dp.Dense(hidden, 1)], seed=0)
    history = model.fit(X, y, loss="mse", optimizer=dp.Adam(0.005), epochs=epochs, batch_size=50, clip_norm=1.0,
                        verbose=0, seed=0, monitor=monitor)
    return model, history, float(model.evaluate(X_test, y_test, loss="mse")["loss"])


def baseline() -> float:
    """The test MSE of always predicting 1.0, the mean of the target."""
    _, y_test = adding(500, seed=1)
    return float(np.mean((y_test - 1.0) ** 2))


if __name__ == "__main__":
    print(f"predicting 1.0: test MSE {baseline():.4f}")
    for name in LAYERS:
        print(f"{name:5s} test MSE {train(name)[2]:.4f}")
