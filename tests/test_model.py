"""Sequential: the backward pass by hand on a 2-2-1 network, dtype, seeds, predict, summary, XOR."""
import numpy as np
import pytest

import deltaprop as dp
from conftest import worked_step_by_hand


def two_two_one(dtype="float64"):
    model = dp.Sequential([dp.Dense(2, 2), dp.Sigmoid(), dp.Dense(2, 1), dp.Sigmoid()], dtype=dtype)
    model.layers[0].W.value[...] = [[0.15, 0.25], [0.20, 0.30]]
    model.layers[0].b.value[...] = [0.35, 0.35]
    model.layers[2].W.value[...] = [[0.40], [0.45]]
    model.layers[2].b.value[...] = [0.60]
    return model


def test_seed_quantities_of_a_2_2_1_network_match_the_formulas():
    model = two_two_one()
    x = np.array([[0.05, 0.10], [0.5, -0.2]])
    y = np.array([[0.01], [0.99]])
    loss = dp.MSE()
    loss.forward(model.forward(x, training=True), y)
    model.backward(loss.backward())

    hand = worked_step_by_hand(x, y)
    Z1, A1, Z2, A2, delta1, delta2 = (hand[k] for k in ("Z1", "A1", "Z2", "A2", "delta1", "delta2"))

    hidden, output = model.inspect()
    assert (hidden.layer, output.layer) == (0, 2)
    for got, want in [(hidden.A_in, x), (hidden.Z, Z1), (hidden.A, A1), (hidden.delta, delta1),
                      (hidden.dW, x.T @ delta1), (hidden.db, delta1.sum(0)),
                      (output.A_in, A1), (output.Z, Z2), (output.A, A2), (output.delta, delta2),
                      (output.dW, A1.T @ delta2), (output.db, delta2.sum(0))]:
        np.testing.assert_allclose(got, want, rtol=1e-13)


def test_xor_learns_with_the_update_rule_written_out():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([[0], [1], [1], [0]], dtype=float)
    model = dp.Sequential([dp.Dense(2, 4), dp.Tanh(), dp.Dense(4, 1)], seed=3, dtype="float64")
    loss = dp.MSE()
    alpha = 0.1
    for _ in range(3000):
        loss.forward(model.forward(X, training=True), y)
        model.backward(loss.backward())
        for param in model.parameters():
            param.value -= alpha * param.grad          # W ← W − α·∂L/∂W
    assert loss.forward(model.forward(X), y) < 0.01
    np.testing.assert_array_equal(model.predict(X) > 0.5, y > 0.5)


def test_parameters_in_layer_order_with_names():
    model = dp.Sequential([dp.Dense(4, 8), dp.Tanh(), dp.Dense(8, 3)], seed=0, dtype="float64")
    params = model.parameters()
    assert [p.name for p in params] == ["0.W", "0.b", "2.W", "2.b"]
    assert [p.value.shape for p in params] == [(4, 8), (8,), (8, 3), (3,)]
    assert all(p.grad.shape == p.value.shape and p.grad.dtype == np.float64 for p in params)
    assert params[0] is model.layers[0].W


def test_float32_model_never_computes_in_float64(rng):
    model = dp.mlp([5, 7, 6, 3], activation="gelu", seed=0)
    X = rng.normal(size=(9, 5))  # float64 input is converted at the model's entrance
    out = model.forward(X, training=True)
    loss = dp.CrossEntropy()
    loss.forward(out, rng.integers(0, 3, size=9))
    dX = model.backward(loss.backward())
    assert out.dtype == np.float32 and dX.dtype == np.float32
    for trace in model.inspect():
        for name in ("A_in", "Z", "A", "delta", "dW", "db"):
            assert getattr(trace, name).dtype == np.float32, name
    assert all(p.value.dtype == np.float32 for p in model.parameters())
    assert model.predict(X).dtype == np.float32


def test_float64_end_to_end(rng):
    model = dp.mlp([3, 4, 2], activation="tanh", seed=0, dtype="float64")
    out = model.forward(rng.normal(size=(2, 3)).astype(np.float32))
    assert out.dtype == np.float64
    assert all(p.value.dtype == np.float64 for p in model.parameters())


def test_same_seed_same_weights_bitwise():
    a = dp.mlp([10, 20, 5], seed=42)
    b = dp.mlp([10, 20, 5], seed=42)
    c = dp.mlp([10, 20, 5], seed=43)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert pa.value.tobytes() == pb.value.tobytes()
    assert a.parameters()[0].value.tobytes() != c.parameters()[0].value.tobytes()


def test_predict_in_batches_equals_one_forward(rng):
    model = dp.mlp([6, 16, 4], seed=1, dtype="float64")
    X = rng.normal(size=(103, 6))
    np.testing.assert_allclose(model.predict(X, batch_size=10), model.forward(X), rtol=1e-14)
    assert model.predict(X, batch_size=1).shape == (103, 4)


def test_summary_lists_layers_shapes_and_counts():
    model = dp.mlp([64, 128, 10], seed=0)
    text = model.summary()
    assert "Dense(64, 128)" in text and "(None, 128)" in text and "8,320" in text
    assert "ReLU()" in text and "1,290" in text
    assert "Total parameters: 9,610" in text


def test_mlp_picks_he_for_relu_and_glorot_for_tanh():
    relu = dp.mlp([400, 300, 10], activation="relu", seed=0)
    tanh = dp.mlp([400, 300, 10], activation="tanh", seed=0)
    # He uniform: Var = 2/fan_in; Glorot uniform: Var = 2/(fan_in + fan_out).
    assert relu.layers[0].W.value.var() == pytest.approx(2 / 400, rel=0.02)
    assert tanh.layers[0].W.value.var() == pytest.approx(2 / 700, rel=0.02)
    assert isinstance(relu.layers[1], dp.ReLU) and len(relu.layers) == 3


def test_mlp_output_activation():
    model = dp.mlp([3, 4, 2], activation="tanh", output_activation="softmax", seed=0)
    assert isinstance(model.layers[-1], dp.Softmax)
    np.testing.assert_allclose(model.predict(np.ones((2, 3))).sum(axis=1), 1, rtol=1e-6)


def test_backward_without_input_gradient_gives_the_same_parameter_gradients(rng):
    model = dp.Sequential([dp.Dropout(0.0), dp.Dense(5, 7), dp.Tanh(), dp.Dense(7, 3)], seed=0, dtype="float64")
    X, y = rng.normal(size=(4, 5)), rng.integers(0, 3, size=4)
    loss = dp.CrossEntropy()
    loss.forward(model.forward(X, training=True), y)
    assert model.backward(loss.backward()).shape == (4, 5)
    full = [p.grad.copy() for p in model.parameters()]
    loss.forward(model.forward(X, training=True), y)
    assert model.backward(loss.backward(), input_gradient=False) is None
    for a, b in zip(full, model.parameters()):
        np.testing.assert_array_equal(a, b.grad)
