"""Convolution, pooling, Flatten, BatchNorm over channels and Residual: finite differences (float64) and
PyTorch (forward, ∂L/∂x and every parameter gradient, float64, 1e-9)."""
import numpy as np
import pytest

import deltaprop as dp

CONV1D = [  # (in, out, kernel, stride, padding, dilation, length, batch)
    (1, 2, 3, 1, 0, 1, 7, 1), (2, 3, 3, 2, 1, 1, 9, 2), (3, 2, 5, 2, 2, 1, 11, 3), (2, 2, 2, 3, 0, 1, 8, 2),
    (2, 4, 3, 1, 2, 2, 10, 2), (1, 3, 4, 1, "same", 1, 9, 1), (2, 2, 3, 1, "same", 2, 6, 2), (3, 1, 1, 1, 0, 1, 5, 4),
]
CONV2D = [  # (in, out, kernel, stride, padding, dilation, (H, W), batch)
    (1, 2, 3, 1, 0, 1, (5, 6), 1), (2, 3, (3, 2), (2, 1), (1, 0), 1, (7, 5), 2), (2, 2, 3, 2, 1, (2, 1), (9, 8), 2),
    (3, 2, 1, 1, 0, 1, (4, 3), 3), (1, 2, (2, 3), 1, "same", 1, (5, 5), 1), (2, 2, 3, 3, 2, 1, (7, 7), 1),
]


def conv_id(case):
    return "-".join(str(v) for v in case)


def conv1d(case):
    c_in, c_out, k, s, p, d, length, n = case
    return dp.Conv1D(c_in, c_out, k, stride=s, padding=p, dilation=d), (n, c_in, length)


def conv2d(case):
    c_in, c_out, k, s, p, d, size, n = case
    return dp.Conv2D(c_in, c_out, k, stride=s, padding=p, dilation=d), (n, c_in, *size)


# ------------------------------------------------------------------------------ finite differences
@pytest.mark.parametrize("case", CONV1D, ids=conv_id)
def test_conv1d_gradients(case, rng):
    layer, shape = conv1d(case)
    report = dp.gradcheck(layer, rng.normal(size=shape))
    assert set(report) == {"W", "b", "input"}
    assert report.worst <= 1e-7, report


@pytest.mark.parametrize("case", CONV2D, ids=conv_id)
def test_conv2d_gradients(case, rng):
    layer, shape = conv2d(case)
    assert dp.gradcheck(layer, rng.normal(size=shape)).worst <= 1e-7


@pytest.mark.parametrize("layer, shape", [
    (dp.MaxPool1D(2), (2, 3, 8)), (dp.MaxPool1D(3, stride=2, padding=1), (1, 2, 9)), (dp.MaxPool1D(2, 1), (3, 1, 5)),
    (dp.MaxPool2D(2), (2, 2, 6, 4)), (dp.MaxPool2D((3, 2), stride=(2, 1), padding=(1, 0)), (1, 2, 7, 5)),
    (dp.AvgPool1D(2), (2, 3, 7)), (dp.AvgPool1D(3, stride=2, padding=1), (1, 2, 9)),
    (dp.AvgPool2D(2), (2, 2, 4, 6)), (dp.AvgPool2D(3, stride=2, padding=1), (1, 1, 7, 5)),
    (dp.GlobalAvgPool(), (3, 4, 5)), (dp.GlobalAvgPool(), (2, 3, 4, 5)), (dp.Flatten(), (2, 3, 4, 5)),
], ids=lambda v: repr(v) if isinstance(v, dp.Layer) else str(v))
def test_pooling_and_flatten_gradients(layer, shape, rng):
    x = rng.permutation(np.arange(np.prod(shape), dtype=float)).reshape(shape) / 7   # distinct: no ties in a max
    assert dp.gradcheck(layer, x).worst <= 1e-7


@pytest.mark.parametrize("shape", [(4, 3, 5), (3, 2, 4, 3), (1, 3, 6), (3, 2, 1, 2)])
def test_batchnorm_over_channels_gradients(shape, rng):
    layer = dp.BatchNorm(shape[1])
    layer.gamma.value[...] = rng.normal(size=shape[1])
    assert dp.gradcheck(layer, rng.normal(size=shape)).worst <= 1e-6


