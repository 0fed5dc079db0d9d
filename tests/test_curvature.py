"""Curvature against an independent exact Hessian: PyTorch's autograd on a functional copy of each network.

The torch functions below are written out here from the layers' definitions (Z = A·W + b, tanh, BatchNorm
with batch statistics, conv2d, max pooling, MSE / cross-entropy); the Hessian of the mean loss comes from
``torch.autograd.functional.hessian`` in float64, never from deltaprop.
"""
import numpy as np
import pytest

import deltaprop as dp

torch = pytest.importorskip("torch")
F = torch.nn.functional


# ----------------------------------------------------------------- the reference
def unflatten(model, theta):
    """θ cut into the model's parameters; each region of the flat buffer is in its parameter's own memory
    order (a Dense W may be column-major)."""
    pieces, offset = [], 0
    for p in model.parameters():
        region = theta[offset:offset + p.size]
        column_major = p.value.ndim > 1 and not p.value.flags.c_contiguous
        pieces.append(region.reshape(p.shape[::-1]).T if column_major else region.reshape(p.shape))
        offset += p.size
    return pieces


def torch_loss_function(model, X, y, loss_name: str):
    """L(θ) in torch for a deltaprop model's architecture, θ flat in model.parameters() order."""
    X_t = torch.tensor(np.asarray(X, dtype=np.float64))
    y_t = torch.tensor(np.asarray(y))

    def loss(theta):
        pieces = unflatten(model, theta)
        it = iter(pieces)
        a = X_t
        for layer in model.layers:
            if isinstance(layer, dp.Dense):
                W = next(it)
                a = a @ W + (next(it) if layer.use_bias else 0)
            elif isinstance(layer, dp.Tanh):
                a = torch.tanh(a)
            elif isinstance(layer, dp.ReLU):
                a = torch.relu(a)
            elif isinstance(layer, dp.BatchNorm):
                gamma, beta = next(it), next(it)
                dims = [0] + list(range(2, a.dim()))
                mean = a.mean(dim=dims, keepdim=True)
                var = a.var(dim=dims, unbiased=False, keepdim=True)
                shape = [1, -1] + [1] * (a.dim() - 2)
                a = (a - mean) / torch.sqrt(var + layer.eps) * gamma.reshape(shape) + beta.reshape(shape)
            elif isinstance(layer, dp.Conv2D):
                W, b = next(it), next(it)
                a = F.conv2d(a, W, b, stride=layer.stride, padding=layer.padding)
            elif isinstance(layer, dp.MaxPool2D):
                a = F.max_pool2d(a, layer.kernel_size, layer.stride)
            elif isinstance(layer, dp.Flatten):
                a = a.reshape(a.shape[0], -1)
            else:
                raise NotImplementedError(type(layer).__name__)
        if loss_name == "mse":
            value = ((a - y_t) ** 2).mean()
        else:
            value = F.cross_entropy(a, y_t)
        return value

    return loss


def exact_hessian(model, X, y, loss_name):
    theta = torch.tensor(model.parameters().values.astype(np.float64), requires_grad=True)
    return torch.autograd.functional.hessian(torch_loss_function(model, X, y, loss_name), theta).numpy()


