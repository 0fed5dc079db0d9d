"""Every layer and activation passes a float64 central-difference check, for many shapes."""
import numpy as np
import pytest

import deltaprop as dp
from conftest import away_from_kink

SHAPES = [(1, 1), (1, 5), (3, 2), (7, 4), (16, 9)]
ACTIVATIONS = [dp.Identity, dp.ReLU, dp.LeakyReLU, dp.ELU, dp.GELU, dp.Sigmoid, dp.Tanh, dp.Softplus, dp.Softmax]
KINKED = (dp.ReLU, dp.LeakyReLU, dp.ELU)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda cls: cls.__name__)
def test_activation_gradients(activation, shape, rng):
    x = rng.normal(0, 2, size=shape)
    if issubclass(activation, KINKED):
        x = away_from_kink(x)
    report = dp.gradcheck(activation(), x)
    assert set(report) == {"input"}
    assert report.worst <= 1e-6, report


@pytest.mark.parametrize("alpha", [0.2, 2.5])
@pytest.mark.parametrize("activation", [dp.LeakyReLU, dp.ELU], ids=lambda cls: cls.__name__)
def test_parametrised_activation_gradients(activation, alpha, rng):
    x = away_from_kink(rng.normal(0, 2, size=(6, 3)))
    assert dp.gradcheck(activation(alpha=alpha), x).worst <= 1e-6


@pytest.mark.parametrize("n_in,n_out,batch", [(1, 1, 1), (3, 2, 1), (5, 4, 7), (8, 3, 16)])
@pytest.mark.parametrize("bias", [True, False])
def test_dense_gradients(n_in, n_out, batch, bias, rng):
    layer = dp.Dense(n_in, n_out, bias=bias)
    report = dp.gradcheck(layer, rng.normal(size=(batch, n_in)))
    assert set(report) == ({"W", "b", "input"} if bias else {"W", "input"})
    assert report.worst <= 1e-6, report


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "elu", "gelu", "softplus", "leaky_relu"])
@pytest.mark.parametrize("loss,target_kind", [
    (dp.CrossEntropy(), "labels"), (dp.MSE(), "values"), (dp.Huber(0.5), "values"),
    (dp.BinaryCrossEntropy(), "binary"),
])
@pytest.mark.parametrize("batch", [1, 6])
def test_model_gradients_with_loss(activation, loss, target_kind, batch, rng):
    n_out = 3
    model = dp.mlp([4, 6, 5, n_out], activation=activation, seed=1, dtype="float64")
    X = rng.normal(size=(batch, 4))
    if target_kind == "labels":
        y = rng.integers(0, n_out, size=batch)
    elif target_kind == "binary":
        y = rng.integers(0, 2, size=(batch, n_out)).astype(float)
    else:
        y = rng.normal(size=(batch, n_out))
    report = dp.gradcheck(model, X, y, loss=loss)
    assert set(report) == {"0.W", "0.b", "2.W", "2.b", "4.W", "4.b", "input"}
    # A ReLU unit whose Z sits within ε of zero would make the difference straddle the kink;
    # with these seeds none does, and the check is strict.
    assert report.worst <= 1e-6, report


def test_gradcheck_leaves_the_original_untouched(rng):
    model = dp.mlp([3, 4, 2], seed=0)  # float32
    before = [p.value.copy() for p in model.parameters()]
    dp.gradcheck(model, rng.normal(size=(5, 3)))
    assert model.dtype == np.float32
    for p, value in zip(model.parameters(), before):
        assert p.value.dtype == np.float32 and np.array_equal(p.value, value)


def test_gradcheck_detects_a_wrong_gradient(rng):
    class BrokenTanh(dp.Tanh):
        def backward(self, grad_y):
            return grad_y * (1 - self.A)  # missing the square

    report = dp.gradcheck(BrokenTanh(), rng.normal(size=(4, 3)))
    assert report["input"] > 1e-2


def test_gradcheck_max_checks_samples_elements(rng):
    report = dp.gradcheck(dp.Dense(30, 20), rng.normal(size=(4, 30)), max_checks=25)
    assert report.worst <= 1e-6
    assert "FAIL" not in report.table()
