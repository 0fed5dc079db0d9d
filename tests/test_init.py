"""Initializers: the documented distributions, by name or callable, from a Generator."""
import math

import numpy as np
import pytest

import deltaprop as dp

FAN_IN, FAN_OUT = 500, 300


@pytest.mark.parametrize("name,mean,variance", [
    ("glorot_uniform", 0, 2 / (FAN_IN + FAN_OUT)),
    ("glorot_normal", 0, 2 / (FAN_IN + FAN_OUT)),
    ("he_uniform", 0, 2 / FAN_IN),
    ("he_normal", 0, 2 / FAN_IN),
    ("lecun_normal", 0, 1 / FAN_IN),
    ("uniform", 0, 0.1 ** 2 / 12),
    ("normal", 0, 0.05 ** 2),
])
def test_variance_of_each_initializer(name, mean, variance):
    w = dp.init.get(name)((FAN_IN, FAN_OUT), np.random.default_rng(0), np.float64)
    assert w.shape == (FAN_IN, FAN_OUT)
    assert abs(w.mean() - mean) < 4 * math.sqrt(variance / w.size)
    assert w.var() == pytest.approx(variance, rel=0.02)


def test_uniform_limits():
    w = dp.init.get("he_uniform")((FAN_IN, FAN_OUT), np.random.default_rng(0), np.float32)
    limit = math.sqrt(6 / FAN_IN)
    assert w.dtype == np.float32 and np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit


def test_zeros_constant_and_custom_callable():
    assert not dp.init.get("zeros")((3, 2), None, np.float32).any()
    np.testing.assert_array_equal(dp.init.Constant(0.5)((2,), None), [0.5, 0.5])
    layer = dp.Dense(3, 2, init=lambda shape, rng, dtype: np.full(shape, 7.0, dtype=dtype), bias_init=dp.init.Constant(1.0))
    np.testing.assert_array_equal(layer.W.value, 7.0)
    np.testing.assert_array_equal(layer.b.value, 1.0)


def test_dense_default_init_is_glorot_uniform():
    layer = dp.Dense(400, 200)
    assert isinstance(layer.init, dp.init.GlorotUniform)
    assert np.abs(layer.W.value).max() <= math.sqrt(6 / 600)
    assert not layer.b.value.any()


def test_unknown_initializer_name():
    with pytest.raises(ValueError, match="unknown initializer 'xavier'; known initializers: .*glorot_uniform"):
        dp.Dense(2, 2, init="xavier")
    with pytest.raises(TypeError, match="init must be an initializer name or a callable"):
        dp.Dense(2, 2, init=3)


def test_initializer_config_round_trip():
    original = dp.init.Normal(mean=0.1, std=0.01)
    rebuilt = dp.init.from_config(dp.init.to_config(original))
    a = original((4, 4), np.random.default_rng(1))
    b = rebuilt((4, 4), np.random.default_rng(1))
    assert a.tobytes() == b.tobytes()