def relative_error(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ------------------------------------------------------------------ the networks
def tanh_mlp():
    return dp.Sequential([dp.Dense(5, 8), dp.Tanh(), dp.Dense(8, 6), dp.Tanh(), dp.Dense(6, 3)], seed=1,
                         dtype="float64")


def relu_mlp():
    return dp.Sequential([dp.Dense(5, 8), dp.ReLU(), dp.Dense(8, 3)], seed=2, dtype="float64")


def batchnorm_mlp():
    return dp.Sequential([dp.Dense(5, 7), dp.BatchNorm(7), dp.Tanh(), dp.Dense(7, 3)], seed=3, dtype="float64")


def small_cnn():
    return dp.Sequential([dp.Conv2D(1, 3, 3, padding=1), dp.Tanh(), dp.MaxPool2D(2), dp.Flatten(),
                          dp.Dense(12, 3)], seed=4, dtype="float64", input_shape=(1, 4, 4))


NETWORKS = {"tanh-mlp": tanh_mlp, "relu-mlp": relu_mlp, "batchnorm": batchnorm_mlp, "cnn": small_cnn}


def data_for(model, rng, n=24, loss_name="cross_entropy"):
    X = rng.normal(size=(n, *model.input_shape))
    y = rng.integers(0, 3, size=n) if loss_name == "cross_entropy" else rng.normal(size=(n, 3))
    return X, y


@pytest.fixture(params=list(NETWORKS))
def network(request, rng):
    model = NETWORKS[request.param]()
    X, y = data_for(model, rng)
    return request.param, model, X, y, exact_hessian(model, X, y, "cross_entropy")


# --------------------------------------------------------------------------- HVP
def test_hessian_vector_products_equal_the_exact_hessian_within_1e_6(network, rng):
    name, model, X, y, H = network
    hessian = dp.curvature.Hessian(model, "cross_entropy", X, y)
    for _ in range(3):
        v = rng.normal(size=hessian.size)
        assert relative_error(hessian.hvp(v), H @ v) < 1e-6, name
    assert hessian.n_products == 3


def test_the_functional_form_and_batches_give_the_full_data_product(rng):
    model = tanh_mlp()
    X, y = data_for(model, rng, n=30, loss_name="mse")
    H = exact_hessian(model, X, y, "mse")
    v = rng.normal(size=H.shape[0])
    for batch_size in (None, 7):
        Hv = dp.curvature.hvp(model, "mse", X, y, v, batch_size=batch_size)
        assert relative_error(Hv, H @ v) < 1e-6


def test_a_float32_model_is_measured_on_a_float64_copy_and_left_unchanged(rng):
    model = dp.Sequential([dp.Dense(5, 8), dp.Tanh(), dp.Dense(8, 3)], seed=5)
    before = model.parameters().values.copy()
    X, y = data_for(model, rng)
    H = exact_hessian(model, X, y, "cross_entropy")
    v = rng.normal(size=H.shape[0])
    assert relative_error(dp.curvature.hvp(model, "cross_entropy", X, y, v), H @ v) < 1e-6
    np.testing.assert_array_equal(model.parameters().values, before)


def test_dropout_masks_are_held_fixed_and_batchnorm_statistics_untouched(rng):
    """With dropout, H is the Hessian of the loss under one fixed set of masks: it is symmetric (vᵀHw = wᵀHv)
    only if every evaluation saw the same masks. BatchNorm's running statistics stay as they were."""
    model = dp.Sequential([dp.Dense(5, 16), dp.BatchNorm(16), dp.Tanh(), dp.Dropout(0.5), dp.Dense(16, 3)],
                          seed=6, dtype="float64")
    running = model.layers[1].running_mean.copy(), model.layers[1].running_var.copy()
    X, y = data_for(model, rng)
    hessian = dp.curvature.Hessian(model, "cross_entropy", X, y)
    v, w = rng.normal(size=hessian.size), rng.normal(size=hessian.size)
    assert abs(v @ hessian.hvp(w) - w @ hessian.hvp(v)) < 1e-7 * abs(v @ hessian.hvp(w))
    np.testing.assert_array_equal(hessian.objective.model.layers[1].running_mean, running[0])
    np.testing.assert_array_equal(model.layers[1].running_var, running[1])


def test_weight_penalties_add_their_curvature(rng):
    """l2·ΣW² adds 2·l2 on the diagonal entries of W."""
    plain = dp.Sequential([dp.Dense(4, 3)], seed=0, dtype="float64")
    penalised = dp.Sequential([dp.Dense(4, 3, l2=0.25)], seed=0, dtype="float64")
    X, y = rng.normal(size=(10, 4)), rng.normal(size=(10, 3))
    v = rng.normal(size=15)
    difference = dp.curvature.hvp(penalised, "mse", X, y, v) - dp.curvature.hvp(plain, "mse", X, y, v)
    expected = np.concatenate([0.5 * v[:12], np.zeros(3)])
    np.testing.assert_allclose(difference, expected, atol=1e-8)


def test_a_users_registered_layer_works_through_its_backward_pass(rng):
    @dp.register_layer(name="cube_for_curvature")
    class Cube(dp.Layer):
        kind = "activation"

        def forward(self, x, training=False):
            self.x = x
            return x ** 3

        def backward(self, grad_y):
            return grad_y * 3 * self.x ** 2

    model = dp.Sequential([dp.Dense(3, 4), Cube(), dp.Dense(4, 1)], seed=0, dtype="float64")
    X, y = rng.normal(size=(12, 3)), rng.normal(size=(12, 1))
    theta = torch.tensor(model.parameters().values, requires_grad=True)
    X_t, y_t = torch.tensor(X), torch.tensor(y)

    def loss(t):
        W1, b1, W2, b2 = unflatten(model, t)
        return ((((X_t @ W1 + b1) ** 3) @ W2 + b2 - y_t) ** 2).mean()

    H = torch.autograd.functional.hessian(loss, theta).numpy()
    v = rng.normal(size=21)
    assert relative_error(dp.curvature.hvp(model, "mse", X, y, v), H @ v) < 1e-6


def test_bad_vectors_are_refused_by_name(rng):
    model = tanh_mlp()
    X, y = data_for(model, rng)
    hessian = dp.curvature.Hessian(model, "cross_entropy", X, y)
    with pytest.raises(ValueError, match="one entry per parameter"):
        hessian.hvp(np.ones(3))
    with pytest.raises(ValueError, match="non-finite"):
        hessian.hvp(np.full(hessian.size, np.nan))
    np.testing.assert_array_equal(hessian.hvp(np.zeros(hessian.size)), 0.0)


# ----------------------------------------------------------------------- spectrum
def test_top_three_eigenvalues_equal_the_exact_ones_within_1e_6(network):
    name, model, X, y, H = network
    exact = np.sort(np.linalg.eigvalsh(H))[::-1][:3]
    found = dp.curvature.eigenvalues(model, "cross_entropy", X, y, k=3)
    np.testing.assert_allclose(found, exact, rtol=1e-6, err_msg=name)


def test_twenty_lanczos_steps_find_lambda_max_and_the_smallest_eigenvalue(rng):
    model = tanh_mlp()
    X, y = data_for(model, rng)
    H = exact_hessian(model, X, y, "cross_entropy")
    hessian = dp.curvature.Hessian(model, "cross_entropy", X, y)
    assert hessian.top_eigenvalue(steps=40) == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-6)
    smallest = hessian.eigenvalues(1, which="smallest")
    assert smallest[0] == pytest.approx(np.linalg.eigvalsh(H)[0], rel=1e-5, abs=1e-8)


