"""The loss landscape: lines, planes, filter normalisation and barriers."""
import numpy as np
import pytest

import deltaprop as dp
from deltaprop.training import Accuracy


def trained_classifier(seed=0, n=300):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] * X[:, 1] + X[:, 2] > 0).astype(int)
    model = dp.mlp([4, 16, 2], activation="tanh", seed=seed)
    model.fit(X, y, loss="cross_entropy", optimizer=dp.Adam(0.02), epochs=15, batch_size=32, verbose=0, seed=seed)
    return model, X, y


def test_the_line_at_alpha_zero_is_evaluates_loss_and_accuracy():
    model, X, y = trained_classifier()
    expected = model.evaluate(X, y, loss="cross_entropy", metrics=["accuracy"])
    result = dp.landscape.line(model, "cross_entropy", X, y, metric=Accuracy(), alphas=[-0.5, 0.0, 0.5])
    assert result.loss[1] == expected["loss"]
    assert result.metric[1] == expected["accuracy"]
    assert result.metric_name == "accuracy"
    assert result.loss[0] > result.loss[1] and result.loss[2] > result.loss[1]   # a trained model: a valley


def test_the_line_in_batches_equals_the_whole_data_loss_to_rounding():
    model, X, y = trained_classifier()
    whole = dp.landscape.line(model, "cross_entropy", X, y, alphas=[0.0, 0.3], batch_size=None)
    batched = dp.landscape.line(model, "cross_entropy", X, y, alphas=[0.0, 0.3], batch_size=64)
    np.testing.assert_allclose(batched.loss, whole.loss, rtol=1e-6)


def test_filter_normalisation_scales_each_unit_to_its_weight_norm_and_leaves_biases_out():
    model = dp.mlp([3, 5, 2], seed=0)
    direction = dp.landscape.random_direction(model, seed=3)
    views = model.parameters().views(direction)
    for param, d in zip(model.parameters(), views):
        if param.name.endswith(".W"):     # column j: unit j's incoming weights
            np.testing.assert_allclose(np.linalg.norm(d, axis=0), np.linalg.norm(param.value, axis=0), rtol=1e-6)
        else:
            np.testing.assert_array_equal(d, 0.0)
    with_biases = dp.landscape.random_direction(model, seed=3, include_biases=True)
    bias = model.parameters().views(with_biases)[1]
    assert np.linalg.norm(bias) == pytest.approx(np.linalg.norm(model.parameters()[1].value), rel=1e-6)


def test_filter_normalisation_of_a_convolution_scales_each_output_filter():
    model = dp.cnn((1, 8, 8), conv="3:3,4:3", n_out=2, seed=0)
    direction = dp.landscape.random_direction(model, seed=1)
    for layer in model.layers:
        if isinstance(layer, dp.Conv2D):
            W = layer.W.value
            d = model.parameters().views(direction)[[p.name for p in model.parameters()].index(layer.W.name)]
            np.testing.assert_allclose(np.linalg.norm(d.reshape(len(d), -1), axis=1),
                                       np.linalg.norm(W.reshape(len(W), -1), axis=1), rtol=1e-6)


def test_the_barrier_of_a_model_with_itself_is_zero_and_of_a_convex_loss_too():
    model, X, y = trained_classifier()
    assert dp.landscape.barrier(model, model, "cross_entropy", X, y).height == 0.0
    rng = np.random.default_rng(1)
    Xr, yr = rng.normal(size=(50, 3)), rng.normal(size=(50, 1))
    linear_a = dp.Sequential([dp.Dense(3, 1)], seed=1, dtype="float64")
    linear_b = dp.Sequential([dp.Dense(3, 1)], seed=2, dtype="float64")
    result = dp.landscape.barrier(linear_a, linear_b, "mse", Xr, yr, n_points=11)
    assert result.height == 0.0     # MSE of a linear model is convex: the path never rises above an end


