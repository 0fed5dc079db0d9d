"""Dropout: unbiased in expectation, identity in eval mode, reproducible masks."""
import numpy as np
import pytest

import deltaprop as dp


def test_output_mean_matches_input_mean_within_sampling_error():
    layer = dp.Dropout(0.3)
    layer.rng = np.random.default_rng(0)
    x = np.full((1000, 200), 2.0)
    y = layer.forward(x, training=True)
    kept = y != 0
    # Each element is x/(1−p) with probability 1−p: mean 2, std 2·√(p/(1−p)).
    std_of_mean = 2 * np.sqrt(0.3 / 0.7) / np.sqrt(x.size)
    assert abs(y.mean() - 2.0) < 4 * std_of_mean
    assert abs(kept.mean() - 0.7) < 4 * np.sqrt(0.3 * 0.7 / x.size)
    np.testing.assert_allclose(y[kept], 2.0 / 0.7)
    grad = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(grad, np.where(kept, 1 / 0.7, 0))


def test_eval_mode_is_the_identity(rng):
    x = rng.normal(size=(5, 4))
    layer = dp.Dropout(0.9)
    assert layer.forward(x, training=False) is x
    assert layer.backward(x) is x


def test_same_seed_same_masks(rng):
    X, y = rng.normal(size=(64, 5)), rng.integers(0, 2, size=64)

    def run(seed):
        model = dp.mlp([5, 16, 2], dropout=0.5, seed=0)
        model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=2, seed=seed, verbose=0)
        return [p.value.tobytes() for p in model.parameters()], model.layers[2].mask.copy()

    weights_a, mask_a = run(3)
    weights_b, mask_b = run(3)
    assert weights_a == weights_b and np.array_equal(mask_a, mask_b)
    assert not np.array_equal(run(4)[1], mask_a)


def test_float32_stays_float32():
    layer = dp.Dropout(0.5)
    assert layer.forward(np.ones((3, 3), dtype=np.float32), training=True).dtype == np.float32


@pytest.mark.parametrize("p", [-0.1, 1.0, 2])
def test_p_outside_the_interval(p):
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        dp.Dropout(p)
