"""Thread scaling: each phase of a training step, and each pass deltaprop runs in pieces, at 1…N threads.

Phases of one step (the `profile_step` phases, median over steps) of the MLP 784-H-128-10 at its largest
benchmark size and of the 2-D CNN of `cnn_compare.py`; then single passes at the sizes where deltaprop
decides whether to cut them (its thresholds): the Adam update over the parameter buffer, the ReLU backward,
2×2 max pooling, col2im; and a matrix product of the MLP, by OpenBLAS's own threads against fixed blocks run
on deltaprop's workers (the alternative the thread design measured and dropped). Every thread count runs in a
fresh process bound to that many cores, the counts taking turns; medians of the repeats.

    python bench/scaling.py [--threads 1 2] [--repeats 3]   # writes the "Thread scaling" section of RESULTS.md
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))


def _median_ms(function, repeats: int = 30) -> float:
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _mlp_phases(hidden: int, batch: int) -> dict:
    import profile_step

    from deltaprop import threads

    with threads.session():
        return profile_step.profile(hidden, batch, steps=40 if batch >= 1024 else 150)


def _cnn_phases() -> dict:
    """Forward and backward of each kind of layer of the 2-D CNN (batch 64), and the optimizer, per step."""
    import numpy as np
    from cnn_compare import data, deltaprop_network

    import deltaprop as dp
    from deltaprop import threads

    X, y = data("mnist5k")
    model = deltaprop_network("mnist5k")
    loss, optimizer, params = dp.CrossEntropy(), dp.Adam(lr=1e-3), model.parameters()
    times = {}
    rng = np.random.default_rng(0)
    with threads.session():
        for step in range(60):
            index = rng.integers(0, len(X), 64)
            a, y_batch = X[index], y[index]
            record = {}
            for layer in model.layers:
                started = time.perf_counter()
                layer.input = a
                a = layer.output = layer.forward(a, training=True)
                key = f"{type(layer).__name__} forward"
                record[key] = record.get(key, 0.0) + time.perf_counter() - started
            loss.forward(a, y_batch)
            grad = loss.backward()
            for index_layer in range(len(model.layers) - 1, -1, -1):
                layer = model.layers[index_layer]
                started = time.perf_counter()
                layer.grad_output = grad
                if index_layer == 0:
                    layer.backward_parameters(grad)
                else:
                    grad = layer.backward(grad)
                key = f"{type(layer).__name__} backward"
                record[key] = record.get(key, 0.0) + time.perf_counter() - started
            started = time.perf_counter()
            optimizer.step(params)
            record["optimizer"] = time.perf_counter() - started
            if step >= 10:
                for key, value in record.items():
                    times.setdefault(key, []).append(value * 1000)
    phases = {key: statistics.median(values) for key, values in times.items() if not key.startswith("Flatten")}
    phases["step"] = sum(phases.values())
    return phases


def _passes() -> dict:
    """Single passes at the sizes of the benchmarks, as deltaprop runs them at the current thread count."""
    import numpy as np

    import deltaprop as dp
    from deltaprop import threads
    from deltaprop.layers import conv_kernels

    rng = np.random.default_rng(0)
    result = {}
    for n in (235_000, 935_000, 1_870_000):           # the parameters of H = 256, 1024, 2048
        model_params = dp.Parameter("p", rng.normal(size=n).astype(np.float32))
        model_params.grad[...] = rng.normal(size=n)
        optimizer = dp.Adam(lr=1e-3)
        optimizer.step([model_params])
        result[f"Adam update, {n:,} parameters"] = _median_ms(lambda: optimizer.step([model_params]))
    for shape in ((64, 16, 28, 28), (1024, 2048)):
        layer, z = dp.ReLU(), rng.normal(size=shape).astype(np.float32)
        layer.forward(z, training=True)
        grad = rng.normal(size=shape).astype(np.float32)
        result[f"ReLU backward {shape}"] = _median_ms(lambda: layer.backward(grad))
    for shape in ((64, 16, 28, 28), (512, 16, 28, 28)):
        pool, x = dp.MaxPool2D(2), rng.normal(size=shape).astype(np.float32)
        y = pool.forward(x, training=True)
        result[f"MaxPool2D 2×2 forward {shape}"] = _median_ms(lambda: pool.forward(x, training=True))
        result[f"MaxPool2D 2×2 backward {shape}"] = _median_ms(lambda: pool.backward(y))
    conv = dp.Conv2D(16, 32, 3, padding=1)
    for n in (64, 512):
        x = rng.normal(size=(n, 16, 14, 14)).astype(np.float32)
        conv.forward(x, training=True)
        cols = rng.normal(size=(144, n * 196)).astype(np.float32)
        result[f"col2im (16 channels, 3×3, {n} samples of 14×14)"] = _median_ms(lambda: conv_kernels.col2im(
            cols, x.shape, conv.kernel_size, conv.stride, conv.dilation, conv.pads, conv.positions))
    with threads.session():
        for m, k, n in ((16, 784, 2048), (256, 784, 1024), (1024, 784, 2048)):
            a, b = rng.normal(size=(m, k)).astype(np.float32), rng.normal(size=(k, n)).astype(np.float32)
            out = np.empty((m, n), np.float32)
            result[f"product {m}×{k} · {k}×{n}, BLAS threads"] = _median_ms(lambda: np.matmul(a, b, out=out))
            split = "rows" if m >= 64 else "columns"
            side = m if split == "rows" else n
            pieces = max(1, min(threads.num_threads(), side // 32))
            bounds = np.linspace(0, side, pieces + 1).astype(int)

            def blocks():
                from threadpoolctl import threadpool_limits

                with threadpool_limits(1, "blas"):
                    if split == "rows":
                        threads.run(lambda i: np.matmul(a[bounds[i]:bounds[i + 1]], b,
                                                        out=out[bounds[i]:bounds[i + 1]]), list(range(pieces)))
                    else:
                        threads.run(lambda i: np.matmul(a, b[:, bounds[i]:bounds[i + 1]],
                                                        out=out[:, bounds[i]:bounds[i + 1]]), list(range(pieces)))
            result[f"product {m}×{k} · {k}×{n}, blocks on deltaprop's workers"] = _median_ms(blocks, 15)
    return result


def worker(n_threads: int) -> dict:
    from common import use_threads

    use_threads("deltaprop", n_threads)
    return {"mlp 2048/1024": _mlp_phases(2048, 1024), "mlp 2048/16": _mlp_phases(2048, 16), "cnn": _cnn_phases(),
            "passes": _passes()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="*", default=[1, len(os.sched_getaffinity(0))])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker)))
        return
    runs = {count: [] for count in args.threads}
    for _ in range(args.repeats):
        for count in args.threads:          # the counts take turns, each in a fresh process
            output = subprocess.run([sys.executable, __file__, "--worker", str(count)], capture_output=True, text=True,
                                    check=True).stdout
            runs[count].append(json.loads(output.strip().splitlines()[-1]))
            print(f"{count} thread(s): done", flush=True)
    median = {count: {group: {key: statistics.median(run[group][key] for run in values) for key in values[0][group]}
                      for group in values[0]} for count, values in runs.items()}
    first, last = args.threads[0], args.threads[-1]
    header = " | ".join(f"{count} thread{'s' if count > 1 else ''} ms" for count in args.threads)
    lines = ["## Thread scaling (bench/scaling.py)", "",
             f"{time.strftime('%Y-%m-%d')}; {os.cpu_count()} cores; each thread count in a fresh process bound to that "
             f"many cores, the counts taking turns; medians of {args.repeats} processes. Speed-up: {first} thread(s) "
             f"over {last}. Phases of a training step as `bench/profile_step.py` splits it; the CNN is "
             "`bench/cnn_compare.py`'s 2-D network (batch 64), its layers' passes summed by kind.", ""]
    titles = {"mlp 2048/1024": "MLP 784-2048-128-10, batch 1024", "mlp 2048/16": "MLP 784-2048-128-10, batch 16",
              "cnn": "2-D CNN, batch 64", "passes": "single passes"}
    for group, title in titles.items():
        lines += [f"**{title}**", "", f"| phase | {header} | speed-up |", "|---|" + "---:|" * (len(args.threads) + 1)]
        for key in median[first][group]:
            values = [median[count][group][key] for count in args.threads]
            speed = values[0] / values[-1] if values[-1] else float("nan")
            lines.append(f"| {key} | " + " | ".join(f"{v:.3f}" for v in values) + f" | {speed:.2f}× |")
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        from common import write_section

        write_section("## Thread scaling", text)


if __name__ == "__main__":
    main()
