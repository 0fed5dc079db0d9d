"""Recurrent networks: deltaprop against PyTorch (eager) and JAX (``lax.scan``, jit-compiled step), ms per epoch.

* ``mnist1d-gru``: the MNIST-1D paper's GRU — bidirectional, 6 units, its 40 outputs of both directions flattened
  into Linear(480 → 10); Adam(lr=1e-2), batch 100, the 4,000 training signals (40 steps of 1 value).
* ``lstm-200``: an LSTM of 64 units over 200 steps of 8 features, its last state into Linear(64 → 10);
  Adam(lr=1e-3), batch 64, 1,024 generated sequences.

float32; each library in its own worker process, the workers taking turns epoch by epoch (0.5 s apart);
the median of ``--repeats`` epochs after a warm-up.

    python bench/rnn_compare.py       # writes bench/RESULTS.md's recurrent section
"""
from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import alternate, jax_epoch_runner, machine, publish  # noqa: E402

NETWORKS = {
    "mnist1d-gru": {"kind": "gru", "hidden": 6, "bidirectional": True, "flatten": True, "batch": 100, "lr": 1e-2},
    "lstm-200": {"kind": "lstm", "hidden": 64, "bidirectional": False, "flatten": False, "batch": 64, "lr": 1e-3},
}
LIBRARIES = ("deltaprop", "pytorch", "jax")


def data(name: str):
    if name == "mnist1d-gru":
        import deltaprop as dp

        table = dp.datasets.load("mnist1d")
        X = np.asarray(table.features, dtype=np.float32)[:4000, :, None]
        return (X - X.mean()) / X.std(), np.asarray(table.target)[:4000].astype(np.int64)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1024, 200, 8)).astype(np.float32)
    return X, rng.integers(0, 10, size=1024).astype(np.int64)


def _shape(name, X):
    spec = NETWORKS[name]
    steps, features = X.shape[1], X.shape[2]
    width = spec["hidden"] * (2 if spec["bidirectional"] else 1)
    return spec, steps, features, (width * steps if spec["flatten"] else width)


def deltaprop_runner(name, X, y):
    import deltaprop as dp

    spec, _, features, head = _shape(name, X)
    layer = {"gru": dp.GRU, "lstm": dp.LSTM}[spec["kind"]](features, spec["hidden"], bidirectional=spec["bidirectional"],
                                                           return_sequences=spec["flatten"])
    model = dp.Sequential([layer, *([dp.Flatten()] if spec["flatten"] else []), dp.Dense(head, 10)], seed=0)
    optimizer, loss = dp.Adam(lr=spec["lr"]), dp.CrossEntropy()
    return lambda: model.fit(X, y, loss=loss, optimizer=optimizer, epochs=1, batch_size=spec["batch"], verbose=0)


def torch_runner(name, X, y):
    import torch

    torch.manual_seed(0)
    spec, _, features, head = _shape(name, X)
    rnn = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[spec["kind"]](features, spec["hidden"], batch_first=True,
                                                                    bidirectional=spec["bidirectional"])
    linear = torch.nn.Linear(head, 10)
    parameters = list(rnn.parameters()) + list(linear.parameters())
    optimizer = torch.optim.Adam(parameters, lr=spec["lr"])
    loss_fn = torch.nn.CrossEntropyLoss()
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)

    def forward(x):
        outputs, final = rnn(x)
        if spec["flatten"]:
            return linear(outputs.reshape(len(x), -1))
        h_n = final[0] if spec["kind"] == "lstm" else final
        return linear(h_n[-1])

    def epoch():
        order = torch.randperm(len(X_t), generator=generator)
        for start in range(0, len(X_t), spec["batch"]):
            index = order[start:start + spec["batch"]]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(forward(X_t[index]), y_t[index]).backward()
            optimizer.step()

    return epoch


def jax_runner(name, X, y):
    import jax
    import jax.numpy as jnp

    spec, _, features, head = _shape(name, X)
    H, gates = spec["hidden"], 3 if spec["kind"] == "gru" else 4
    bound = 1 / np.sqrt(H)
    keys = iter(jax.random.split(jax.random.PRNGKey(0), 16))

    def uniform(shape):
        return jax.random.uniform(next(keys), shape, minval=-bound, maxval=bound)

    directions = 2 if spec["bidirectional"] else 1
    params = {"cells": [{"W_ih": uniform((features, gates * H)), "W_hh": uniform((H, gates * H)),
                         "b_ih": uniform((gates * H,)), "b_hh": uniform((gates * H,))} for _ in range(directions)],
              "W": uniform((head, 10)), "b": jnp.zeros(10)}

    def cell(p, carry, xw):
        h, c = carry
        hw = h @ p["W_hh"] + p["b_hh"]
        if spec["kind"] == "gru":
            r = jax.nn.sigmoid(xw[:, :H] + hw[:, :H])
            z = jax.nn.sigmoid(xw[:, H:2 * H] + hw[:, H:2 * H])
            n = jnp.tanh(xw[:, 2 * H:] + r * hw[:, 2 * H:])
            h = (1 - z) * n + z * h
        else:
            pre = xw + hw
            i, f = jax.nn.sigmoid(pre[:, :H]), jax.nn.sigmoid(pre[:, H:2 * H])
            g, o = jnp.tanh(pre[:, 2 * H:3 * H]), jax.nn.sigmoid(pre[:, 3 * H:])
            c = f * c + i * g
            h = o * jnp.tanh(c)
        return (h, c), h

    def run(p, x, reverse):
        xw = jnp.swapaxes(x @ p["W_ih"] + p["b_ih"], 0, 1)            # (T, N, G·H): input projections at once
        zeros = jnp.zeros((x.shape[0], H))
        (h, _), hs = jax.lax.scan(lambda carry, step: cell(p, carry, step), (zeros, zeros), xw, reverse=reverse)
        return h, jnp.swapaxes(hs, 0, 1)

    def forward(p, x):
        runs = [run(cell_params, x, reverse=direction == 1) for direction, cell_params in enumerate(p["cells"])]
        if spec["flatten"]:
            features_out = jnp.concatenate([hs for _, hs in runs], axis=2).reshape(x.shape[0], -1)
        else:
            features_out = runs[-1][0]
        return features_out @ p["W"] + p["b"]

    return jax_epoch_runner(forward, params, X, y, spec["lr"], spec["batch"], full_batches_only=True)[0]


