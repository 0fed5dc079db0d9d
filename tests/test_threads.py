"""One thread budget (issue: every core): dp.set_num_threads, DELTAPROP_NUM_THREADS, the worker pool, the compiled
passes against their NumPy references, and training at 1, 2, 3 and 5 threads.

The thresholds above which a pass is cut into pieces are lowered here, so that the small test networks take the
parallel paths; more threads than cores is fine for a correctness test.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import deltaprop as dp
from conftest import run_cli
from deltaprop import threads
from deltaprop.layers import activation_kernels, conv_kernels, pool_kernels
from deltaprop.optim import fused

needs_numba = pytest.mark.skipif(not fused.AVAILABLE, reason="numba is not installed: only the NumPy passes exist")


@pytest.fixture(autouse=True)
def restore_budget():
    yield
    threads.set_num_threads(None)


@pytest.fixture
def small_pieces(monkeypatch):
    """Cut even small passes into pieces, so that the parallel paths run on test-sized networks."""
    monkeypatch.setattr(fused, "MIN_CHUNK", 64)
    monkeypatch.setattr(activation_kernels, "MIN_CHUNK", 32)
    monkeypatch.setattr(activation_kernels, "MIN_COMPILED", 16)
    monkeypatch.setattr(conv_kernels, "MIN_CHUNK_VALUES", 64)
    monkeypatch.setattr(pool_kernels, "MIN_CHUNK_VALUES", 64)


# ------------------------------------------------------------------------------- the budget
def test_the_budget_defaults_to_the_cores_this_process_may_use_and_can_be_set():
    assert threads.default_threads() == len(os.sched_getaffinity(0)) == dp.num_threads()
    dp.set_num_threads(3)
    assert dp.num_threads() == 3
    dp.set_num_threads(None)
    assert dp.num_threads() == len(os.sched_getaffinity(0))
    for bad in (0, -1, 2.5, "4", True):
        with pytest.raises(ValueError, match="the number of threads must be a positive integer"):
            dp.set_num_threads(bad)


def test_the_environment_sets_the_default():
    code = "import deltaprop as dp; print(dp.num_threads())"
    env = {**os.environ, "DELTAPROP_NUM_THREADS": "5"}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout.strip() == "5"
    env["DELTAPROP_NUM_THREADS"] = "many"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "DELTAPROP_NUM_THREADS must be a positive integer, got 'many'" in result.stderr


def _numpy_blas_threads(threadpoolctl) -> list:
    """The thread count of the BLAS NumPy computes with (SciPy's own copy may be loaded too)."""
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
            if lib["user_api"] == "blas" and "numpy" in lib["filepath"]]


def test_blas_runs_on_the_budget_while_training_and_is_restored_after():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = _numpy_blas_threads(threadpoolctl)
    seen = []

    class Watch(dp.Callback):
        def on_batch_end(self, batch, logs):
            seen.extend(_numpy_blas_threads(threadpoolctl))

    dp.set_num_threads(1)
    X, y = np.random.default_rng(0).normal(size=(64, 4)), np.arange(64) % 2
    dp.mlp([4, 8, 2], seed=0).fit(X, y, loss="cross_entropy", optimizer="adam", epochs=1, callbacks=[Watch()],
                                  verbose=0)
    assert seen and set(seen) == {1}
    assert _numpy_blas_threads(threadpoolctl) == before


def test_chunks_depend_on_the_sizes_alone_and_run_keeps_the_order():
    assert threads.chunks(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert threads.chunks(5, 100) == [(0, 5)]
    assert threads.chunks(7, 1, max_pieces=3) == [(0, 2), (2, 4), (4, 7)]
    for count in (1, 2, 7):
        dp.set_num_threads(count)
        assert threads.chunks(1000, 64) == threads.chunks(1000, 64)
        assert threads.run(lambda item: item * item, list(range(20))) == [i * i for i in range(20)]
    dp.set_num_threads(3)

    def fail(item):
        if item == 5:
            raise KeyError("five")
        return item

    with pytest.raises(KeyError, match="five"):
        threads.run(fail, list(range(10)))
    assert threads.run(lambda item: item, list(range(4))) == [0, 1, 2, 3]     # the pool still works


# ------------------------------------------------------------------------------- compiled passes = references
POOLS = [(dp.MaxPool2D, (5, 3, 9, 8)), (dp.MaxPool1D, (5, 3, 11)), (dp.AvgPool2D, (5, 3, 9, 8)),
         (dp.AvgPool1D, (5, 3, 10))]


@needs_numba
@pytest.mark.parametrize("cls, shape", POOLS, ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0), (1, 1, 0)])
@pytest.mark.parametrize("count", [1, 3])
def test_compiled_pooling_equals_the_numpy_reference(cls, shape, kernel, stride, padding, count, small_pieces):
    dp.set_num_threads(count)
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 3, size=shape).astype(np.float64)      # many ties: the first maximum must be chosen
    layer, reference = cls(kernel, stride=stride, padding=padding), cls(kernel, stride=stride, padding=padding)
    y = layer.forward(x, training=True)
    grad = rng.normal(size=y.shape)
    np.testing.assert_array_equal(y, reference.numpy_forward(x))
    np.testing.assert_allclose(layer.backward(grad), reference.numpy_backward(grad), rtol=0, atol=1e-12)


