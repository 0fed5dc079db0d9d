"""Gradient-flow diagnostics: the monitor's records and diagnose's findings on the textbook failure cases."""
import numpy as np
import pytest

import deltaprop as dp


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-8), y


def normal_init(std_times_sqrt_fan_in):
    """N(0, (c/√n_in)²) weights, written here so the tests do not depend on the library's initializers."""
    def init(shape, rng, dtype=np.float32):
        return (rng.standard_normal(shape) * std_times_sqrt_fan_in / np.sqrt(shape[0])).astype(dtype)
    return init


def kinds_at(findings, kind):
    return [f.layer for f in findings if f.kind == kind]


def test_deep_sigmoid_with_small_init_is_vanishing_on_its_first_layers(digits):
    X, y = digits
    model = dp.mlp([64] + [64] * 12 + [10], activation="sigmoid", init=dp.init.Normal(std=0.01), seed=0)
    findings = dp.diagnose(model, X, y, dp.CrossEntropy())
    vanishing = kinds_at(findings, "vanishing")
    assert 0 in vanishing and 2 in vanishing          # the first two Dense layers
    first = next(f for f in findings if f.layer == 0)
    assert first.value < dp.diagnostics.VANISHING_RATIO and first.layer_name == model.layers[0].label
    assert "ReLU" in first.advice and "too small" in first.advice and "BatchNorm" in first.advice


def test_relu_network_with_large_init_is_exploding(digits):
    X, y = digits
    model = dp.mlp([64] + [64] * 10 + [10], activation="relu", init=normal_init(3.0), seed=0)
    findings = dp.diagnose(model, X, y, dp.CrossEntropy())
    exploding = kinds_at(findings, "exploding")
    assert 0 in exploding
    first = next(f for f in findings if f.layer == 0 and f.kind == "exploding")
    assert first.value > dp.diagnostics.EXPLODING_RATIO
    assert "clip" in first.advice and "too large" in first.advice


def test_relu_behind_a_bias_of_minus_50_is_dead(digits):
    X, y = digits
    model = dp.mlp([64, 32, 32, 10], activation="relu", seed=0)
    model.layers[2].b.value[...] = -50.0
    findings = dp.diagnose(model, X, y, dp.CrossEntropy())
    dead = [f for f in findings if f.kind == "dead_units"]
    assert [f.layer for f in dead] == [3]
    assert dead[0].value == 1.0
    assert "bias of layer 2" in dead[0].advice and "b.value[...] = 0" in dead[0].advice


def test_saturated_sigmoid_is_flagged(digits):
    X, y = digits
    model = dp.mlp([64, 32, 10], activation="sigmoid", init=normal_init(60.0), seed=0)
    findings = dp.diagnose(model, X, y, dp.CrossEntropy())
    assert kinds_at(findings, "saturation") == [1]


def test_he_initialized_relu_network_with_batchnorm_has_no_finding(digits):
    X, y = digits
    model = dp.mlp([64] + [64] * 6 + [10], activation="relu", init="he_normal", normalization="batchnorm", seed=0)
    assert dp.diagnose(model, X, y, dp.CrossEntropy()) == []


def test_nonfinite_is_found_and_diagnose_changes_nothing(digits):
    X, y = digits
    model = dp.mlp([64, 16, 10], normalization="batchnorm", dropout=0.2, seed=0)
    before = [p.value.copy() for p in model.parameters()]
    running = model.layers[1].running_mean.copy()
    dp.diagnose(model, X, y, dp.CrossEntropy())
    assert all(np.array_equal(a, p.value) for a, p in zip(before, model.parameters()))
    np.testing.assert_array_equal(model.layers[1].running_mean, running)
    model.layers[0].W.value[0, 0] = np.inf
    findings = dp.diagnose(model, X, y, dp.CrossEntropy())
    assert [f.kind for f in findings] == ["nonfinite"] and findings[0].layer == 0


def test_monitor_records_every_n_steps_with_the_formulas(digits, tmp_path):
    X, y = digits
    X, y = X[:320], y[:320]
    model = dp.mlp([64, 32, 16, 10], activation="relu", seed=0)
    history = model.fit(X, y, loss=dp.CrossEntropy(), optimizer=dp.SGD(lr=0.1), epochs=2, batch_size=32,
                        monitor=4, seed=0, verbose=0)
    records = history.diagnostics
    assert records["step"] == [1, 5, 9, 13, 17]              # 20 steps, every 4th from the first
    assert records["epoch"] == [0, 0, 0, 1, 1]
    for index in (0, 2, 4):
        for quantity in ("grad_norm", "delta_norm", "delta_rms", "weight_norm", "update_ratio"):
            assert len(records[f"{index}.{quantity}"]) == 5
    # plain SGD: ΔW = −lr·∂L/∂W, so ‖ΔW‖/‖W_before‖ = lr·‖∂L/∂W‖/‖W_before‖ (W_before ≈ W_after here)
    ratio = np.array(records["0.update_ratio"])
    expected = 0.1 * np.array(records["0.grad_norm"]) / np.array(records["0.weight_norm"])
    np.testing.assert_allclose(ratio, expected, rtol=1e-4)
    for index in (1, 3):
        dead = np.array(records[f"{index}.dead"])
        assert ((0 <= dead) & (dead <= 1)).all()
        assert np.all(np.array(records[f"{index}.std"]) > 0)
        assert records.activations["start"][index].size > 0 and records.activations["end"][index].size > 0
    records.to_csv(tmp_path / "diagnostics.csv")
    import csv
    with open(tmp_path / "diagnostics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5 and float(rows[2]["0.grad_norm"]) == pytest.approx(records["0.grad_norm"][2])


def test_monitor_measures_a_known_batch(rng):
    """One recorded step on hand-set weights: every quantity against its formula, computed here."""
    model = dp.Sequential([dp.Dense(3, 4), dp.ReLU(), dp.Dense(4, 2), dp.Sigmoid()], seed=0, dtype="float64")
    model.layers[0].b.value[...] = [0.0, 0.0, -100.0, 0.0]     # unit 2 dead
    X, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    W0 = model.layers[0].W.value.copy()
    history = model.fit(X, y, loss=dp.MSE(), optimizer=dp.SGD(lr=0.05), epochs=1, batch_size=8, shuffle=False,
                        monitor=True, verbose=0)
    records = history.diagnostics
    Z0 = X @ W0 + model.layers[0].b.value * 0 + np.array([0.0, 0.0, -100.0, 0.0])
    A0 = np.maximum(Z0, 0)
    assert records["1.dead"] == [np.mean(np.all(Z0 <= 0, axis=0))]
    assert records["1.mean"][0] == pytest.approx(A0.mean()) and records["1.std"][0] == pytest.approx(A0.std())
    assert records["0.weight_norm"][0] == pytest.approx(np.sqrt((W0 ** 2).sum()))
    dW = (W0 - model.layers[0].W.value) / 0.05
    assert records["0.grad_norm"][0] == pytest.approx(np.sqrt((dW ** 2).sum()), rel=1e-9)


def test_bad_monitor_option():
    with pytest.raises(ValueError, match="every must be a positive integer"):
        dp.TrainingMonitor(every=0)
    model = dp.mlp([2, 2], seed=0)
    with pytest.raises(TypeError, match="monitor must be"):
        model.fit(np.zeros((4, 2)), np.zeros(4, dtype=int), loss="cross_entropy", optimizer="sgd", epochs=1,
                  monitor="yes", verbose=0)
