"""Callbacks: EarlyStopping restores the best weights in every ending; StopAtTarget; TerminateOnNaN."""
import numpy as np
import pytest

import deltaprop as dp


@pytest.fixture
def data(rng):
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    return X, y


class RecordWeights(dp.Callback):
    """Keeps a copy of the weights and the val_loss at the end of every epoch."""

    def __init__(self):
        self.weights, self.val_loss = [], []

    def on_epoch_end(self, epoch, logs):
        self.weights.append([p.value.copy() for p in self.run.model.parameters()])
        self.val_loss.append(logs["val_loss"])


def weights_of(model):
    return [p.value for p in model.parameters()]


def assert_same_weights(a, b):
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def fit(model, X, y, callbacks, epochs=30, lr=0.05):
    return model.fit(X, y, loss="cross_entropy", optimizer=dp.SGD(lr=lr, momentum=0.9), epochs=epochs,
                     batch_size=16, validation_split=0.3, metrics=["accuracy"], callbacks=callbacks, seed=0, verbose=0)


def test_early_stop_restores_the_best_weights(data):
    X, y = data
    record = RecordWeights()
    # lr large enough that val_loss bounces; patience 1 stops early
    model = dp.mlp([4, 32, 2], seed=0)
    history = fit(model, X, y, [record, dp.EarlyStopping(patience=1)], epochs=200, lr=0.5)
    assert history.stop_reason == "early_stopping" and history.epochs < 200
    best = int(np.argmin(record.val_loss))
    assert_same_weights(weights_of(model), record.weights[best])
    assert "did not improve for 1 epoch(s)" in history.message   # patience 1: one epoch without improvement


def test_last_epoch_restores_the_best_weights(data):
    X, y = data
    record = RecordWeights()
    model = dp.mlp([4, 32, 2], seed=0)
    history = fit(model, X, y, [record, dp.EarlyStopping(patience=1000)], epochs=25, lr=0.5)
    assert history.stop_reason == "completed"
    best = int(np.argmin(record.val_loss))
    assert best != 24  # otherwise the test would not show anything
    assert_same_weights(weights_of(model), record.weights[best])


def test_keyboard_interrupt_restores_the_best_weights(data):
    X, y = data
    record = RecordWeights()

    class Interrupt(dp.Callback):
        def on_batch_end(self, batch, logs):
            if logs["epoch"] == 12 and batch == 2:
                raise KeyboardInterrupt

    model = dp.mlp([4, 32, 2], seed=0)
    history = fit(model, X, y, [record, dp.EarlyStopping(patience=1000), Interrupt()], lr=0.5)
    assert history.stop_reason == "interrupted" and history.epochs == 12
    best = int(np.argmin(record.val_loss))
    assert_same_weights(weights_of(model), record.weights[best])


def test_stop_at_target(data):
    X, y = data
    history = fit(dp.mlp([4, 16, 2], seed=0), X, y, [dp.StopAtTarget("accuracy", 0.9)], epochs=100)
    assert history.stop_reason == "target_reached"
    assert history["accuracy"][-1] >= 0.9 and all(a < 0.9 for a in history["accuracy"][:-1])


def test_monitor_missing_is_named(data):
    X, y = data
    with pytest.raises(ValueError, match="EarlyStopping monitors 'val_auc', which is not among the logged values"):
        fit(dp.mlp([4, 2], seed=0), X, y, [dp.EarlyStopping(monitor="val_auc")])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_terminate_on_nan_restores_last_finite_weights_and_names_the_layer(data):
    X, y = data
    finite = {}

    class InjectNaN(dp.Callback):
        def on_batch_end(self, batch, logs):
            if logs["epoch"] == 2 and batch == 3:
                finite["weights"] = [p.value.copy() for p in self.run.model.parameters()]
                self.run.model.layers[2].W.value[0, 0] = np.nan

    model = dp.mlp([4, 8, 8, 2], seed=0)
    history = fit(model, X, y, [dp.TerminateOnNaN(), InjectNaN()])
    assert history.stop_reason == "non_finite"
    assert "in the output of layer 2 (Dense)" in history.message
    assert "epoch 3, batch 5" in history.message   # 1-based, as the progress lines count
    assert history.epochs == 2  # the broken epoch is not logged
    assert_same_weights(weights_of(model), finite["weights"])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_terminate_on_nan_after_an_exploding_update(data):
    X, y = data
    model = dp.mlp([4, 8, 2], seed=0)
    terminate = dp.TerminateOnNaN()
    history = model.fit(X * 1e30, y, loss="cross_entropy", optimizer=dp.SGD(lr=1e30), epochs=5, callbacks=[terminate],
                        verbose=0)
    assert history.stop_reason == "non_finite"
    assert all(np.isfinite(p.value).all() for p in model.parameters())
    assert "layer" in terminate.message or "loss" in terminate.message