RUNNERS = {"deltaprop": deltaprop_runner, "pytorch": torch_runner, "jax": jax_runner}


def crossover(repeats: int) -> list:
    """ms of one training step (forward and backward) of a GRU and an LSTM at several hidden sizes, with the compiled
    time loops and with the NumPy cells, alternating — where deltaprop.layers.recurrent_kernels.COMPILED_HIDDEN
    comes from. (rows: kind, H, compiled ms, NumPy ms)"""
    import statistics
    import time

    import deltaprop as dp
    from deltaprop.layers import recurrent_kernels

    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 100, 8)).astype(np.float32)
    y = rng.integers(0, 2, size=64)
    rows = []
    for kind in (dp.GRU, dp.LSTM):
        for hidden in (4, 8, 16, 32, 64):
            models = {mode: dp.Sequential([kind(8, hidden), dp.Dense(hidden, 2)], seed=0) for mode in ("compiled", "numpy")}
            times = {mode: [] for mode in models}
            loss = dp.CrossEntropy()
            for _ in range(repeats + 1):
                for mode, model in models.items():
                    recurrent_kernels.COMPILED_HIDDEN = 10 ** 6 if mode == "compiled" else 0
                    started = time.perf_counter()
                    loss.forward(model.forward(X, training=True), y)
                    model.backward(loss.backward(), input_gradient=False)
                    times[mode].append((time.perf_counter() - started) * 1000)
            rows.append((kind.__name__, hidden, statistics.median(times["compiled"][1:]),
                         statistics.median(times["numpy"][1:])))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, help="threads for every library [each library's default]")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    crossing = crossover(args.repeats)
    for row in crossing:
        print("compiled against NumPy cells:", row, flush=True)
    rows = []
    for name in NETWORKS:
        result = alternate("rnn_compare", LIBRARIES, name, args.repeats, args.threads)
        best = min(("pytorch", "jax"), key=result.get)
        rows.append((name, result, best))
        print(name, {k: round(v, 1) for k, v in result.items()}, f"dp/{best} {result['deltaprop'] / result[best]:.2f}",
              flush=True)
    lines = ["## Recurrent networks (bench/rnn_compare.py)", "",
             f"{date.today()}; {machine()}; float32; ms per epoch, the median of {args.repeats} epochs after a warm-up, "
             "each library in its own process, taking turns. mnist1d-gru: the MNIST-1D paper's bidirectional GRU of 6 "
             "units, 40 outputs flattened into Linear(480, 10), Adam 1e-2, batch 100, 4,000 signals. lstm-200: LSTM "
             "of 64 units over 200 steps of 8 features, last state into Linear(64, 10), Adam 1e-3, batch 64, 1,024 "
             "sequences. JAX: `lax.scan` over the steps, the step compiled with `jax.jit` (full batches only).", "",
             "| network | deltaprop ms | PyTorch ms | JAX ms | deltaprop / best peer |", "|---|---:|---:|---:|---:|"]
    for name, result, best in rows:
        lines.append(f"| {name} | {result['deltaprop']:.1f} | {result['pytorch']:.1f} | {result['jax']:.1f} | "
                     f"**{result['deltaprop'] / result[best]:.2f}** ({'PyTorch' if best == 'pytorch' else 'JAX'}) |")
    lines += ["", "deltaprop's compiled time loops (numba) against its NumPy cells, one training step of batch 64 × 100 "
              "steps × 8 features, ms (median of alternating runs): the compiled loops run up to "
              "`recurrent_kernels.COMPILED_HIDDEN` units.", "",
              "| layer | hidden | compiled ms | NumPy cells ms |", "|---|---:|---:|---:|"]
    lines += [f"| {kind} | {hidden} | {compiled:.1f} | {numpy_ms:.1f} |" for kind, hidden, compiled, numpy_ms in crossing]
    if args.no_write:
        print("\n".join(lines))
    else:
        publish("## Recurrent networks", lines)


if __name__ == "__main__":
    main()
