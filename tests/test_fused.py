"""The fused (numba) optimizer kernels against the readable reference rules they replace."""
import numpy as np
import pytest

import deltaprop as dp
from deltaprop.optim import fused

needs_numba = pytest.mark.skipif(not fused.AVAILABLE, reason="numba is not installed")

CONFIGS = [
    (dp.SGD, {"lr": 0.1}),
    (dp.SGD, {"lr": 0.1, "weight_decay": 0.01}),
    (dp.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.2, "weight_decay": 0.01}),
    (dp.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (dp.Adam, {"lr": 1e-2}),
    (dp.Adam, {"lr": 1e-2, "weight_decay": 0.1, "amsgrad": True}),
    (dp.AdamW, {"lr": 1e-2, "weight_decay": 0.1}),
    (dp.AdamW, {"lr": 1e-2, "amsgrad": True}),
    (dp.RMSprop, {"lr": 1e-2}),
    (dp.RMSprop, {"lr": 1e-2, "momentum": 0.9, "centered": True, "weight_decay": 0.01}),
    (dp.Adagrad, {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.1}),
]


@needs_numba
@pytest.mark.parametrize("cls, options", CONFIGS, ids=lambda v: v.__name__ if isinstance(v, type) else str(v))
# float32: rounding differs by operation order (centered RMSprop subtracts nearly equal numbers)
@pytest.mark.parametrize("dtype, tolerance", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("shape", [(3, 4), (300, 200)])
def test_fused_kernel_equals_the_reference_rule(cls, options, dtype, tolerance, shape, rng):
    start = rng.normal(size=shape).astype(dtype)
    params = {kind: dp.Parameter("w", start.copy()) for kind in ("reference", "fused")}
    optimizers = {kind: cls(**options) for kind in params}
    optimizers["reference"].fused = False
    optimizers["fused"].fused = True
    for step in range(6):
        grad = rng.normal(size=shape).astype(dtype)
        if step == 3:
            grad[0, :2] = 0.0   # zero gradients on some entries
        for kind, param in params.items():
            param.grad[...] = grad
            optimizers[kind].step([param])
        np.testing.assert_allclose(params["fused"].value, params["reference"].value, rtol=tolerance,
                                   atol=tolerance)
    reference = optimizers["reference"].state_dict()["state"]["w"]
    for key, value in optimizers["fused"].state_dict()["state"]["w"].items():
        np.testing.assert_allclose(value, reference[key], rtol=tolerance, atol=tolerance)


@needs_numba
def test_fused_training_is_reproducible_and_close_to_the_reference(rng):
    X, y = rng.normal(size=(200, 6)), rng.integers(0, 3, size=200)

    def train(use_fused):
        model = dp.mlp([6, 32, 3], seed=0, dtype="float64")
        optimizer = dp.Adam(lr=1e-2)
        optimizer.fused = use_fused
        model.fit(X, y, loss=dp.CrossEntropy(), optimizer=optimizer, epochs=3, batch_size=16, seed=0, verbose=0)
        return [p.value for p in model.parameters()]

    first, again, reference = train(True), train(True), train(False)
    for a, b, c in zip(first, again, reference):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-12)


def test_without_numba_the_reference_rules_run():
    import os
    import subprocess
    import sys

    script = ("import numpy as np, deltaprop as dp\n"
              "from deltaprop.optim import fused\n"
              "assert not fused.AVAILABLE\n"
              "opt = dp.Adam(lr=0.1)\n"
              "assert not opt.fused\n"
              "p = dp.Parameter('w', np.ones(3)); p.grad[...] = 1.0\n"
              "opt.step([p]); print(p.value[0])\n")
    env = dict(os.environ, DELTAPROP_NUMBA="0")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) == pytest.approx(0.9)   # Adam's first step moves by lr


DECAYING = [  # optimizer, options, the state entry that decays when the gradient becomes zero, its decay per step
    (dp.Adam, {"lr": 1e-3}, "exp_avg", 0.9),
    (dp.AdamW, {"lr": 1e-3}, "exp_avg", 0.9),
    (dp.SGD, {"lr": 0.1, "momentum": 0.5}, "momentum_buffer", 0.5),
    (dp.RMSprop, {"lr": 1e-3, "alpha": 0.5}, "square_avg", 0.5),
    (dp.RMSprop, {"lr": 1e-3, "alpha": 0.5, "centered": True, "momentum": 0.5}, "grad_avg", 0.5),
]


@pytest.mark.parametrize("use_fused", [True, False], ids=["fused", "reference"])
@pytest.mark.parametrize("cls, options, key, decay", DECAYING, ids=lambda v: v.__name__ if isinstance(v, type) else None)
def test_decaying_averages_become_zero_instead_of_subnormal(cls, options, key, decay, use_fused):
    """One gradient g, then zeros: the average is c·decayᵗ (closed form) while that is a normal float32 number, then
    exactly zero — never a subnormal, which x86 processors compute on up to ~100× slower. NaN stays NaN."""
    if use_fused and not fused.AVAILABLE:
        pytest.skip("numba is not installed")
    tiny = np.finfo(np.float32).tiny
    param = dp.Parameter("w", np.ones(4, dtype=np.float32))
    optimizer = cls(**options)
    optimizer.fused = use_fused
    param.grad[...] = [1e-3, 1e-3, 1e-3, np.nan]
    optimizer.step([param])
    first = optimizer.state_dict()["state"]["w"][key][0]
    for step in range(1, 1000):
        param.grad[...] = [0.0, 0.0, 0.0, np.nan]
        optimizer.step([param])
        average = optimizer.state_dict()["state"]["w"][key]
        assert np.isnan(average[3])
        finite = average[:3]
        assert not np.any((finite != 0) & (np.abs(finite) < tiny)), f"subnormal at step {step}: {finite}"
        expected = np.float64(first) * decay ** step
        if expected > 2 * tiny:
            np.testing.assert_allclose(finite, expected, rtol=1e-4)
        elif expected < tiny / 2:
            assert np.all(finite == 0)
    assert np.all(finite == 0)
