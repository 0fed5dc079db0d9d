"""L1/L2 weight penalties: part of the reported loss, their gradients checked."""
import numpy as np
import pytest

import deltaprop as dp


@pytest.mark.parametrize("l1,l2", [(0.01, 0.0), (0.0, 0.05), (0.02, 0.03)])
def test_penalty_gradients_pass_gradcheck(l1, l2, rng):
    model = dp.Sequential([dp.Dense(4, 6, l1=l1, l2=l2), dp.Tanh(), dp.Dense(6, 3, l2=l2)], seed=0, dtype="float64")
    report = dp.gradcheck(model, rng.normal(size=(5, 4)), rng.integers(0, 3, size=5), loss=dp.CrossEntropy())
    assert report.worst <= 1e-6, report


def test_penalty_value_and_reported_loss(rng):
    dense = dp.Dense(3, 2, l1=0.1, l2=0.2)
    dense.astype(np.float64)
    W = dense.W.value
    assert dense.penalty() == pytest.approx(0.1 * np.abs(W).sum() + 0.2 * (W ** 2).sum())
    model = dp.Sequential([dense], seed=0, dtype="float64")
    W = model.layers[0].W.value
    X, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    history = model.fit(X, y, loss="mse", optimizer=dp.SGD(lr=0.0), epochs=1, batch_size=10, verbose=0)
    data_loss = np.mean((X @ W + model.layers[0].b.value - y) ** 2)
    penalty = 0.1 * np.abs(W).sum() + 0.2 * (W ** 2).sum()
    assert history["loss"][0] == pytest.approx(data_loss + penalty)
    assert model.evaluate(X, y, loss="mse")["loss"] == pytest.approx(data_loss + penalty)


def test_l2_with_sgd_equals_weight_decay_of_twice_the_coefficient(rng):
    X, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 1))
    penalised = dp.Sequential([dp.Dense(3, 1, bias=False, l2=0.05)], seed=1, dtype="float64")
    decayed = dp.Sequential([dp.Dense(3, 1, bias=False)], seed=1, dtype="float64")
    penalised.fit(X, y, loss="mse", optimizer=dp.SGD(lr=0.1), epochs=3, batch_size=5, shuffle=False, verbose=0)
    decayed.fit(X, y, loss="mse", optimizer=dp.SGD(lr=0.1, weight_decay=0.1), epochs=3, batch_size=5, shuffle=False,
                verbose=0)
    np.testing.assert_allclose(penalised.layers[0].W.value, decayed.layers[0].W.value, rtol=1e-12)


def test_bad_penalty():
    with pytest.raises(ValueError, match=r"l2 must be in \[0, inf\], got -1.0"):
        dp.Dense(2, 2, l2=-1)