@needs_numba
@pytest.mark.parametrize("layer", [dp.ReLU(), dp.LeakyReLU(0.3)], ids=["relu", "leaky"])
@pytest.mark.parametrize("order", ["C", "F", "mixed"])
def test_compiled_activation_derivatives_equal_the_numpy_reference(layer, order, small_pieces):
    """In either memory order (a Dense layer's Z and δ·Wᵀ are column-major), and across orders (NumPy's pass)."""
    dp.set_num_threads(3)
    rng = np.random.default_rng(1)
    z = rng.normal(size=(37, 11))
    z[0, :3] = 0.0                                                  # the kink: f'(0) = 0 (or α), as PyTorch
    grad = rng.normal(size=z.shape)
    if order != "C":
        z = np.asfortranarray(z)
        grad = grad if order == "mixed" else np.asfortranarray(grad)
    layer.forward(z, training=True)
    if order != "mixed":     # the compiled kernel runs (small_pieces lowers the size where it starts)
        assert activation_kernels.relu_backward(grad, z) is not None
    np.testing.assert_allclose(layer.backward(grad), grad * layer.derivative(), rtol=0, atol=1e-12)


@needs_numba
def test_the_fused_bias_and_swap_of_a_convolution_equals_numpy(small_pieces):
    dp.set_num_threads(2)
    rng = np.random.default_rng(2)
    z, bias = rng.normal(size=(6, 9, 5, 7)), rng.normal(size=6)
    expected = np.ascontiguousarray((z + bias[:, None, None, None]).transpose(1, 0, 2, 3))
    np.testing.assert_array_equal(conv_kernels.swap_add_bias(z, bias), expected)


@needs_numba
def test_an_optimizer_update_cut_into_pieces_is_the_same_bits(small_pieces, monkeypatch):
    results = []
    for min_chunk, count in ((1 << 30, 1), (64, 1), (64, 4)):
        rng = np.random.default_rng(3)
        monkeypatch.setattr(fused, "MIN_CHUNK", min_chunk)
        dp.set_num_threads(count)
        model = dp.mlp([30, 50, 40, 3], seed=0)
        optimizer = dp.Adam(lr=1e-2)
        for _ in range(3):
            model.parameters().grads[...] = rng.normal(size=model.parameters().grads.shape)
            optimizer.step(model.parameters())
        results.append(model.parameters().values.copy())
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


# ------------------------------------------------------------------------------- training at 1, 2, 3, 5 threads
def _mlp_run(dtype):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 12))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int)
    model = dp.Sequential([dp.Dense(12, 64), dp.BatchNorm(64), dp.ReLU(), dp.Dropout(0.1), dp.Dense(64, 32),
                           dp.LeakyReLU(), dp.Dense(32, 2)], seed=1, dtype=dtype)
    model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=3, batch_size=32, seed=2, verbose=0)
    return model.parameters().values.copy()


def _cnn_run(dtype):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(64, 2, 12, 12))
    y = (X[:, 0, :6].mean(axis=(1, 2)) > 0).astype(int)
    model = dp.Sequential([dp.Conv2D(2, 6, 3, padding=1), dp.ReLU(), dp.MaxPool2D(2), dp.Conv2D(6, 8, 3, stride=2),
                           dp.ReLU(), dp.AvgPool2D(2, stride=1), dp.Flatten(), dp.Dense(8, 2)], seed=1, dtype=dtype)
    model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=2, batch_size=16, seed=2, verbose=0)
    return model.parameters().values.copy()


@pytest.mark.parametrize("run", [_mlp_run, _cnn_run], ids=["mlp", "cnn"])
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-6)])
def test_training_at_1_2_3_and_5_threads(run, dtype, rtol, small_pieces):
    results = {}
    for count in (1, 2, 3, 5):
        dp.set_num_threads(count)
        results[count] = run(dtype)
        np.testing.assert_array_equal(run(dtype), results[count])      # the same count: the same bits
    scale = np.abs(results[1]).max()
    for count in (2, 3, 5):                                            # other counts: the same up to rounding
        np.testing.assert_allclose(results[count], results[1], rtol=0, atol=rtol * scale)


def test_train_takes_a_thread_count(tmp_path):
    code, out, err = run_cli("train", "--data", "iris", "--epochs", "2", "--threads", "3", "--quiet", "--out", "run",
                             cwd=tmp_path)
    assert code == 0, err
    assert "threads" not in (tmp_path / "run" / "config.toml").read_text()   # how it ran, not what it computed
    code, out, err = run_cli("train", "--data", "iris", "--threads", "0", cwd=tmp_path)
    assert code == 2 and err == "deltaprop: error: --threads must be at least 1, got 0\n"


def test_a_forked_child_trains_with_its_own_workers():
    """A child made by fork has none of its parent's threads: it must not wait for them."""
    import multiprocessing

    dp.set_num_threads(2)
    threads.run(lambda item: item, [0, 1, 2])            # the parent's pool exists now
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        assert pool.apply_async(_train_in_child).get(timeout=60) == [0, 1, 4, 9]


def _train_in_child():
    return threads.run(lambda item: item * item, [0, 1, 2, 3])