def test_residual_gradients_with_and_without_projection(rng):
    block = dp.Residual([dp.Conv1D(3, 3, 3, padding=1, bias=False), dp.BatchNorm(3), dp.Tanh(),
                         dp.Conv1D(3, 3, 3, padding=1)])
    model = dp.Sequential([dp.Conv1D(2, 3, 3), block, dp.Tanh(), dp.Flatten(), dp.Dense(15, 2)], seed=0,
                          dtype="float64")
    report = dp.gradcheck(model, rng.normal(size=(3, 2, 7)), rng.integers(0, 2, 3), loss=dp.CrossEntropy())
    assert {"1.0.W", "1.1.gamma", "1.3.W", "1.3.b", "input"} <= set(report)
    assert report.worst <= 1e-6, report
    projected = dp.Residual([dp.Conv2D(2, 4, 3, stride=2, padding=1), dp.Tanh()],
                            projection=dp.Conv2D(2, 4, 1, stride=2))
    report = dp.gradcheck(dp.Sequential([projected], seed=1, dtype="float64"), rng.normal(size=(2, 2, 5, 6)))
    assert {"0.0.W", "0.projection.W", "0.projection.b", "input"} <= set(report)
    assert report.worst <= 1e-6, report


def test_a_small_cnn_passes_the_model_gradient_check(rng):
    # no bias before BatchNorm: its gradient is zero up to rounding, which a relative error would magnify
    model = dp.Sequential([dp.Conv2D(1, 4, 3, padding=1, bias=False), dp.BatchNorm(4), dp.ReLU(), dp.MaxPool2D(2),
                           dp.Conv2D(4, 6, 3, stride=2, padding=1), dp.Tanh(), dp.GlobalAvgPool(), dp.Dense(6, 3)],
                          seed=2, dtype="float64")
    report = dp.gradcheck(model, rng.normal(size=(3, 1, 8, 8)), rng.integers(0, 3, 3), loss=dp.CrossEntropy())
    assert report.worst <= 1e-6, report


# ------------------------------------------------------------------------------------ PyTorch
torch = pytest.importorskip("torch")
F = torch.nn.functional


def torch_check(layer, x, torch_forward, parameters=()):
    """Forward, ∂L/∂x and parameter gradients of ``layer`` against ``torch_forward`` for L = Σ R ⊙ y."""
    model = dp.Sequential([layer], seed=0, dtype="float64")
    rng = np.random.default_rng(5)
    y = model.forward(x, training=True)
    R = rng.normal(size=y.shape)
    grad_x = model.backward(R)
    x_t = torch.tensor(x, requires_grad=True)
    tensors = [torch.tensor(p.value, requires_grad=True) for p in parameters]
    y_t = torch_forward(x_t, *tensors)
    (y_t * torch.tensor(R)).sum().backward()
    np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grad_x, x_t.grad.numpy(), rtol=1e-9, atol=1e-12)
    for p, t in zip(parameters, tensors):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=p.name)


def torch_padding(layer):
    return layer.padding if isinstance(layer.padding, str) else layer.padding


@pytest.mark.filterwarnings("ignore:Using padding='same'")   # PyTorch's note on its own copy of the input
@pytest.mark.parametrize("case", CONV1D, ids=conv_id)
def test_conv1d_equals_pytorch(case, rng):
    layer, shape = conv1d(case)
    torch_check(layer, rng.normal(size=shape),
                lambda x, W, b: F.conv1d(x, W, b, stride=layer.stride, padding=torch_padding(layer),
                                         dilation=layer.dilation), [layer.W, layer.b])


@pytest.mark.parametrize("case", CONV2D, ids=conv_id)
def test_conv2d_equals_pytorch(case, rng):
    layer, shape = conv2d(case)
    torch_check(layer, rng.normal(size=shape),
                lambda x, W, b: F.conv2d(x, W, b, stride=layer.stride, padding=torch_padding(layer),
                                         dilation=layer.dilation), [layer.W, layer.b])


@pytest.mark.parametrize("layer, shape, reference", [
    (dp.MaxPool1D(3, stride=2, padding=1), (2, 3, 9), lambda x: F.max_pool1d(x, 3, 2, 1)),
    (dp.MaxPool1D(2), (2, 2, 7), lambda x: F.max_pool1d(x, 2)),
    (dp.MaxPool2D((3, 2), stride=(2, 1), padding=(1, 0)), (2, 2, 7, 5), lambda x: F.max_pool2d(x, (3, 2), (2, 1), (1, 0))),
    (dp.MaxPool2D(2), (1, 3, 6, 6), lambda x: F.max_pool2d(x, 2)),
    (dp.AvgPool1D(3, stride=2, padding=1), (2, 3, 9), lambda x: F.avg_pool1d(x, 3, 2, 1)),
    (dp.AvgPool2D(3, stride=2, padding=1), (2, 2, 7, 6), lambda x: F.avg_pool2d(x, 3, 2, 1)),
    (dp.AvgPool2D((2, 3)), (1, 2, 6, 7), lambda x: F.avg_pool2d(x, (2, 3))),
    (dp.GlobalAvgPool(), (2, 3, 5, 4), lambda x: x.mean(dim=(2, 3))),
    (dp.Flatten(), (2, 3, 5, 4), lambda x: torch.flatten(x, 1)),
], ids=lambda v: repr(v) if isinstance(v, dp.Layer) else str(v) if isinstance(v, tuple) else "")
def test_pooling_equals_pytorch(layer, shape, reference, rng):
    torch_check(layer, rng.normal(size=shape), reference)


