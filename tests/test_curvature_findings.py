"""diagnose's findings about the loss surface, each checked against λ_max or B_simple computed on their own."""
import copy

import numpy as np
import pytest

import deltaprop as dp

pytest.importorskip("scipy")


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    y = np.tanh(X @ rng.normal(size=(4, 1))) + 0.3 * rng.normal(size=(400, 1))
    model = dp.Sequential([dp.Dense(4, 16), dp.Tanh(), dp.Dense(16, 1)], seed=0)
    model.fit(X, y, loss="mse", optimizer=dp.Adam(0.01), epochs=20, batch_size=32, verbose=0)
    lam = dp.curvature.eigenvalues(model, "mse", X, y)[0]       # ARPACK, all 400 rows (under the 1,000 sampled)
    return model, X, y, lam


def kinds(findings):
    return [f.kind for f in findings if f.layer == -1]


@pytest.mark.parametrize("factor, expected", [(1.25, "beyond_stability"), (1.0, "edge_of_stability"), (0.5, None)])
def test_the_learning_rate_is_judged_against_two_over_lambda_max(trained, factor, expected):
    model, X, y, lam = trained
    lr = factor * 2 / lam
    findings = dp.diagnose(model, X, y, "mse", optimizer=dp.SGD(lr))
    assert kinds(findings) == ([expected] if expected else [])
    if expected:
        finding = next(f for f in findings if f.kind == expected)
        assert finding.value == pytest.approx(factor, rel=1e-3)
        assert "learning rate" in finding.advice or "edge of stability" in finding.advice


def test_momentum_raises_the_limit_and_adaptive_optimizers_get_no_learning_rate_finding(trained):
    model, X, y, lam = trained
    assert kinds(dp.diagnose(model, X, y, "mse", optimizer=dp.SGD(1.5 * 2 / lam, momentum=0.9))) == []
    assert kinds(dp.diagnose(model, X, y, "mse", optimizer=dp.SGD(2.5 * 2 / lam, momentum=0.1))) == \
        ["beyond_stability"]
    assert kinds(dp.diagnose(model, X, y, "mse", optimizer=dp.Adam(10.0))) == []


def test_the_batch_is_judged_against_the_gradient_noise_scale(trained):
    model, X, y, _ = trained
    scale = dp.curvature.gradient_noise_scale(model, "mse", X, y).b_simple
    assert scale > 20, "the noisy targets give a noise scale well above one sample"
    small = dp.diagnose(model, X, y, "mse", train_batch_size=max(1, int(scale / 20)))
    large = dp.diagnose(model, X, y, "mse", train_batch_size=int(20 * scale) + 1)
    fine = dp.diagnose(model, X, y, "mse", train_batch_size=int(scale))
    assert kinds(small) == ["small_batch"] and kinds(large) == ["large_batch"] and kinds(fine) == []
    assert next(f for f in small if f.kind == "small_batch").value == pytest.approx(max(1, int(scale / 20)) / scale)


def test_a_minimum_sharper_than_the_other_starts_is_a_finding():
    """A two-layer linear network x·W1·W2: scaling W2 by 3 scales the W1 block of the Hessian by 9."""
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(200, 3)), rng.normal(size=(200, 1))
    flat = dp.Sequential([dp.Dense(3, 4, bias=False), dp.Dense(4, 1, bias=False)], seed=0)
    sharp = copy.deepcopy(flat)
    sharp.layers[1].W.value = 3 * flat.layers[1].W.value
    ratio = dp.curvature.eigenvalues(sharp, "mse", X, y)[0] / dp.curvature.eigenvalues(flat, "mse", X, y)[0]
    assert ratio > 2
    findings = dp.diagnose(sharp, X, y, "mse", starts=[flat, copy.deepcopy(flat), copy.deepcopy(flat)])
    assert kinds(findings) == ["sharp_minimum"]
    assert findings[-1].value == pytest.approx(ratio, rel=1e-3)
    assert kinds(dp.diagnose(flat, X, y, "mse", starts=[sharp, copy.deepcopy(flat)])) == []
