"""The Sharpness and GradientNoise callbacks record into the history what the curvature functions compute."""
import numpy as np
import pytest
from conftest import FailAt

import deltaprop as dp

pytest.importorskip("scipy")


def regression_data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, np.sin(X[:, :1]) + 0.1 * rng.normal(size=(n, 1))


def test_sharpness_is_recorded_every_n_epochs_and_equals_lambda_max_of_the_model_then():
    X, y = regression_data()
    model = dp.Sequential([dp.Dense(3, 16), dp.Tanh(), dp.Dense(16, 1)], seed=0, dtype="float64")
    seen = {}

    class Exact(dp.Callback):     # λ_max by ARPACK at the same epochs, independently of the callback's Lanczos
        def on_epoch_end(self, epoch, logs):
            if epoch in (0, 2, 5):
                seen[epoch] = dp.curvature.eigenvalues(self.run.model, "mse", X, y)[0]

    history = model.fit(X, y, loss="mse", optimizer=dp.SGD(0.05), epochs=6, batch_size=40, verbose=0,
                        callbacks=[dp.Sharpness(every=3, samples=None, steps=30), Exact()])
    sharp = history["sharpness"]
    assert [i for i, value in enumerate(sharp) if value is not None] == [0, 2, 5]
    for epoch, exact in seen.items():
        assert sharp[epoch] == pytest.approx(exact, rel=1e-6)
        assert history["stability"][epoch] == pytest.approx(0.05 * exact / 2, rel=1e-6)
    assert len(sharp) == len(history["loss"]) == 6


def test_sharpness_on_a_sample_of_rows_uses_the_same_rows_each_time_and_resumes_its_start_vector():
    X, y = regression_data(n=300)
    model = dp.Sequential([dp.Dense(3, 8), dp.Tanh(), dp.Dense(8, 1)], seed=1)
    callback = dp.Sharpness(samples=50, steps=8)
    model.fit(X, y, loss="mse", optimizer="adam", epochs=2, batch_size=64, verbose=0, callbacks=[callback])
    rows = callback._rows.copy()
    assert len(rows) == 50 and len(set(rows)) == 50
    state = callback.state_dict()
    other = dp.Sharpness(samples=50, steps=8)
    other.load_state_dict(state)
    np.testing.assert_array_equal(other._vector, state["vector"])
    with pytest.raises(ValueError, match="Sharpness state"):
        other.load_state_dict({"vector": "nonsense"})


def test_gradient_noise_records_b_simple_as_the_function_gives_it():
    X, y = regression_data()
    model = dp.Sequential([dp.Dense(3, 8), dp.Tanh(), dp.Dense(8, 1)], seed=2, dtype="float64")
    expected = {}

    class Direct(dp.Callback):
        def on_epoch_end(self, epoch, logs):
            expected[epoch] = dp.curvature.gradient_noise_scale(self.run.model, "mse", X, y).b_simple

    history = model.fit(X, y, loss="mse", optimizer=dp.SGD(0.05), epochs=3, batch_size=40, verbose=0,
                        callbacks=[dp.GradientNoise(every=1, samples=None), Direct()])
    np.testing.assert_allclose(history["noise_scale"], [expected[e] for e in range(3)], rtol=1e-12)
    assert all(value > 0 for value in history["noise_scale"])


def test_history_record_needs_a_finished_epoch():
    with pytest.raises(RuntimeError, match="finished epoch"):
        dp.History().record("sharpness", 1.0)


def test_a_run_with_sharpness_resumed_from_its_backup_records_what_an_uninterrupted_run_records(tmp_path):
    X, y = regression_data()

    def run(folder, fail):
        model = dp.Sequential([dp.Dense(3, 8), dp.Tanh(), dp.Dense(8, 1)], seed=3, dtype="float64")
        history = model.fit(X, y, loss="mse", optimizer=dp.SGD(0.05), epochs=5, batch_size=40, verbose=0, seed=1,
                            callbacks=[dp.Sharpness(every=2, samples=None, steps=6), FailAt(fail),
                                       dp.BackupAndRestore(folder)])
        return history

    with pytest.raises(RuntimeError):
        run(tmp_path / "b", 2)
    resumed = run(tmp_path / "b", -1)
    uninterrupted = run(tmp_path / "c", -1)
    assert resumed["sharpness"] == uninterrupted["sharpness"]
    assert [v is None for v in resumed["sharpness"]] == [False, False, True, False, True]   # epochs 1, 2, 4
