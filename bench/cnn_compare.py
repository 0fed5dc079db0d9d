"""Convolutional networks: deltaprop against PyTorch (eager) and JAX (jit-compiled step), ms per epoch.

* MNIST-1D, the paper's CNN: Conv1d(1→25, k5, s2, p1) → ReLU → Conv1d(25→25, k3, s2, p1) → ReLU →
  Conv1d(25→25, k3, s2, p1) → ReLU → Flatten → Linear(125→10); Adam(lr=1e-2), batch 100, 4,000 rows.
* mnist5k, a 2-D CNN: Conv2d(1→16, k3, p1) → ReLU → MaxPool 2 → Conv2d(16→32, k3, p1) → ReLU → MaxPool 2 →
  Flatten → Linear(1568→10); Adam(lr=1e-3), batch 64, the first 4,000 images.

float32; each library in its own worker process, the workers taking turns epoch by epoch (0.5 s apart);
the median of ``--repeats`` epochs after a warm-up.

    python bench/cnn_compare.py       # writes bench/RESULTS.md's CNN section
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import alternate, jax_epoch_runner, write_section  # noqa: E402

NETWORKS = {
    "mnist1d": {"data": "mnist1d", "batch": 100, "lr": 1e-2},
    "mnist5k": {"data": "mnist5k", "batch": 64, "lr": 1e-3},
}
LIBRARIES = ("deltaprop", "pytorch", "jax")
IDLE_GAP = 0.5


def data(name: str):
    import deltaprop as dp

    X, y = dp.datasets.load_images(NETWORKS[name]["data"])
    X, y = X[:4000], y[:4000].astype(np.int64)
    X = (X - X.mean()) / X.std()
    return X.astype(np.float32), y


def deltaprop_network(name):
    """deltaprop's form of the benchmark network ``name`` (bench/scaling.py times the same one, layer by layer)."""
    import deltaprop as dp

    if name == "mnist1d":
        return dp.cnn((1, 40), "25:5:2:1,25:3:2:1,25:3:2:1", 10, seed=0)
    return dp.Sequential([dp.Conv2D(1, 16, 3, padding=1), dp.ReLU(), dp.MaxPool2D(2),
                          dp.Conv2D(16, 32, 3, padding=1), dp.ReLU(), dp.MaxPool2D(2), dp.Flatten(),
                          dp.Dense(1568, 10)], seed=0)


def deltaprop_runner(name, X, y):
    import deltaprop as dp

    model = deltaprop_network(name)
    optimizer, loss = dp.Adam(lr=NETWORKS[name]["lr"]), dp.CrossEntropy()
    return lambda: model.fit(X, y, loss=loss, optimizer=optimizer, epochs=1, batch_size=NETWORKS[name]["batch"],
                             verbose=0)


def torch_runner(name, X, y):
    import torch

    torch.manual_seed(0)
    nn = torch.nn
    if name == "mnist1d":
        model = nn.Sequential(nn.Conv1d(1, 25, 5, 2, 1), nn.ReLU(), nn.Conv1d(25, 25, 3, 2, 1), nn.ReLU(),
                              nn.Conv1d(25, 25, 3, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(125, 10))
    else:
        model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1568, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=NETWORKS[name]["lr"])
    loss_fn = nn.CrossEntropyLoss()
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)
    batch = NETWORKS[name]["batch"]

    def epoch():
        order = torch.randperm(len(X_t), generator=generator)
        for start in range(0, len(X_t), batch):
            index = order[start:start + batch]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(X_t[index]), y_t[index]).backward()
            optimizer.step()

    return epoch


def jax_runner(name, X, y):
    import jax
    import jax.numpy as jnp

    key = jax.random.PRNGKey(0)
    one_d = name == "mnist1d"
    numbers = ("NCH", "OIH", "NCH") if one_d else ("NCHW", "OIHW", "NCHW")

    def conv_param(key, c_out, c_in, kernel):
        shape = (c_out, c_in, *kernel)
        bound = 1 / np.sqrt(c_in * np.prod(kernel))
        return {"W": jax.random.uniform(key, shape, minval=-bound, maxval=bound), "b": jnp.zeros(c_out)}

    keys = jax.random.split(key, 4)
    if one_d:
        convs = [(25, 1, (5,), 2, 1), (25, 25, (3,), 2, 1), (25, 25, (3,), 2, 1)]
        features = 125
    else:
        convs = [(16, 1, (3, 3), 1, 1), (32, 16, (3, 3), 1, 1)]
        features = 1568
    params = {"convs": [conv_param(k, c_out, c_in, kernel) for k, (c_out, c_in, kernel, _, _) in zip(keys, convs)],
              "W": jax.random.uniform(keys[3], (features, 10), minval=-0.05, maxval=0.05), "b": jnp.zeros(10)}

    def forward(params, x):
        for layer, (_, _, kernel, stride, pad) in zip(params["convs"], convs):
            x = jax.lax.conv_general_dilated(x, layer["W"], (stride,) * len(kernel), [(pad, pad)] * len(kernel),
                                             dimension_numbers=numbers)
            x = jax.nn.relu(x + layer["b"].reshape(1, -1, *(1,) * len(kernel)))
            if not one_d:
                x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        return x.reshape(x.shape[0], -1) @ params["W"] + params["b"]

    return jax_epoch_runner(forward, params, X, y, NETWORKS[name]["lr"], NETWORKS[name]["batch"])[0]


RUNNERS = {"deltaprop": deltaprop_runner, "pytorch": torch_runner, "jax": jax_runner}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, help="threads for every library, each bound to that many cores "
                        "[each library's default: every core]")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    rows = []
    for name in NETWORKS:
        result = alternate("cnn_compare", LIBRARIES, name, args.repeats, args.threads, IDLE_GAP)
        best = min(("pytorch", "jax"), key=result.get)
        rows.append((name, result, best))
        print(name, {k: round(v, 1) for k, v in result.items()}, f"dp/{best} {result['deltaprop'] / result[best]:.2f}",
              flush=True)
    heading = "## Convolutional networks (bench/cnn_compare.py)" if args.threads is None else \
        f"## Convolutional networks at {args.threads} thread(s) (bench/cnn_compare.py --threads {args.threads})"
    lines = [heading, "",
             f"{date.today()}; {os.cpu_count()} cores; float32; ms per epoch of 4,000 samples, the median of "
             f"{args.repeats} epochs after a "
             "warm-up, each library in its own process, taking turns. MNIST-1D: the paper's CNN (3 × Conv1d of 25 "
             "channels, kernels 5/3/3, stride 2, padding 1; Adam 1e-2; batch 100). mnist5k: Conv2d 16 → MaxPool → "
             "Conv2d 32 → MaxPool → Linear (Adam 1e-3, batch 64). JAX: the step compiled with `jax.jit`.", "",
             "| network | deltaprop ms | PyTorch ms | JAX ms | deltaprop / best peer |", "|---|---:|---:|---:|---:|"]
    for name, result, best in rows:
        lines.append(f"| {name} | {result['deltaprop']:.1f} | {result['pytorch']:.1f} | {result['jax']:.1f} | "
                     f"**{result['deltaprop'] / result[best]:.2f}** ({'PyTorch' if best == 'pytorch' else 'JAX'}) |")
    if not args.no_write:
        write_section(heading.split(" (")[0] + " (", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
