"""Bad input to models and layers: clear ValueError/TypeError naming the problem."""
import numpy as np
import pytest

import deltaprop as dp


@pytest.fixture
def model():
    return dp.Sequential([dp.Dense(4, 8), dp.ReLU(), dp.Dense(8, 3)], seed=0)


def test_wrong_number_of_features_names_the_layer(model):
    with pytest.raises(ValueError, match=r"X has 5 features but layer 0 \(Dense\) expects 4"):
        model.forward(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"X has 5 features but layer 0 \(Dense\) expects 4"):
        model.predict(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"Dense expects input of shape \(n_samples, 4\), got shape \(2, 5\)"):
        dp.Dense(4, 2).forward(np.zeros((2, 5)))


def test_layers_that_do_not_fit_together():
    with pytest.raises(ValueError, match=r"layer 2 \(Dense\) expects 7 input features but the layer before it gives 8"):
        dp.Sequential([dp.Dense(4, 8), dp.ReLU(), dp.Dense(7, 3)])


@pytest.mark.parametrize("X,message", [
    (np.zeros(4), r"X must be 2-D with shape \(n_samples, n_features\), got 1-D shape \(4,\) \(use X.reshape\(-1, 1\)"),
    (np.zeros((2, 4, 1)), r"X must be 2-D .* got 3-D shape \(2, 4, 1\)"),
    (np.zeros((0, 4)), r"X is empty: shape \(0, 4\)"),
    (np.array([[1.0, np.nan, 0, 0]]), r"X contains NaN or infinity \(first at index \[0, 1\]: nan\)"),
    (np.array([[1.0, 0, 0, -np.inf]]), r"X contains NaN or infinity \(first at index \[0, 3\]: -inf\)"),
])
def test_malformed_X(model, X, message):
    with pytest.raises(ValueError, match=message):
        model.forward(X)


def test_non_numeric_X(model):
    with pytest.raises(TypeError, match="X must be numeric, got an array of dtype <U1"):
        model.forward(np.array([["a", "b", "c", "d"]]))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="n_out must be a positive integer, got 0"):
        dp.Dense(3, 0)
    with pytest.raises(TypeError, match="n_in must be a positive integer, got 2.5"):
        dp.Dense(2.5, 3)
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64', got 'int8'"):
        dp.Sequential([dp.Dense(2, 2)], dtype="int8")
    with pytest.raises(TypeError, match=r"layers\[1\] must be a deltaprop Layer, got str"):
        dp.Sequential([dp.Dense(2, 2), "relu"])
    with pytest.raises(ValueError, match="layers must contain at least one layer"):
        dp.Sequential([])
    with pytest.raises(ValueError, match=r"alpha must be in \[0, inf\], got -1.0"):
        dp.LeakyReLU(alpha=-1)


def test_backward_with_wrong_gradient_shape(model):
    model.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"grad_out must have the output's shape \(2, 3\), got \(2, 2\)"):
        model.backward(np.zeros((2, 2)))


def test_regression_metrics_on_a_classifier_are_refused(model):
    X, y = np.zeros((4, 4)), np.array([0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"metrics: 'r2' measures a regression, but the loss CrossEntropy.* is a "
                                         r"classification loss; use 'accuracy'"):
        model.evaluate(X, y, loss="cross_entropy", metrics=["r2"])
    with pytest.raises(ValueError, match=r"metrics: 'mse' measures a regression"):
        model.fit(X, y, loss="cross_entropy", optimizer="sgd", epochs=1, metrics=["mse"], verbose=0)
    assert "accuracy" in model.evaluate(X, np.eye(3)[y], loss="mse", metrics=["accuracy"])   # a textbook MSE classifier


@pytest.mark.parametrize("seed, error, message", [
    (-1, ValueError, "seed must be a non-negative integer or None, got -1"),
    (1.5, TypeError, "seed must be a non-negative integer or None, got 1.5"),
    ("7", TypeError, "seed must be a non-negative integer or None, got '7'"),
    (True, TypeError, "seed must be a non-negative integer or None, got True"),
])
def test_bad_seeds_name_the_argument(seed, error, message):
    with pytest.raises(error, match=message):
        dp.Sequential([dp.Dense(2, 2)], seed=seed)
    with pytest.raises(error, match=message):
        dp.mlp([2, 2], seed=0).fit(np.zeros((3, 2)), np.zeros((3, 2)), loss="mse", optimizer="sgd", epochs=1,
                                   seed=seed, verbose=0)


def test_saving_something_that_is_not_a_model(tmp_path):
    with pytest.raises(TypeError, match="model must be a deltaprop Sequential, got str"):
        dp.save("not a model", tmp_path / "m.safetensors")
    assert not list(tmp_path.iterdir())


def test_finite_values_beyond_float32_range_are_refused_for_a_float32_model(model):
    X = np.zeros((2, 4))
    X[1, 2] = 1e200
    with pytest.raises(ValueError, match=r"X has values beyond float32's range \(±3.4e\+38\), first at index \[1, 2\]: "
                                         r"1e\+200; rescale the data or use dtype='float64'"):
        model.predict(X)
    float64 = dp.Sequential([dp.Dense(4, 3)], seed=0, dtype="float64")
    assert np.isfinite(float64.predict(X)).all()
