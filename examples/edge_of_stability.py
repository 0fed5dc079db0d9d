"""The edge of stability (Cohen et al. 2021), reproduced on MNIST-1D.

Full-batch gradient descent (plain SGD on all 5,000 samples: one step per epoch) with an MSE loss on one-hot
targets trains a tanh MLP with two hidden layers of 200 units. Every 50 steps the ``Sharpness`` callback
measures λ_max, the Hessian's largest eigenvalue. It first falls a little, then rises ("progressive
sharpening") until it reaches 2/η — beyond which gradient descent would be unstable along the sharpest
direction — and from then on hovers around 2/η while the loss keeps falling, with small rises.

    python examples/edge_of_stability.py            # two learning rates, a table each (about 2 minutes)
"""
from __future__ import annotations

import numpy as np

import deltaprop as dp

#: the two learning rates of the test and the docs: their stability limits 2/η are 6.2 and 6.6
LIMITS = (6.2, 6.6)


def mnist1d_5000():
    """The first 5,000 MNIST-1D samples, each feature standardised, and their one-hot targets."""
    from deltaprop import datasets

    table = datasets.load("mnist1d")
    X = np.asarray(table.features, dtype=np.float64)[:5000]
    labels = np.asarray(table.target)[:5000].astype(int)
    return (X - X.mean(axis=0)) / X.std(axis=0), np.eye(10)[labels]


def train(lr: float, epochs: int = 1500, every: int = 50, steps: int = 10, data=None) -> dp.History:
    """Full-batch gradient descent at learning rate ``lr``; the History holds the loss per step and, every
    ``every`` steps, ``sharpness`` (λ_max by ``steps`` Lanczos steps) and ``stability`` (η·λ_max/2)."""
    X, Y = mnist1d_5000() if data is None else data
    model = dp.Sequential([dp.Dense(40, 200), dp.Tanh(), dp.Dense(200, 200), dp.Tanh(), dp.Dense(200, 10)],
                          seed=0)
    return model.fit(X, Y, loss="mse", optimizer=dp.SGD(lr), epochs=epochs, batch_size=len(X), shuffle=False,
                     verbose=0, callbacks=[dp.Sharpness(every=every, samples=None, steps=steps)])


def measured(history) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(step, loss, λ_max) at the epochs where λ_max was measured."""
    points = [(epoch + 1, loss, sharp) for epoch, (loss, sharp) in
              enumerate(zip(history["loss"], history["sharpness"])) if sharp is not None]
    return tuple(np.array(column) for column in zip(*points))


if __name__ == "__main__":
    data = mnist1d_5000()
    for limit in LIMITS:
        history = train(2 / limit, data=data)
        print(f"η = 2/{limit}: step, loss, λ_max, η·λ_max/2")
        for step, loss, sharp in zip(*measured(history)):
            print(f"  {step:5d}  {loss:.5f}  {sharp:6.3f}  {sharp / limit:5.3f}")
