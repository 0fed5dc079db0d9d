"""fit trains in training mode; predict, evaluate and validation run in eval mode."""
import numpy as np

import deltaprop as dp


class ModeRecorder(dp.Layer):
    """An identity layer that records the ``training`` flag of every forward call."""

    def __init__(self):
        super().__init__()
        self.modes = []

    def forward(self, x, training=False):
        self.modes.append(training)
        return x

    def backward(self, grad_y):
        return grad_y


def test_fit_uses_training_mode_and_validation_uses_eval_mode(rng):
    recorder = ModeRecorder()
    model = dp.Sequential([dp.Dense(3, 4), recorder, dp.Dense(4, 2)], seed=0)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, size=20)
    model.fit(X, y, loss=dp.CrossEntropy(), optimizer=dp.SGD(lr=0.1), epochs=1, batch_size=8,
              validation_data=(X[:5], y[:5]), verbose=0, seed=0)
    assert recorder.modes[:3] == [True, True, True]      # the three mini-batches
    assert recorder.modes[3:] and not any(recorder.modes[3:])  # validation
    recorder.modes.clear()
    model.predict(X)
    model.evaluate(X, y, loss=dp.CrossEntropy())
    assert recorder.modes and not any(recorder.modes)


def test_predict_and_evaluate_are_deterministic_with_dropout_and_batchnorm(rng):
    model = dp.mlp([4, 16, 3], normalization="batchnorm", dropout=0.5, seed=0)
    X, y = rng.normal(size=(40, 4)), rng.integers(0, 3, size=40)
    model.fit(X, y, loss=dp.CrossEntropy(), optimizer=dp.Adam(lr=1e-2), epochs=2, batch_size=8, verbose=0, seed=0)
    first, second = model.predict(X), model.predict(X)
    np.testing.assert_array_equal(first, second)
    # predict in batches of one gives the same as one batch: BatchNorm uses its running statistics
    np.testing.assert_allclose(model.predict(X, batch_size=1), first, rtol=1e-5, atol=1e-6)
    assert model.evaluate(X, y, loss=dp.CrossEntropy()) == model.evaluate(X, y, loss=dp.CrossEntropy())
