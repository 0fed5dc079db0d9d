"""BatchNorm and LayerNorm: formulas written out here, gradient checks, running statistics."""
import numpy as np
import pytest

import deltaprop as dp


@pytest.mark.parametrize("shape", [(3, 1), (3, 4), (8, 5), (17, 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_training_mode_gradients(shape, affine, rng):
    layer = dp.BatchNorm(shape[1], affine=affine)
    if affine:
        layer.gamma.value[...] = rng.uniform(0.5, 2, size=shape[1])
        layer.beta.value[...] = rng.normal(size=shape[1])
    report = dp.gradcheck(layer, rng.normal(1, 3, size=shape), training=True)
    assert report.worst <= 1e-6, report


def test_batchnorm_of_two_rows_passes_no_gradient_to_its_input(rng):
    # With N = 2 and eps → 0 every normalized value is ±1 whatever the input, so dL/dx → 0 (it is O(eps/var)).
    layer = dp.BatchNorm(3, eps=1e-12)
    layer.astype("float64")
    x = np.array([[1.0, -4.0, 10.0], [3.0, 2.0, -5.0]])
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(np.abs(y - layer.beta.value), np.broadcast_to(layer.gamma.value, (2, 3)), rtol=1e-5)
    grad_x = layer.backward(rng.normal(size=(2, 3)))
    assert np.abs(grad_x).max() <= 1e-9


def test_batchnorm_eval_mode_gradients(rng):
    layer = dp.BatchNorm(4)
    layer.running_mean[...] = [0.5, -1, 2, 0]
    layer.running_var[...] = [1, 4, 0.25, 2]
    assert dp.gradcheck(layer, rng.normal(size=(5, 4)), training=False).worst <= 1e-6


@pytest.mark.parametrize("shape", [(1, 3), (1, 6), (4, 3), (9, 7)])
def test_layernorm_gradients(shape, rng):
    layer = dp.LayerNorm(shape[1])
    layer.gamma.value[...] = rng.uniform(0.5, 2, size=shape[1])
    layer.beta.value[...] = rng.normal(size=shape[1])
    assert dp.gradcheck(layer, rng.normal(2, 3, size=shape)).worst <= 1e-6


def test_model_with_normalization_and_dropout_gradients(rng):
    model = dp.mlp([5, 8, 6, 3], activation="tanh", normalization="batchnorm", dropout=0.3, seed=0, dtype="float64")
    report = dp.gradcheck(model, rng.normal(size=(7, 5)), rng.integers(0, 3, size=7), loss=dp.CrossEntropy())
    assert report.worst <= 1e-6, report
    model = dp.mlp([5, 8, 3], activation="gelu", normalization="layernorm", seed=0, dtype="float64")
    assert dp.gradcheck(model, rng.normal(size=(1, 5)), rng.normal(size=(1, 3)), loss=dp.MSE()).worst <= 1e-6


def test_batchnorm_forward_backward_and_running_statistics_match_the_formulas(rng):
    n, d, momentum, eps = 6, 3, 0.2, 1e-5
    layer = dp.BatchNorm(d, momentum=momentum, eps=eps)
    layer.astype(np.float64)
    gamma, beta = np.array([1.5, 0.5, -1.0]), np.array([0.1, 0.0, 2.0])
    layer.gamma.value[...] = gamma
    layer.beta.value[...] = beta
    running_mean, running_var = np.zeros(d), np.ones(d)
    for step in range(4):
        x = rng.normal(step, 1 + step, size=(n, d))
        y = layer.forward(x, training=True)
        mu = x.sum(axis=0) / n
        var_biased = ((x - mu) ** 2).sum(axis=0) / n
        var_unbiased = ((x - mu) ** 2).sum(axis=0) / (n - 1)
        x_hat = (x - mu) / np.sqrt(var_biased + eps)
        np.testing.assert_allclose(y, gamma * x_hat + beta, rtol=1e-12)
        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var = (1 - momentum) * running_var + momentum * var_unbiased
        np.testing.assert_allclose(layer.running_mean, running_mean, rtol=1e-12)
        np.testing.assert_allclose(layer.running_var, running_var, rtol=1e-12)
    g = rng.normal(size=(n, d))
    dx = layer.backward(g)
    # ∂L/∂x written out from the chain rule through μ and σ²:
    dx_hat = g * gamma
    inv_std = 1 / np.sqrt(var_biased + eps)
    dvar = np.sum(dx_hat * (x - mu) * -0.5 * inv_std ** 3, axis=0)
    dmu = np.sum(-dx_hat * inv_std, axis=0) + dvar * np.mean(-2 * (x - mu), axis=0)
    expected = dx_hat * inv_std + dvar * 2 * (x - mu) / n + dmu / n
    np.testing.assert_allclose(dx, expected, rtol=1e-10)
    np.testing.assert_allclose(layer.gamma.grad, np.sum(g * x_hat, axis=0), rtol=1e-12)
    np.testing.assert_allclose(layer.beta.grad, g.sum(axis=0), rtol=1e-12)
    # Eval mode uses the running statistics.
    x = rng.normal(size=(4, d))
    np.testing.assert_allclose(layer.forward(x, training=False),
                               gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta, rtol=1e-12)


def test_layernorm_matches_the_formula(rng):
    x = rng.normal(3, 2, size=(4, 5))
    layer = dp.LayerNorm(5, eps=1e-5)
    layer.astype(np.float64)
    mu = x.mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    np.testing.assert_allclose(layer.forward(x), (x - mu) / np.sqrt(var + 1e-5), rtol=1e-12)


def test_batchnorm_running_statistics_are_state_not_parameters():
    model = dp.Sequential([dp.Dense(3, 4), dp.BatchNorm(4), dp.ReLU(), dp.Dense(4, 2)], seed=0)
    names = [p.name for p in model.parameters()]
    assert names == ["0.W", "0.b", "1.gamma", "1.beta", "3.W", "3.b"]
    assert set(model.layers[1].state()) == {"running_mean", "running_var"}
    assert model.layers[1].running_mean.dtype == np.float32


def test_batch_of_one_in_training_mode_is_a_clear_error():
    layer = dp.BatchNorm(3)
    with pytest.raises(ValueError, match="BatchNorm needs at least 2 samples per batch in training mode"):
        layer.forward(np.ones((1, 3)), training=True)
    assert layer.forward(np.ones((1, 3)), training=False).shape == (1, 3)


def test_fit_merges_a_last_batch_of_one_for_batchnorm(rng):
    model = dp.mlp([3, 4, 2], normalization="batchnorm", seed=0)
    sizes = []
    model.fit(rng.normal(size=(33, 3)), rng.integers(0, 2, size=33), loss="cross_entropy", optimizer="sgd",
              epochs=1, batch_size=16, verbose=0,
              callbacks=[dp.LambdaCallback(on_batch_end=lambda batch, logs: sizes.append(logs["size"]))])
    assert sizes == [16, 17]


def test_bad_normalization_arguments():
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\], got 1.5"):
        dp.BatchNorm(3, momentum=1.5)
    with pytest.raises(ValueError, match=r"eps must be in \(0, inf\]"):
        dp.LayerNorm(3, eps=0)
    with pytest.raises(ValueError, match=r"layer 1 \(BatchNorm\) expects 5 input features but the layer before it gives 4"):
        dp.Sequential([dp.Dense(3, 4), dp.BatchNorm(5)])
    with pytest.raises(ValueError, match="normalization must be None, 'batchnorm' or 'layernorm', got 'groupnorm'"):
        dp.mlp([3, 4, 2], normalization="groupnorm")


def test_values_equal_pytorch_when_available(rng):
    torch = pytest.importorskip("torch")
    x = rng.normal(size=(8, 4))
    ours = dp.BatchNorm(4, momentum=0.3)
    ours.astype(np.float64)
    theirs = torch.nn.BatchNorm1d(4, momentum=0.3).double()
    for _ in range(3):
        np.testing.assert_allclose(ours.forward(x, training=True), theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)
    theirs.eval()
    np.testing.assert_allclose(ours.forward(x), theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-10)
