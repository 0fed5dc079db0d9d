"""The fit loop on real data: accuracy, regression, reproducibility, history, evaluation, errors."""
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import deltaprop as dp


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0) + 1e-8  # standardized on the training split
    return (X_train - mean) / std, (X_test - mean) / std, y_train, y_test


def test_digits_mlp_with_adam_reaches_97_percent(digits):
    X_train, X_test, y_train, y_test = digits
    model = dp.mlp([64, 128, 10], activation="relu", seed=0)
    history = model.fit(X_train, y_train, loss=dp.CrossEntropy(), optimizer=dp.Adam(lr=1e-3), epochs=40,
                        batch_size=32, validation_split=0.1, metrics=["accuracy"],
                        callbacks=[dp.EarlyStopping(patience=8)], seed=0, verbose=0)
    accuracy = np.mean(model.predict(X_test).argmax(axis=1) == y_test)
    assert accuracy >= 0.97, (accuracy, history.stop_reason)
    assert model.evaluate(X_test, y_test, loss="cross_entropy", metrics=["accuracy"])["accuracy"] == pytest.approx(accuracy)
    assert set(history) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"}


def test_regression_mlp_reaches_r2_of_0_9():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(1500, 2))
    y = np.sin(X[:, 0]) * np.cos(X[:, 1]) + 0.3 * X[:, 0] ** 2
    model = dp.mlp([2, 64, 64, 1], activation="tanh", seed=0)
    model.fit(X[:1200], y[:1200], loss=dp.MSE(), optimizer=dp.Adam(lr=3e-3), epochs=60, batch_size=32,
              seed=0, verbose=0)
    pred = model.predict(X[1200:]).ravel()
    r2 = 1 - np.sum((y[1200:] - pred) ** 2) / np.sum((y[1200:] - y[1200:].mean()) ** 2)
    assert r2 >= 0.9
    assert model.evaluate(X[1200:], y[1200:], loss="mse", metrics=["r2"])["r2"] == pytest.approx(r2, rel=1e-5)


def test_same_seeds_bit_identical_different_seeds_differ(digits):
    X_train, _, y_train, _ = digits

    def train(model_seed, fit_seed):
        model = dp.mlp([64, 32, 10], seed=model_seed)
        history = model.fit(X_train[:500], y_train[:500], loss="cross_entropy", optimizer=dp.Adam(1e-3), epochs=3,
                            batch_size=16, validation_split=0.2, metrics=["accuracy"], seed=fit_seed, verbose=0)
        return [p.value.tobytes() for p in model.parameters()], {k: v for k, v in history.items() if k != "seconds"}

    weights_a, history_a = train(1, 7)
    weights_b, history_b = train(1, 7)
    assert weights_a == weights_b and history_a == history_b
    assert train(1, 8)[0] != weights_a  # another shuffling order
    assert train(2, 7)[0] != weights_a  # another initialization


def test_the_last_partial_batch_is_used():
    X = np.arange(10, dtype=float).reshape(-1, 1)
    seen = []

    class Record(dp.Callback):
        def on_batch_end(self, batch, logs):
            seen.append(logs["size"])

    dp.mlp([1, 1], seed=0).fit(X, X, loss="mse", optimizer=dp.SGD(0.01), epochs=1, batch_size=4,
                               callbacks=[Record()], verbose=0)
    assert seen == [4, 4, 2]


def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses():
    X = np.array([[1.0], [2.0], [3.0]])
    model = dp.Sequential([dp.Dense(1, 1, init="zeros")], seed=0, dtype="float64")
    history = model.fit(X, X, loss="mse", optimizer=dp.SGD(0.0), epochs=1, batch_size=2, shuffle=False, verbose=0)
    assert history["loss"] == [pytest.approx((1 + 4 + 9) / 3)]


def test_validation_data_and_history_csv(tmp_path, digits):
    X_train, X_test, y_train, y_test = digits
    model = dp.mlp([64, 16, 10], seed=0)
    history = model.fit(X_train, y_train, loss="cross_entropy", optimizer="adam", epochs=2,
                        validation_data=(X_test, y_test), metrics=["accuracy"], verbose=0)
    path = tmp_path / "history.csv"
    history.to_csv(path)
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds"
    assert len(lines) == 3 and lines[2].startswith("2,")   # epochs count from 1, as on screen
    assert history.epochs == 2 and history.stop_reason == "completed"