def test_permuted_hidden_units_give_the_same_loss_at_both_ends_and_a_barrier_between():
    """Swapping hidden units gives another parameter vector computing the same function: two equal minima,
    with a ridge between them on the straight line."""
    model, X, y = trained_classifier()
    permuted = dp.mlp([4, 16, 2], activation="tanh", seed=0)
    order = np.random.default_rng(0).permutation(16)
    first, second = model.layers[0], model.layers[2]
    permuted.layers[0].W.value = first.W.value[:, order]
    permuted.layers[0].b.value = first.b.value[order]
    permuted.layers[2].W.value = second.W.value[order, :]
    permuted.layers[2].b.value = second.b.value
    result = dp.landscape.barrier(model, permuted, "cross_entropy", X, y)
    a, b = result.endpoints
    assert a == pytest.approx(b, rel=1e-5)
    assert result.height > 0.05
    assert result.path.kind == "models" and result.path.alphas[0] == 0 and result.path.alphas[-1] == 1


def test_the_plane_through_the_model_matches_the_line_along_its_first_direction():
    model, X, y = trained_classifier()
    d1 = dp.landscape.random_direction(model, seed=5)
    d2 = dp.landscape.random_direction(model, seed=6)
    grid = np.linspace(-1, 1, 5)
    plane = dp.landscape.plane(model, "cross_entropy", X, y, directions=(d1, d2), alphas=grid, betas=grid)
    line = dp.landscape.line(model, "cross_entropy", X, y, direction=d1, alphas=grid)
    assert plane.loss.shape == (5, 5)
    np.testing.assert_array_equal(plane.loss[2], line.loss)   # β = 0: the row through the model
    assert plane.loss[2, 2] == plane.loss.min()


