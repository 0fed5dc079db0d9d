"""Data-parallel scaling: one process against 2 MPI ranks on this machine, then a model for N machines.

784-1024-128-10 ReLU, CrossEntropy, Adam, float32, the 4,000 MNIST rows; ms per epoch, the median of
``--repeats`` epochs after a warm-up, the configurations taking turns in fresh processes:

* 1 process, 1 BLAS thread;  * 1 process, 2 BLAS threads (all the cores);  * 2 ranks × 1 BLAS thread.

The model for N machines like this one (ring all-reduce, no overlap of communication and compute)::

    t_step(N) = t_sample · B / N  +  t_allreduce(N),   t_allreduce(N) = 2·(N − 1)/N · P·4 bytes / bandwidth
                                                                       + 2·(N − 1) · latency
    efficiency(N) = t_sample · B / (N · t_step(N))

with t_sample measured here (one process, all cores), P the parameter count, 10 and 100 Gb/s links and
a 50 µs message latency (TCP). The smallest global batch that keeps the efficiency at 80% follows:
B ≥ 4 · N · t_allreduce(N) / t_sample.

    python bench/mpi_scaling.py            # writes bench/RESULTS.md's MPI section
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
SIZES = [784, 1024, 128, 10]
LATENCY_S = 50e-6
LINKS_GBIT = (10, 100)
RANKS = (2, 4, 8, 16, 32, 64)


def worker(batch: int, epochs: int) -> None:
    """Train; rank 0 prints the epoch times (ms) and the time of one Allreduce of the gradients as JSON."""
    from common import mnist4000

    import deltaprop as dp
    from deltaprop.training.distributed import connect

    X, y = mnist4000()
    model = dp.mlp(SIZES, seed=0)
    optimizer, loss = dp.Adam(lr=1e-3), dp.CrossEntropy()
    replicas = connect(True)
    times = []
    for _ in range(epochs + 1):
        started = time.perf_counter()
        model.fit(X, y, loss=loss, optimizer=optimizer, epochs=1, batch_size=batch, verbose=0, distributed=True)
        times.append((time.perf_counter() - started) * 1000)
    allreduce_ms = None
    if replicas.size > 1:
        buffer = model.parameters().reduce_buffer
        samples = []
        for _ in range(30):
            replicas.comm.Barrier()
            started = time.perf_counter()
            replicas.comm.Allreduce(replicas.MPI.IN_PLACE, buffer, op=replicas.MPI.SUM)
            samples.append((time.perf_counter() - started) * 1000)
        allreduce_ms = statistics.median(samples)
    if replicas.is_chief:
        print(json.dumps({"epochs_ms": times[1:], "allreduce_ms": allreduce_ms}))


def launch(config: str, batch: int, epochs: int) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="2" if config == "1 process, 2 threads" else "1",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    command = [sys.executable, __file__, "--worker", "--batch", str(batch), "--epochs", str(epochs)]
    if config.startswith("2 ranks"):
        mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or "mpiexec"
        command = [mpiexec, "-n", "2", "--bind-to", "core", *command]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    # the chief's JSON line; the launcher may add terminal escape codes after it
    return json.loads(next(line for line in reversed(out.splitlines()) if line.startswith("{")))


def n_parameters() -> int:
    return sum(a * b + b for a, b in zip(SIZES[:-1], SIZES[1:]))


def model_rows(t_sample_s: float, batch: int) -> list:
    """(link, N, predicted efficiency, batch for 80%) for each link and N."""
    rows = []
    for gbit in LINKS_GBIT:
        bandwidth = gbit * 1e9 / 8
        for n in RANKS:
            allreduce = 2 * (n - 1) / n * n_parameters() * 4 / bandwidth + 2 * (n - 1) * LATENCY_S
            compute = t_sample_s * batch / n
            efficiency = compute / (compute + allreduce)
            rows.append((gbit, n, efficiency, 4 * n * allreduce / t_sample_s))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per configuration")
    parser.add_argument("--batches", type=int, nargs="*", default=[1024, 64])
    args = parser.parse_args()
    if args.worker:
        worker(args.batch, args.epochs)
        return
    configs = ("1 process, 1 thread", "1 process, 2 threads", "2 ranks × 1 thread")
    results = {}
    for batch in args.batches:
        runs = {config: [] for config in configs}
        allreduce = []
        for _ in range(args.repeats):
            for config in configs:
                result = launch(config, batch, args.epochs)
                runs[config] += result["epochs_ms"]
                if result["allreduce_ms"] is not None:
                    allreduce.append(result["allreduce_ms"])
        results[batch] = ({config: statistics.median(values) for config, values in runs.items()},
                          statistics.median(allreduce))
        print(batch, results[batch], flush=True)
    write(results, args)


def write(results: dict, args) -> None:
    from common import write_section

    lines = ["## Data-parallel training over MPI (bench/mpi_scaling.py)", "",
             f"{date.today()}; {os.cpu_count()} cores; 784-1024-128-10 ReLU, CrossEntropy, Adam, float32, 4,000 MNIST "
             f"rows; ms per epoch, the median of {args.repeats} fresh runs × {args.epochs} epochs, the configurations "
             "taking turns. Ranks on one machine talk through shared memory; every rank holds the whole model "
             f"({n_parameters():,} parameters, {n_parameters() * 4 / 2**20:.1f} MiB summed per step).", "",
             "| batch | 1 process, 1 thread | 1 process, 2 threads | 2 ranks × 1 thread | speed-up vs 1 thread "
             "| speed-up vs 2 threads | one Allreduce of the gradients |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for batch, (ms, allreduce) in results.items():
        one, two, ranks = ms["1 process, 1 thread"], ms["1 process, 2 threads"], ms["2 ranks × 1 thread"]
        lines.append(f"| {batch} | {one:.0f} | {two:.0f} | {ranks:.0f} | **{one / ranks:.2f}×** | {two / ranks:.2f}× "
                     f"| {allreduce:.2f} ms |")
    batch = max(results)
    t_sample = results[batch][0]["1 process, 2 threads"] / 1000 / 4000
    lines += ["", f"**Model for N machines like this one** (see the script's docstring): t_sample = "
              f"{t_sample * 1e6:.1f} µs per row measured above (one process, both cores, batch {batch}); ring "
              f"all-reduce of {n_parameters() * 4 / 1e6:.2f} MB per step, {LATENCY_S * 1e6:.0f} µs latency per "
              "message; no overlap of communication with compute.", "",
              "| link | N | predicted efficiency at batch " + str(batch) + " | smallest batch for 80% efficiency |",
              "|---|---:|---:|---:|"]
    for gbit, n, efficiency, needed in model_rows(t_sample, batch):
        lines.append(f"| {gbit} Gb/s | {n} | {100 * efficiency:.0f}% | {needed:,.0f} |")
    lines += ["", "Checked: only N = 2 ranks on one machine (shared memory, the table above). Not checked: any real "
              "network, N > 2, the latency and bandwidth figures (assumed, not measured), and contention of "
              "ranks sharing a node.", ""]
    write_section("## Data-parallel training over MPI", "\n".join(lines))


if __name__ == "__main__":
    main()