def test_plain_progress_lines_when_not_a_terminal(capsys, rng):
    X, y = rng.normal(size=(20, 2)), rng.integers(0, 2, size=20)
    dp.mlp([2, 3, 2], seed=0).fit(X, y, loss="cross_entropy", optimizer="sgd", epochs=3, metrics=["accuracy"])
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and out[0].startswith("epoch 1/3 - loss ") and "accuracy" in out[0]
    dp.mlp([2, 3, 2], seed=0).fit(X, y, loss="cross_entropy", optimizer="sgd", epochs=3, verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_binary_classification_with_one_logit(rng):
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(float)
    model = dp.mlp([2, 8, 1], seed=0)
    history = model.fit(X, y, loss=dp.BinaryCrossEntropy(), optimizer=dp.Adam(0.01), epochs=30, metrics=["accuracy"],
                        seed=0, verbose=0)
    assert history["accuracy"][-1] > 0.95


def test_fit_best_of_keeps_the_best_start(digits):
    X_train, _, y_train, _ = digits
    result = dp.fit_best_of(lambda seed: dp.mlp([64, 8, 10], seed=seed), X_train[:600], y_train[:600], n_starts=3,
                            loss="cross_entropy", optimizer=dp.Adam(1e-2), epochs=3, validation_split=0.25,
                            seed=0, verbose=0)
    assert len(result.scores) == 3 and len(set(result.scores)) == 3
    assert result.scores[result.best_start] == min(result.scores)
    assert result.history["val_loss"][-1] == pytest.approx(result.scores[result.best_start])
    with pytest.raises(ValueError, match="monitor='val_loss' needs validation_split or validation_data"):
        dp.fit_best_of(lambda s: dp.mlp([64, 10], seed=s), X_train, y_train, loss="cross_entropy",
                       optimizer="adam", epochs=1)


@pytest.mark.parametrize("options,error,message", [
    (dict(epochs=0), ValueError, "epochs must be a positive integer, got 0"),
    (dict(batch_size=-2), ValueError, "batch_size must be a positive integer, got -2"),
    (dict(validation_split=1.0), ValueError, r"validation_split must be in \[0, 1\), got 1.0"),
    (dict(metrics=["f1"]), ValueError, "unknown metric 'f1'"),
    (dict(optimizer="adamax"), ValueError, "unknown optimizer 'adamax'"),
    (dict(callbacks=[print]), TypeError, "callbacks must be deltaprop Callback objects"),
])
def test_bad_fit_arguments(options, error, message, rng):
    args = dict(loss="cross_entropy", optimizer="adam", epochs=1, verbose=0)
    args.update(options)
    with pytest.raises(error, match=message):
        dp.mlp([3, 2], seed=0).fit(rng.normal(size=(10, 3)), rng.integers(0, 2, size=10), **args)


def test_bad_targets(rng):
    model = dp.mlp([3, 2], seed=0)
    X = rng.normal(size=(10, 3))
    with pytest.raises(ValueError, match="X has 10 samples but y has 9"):
        model.fit(X, np.zeros(9, dtype=int), loss="cross_entropy", optimizer="adam", epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"y contains NaN or infinity \(first at index \[2\]"):
        model.fit(X, np.array([0, 1, np.nan] + [0] * 7), loss="cross_entropy", optimizer="adam", epochs=1, verbose=0)
    with pytest.raises(TypeError, match="y must be numeric, got dtype <U3"):
        model.fit(X, np.array(["cat"] * 10), loss="cross_entropy", optimizer="adam", epochs=1, verbose=0)
    with pytest.raises(ValueError, match="class label 5 is out of range for 2 classes"):
        model.fit(X, np.array([5] * 10), loss="cross_entropy", optimizer="adam", epochs=1, verbose=0)


@pytest.mark.slow
def test_mnist1d_mlp_reaches_the_published_result():
    from mnist1d.data import get_dataset_args, make_dataset

    data = make_dataset(get_dataset_args())
    assert data["x"].shape == (4000, 40) and data["x_test"].shape == (1000, 40)
    accuracies = []
    for seed in range(3):
        model = dp.mlp([40, 100, 100, 10], activation="relu", seed=seed)
        model.fit(data["x"], data["y"], loss=dp.CrossEntropy(), optimizer=dp.Adam(lr=1e-2), epochs=150,
                  batch_size=100, seed=seed, verbose=0)
        accuracies.append(np.mean(model.predict(data["x_test"]).argmax(axis=1) == data["y_test"]))
    assert np.median(accuracies) >= 0.65, accuracies


def test_progress_bar_on_a_terminal(rng, monkeypatch):
    pytest.importorskip("tqdm")
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    X, y = rng.normal(size=(64, 2)), rng.integers(0, 2, size=64)
    dp.mlp([2, 3, 2], seed=0).fit(X, y, loss="cross_entropy", optimizer="sgd", epochs=2, batch_size=16,
                                  metrics=["accuracy"], verbose=1)
    text = terminal.getvalue()
    assert "epoch 1/2" in text and "epoch 2/2" in text and "4/4" in text
    assert "loss 1." in text and "accuracy 0." in text
    assert "val_" not in text
