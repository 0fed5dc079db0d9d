"""One contiguous value buffer and one gradient buffer per model.

Every optimizer step over the buffers (one kernel call) is checked against the readable reference
rule applied parameter by parameter (float64, 1e-12).
"""
import copy
import pickle

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.optim import fused

from test_fused import CONFIGS

needs_numba = pytest.mark.skipif(not fused.AVAILABLE, reason="numba is not installed")


def wide_and_narrow(dtype="float64"):
    """Layers with n_out > n_in (W kept column-major) and n_out < n_in, a LayerNorm and a BatchNorm."""
    return dp.Sequential([dp.Dense(5, 40), dp.LayerNorm(40), dp.Tanh(), dp.Dense(40, 7), dp.BatchNorm(7),
                          dp.ReLU(), dp.Dense(7, 3)], seed=0, dtype=dtype)


def shares(view, buffer):
    return np.shares_memory(view, buffer)


def test_every_value_and_grad_is_a_view_covering_the_buffers_in_order():
    model = wide_and_narrow()
    params = model.parameters()
    assert params.values.size == sum(p.size for p in params) == params.grads.size
    assert params.values.flags.c_contiguous and params.grads.flags.c_contiguous
    for p, start, stop in zip(params, params.offsets[:-1], params.offsets[1:]):
        assert shares(p.value, params.values) and shares(p.grad, params.grads)
        region = params.values[start:stop]
        np.testing.assert_array_equal(np.sort(region), np.sort(p.value, axis=None))
        p.grad[...] = 7.0
        assert np.all(params.grads[start:stop] == 7.0)


def test_assigning_a_value_copies_into_the_buffer():
    model = wide_and_narrow()
    params = model.parameters()
    first = params[0]
    first.value = np.ones(first.shape)
    assert shares(first.value, params.values)
    assert np.all(params.values[: first.size] == 1.0)


@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))],
                         ids=["deepcopy", "pickle"])
def test_copies_are_bound_to_their_own_buffers(duplicate):
    model = wide_and_narrow()
    twin = duplicate(model)
    params, twin_params = model.parameters(), twin.parameters()
    np.testing.assert_array_equal(twin_params.values, params.values)
    assert not shares(twin_params.values, params.values)
    for p in twin_params:
        assert shares(p.value, twin_params.values) and shares(p.grad, twin_params.grads)


def test_astype_rebinds_to_buffers_of_the_new_dtype():
    model = wide_and_narrow("float64")
    before = model.parameters().values.copy()
    model.astype("float32")
    params = model.parameters()
    assert params.values.dtype == np.float32
    np.testing.assert_allclose(params.values, before, rtol=1e-6)
    for p in params:
        assert p.value.dtype == np.float32 and shares(p.value, params.values)


def test_wide_dense_weights_are_column_major_and_give_the_textbook_pass(rng):
    layer = dp.Dense(3, 8)
    model = dp.Sequential([layer], seed=0, dtype="float64")
    W, b = layer.W.value, layer.b.value
    assert W.flags.f_contiguous and W.shape == (3, 8)
    X = rng.normal(size=(4, 3))
    np.testing.assert_allclose(model.forward(X), X @ W + b, rtol=1e-13)
    delta = rng.normal(size=(4, 8))
    model.backward(delta)
    np.testing.assert_allclose(layer.W.grad, X.T @ delta, rtol=1e-13)
    np.testing.assert_allclose(layer.b.grad, delta.sum(axis=0), rtol=1e-13)


@needs_numba
@pytest.mark.parametrize("cls, options", CONFIGS, ids=lambda v: v.__name__ if isinstance(v, type) else str(v))
def test_one_kernel_call_over_the_buffers_equals_the_reference_per_parameter(cls, options, rng):
    models = {kind: wide_and_narrow() for kind in ("reference", "buffers")}
    optimizers = {kind: cls(**options) for kind in models}
    optimizers["reference"].fused = False
    for step in range(5):
        grads = [rng.normal(size=p.shape) for p in models["reference"].parameters()]
        for kind, model in models.items():
            for p, g in zip(model.parameters(), grads):
                p.grad[...] = g
            optimizers[kind].step(model.parameters())
    np.testing.assert_allclose(models["buffers"].parameters().values, models["reference"].parameters().values,
                               rtol=1e-12, atol=1e-12)
    # the per-parameter state is a view of the joined state, and saves as the reference's does
    reference = optimizers["reference"].state_dict()["state"]
    for name, state in optimizers["buffers"].state_dict()["state"].items():
        for key, value in state.items():
            np.testing.assert_allclose(value, reference[name][key], rtol=1e-12, atol=1e-12)


@needs_numba
def test_a_state_restored_into_a_new_optimizer_continues_over_the_buffers(rng):
    def train(model, optimizer, steps):
        for _ in range(steps):
            for p in model.parameters():
                p.grad[...] = np.sin(p.value) + 0.1
            optimizer.step(model.parameters())

    straight, straight_opt = wide_and_narrow(), dp.SGD(lr=0.1, momentum=0.9)
    train(straight, straight_opt, 6)
    resumed, first = wide_and_narrow(), dp.SGD(lr=0.1, momentum=0.9)
    train(resumed, first, 3)
    second = dp.SGD(lr=0.1, momentum=0.9)
    second.load_state_dict(first.state_dict())
    train(resumed, second, 3)
    np.testing.assert_array_equal(resumed.parameters().values, straight.parameters().values)


def test_clip_grad_norm_over_the_buffer_equals_per_parameter_clipping(rng):
    model = wide_and_narrow()
    params = model.parameters()
    for p in params:
        p.grad[...] = rng.normal(size=p.shape)
    grads = [p.grad.copy() for p in params]
    norm = np.sqrt(sum(float((g * g).sum()) for g in grads))
    total = dp.optim.clip_grad_norm(params, 1.0)
    assert total == pytest.approx(norm, rel=1e-12)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad, g * (1.0 / (norm + 1e-6)), rtol=1e-12)