def test_progress_is_reported_and_bad_arguments_are_refused():
    model, X, y = trained_classifier(n=60)
    calls = []
    dp.landscape.plane(model, "cross_entropy", X, y, alphas=[0, 1], betas=[0, 1, 2],
                       progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (6, 6) and len(calls) == 6
    other = dp.mlp([4, 8, 2], seed=0)
    with pytest.raises(ValueError, match="same architecture"):
        dp.landscape.barrier(model, other, "cross_entropy", X, y)
    with pytest.raises(ValueError, match="one entry per parameter"):
        dp.landscape.line(model, "cross_entropy", X, y, direction=np.ones(3))
    with pytest.raises(ValueError, match="alphas"):
        dp.landscape.line(model, "cross_entropy", X, y, alphas=[np.nan])
    with pytest.raises(ValueError, match="n_points"):
        dp.landscape.barrier(model, model, "cross_entropy", X, y, n_points=1)


def test_the_pictures_are_written(tmp_path):
    from PIL import Image

    model, X, y = trained_classifier(n=80)
    line = dp.landscape.line(model, "cross_entropy", X, y, metric=Accuracy(), alphas=np.linspace(-1, 1, 9))
    plane = dp.landscape.plane(model, "cross_entropy", X, y, alphas=np.linspace(-1, 1, 5),
                               betas=np.linspace(-1, 1, 5))
    dp.landscape.plot_line(line, tmp_path / "line.png")
    dp.landscape.plot_plane(plane, tmp_path / "plane.png")
    for name in ("line.png", "plane.png"):
        with Image.open(tmp_path / name) as image:
            assert image.size[0] > 400
    assert sorted(p.name for p in tmp_path.iterdir()) == ["line.png", "plane.png"]


def test_fit_best_of_measures_the_barriers_between_its_best_starts():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = (np.sin(2 * X[:, 0]) * X[:, 1] > 0).astype(int)
    result = dp.fit_best_of(lambda s: dp.mlp([2, 12, 2], activation="tanh", seed=s), X, y, n_starts=4, compare=3,
                            curve=True, loss="cross_entropy", optimizer=dp.Adam(0.02), epochs=15, batch_size=32,
                            verbose=0, validation_split=0.2)
    best = sorted(result.ranking()[:3])
    assert sorted(result.barriers) == [(best[0], best[1]), (best[0], best[2]), (best[1], best[2])]
    assert result.ranking()[0] == result.best_start and len(result.models) == len(result.losses) == 4
    for (i, j), height in result.barriers.items():    # the same numbers as measured on their own
        expected = dp.landscape.barrier(result.models[i], result.models[j], "cross_entropy", X, y, n_points=11)
        assert height == expected.height and height >= 0
        assert np.isfinite(result.curve_barriers[(i, j)])
    text = result.summary()
    assert "← kept" in text and ("one valley" in text or "separate minima" in text)
    plain = dp.fit_best_of(lambda s: dp.mlp([2, 4, 2], seed=s), X, y, n_starts=2, compare=0, loss="cross_entropy",
                           optimizer="adam", epochs=2, verbose=0, monitor="loss")
    assert plain.barriers == {} and "barriers" not in plain.summary()


def test_a_bezier_curve_between_two_models_is_trained_and_finds_a_lower_path_than_the_line():
    model, X, y = trained_classifier()
    permuted = dp.mlp([4, 16, 2], activation="tanh", seed=0)
    order = np.random.default_rng(0).permutation(16)
    permuted.layers[0].W.value = model.layers[0].W.value[:, order]
    permuted.layers[0].b.value = model.layers[0].b.value[order]
    permuted.layers[2].W.value = model.layers[2].W.value[order, :]
    permuted.layers[2].b.value = model.layers[2].b.value
    line = dp.landscape.barrier(model, permuted, "cross_entropy", X, y)
    curve = dp.landscape.bezier(model, permuted, "cross_entropy", X, y, epochs=15, seed=0)
    assert curve.path.kind == "curve" and curve.endpoints == pytest.approx(line.endpoints, rel=1e-6)
    assert curve.height < 0.5 * line.height


@pytest.mark.parametrize("make", [lambda: dp.mlp([4, 16, 2], activation="tanh", seed=0),
                                  lambda: dp.cnn((1, 6, 6), conv="3:3", n_out=2, pool="max", seed=0)],
                         ids=["mlp", "cnn"])
def test_the_first_layers_outputs_computed_once_give_the_losses_of_whole_passes(make, monkeypatch):
    """Z(θ + α·d₁ + β·d₂) = Z(θ) + α·Z(d₁) + β·Z(d₂) for the first Dense/Conv: the plane computed that way equals
    the plane of whole forward passes (forced by a zero memory budget) to float32 rounding."""
    model = make()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, *model.input_shape))
    y = rng.integers(0, 2, size=50)
    grid = np.linspace(-1, 1, 4)
    fast = dp.landscape.plane(model, "cross_entropy", X, y, alphas=grid, betas=grid, batch_size=16,
                              metric=Accuracy())
    monkeypatch.setattr(dp.landscape, "HEAD_BUDGET", 0)
    whole = dp.landscape.plane(model, "cross_entropy", X, y, alphas=grid, betas=grid, batch_size=16,
                               metric=Accuracy())
    np.testing.assert_allclose(fast.loss, whole.loss, rtol=1e-5)
    np.testing.assert_allclose(fast.metric, whole.metric, atol=0.021)   # a row on the boundary may flip


def test_filter_normalisation_of_a_recurrent_layer_scales_each_gate_units_weights():
    model = dp.Sequential([dp.GRU(2, 4, num_layers=2), dp.Dense(4, 2)], seed=0)
    direction = dp.landscape.random_direction(model, seed=2)
    for param, d in zip(model.parameters(), model.parameters().views(direction)):
        name = param.name.split(".")[-1]
        if name.startswith("W"):
            np.testing.assert_allclose(np.linalg.norm(d, axis=0), np.linalg.norm(param.value, axis=0), rtol=1e-5)
        else:
            np.testing.assert_array_equal(d, 0.0)
