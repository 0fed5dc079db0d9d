"""Data larger than memory: LazyRows reads rows only when a batch asks, and `--data FOLDER` (X.npy, y.npy)
trains as the same data in memory does."""
import numpy as np
import pytest

import deltaprop as dp
from deltaprop import datasets
from deltaprop.datasets import arrays
from deltaprop.rows import LazyRows

from conftest import run_cli


class CountingArray:
    """A 2-D array that records how many rows each read asks for."""

    def __init__(self, array):
        self.array, self.reads = array, []
        self.shape, self.ndim, self.dtype = array.shape, array.ndim, array.dtype

    def __getitem__(self, key):
        rows = self.array[key]
        self.reads.append(len(rows))
        return rows


def test_lazy_rows_read_the_rows_asked_for_standardized_in_the_asked_order(rng):
    X = rng.normal(size=(50, 4)) * 5 + 2
    mean, std = X.mean(axis=0), X.std(axis=0)
    lazy = LazyRows(X, rows=np.arange(10, 40), mean=mean, std=std)
    assert lazy.shape == (30, 4) and len(lazy) == 30
    picked = np.array([7, 2, 29, 2])
    np.testing.assert_allclose(lazy[picked], (X[10 + picked] - mean) / std, rtol=1e-15)
    np.testing.assert_allclose(lazy[3:6], (X[13:16] - mean) / std, rtol=1e-15)
    subset = lazy.subset([4, 1])
    np.testing.assert_allclose(subset[np.array([0, 1])], (X[[14, 11]] - mean) / std, rtol=1e-15)
    assert lazy.astype("float32")[np.array([0])].dtype == np.float32
    with pytest.raises(TypeError, match="slice or an array of positions"):
        lazy[3]


def test_fit_on_lazy_rows_equals_fit_on_the_array_and_reads_one_batch_at_a_time(rng):
    X, y = rng.normal(size=(120, 5)), rng.integers(0, 3, size=120)
    counting = CountingArray(X)

    def train(data):
        model = dp.mlp([5, 16, 3], seed=0, dtype="float64")
        history = model.fit(data, y, loss="cross_entropy", optimizer="adam", epochs=3, batch_size=16, seed=2,
                            verbose=0, validation_split=0.25, metrics=["accuracy"])
        return model.parameters().values.copy(), history["val_loss"]

    in_memory, lazy = train(X), train(LazyRows(counting))
    np.testing.assert_array_equal(lazy[0], in_memory[0])
    assert lazy[1] == in_memory[1]
    assert max(counting.reads) <= 30    # a batch (16) or the validation rows (30), never all 120


@pytest.fixture
def folder(tmp_path, rng):
    X = rng.normal(size=(400, 6)).astype(np.float32) * 4 + 1
    y = np.where(X[:, 0] + X[:, 1] > 2, "yes", "no")
    (tmp_path / "data").mkdir()
    np.save(tmp_path / "data" / "X.npy", X)
    np.save(tmp_path / "data" / "y.npy", y)
    np.savez(tmp_path / "same.npz", X=X, y=y)
    return tmp_path / "data"


def test_the_chunked_statistics_equal_numpys(folder, monkeypatch):
    monkeypatch.setattr(arrays, "CHUNK_BYTES", 8 * 6 * 7)   # 7 rows per chunk: many merges
    table = datasets.load(str(folder))
    train = np.arange(0, 400, 3)
    mean, std = arrays.column_statistics(table, train)
    X = np.load(folder / "X.npy").astype(np.float64)[train]
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, X.std(axis=0), rtol=1e-12)


def test_a_folder_trains_like_the_same_arrays_in_an_npz(folder, tmp_path):
    runs = {}
    for name, data in (("folder", folder), ("npz", tmp_path / "same.npz")):
        code, out, err = run_cli("train", "--data", data, "--epochs", "4", "--dtype", "float64", "--out", name,
                                 "--quiet", cwd=tmp_path)
        assert code == 0, err
        runs[name] = dp.load(tmp_path / name / "model.safetensors")
    for a, b in zip(runs["folder"].parameters(), runs["npz"].parameters()):
        np.testing.assert_allclose(a.value, b.value, rtol=0, atol=1e-9 * np.abs(b.value).max())


@pytest.mark.parametrize("setup, message", [
    (lambda d: (d / "y.npy").unlink(), r"data: no y.npy \(a data folder needs X.npy and y.npy\)"),
    (lambda d: np.save(d / "X.npy", np.zeros(5)), r"X.npy: must be 2-D \(rows × features\)"),
    (lambda d: np.save(d / "y.npy", np.zeros(3)), r"y.npy: must be 1-D with one target per row of X.npy \(400\)"),
    (lambda d: np.save(d / "X.npy", np.where(np.arange(2400).reshape(400, 6) == 1507, np.inf, 1.0)),
     r"X.npy: X\[251, 1\] is inf, not a finite number"),
    (lambda d: np.save(d / "y.npy", np.array([object()] * 400)), r"y.npy: holds objects, which need pickle"),
])
def test_bad_folders_are_one_line_naming_the_file(folder, tmp_path, setup, message):
    setup(folder)
    code, out, err = run_cli("train", "--data", folder, "--epochs", "1", cwd=tmp_path)
    assert code == 2, (out, err)
    assert err.count("\n") == 1
    assert __import__("re").search(message, err), err


def test_other_commands_ask_for_an_npz(folder, tmp_path):
    code, _, err = run_cli("train", "--data", folder, "--epochs", "1", "--out", "r", "--quiet", cwd=tmp_path)
    assert code == 0, err
    code, _, err = run_cli("evaluate", tmp_path / "r" / "model.safetensors", "--data", folder, cwd=tmp_path)
    assert code == 2
    assert "read by deltaprop train only; save X and y in an .npz file" in err