def test_hutchinson_trace_is_within_three_standard_errors(network):
    name, model, X, y, H = network
    estimate = dp.curvature.trace(model, "cross_entropy", X, y, n_vectors=60, seed=3)
    assert estimate.standard_error > 0
    assert abs(estimate.value - np.trace(H)) < 3 * estimate.standard_error, name


def test_spectral_density_weights_sum_to_one_and_match_the_exact_moments(network):
    """SLQ is Gauss quadrature: with enough steps its first moments equal (1/n)·tr(Hᵏ) up to the sampling
    error of the start vectors."""
    name, model, X, y, H = network
    density = dp.curvature.density(model, "cross_entropy", X, y, n_vectors=8, steps=30, seed=1)
    assert density.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert (density.weights >= 0).all()
    eig = np.linalg.eigvalsh(H)
    assert density.nodes.max() == pytest.approx(eig.max(), rel=1e-5)
    mean = float(density.weights @ density.nodes)
    assert abs(mean - eig.mean()) < 0.35 * np.abs(eig).mean() + 1e-12, name
    grid = np.linspace(eig.min() - 1, eig.max() + 1, 2001)
    smooth = density.smooth(grid)
    assert np.trapezoid(smooth, grid) == pytest.approx(1.0, abs=1e-3)


# -------------------------------------------------------- per-example gradients
def brute_force_per_example_gradients(model, X, y, loss_name):
    """Each sample's own loss gradient, by a torch backward pass of that sample alone."""
    gradients = []
    for i in range(len(X)):
        theta = torch.tensor(model.parameters().values.astype(np.float64), requires_grad=True)
        torch_loss_function(model, X[i:i + 1], y[i:i + 1], loss_name)(theta).backward()
        gradients.append(theta.grad.numpy().copy())
    return np.array(gradients)


