"""Optimizers: first steps against the update rules written out here (as torch.optim documents them)."""
import copy

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.parameter import Parameter

STEPS = 6


def gradients(rng, shape=(3, 4)):
    return [rng.normal(size=shape) for _ in range(STEPS)]


def run(optimizer, theta0, grads):
    param = Parameter("w", theta0.copy())
    trajectory = []
    for g in grads:
        param.grad[...] = g
        optimizer.step([param])
        trajectory.append(param.value.copy())
    return trajectory


# --------------------------------------------------- reference update rules
def ref_sgd(theta, grads, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    out, buf = [], None
    for t, g in enumerate(grads):
        g = g + weight_decay * theta
        if momentum:
            buf = g if t == 0 else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        theta = theta - lr * g
        out.append(theta)
    return out


def ref_adam(theta, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=False):
    b1, b2 = betas
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    vmax = np.zeros_like(theta)
    out = []
    for t, g in enumerate(grads, start=1):
        if decoupled:
            theta = theta * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat = m / (1 - b1 ** t)
        if amsgrad:
            vmax = np.maximum(vmax, v)
            v_hat = vmax / (1 - b2 ** t)
        else:
            v_hat = v / (1 - b2 ** t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(theta)
    return out


def ref_rmsprop(theta, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    v = np.zeros_like(theta)
    c = np.zeros_like(theta)
    b = np.zeros_like(theta)
    out = []
    for g in grads:
        g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g ** 2
        if centered:
            c = alpha * c + (1 - alpha) * g
            denom = np.sqrt(v - c ** 2) + eps
        else:
            denom = np.sqrt(v) + eps
        if momentum:
            b = momentum * b + g / denom
            theta = theta - lr * b
        else:
            theta = theta - lr * g / denom
        out.append(theta)
    return out


def ref_adagrad(theta, grads, lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    s = np.full_like(theta, initial_accumulator_value)
    out = []
    for t, g in enumerate(grads, start=1):
        g = g + weight_decay * theta
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g ** 2
        theta = theta - clr * g / (np.sqrt(s) + eps)
        out.append(theta)
    return out


CASES = [
    (dp.SGD, dict(lr=0.1), ref_sgd),
    (dp.SGD, dict(lr=0.1, weight_decay=0.01), ref_sgd),
    (dp.SGD, dict(lr=0.1, momentum=0.9), ref_sgd),
    (dp.SGD, dict(lr=0.1, momentum=0.9, dampening=0.3), ref_sgd),
    (dp.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.05), ref_sgd),
    (dp.Adam, dict(lr=0.01), ref_adam),
    (dp.Adam, dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1), ref_adam),
    (dp.Adam, dict(lr=0.01, amsgrad=True), ref_adam),
    (dp.AdamW, dict(lr=0.01), lambda th, g, **k: ref_adam(th, g, decoupled=True, weight_decay=1e-2, **k)),
    (dp.AdamW, dict(lr=0.01, weight_decay=0.2, amsgrad=True), lambda th, g, **k: ref_adam(th, g, decoupled=True, **k)),
    (dp.RMSprop, dict(lr=0.01), ref_rmsprop),
    (dp.RMSprop, dict(lr=0.01, alpha=0.9, weight_decay=0.1), ref_rmsprop),
    (dp.RMSprop, dict(lr=0.01, centered=True), ref_rmsprop),
    (dp.RMSprop, dict(lr=0.01, momentum=0.9, centered=True), ref_rmsprop),
    (dp.Adagrad, dict(lr=0.1), ref_adagrad),
    (dp.Adagrad, dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5), ref_adagrad),
]


@pytest.mark.parametrize("cls,options,reference", CASES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_first_steps_equal_the_written_out_rule(cls, options, reference, rng):
    theta0 = rng.normal(size=(3, 4))
    grads = gradients(rng)
    got = run(cls(**options), theta0, grads)
    want = reference(theta0.copy(), grads, **options)
    for step, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12, err_msg=f"step {step + 1}")


@pytest.mark.parametrize("cls,options", [(c, o) for c, o, _ in CASES if not o.get("weight_decay") and c is not dp.AdamW])
def test_zero_gradients_leave_weights_unchanged(cls, options, rng):
    theta0 = rng.normal(size=(5,))
    trajectory = run(cls(**options), theta0, [np.zeros(5)] * 4)
    assert np.array_equal(trajectory[-1], theta0)


def test_float32_parameters_stay_float32(rng):
    for cls in (dp.SGD, dp.Adam, dp.AdamW, dp.RMSprop, dp.Adagrad):
        param = Parameter("w", rng.normal(size=4).astype(np.float32))
        param.grad[...] = 1
        cls(lr=0.1).step([param])
        assert param.value.dtype == np.float32


def rosenbrock(xy):
    x, y = xy
    value = (1 - x) ** 2 + 100 * (y - x * x) ** 2
    grad = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
    return value, grad


def parabola(xy):
    scales = np.array([1.0, 10.0])
    return float((scales * (xy - 3) ** 2).sum()), 2 * scales * (xy - 3)


@pytest.mark.parametrize("problem,start,minimum,configs", [
    (parabola, [0.0, 0.0], [3.0, 3.0], [
        (dp.SGD, dict(lr=0.04), 300), (dp.SGD, dict(lr=0.01, momentum=0.9, nesterov=True), 500),
        (dp.Adam, dict(lr=0.1), 1000), (dp.AdamW, dict(lr=0.1, weight_decay=0.0), 1000),
        (dp.RMSprop, dict(lr=0.01), 2000), (dp.Adagrad, dict(lr=1.0), 2000),
    ]),
    (rosenbrock, [-1.0, 1.5], [1.0, 1.0], [
        (dp.SGD, dict(lr=1e-3, momentum=0.9), 20000), (dp.Adam, dict(lr=0.02), 20000),
        (dp.AdamW, dict(lr=0.02, weight_decay=0.0, amsgrad=True), 20000),
        (dp.RMSprop, dict(lr=1e-3, centered=True), 20000), (dp.Adagrad, dict(lr=0.5), 20000),
    ]),
], ids=["parabola", "rosenbrock"])
def test_every_optimizer_finds_the_minimum(problem, start, minimum, configs):
    for cls, options, steps in configs:
        param = Parameter("xy", np.array(start))
        optimizer = cls(**options)
        for _ in range(steps):
            _, param.grad[...] = problem(param.value)
            optimizer.step([param])
        np.testing.assert_allclose(param.value, minimum, atol=2e-2, err_msg=f"{cls.__name__} {options}")


@pytest.mark.parametrize("cls,options", [(c, o) for c, o, _ in CASES])
def test_state_dict_round_trip_is_bit_identical(cls, options, rng):
    model = dp.mlp([4, 5, 3], seed=0, dtype="float64")
    X, y = rng.normal(size=(16, 4)), rng.integers(0, 3, size=16)
    loss = dp.CrossEntropy()

    def train(model, optimizer, steps):
        for _ in range(steps):
            loss.forward(model.forward(X, training=True), y)
            model.backward(loss.backward())
            optimizer.step(model.parameters())

    straight_model, straight_opt = model, cls(**options)
    train(straight_model, straight_opt, 5)
    resumed_model = copy.deepcopy(straight_model)
    saved = straight_opt.state_dict()
    train(straight_model, straight_opt, 10)

    fresh_opt = cls(**options)
    fresh_opt.load_state_dict(saved)
    train(resumed_model, fresh_opt, 10)
    for a, b in zip(straight_model.parameters(), resumed_model.parameters()):
        assert a.value.tobytes() == b.value.tobytes()


@pytest.mark.parametrize("make,message", [
    (lambda: dp.SGD(lr=-0.1), r"lr must be in \[0, inf\], got -0.1"),
    (lambda: dp.Adam(betas=(1.0, 0.999)), r"betas\[0\] must be in \[0, 1\), got 1.0"),
    (lambda: dp.Adam(betas=(0.9, -0.1)), r"betas\[1\] must be in \[0, 1\), got -0.1"),
    (lambda: dp.Adam(eps=0), r"eps must be in \(0, inf\], got 0.0"),
    (lambda: dp.RMSprop(eps=-1), r"eps must be in \(0, inf\]"),
    (lambda: dp.Adagrad(eps=0), r"eps must be in \(0, inf\]"),
    (lambda: dp.SGD(lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
    (lambda: dp.SGD(lr=0.1, weight_decay=-1), r"weight_decay must be in \[0, inf\]"),
    (lambda: dp.Adam(betas=0.9), r"betas must be a pair"),
])
def test_invalid_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_loading_state_of_another_optimizer_is_refused():
    with pytest.raises(ValueError, match="state_dict is for Adam, cannot load it into SGD"):
        dp.SGD(lr=0.1).load_state_dict(dp.Adam().state_dict())


def test_clip_grad_norm_and_value():
    a, b = Parameter("a", np.zeros(2)), Parameter("b", np.zeros(1))
    a.grad[...] = [3.0, 0.0]
    b.grad[...] = [4.0]
    total = dp.clip_grad_norm([a, b], max_norm=1.0)
    assert total == pytest.approx(5.0)
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(a.grad, [3 * scale, 0])
    np.testing.assert_allclose(b.grad, [4 * scale])
    assert dp.clip_grad_norm([a, b], max_norm=10.0) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(b.grad, [4 * scale])  # under the limit: unchanged
    a.grad[...] = [-2.0, 0.5]
    dp.clip_grad_value([a], 1.0)
    np.testing.assert_array_equal(a.grad, [-1.0, 0.5])
    with pytest.raises(ValueError, match="max_norm must be in"):
        dp.clip_grad_norm([a], 0)


def test_trajectories_equal_pytorch_when_available(rng):
    torch = pytest.importorskip("torch")
    theta0 = rng.normal(size=(3, 4))
    grads = gradients(rng)
    pairs = [
        (dp.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
        (dp.Adam(lr=0.01, amsgrad=True, weight_decay=0.1), lambda p: torch.optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1)),
        (dp.AdamW(lr=0.01), lambda p: torch.optim.AdamW(p, lr=0.01)),
        (dp.RMSprop(lr=0.01, momentum=0.5, centered=True), lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True)),
        (dp.Adagrad(lr=0.1, lr_decay=0.01), lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.01)),
    ]
    for ours, make_theirs in pairs:
        mine = run(ours, theta0, grads)
        tensor = torch.tensor(theta0.copy(), requires_grad=True)
        theirs = make_theirs([tensor])
        for step, g in enumerate(grads):
            tensor.grad = torch.tensor(g)
            theirs.step()
            np.testing.assert_allclose(mine[step], tensor.detach().numpy(), rtol=0, atol=1e-12,
                                       err_msg=type(ours).__name__)