@pytest.mark.parametrize("layer, reference", [
    (dp.MaxPool2D(2), lambda x: F.max_pool2d(x, 2)),
    (dp.MaxPool2D(3, stride=1, padding=1), lambda x: F.max_pool2d(x, 3, 1, 1)),
    (dp.MaxPool1D(3, stride=2), lambda x: F.max_pool1d(x, 3, 2)),
], ids=["2d-disjoint", "2d-overlapping-padded", "1d-overlapping"])
def test_max_pooling_sends_delta_to_the_first_maximum_on_ties_as_pytorch(layer, reference, rng):
    """Windows full of equal values (integers 0..2): δ goes to the first maximum in scan order, as in PyTorch."""
    shape = (2, 3, 8, 8) if layer.dims == 2 else (2, 3, 11)
    torch_check(layer, rng.integers(0, 3, size=shape).astype(float), reference)


@pytest.mark.parametrize("shape", [(4, 3, 6), (3, 2, 5, 4)])
def test_batchnorm_over_channels_equals_pytorch_in_training_and_running_statistics(shape, rng):
    layer = dp.BatchNorm(shape[1], momentum=0.2)
    x = rng.normal(size=shape) * 3 + 1
    reference = (torch.nn.BatchNorm1d if len(shape) == 3 else torch.nn.BatchNorm2d)(shape[1], momentum=0.2).double()
    torch_check(layer, x, lambda x_t, g, b: F.batch_norm(x_t, reference.running_mean, reference.running_var, g, b,
                                                         training=True, momentum=0.2),
                [layer.gamma, layer.beta])
    np.testing.assert_allclose(layer.running_mean, reference.running_mean.numpy(), rtol=1e-9)
    np.testing.assert_allclose(layer.running_var, reference.running_var.numpy(), rtol=1e-9)
    evaluated = layer.forward(x, training=False)
    reference.eval()
    np.testing.assert_allclose(evaluated, reference(torch.tensor(x)).detach().numpy(), rtol=1e-9, atol=1e-12)


def test_residual_block_equals_pytorch(rng):
    conv_a, conv_b, projection = dp.Conv1D(2, 4, 3, padding=1), dp.Conv1D(4, 4, 3, padding=1), dp.Conv1D(2, 4, 1)
    block = dp.Residual([conv_a, dp.ReLU(), conv_b], projection=projection)

    def reference(x, Wa, ba, Wb, bb, Wp, bp):
        return F.conv1d(x, Wp, bp) + F.conv1d(F.relu(F.conv1d(x, Wa, ba, padding=1)), Wb, bb, padding=1)

    torch_check(block, rng.normal(size=(3, 2, 6)), reference,
                [conv_a.W, conv_a.b, conv_b.W, conv_b.b, projection.W, projection.b])


@pytest.mark.parametrize("layer, shape", [
    (dp.Conv1D(3, 4, 3, stride=2, padding=1), (5, 3, 11)),
    (dp.Conv1D(2, 3, 4, dilation=2, padding="same"), (2, 2, 9)),
    (dp.Conv2D(2, 3, (3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2)), (3, 2, 7, 8)),
    (dp.Conv2D(3, 2, 3, padding="same"), (1, 3, 5, 5)),
], ids=["1d-stride-pad", "1d-dilated-same", "2d-mixed", "2d-same"])
def test_compiled_and_numpy_convolutions_give_the_same_numbers(layer, shape, rng, monkeypatch):
    """With numba (the fast extra) im2col/col2im run compiled; without it, tap by tap in NumPy: same sums."""
    from deltaprop.layers import conv_kernels

    if conv_kernels.compiled(conv_kernels._col2im) is None:
        pytest.skip("numba is not installed: only the NumPy path exists")
    x = rng.normal(size=shape).astype(np.float32)
    results = []
    for compiled in (True, False):
        if not compiled:
            monkeypatch.setattr(conv_kernels, "compiled", lambda function: None)
        y = layer.forward(x, training=True)
        grad_x = layer.backward(np.cos(y))
        results.append((y, grad_x, layer.W.grad.copy(), layer.b.grad.copy()))
    for got, expected in zip(*results):
        np.testing.assert_array_equal(got, expected)