@pytest.mark.parametrize("make, loss_name", [(tanh_mlp, "cross_entropy"), (relu_mlp, "mse"),
                                             (small_cnn, "cross_entropy")], ids=["tanh", "relu", "cnn-fallback"])
def test_per_example_gradient_norms_equal_batch_of_one_passes(make, loss_name, rng):
    model = make()
    X, y = data_for(model, rng, n=20, loss_name=loss_name)
    expected = np.linalg.norm(brute_force_per_example_gradients(model, X, y, loss_name), axis=1)
    for batch_size in (None, 6):
        found = dp.curvature.per_example_grad_norms(model, loss_name, X, y, batch_size=batch_size)
        np.testing.assert_allclose(found, expected, rtol=1e-10)


def test_gradient_noise_scale_equals_its_definition_by_brute_force(rng):
    model = tanh_mlp()
    X, y = data_for(model, rng, n=40)
    g = brute_force_per_example_gradients(model, X, y, "cross_entropy")
    G = g.mean(axis=0)
    trace_sigma = np.trace(np.cov(g, rowvar=False))     # the unbiased covariance of the per-example gradients
    scale = dp.curvature.gradient_noise_scale(model, "cross_entropy", X, y, batch_size=16)
    assert scale.trace_covariance == pytest.approx(trace_sigma, rel=1e-10)
    assert scale.gradient_norm_sq == pytest.approx(G @ G, rel=1e-10)
    assert scale.b_simple == pytest.approx(trace_sigma / (G @ G), rel=1e-10)
    assert scale.n_samples == 40


def test_per_example_gradients_are_refused_with_batchnorm(rng):
    model = batchnorm_mlp()
    X, y = data_for(model, rng)
    with pytest.raises(ValueError, match="BatchNorm"):
        dp.curvature.per_example_grad_norms(model, "cross_entropy", X, y)


def test_a_step_across_relu_kinks_is_detected_and_made_smaller(rng):
    """With 2,000 samples and a large step, some ReLU pre-activation changes sign between θ − h·v̂ and θ + h·v̂:
    the plain central difference is then far off. The one-sided differences disagree, the step shrinks, and the
    product agrees with autograd's (which takes f'' = 0 at the kinks)."""
    model = relu_mlp()
    X, y = data_for(model, rng, n=2000)
    H = exact_hessian(model, X, y, "cross_entropy")
    v = rng.normal(size=H.shape[0])
    hessian = dp.curvature.Hessian(model, "cross_entropy", X, y, step=1e-2)
    objective = hessian.objective
    unit = v / np.linalg.norm(v)
    naive = (objective.gradient(objective.theta + 1e-2 * unit)[1] -
             objective.gradient(objective.theta - 1e-2 * unit)[1]) / 2e-2 * np.linalg.norm(v)
    assert relative_error(naive, H @ v) > 1e-3          # the kinks are really crossed at this step
    before = objective.n_gradients
    assert relative_error(hessian.hvp(v), H @ v) < 1e-6
    assert objective.n_gradients - before > 3 and hessian.kinks == 0
