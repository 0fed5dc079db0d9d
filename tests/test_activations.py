"""Activation forward values against closed forms, including extreme inputs."""
import math

import numpy as np
import pytest

import deltaprop as dp

X = np.array([[-3.0, -0.5, 0.0, 0.7, 2.0]])


def test_relu_family_values():
    np.testing.assert_array_equal(dp.ReLU().forward(X), [[0, 0, 0, 0.7, 2.0]])
    np.testing.assert_allclose(dp.LeakyReLU(0.1).forward(X), [[-0.3, -0.05, 0, 0.7, 2.0]])
    np.testing.assert_allclose(dp.ELU(1.5).forward(X),
                               [[1.5 * (math.exp(-3) - 1), 1.5 * (math.exp(-0.5) - 1), 0, 0.7, 2.0]])


def test_gelu_is_the_tanh_approximation():
    c = math.sqrt(2 / math.pi)
    expected = [0.5 * v * (1 + math.tanh(c * (v + 0.044715 * v ** 3))) for v in X[0]]
    np.testing.assert_allclose(dp.GELU().forward(X)[0], expected, rtol=1e-14)


def test_sigmoid_tanh_softplus_values():
    np.testing.assert_allclose(dp.Sigmoid().forward(X)[0], [1 / (1 + math.exp(-v)) for v in X[0]], rtol=1e-14)
    np.testing.assert_allclose(dp.Tanh().forward(X)[0], [math.tanh(v) for v in X[0]], rtol=1e-14)
    np.testing.assert_allclose(dp.Softplus().forward(X)[0], [math.log(1 + math.exp(v)) for v in X[0]], rtol=1e-14)


def test_softmax_rows_and_jacobian_vector_product(rng):
    z = rng.normal(size=(3, 4))
    expected = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    layer = dp.Softmax()
    np.testing.assert_allclose(layer.forward(z), expected, rtol=1e-14)
    g = rng.normal(size=(3, 4))
    # Full Jacobian per row: J = diag(p) − p pᵀ; the JVP is J·g (J is symmetric).
    jvp = np.stack([(np.diag(p) - np.outer(p, p)) @ gi for p, gi in zip(expected, g)])
    np.testing.assert_allclose(layer.backward(g), jvp, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_stay_finite_and_correct(dtype):
    x = np.array([[-1e4, 1e4]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # any overflow would raise here
        np.testing.assert_array_equal(dp.Sigmoid().forward(x), [[0.0, 1.0]])
        np.testing.assert_array_equal(dp.Softplus().forward(x), [[0.0, 1e4]])
        np.testing.assert_array_equal(dp.Tanh().forward(x), [[-1.0, 1.0]])
        np.testing.assert_array_equal(dp.ELU().forward(x), [[-1.0, 1e4]])
        np.testing.assert_array_equal(dp.GELU().forward(x), [[0.0, 1e4]])
        np.testing.assert_allclose(dp.Softmax().forward(x), [[0.0, 1.0]])
        sigmoid = dp.Sigmoid()
        sigmoid.forward(x)
        assert np.all(np.isfinite(sigmoid.backward(np.ones_like(x))))
        softplus = dp.Softplus()
        softplus.forward(x)
        np.testing.assert_array_equal(softplus.backward(np.ones_like(x)), [[0.0, 1.0]])


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus", "softmax", "identity"])
def test_activations_keep_float32(activation, rng):
    layer = dp.layers.activations.get(activation)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


def test_unknown_activation_name():
    with pytest.raises(ValueError, match="unknown activation 'relux'.*known activations: .*relu"):
        dp.layers.activations.get("relux")
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        dp.mlp([2, 3, 1], activation="swish")


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="backward called before forward"):
        dp.Sigmoid().backward(np.ones((1, 1)))
