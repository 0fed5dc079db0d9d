"""What convolutions, pooling and residual blocks achieve: MNIST-1D's paper CNN and beyond, digits as images, and
the skip connection as the remedy for vanishing gradients in a 20-layer network."""
import numpy as np
import pytest

import deltaprop as dp
from deltaprop.datasets import held_out

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mnist1d():
    pytest.importorskip("mnist1d")
    X, y = dp.datasets.load_images("mnist1d")          # the paper's split: 4,000 training, 1,000 test signals
    return X[:4000], y[:4000], X[4000:], y[4000:]


def accuracy(model, X, y) -> float:
    return float(np.mean(model.predict(X).argmax(axis=1) == y))


def test_the_mnist1d_paper_cnn_reaches_its_accuracy(mnist1d):
    """Three Conv1D of 25 channels (kernels 5/3/3, stride 2, padding 1), ReLU, a Dense to 10; Adam(1e-2), batch
    100, 6,000 steps. PyTorch with this setup: 0.921–0.941 (median 0.933) on this machine."""
    X, y, X_test, y_test = mnist1d
    scores = []
    for seed in range(3):
        model = dp.cnn((1, 40), "25:5:2:1,25:3:2:1,25:3:2:1", 10, seed=seed)
        model.fit(X, y, loss="cross_entropy", optimizer=dp.Adam(lr=1e-2), epochs=150, batch_size=100, seed=seed,
                  verbose=0)                                        # 150 epochs × 40 batches = 6,000 steps
        scores.append(accuracy(model, X_test, y_test))
    assert np.median(scores) >= 0.92, scores


def residual_block(channels):
    return dp.Residual([dp.Conv1D(channels, channels, 3, padding=1, bias=False), dp.BatchNorm(channels), dp.ReLU(),
                        dp.Conv1D(channels, channels, 3, padding=1, bias=False), dp.BatchNorm(channels)])


def test_a_residual_network_with_batchnorm_and_pooling_goes_beyond_the_papers_94_percent(mnist1d):
    X, y, X_test, y_test = mnist1d
    model = dp.Sequential([dp.Conv1D(1, 32, 5, padding=2, bias=False), dp.BatchNorm(32), dp.ReLU(),
                           residual_block(32), dp.ReLU(), dp.MaxPool1D(2),
                           residual_block(32), dp.ReLU(), dp.MaxPool1D(2),
                           residual_block(32), dp.ReLU(), dp.Flatten(), dp.Dense(320, 10)], seed=0)
    model.fit(X, y, loss="cross_entropy", optimizer=dp.Adam(lr=3e-3), epochs=30, batch_size=100, seed=0, verbose=0,
              schedule=dp.optim.CosineAnnealing(30))
    assert accuracy(model, X_test, y_test) >= 0.955


def test_digits_as_8x8_images_with_a_small_cnn_reach_98_percent():
    X, y = dp.datasets.load_images("digits")
    X = (X - X.mean()) / X.std()
    test = held_out(y, 0.2, np.random.default_rng(0), stratify=True)
    train = np.setdiff1d(np.arange(len(y)), test)
    model = dp.Sequential([dp.Conv2D(1, 32, 3, padding=1, bias=False), dp.BatchNorm(32), dp.ReLU(),
                           dp.Conv2D(32, 32, 3, padding=1, bias=False), dp.BatchNorm(32), dp.ReLU(), dp.MaxPool2D(2),
                           dp.Conv2D(32, 64, 3, padding=1, bias=False), dp.BatchNorm(64), dp.ReLU(), dp.MaxPool2D(2),
                           dp.Flatten(), dp.Dropout(0.3), dp.Dense(256, 10)], seed=0)
    model.fit(X[train], y[train], loss="cross_entropy", optimizer=dp.AdamW(lr=3e-3, weight_decay=1e-2), epochs=30,
              batch_size=32, seed=0, verbose=0, schedule=dp.optim.CosineAnnealing(30))
    assert accuracy(model, X[test], y[test]) >= 0.98


def deep(residual: bool, channels=16):
    """20 convolutions (Glorot init, ReLU): plain, or the same 18 middle ones paired in 9 residual blocks."""
    layers = [dp.Conv1D(1, channels, 3, padding=1), dp.ReLU()]
    for _ in range(9):
        pair = [dp.Conv1D(channels, channels, 3, padding=1), dp.ReLU(), dp.Conv1D(channels, channels, 3, padding=1)]
        layers += [dp.Residual(pair), dp.ReLU()] if residual else [*pair, dp.ReLU()]
    return dp.Sequential(layers + [dp.Flatten(), dp.Dense(channels * 40, 10)], seed=0)


def test_skip_connections_are_the_remedy_diagnose_finds_for_a_deep_plain_cnn(mnist1d):
    X, y, X_test, y_test = mnist1d
    plain, residual = deep(False), deep(True)
    plain_findings = dp.diagnose(plain, X, y, "cross_entropy")
    vanishing = [f for f in plain_findings if f.kind == "vanishing"]
    assert vanishing and vanishing[0].layer == 0 and vanishing[0].value < 1e-2
    assert "dp.Residual" in vanishing[0].advice
    assert dp.diagnose(residual, X, y, "cross_entropy") == []
    scores = {}
    for name, model in (("plain", plain), ("residual", residual)):
        model.fit(X, y, loss="cross_entropy", optimizer=dp.Adam(lr=1e-3), epochs=5, batch_size=100, seed=0, verbose=0)
        scores[name] = accuracy(model, X_test, y_test)
    assert scores["residual"] >= 0.6 and scores["plain"] <= 0.3, scores
