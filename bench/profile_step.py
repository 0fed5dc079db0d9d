"""Where one training step's time goes — gather, forward, loss, backward, optimizer — before and after a change.

784-H-128-10 ReLU, CrossEntropy, Adam, float32, the 4,000 MNIST rows; per phase the median over 300
steps after 30 warm-up steps, under the thread plan ``fit`` uses (when the code has one). With
``--before REF`` the same profile runs on that git revision too (a temporary worktree), the two
alternating in fresh processes, and the median of the runs is written to RESULTS.md.

    python bench/profile_step.py --before 251b726     # H=1024/batch 256 and H=256/batch 16
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
PHASES = ("gather", "forward", "loss", "backward", "optimizer", "step")
POINTS = ((1024, 256), (256, 16))


def profile(hidden: int, batch: int, steps: int = 300) -> dict:
    """Median milliseconds per phase of one step, in this process."""
    import numpy as np
    from common import mnist4000

    import deltaprop as dp

    try:
        from deltaprop.training.threads import thread_plan
    except ImportError:   # a revision before the thread plan
        def thread_plan(batch_size, n_parameters):
            return contextlib.nullcontext()
    X, y = mnist4000()
    model = dp.mlp([784, hidden, 128, 10], seed=0)
    optimizer, loss = dp.Adam(lr=1e-3), dp.CrossEntropy()
    params = model.parameters()
    n_parameters = sum(p.size for p in params)
    rng = np.random.default_rng(0)
    times = {name: [] for name in PHASES}
    clock = time.perf_counter
    with thread_plan(batch, n_parameters):
        for step in range(steps + 30):
            t0 = clock()
            index = rng.integers(0, len(X), batch)
            X_batch, y_batch = X[index], y[index]
            t1 = clock()
            output = model.forward_unchecked(X_batch, training=True)
            t2 = clock()
            loss.forward(output, y_batch)
            grad = loss.backward()
            t3 = clock()
            model.backward(grad, input_gradient=False)
            t4 = clock()
            optimizer.step(params)
            t5 = clock()
            if step >= 30:
                for name, value in zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t5 - t0)):
                    times[name].append(value * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def run_in(source: Path, hidden: int, batch: int) -> dict:
    """Profile in a fresh process importing deltaprop from ``source``."""
    env = dict(os.environ, PYTHONPATH=str(source))
    out = subprocess.run([sys.executable, __file__, "--worker", "--hidden", str(hidden), "--batch", str(batch)],
                         env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def compare(before: str, repeats: int) -> None:
    repo = HERE.parent
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", folder, before], check=True,
                       capture_output=True)
        try:
            sources = {f"before ({before})": Path(folder) / "src", "after": repo / "src"}
            rows = []
            for hidden, batch in POINTS:
                runs = {label: [] for label in sources}
                for _ in range(repeats):
                    for label, source in sources.items():
                        runs[label].append(run_in(source, hidden, batch))
                for label in sources:
                    medians = {name: statistics.median(run[name] for run in runs[label]) for name in PHASES}
                    rows.append((hidden, batch, label, medians))
                    print(hidden, batch, label, {k: round(v, 3) for k, v in medians.items()}, flush=True)
        finally:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", folder], check=False)
    write(rows, repeats)


def write(rows, repeats: int) -> None:
    from common import write_section

    lines = ["## One training step, phase by phase (bench/profile_step.py)", "",
             f"{date.today()}; 784-H-128-10 ReLU, CrossEntropy, Adam, float32; ms per step, the median over "
             f"300 steps, then the median of {repeats} fresh processes, before and after alternating. The rest: "
             "the step minus its phases (timer and Python between them).", "",
             "| H | batch | code | gather | forward | loss | backward | optimizer | step | rest |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for hidden, batch, label, m in rows:
        rest = m["step"] - sum(m[name] for name in PHASES[:-1])
        lines.append(f"| {hidden} | {batch} | {label} | " + " | ".join(f"{m[name]:.3f}" for name in PHASES)
                     + f" | {rest:.3f} |")
    write_section("## One training step, phase by phase", "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--before", help="a git revision to profile beside the working tree (writes RESULTS.md)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(profile(args.hidden, args.batch)))
    elif args.before:
        compare(args.before, args.repeats)
    else:
        print(f"H={args.hidden} batch={args.batch}: " + ", ".join(
            f"{name} {value:.3f}" for name, value in profile(args.hidden, args.batch).items()) + " ms")


if __name__ == "__main__":
    main()
