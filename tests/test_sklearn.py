"""deltaprop.sklearn against scikit-learn's own MLPs: parameters, objective, attributes and behaviours.

Expected values come from scikit-learn's classes (their weights, their backpropagation, their
predictions) or from formulas written out here.
"""
import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

import scipy.sparse  # noqa: E402
from sklearn import neural_network  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, make_multilabel_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.class_weight import compute_sample_weight  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import deltaprop as dp  # noqa: E402
from deltaprop.sklearn import MLPClassifier, MLPRegressor  # noqa: E402
from deltaprop.sklearn import objective  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
PAIRS = [(MLPClassifier, neural_network.MLPClassifier), (MLPRegressor, neural_network.MLPRegressor)]


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# ------------------------------------------------------------------------ 7. scikit-learn's own checks
@parametrize_with_checks([MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)])
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# ------------------------------------------------------------------------ 1. parameters
@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_every_scikit_learn_parameter_with_its_default(ours, theirs):
    mine, reference = ours().get_params(), theirs().get_params()
    for name, default in reference.items():
        assert name in mine, name
        assert mine[name] == default, (name, mine[name], default)


@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_convergence_follows_tol_and_n_iter_no_change(ours, theirs, iris):
    X, y = iris
    # the first epoch improves on the initial infinity; then n_iter_no_change + 1 epochs without improvement
    for solver in ("adam", "sgd"):
        options = dict(solver=solver, tol=1e9, n_iter_no_change=3, random_state=0)
        assert ours(**options).fit(X, y).n_iter_ == theirs(**options).fit(X, y).n_iter_ == 5
        early = dict(options, early_stopping=True, tol=1e9)
        assert ours(**early).fit(X, y).n_iter_ == theirs(**early).fit(X, y).n_iter_ == 5
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        ours(max_iter=3, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        estimator = ours(solver="lbfgs", max_iter=3, random_state=0).fit(X, y)
    assert estimator.n_iter_ == 3


def test_adaptive_learning_rate_divides_by_five_then_stops(iris):
    X, y = iris
    estimator = MLPClassifier(solver="sgd", learning_rate="adaptive", learning_rate_init=0.1, tol=1e9,
                              n_iter_no_change=1, max_iter=100, random_state=0).fit(X, y)
    lrs = estimator.history_["lr"]   # the rate used during each epoch
    # after the first epoch, every 2 epochs without improvement divide it by 5, until it is ≤ 1e-6: then stop
    np.testing.assert_allclose(lrs[:7], [0.1, 0.1, 0.1, 0.02, 0.02, 0.004, 0.004])
    rates = sorted(set(lrs), reverse=True)
    np.testing.assert_allclose(rates, [0.1 / 5 ** k for k in range(len(rates))])
    assert rates[-1] <= 1e-6 < rates[-2] and estimator.n_iter_ < 100


def test_invscaling_learning_rate_follows_the_samples_seen(iris):
    X, y = iris
    estimator = MLPClassifier(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5, power_t=0.5,
                              max_iter=4, random_state=0)
    with pytest.warns(ConvergenceWarning):
        estimator.fit(X, y)
    # lr = lr_init / (t + 1)^power_t after each epoch, t = samples seen so far
    expected = [0.5] + [0.5 / (150 * epoch + 1) ** 0.5 for epoch in (1, 2, 3)]
    np.testing.assert_allclose(estimator.history_["lr"], expected)


# ------------------------------------------------------------------------ the objective, against scikit-learn's
def _sklearn_backprop(reference, X, y, sample_weight):
    """scikit-learn's own loss and gradients for its current weights (its private _backprop, as the reference)."""
    layer_units = [X.shape[1]] + list(reference.hidden_layer_sizes) + [reference.n_outputs_]
    activations = [X] + [None] * (len(layer_units) - 1)
    deltas = [None] * (len(activations) - 1)
    coef_grads = [np.empty((a, b)) for a, b in zip(layer_units[:-1], layer_units[1:])]
    intercept_grads = [np.empty(b) for b in layer_units[1:]]
    return reference._backprop(X, y, sample_weight, activations, deltas, coef_grads, intercept_grads)


def _copy_weights(ours, reference):
    ours.coefs_ = reference.coefs_
    ours.intercepts_ = reference.intercepts_


CASES = {
    "multiclass": lambda rng: (rng.normal(size=(40, 5)), rng.integers(0, 3, 40)),
    "binary": lambda rng: (rng.normal(size=(40, 5)), rng.integers(0, 2, 40)),
    "multilabel": lambda rng: (rng.normal(size=(40, 5)), rng.integers(0, 2, (40, 3))),
    "regression": lambda rng: (rng.normal(size=(40, 5)), rng.normal(size=40)),
    "multi-output": lambda rng: (rng.normal(size=(40, 5)), rng.normal(size=(40, 2))),
    "poisson": lambda rng: (rng.normal(size=(40, 5)), rng.poisson(2.0, 40).astype(float)),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_same_weights_give_scikit_learns_loss_gradients_and_predictions(case, activation, rng):
    X, y = CASES[case](rng)
    weights = rng.uniform(0.5, 2.0, size=40)
    classifier = case in ("multiclass", "binary", "multilabel")
    options = dict(hidden_layer_sizes=(6, 4), activation=activation, alpha=0.3, max_iter=2, random_state=0)
    if case == "poisson":
        options["loss"] = "poisson"
    Ours, Theirs = (MLPClassifier, neural_network.MLPClassifier) if classifier else (MLPRegressor,
                                                                                        neural_network.MLPRegressor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = Theirs(**options).fit(X, y)
        ours = Ours(dtype="float64", **options).fit(X, y)
    _copy_weights(ours, reference)
    for got, want in zip(ours.coefs_ + ours.intercepts_, reference.coefs_ + reference.intercepts_):
        np.testing.assert_array_equal(got, want)
    # predictions
    if classifier:
        np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(ours.predict(X), reference.predict(X))
    else:
        np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=1e-10, atol=1e-12)
    # loss and every gradient, with sample weights
    targets = reference._label_binarizer.transform(y) if classifier else y.reshape(len(y), -1)
    loss, coef_grads, intercept_grads = _sklearn_backprop(reference, X, targets.astype(float), weights)
    value = objective.backprop(ours.model_, X, targets.astype(float), weights, ours.alpha, ours.out_activation_)
    if case == "multi-output":   # scikit-learn reports the mean over the outputs, deltaprop the sum it minimizes
        penalty = 0.3 * sum((W ** 2).sum() for W in reference.coefs_) / (2 * weights.sum())
        loss = (loss - penalty) * targets.shape[1] + penalty
    assert value == pytest.approx(loss, rel=1e-10)
    dense = [layer for layer in ours.model_.layers if layer.kind == "weights"]
    for layer, dW, db in zip(dense, coef_grads, intercept_grads):
        np.testing.assert_allclose(layer.W.grad, dW, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.b.grad, db, rtol=1e-9, atol=1e-12)


def test_the_objective_written_out(rng):
    """J = Σ s·ℓ / Σs + α·Σ‖W‖²/(2Σs), multiclass log-loss, from the formula."""
    X, y = rng.normal(size=(30, 4)), rng.integers(0, 3, 30)
    s = rng.uniform(0.1, 3, 30)
    estimator = MLPClassifier(hidden_layer_sizes=(5,), alpha=0.7, max_iter=1, dtype="float64", random_state=1)
    with pytest.warns(ConvergenceWarning):
        estimator.fit(X, y)
    p = estimator.predict_proba(X)
    expected = (-np.log(p[np.arange(30), y]) @ s / s.sum()
                + 0.7 * sum((W ** 2).sum() for W in estimator.coefs_) / (2 * s.sum()))
    value = objective.backprop(estimator.model_, X, np.eye(3)[y], s, 0.7, "softmax")
    assert value == pytest.approx(expected, rel=1e-10)


# ------------------------------------------------------------------------ 2. fitted attributes
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_fitted_attributes_as_scikit_learn_names_them(solver, iris):
    X, y = iris
    options = dict(hidden_layer_sizes=(7, 5), solver=solver, random_state=0, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = MLPClassifier(**options).fit(X, y), neural_network.MLPClassifier(**options).fit(X, y)
    for name in ("classes_", "n_features_in_", "n_layers_", "n_outputs_", "out_activation_"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(theirs, name))
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    for name in ("loss_", "n_iter_", "t_", "best_loss_", "loss_curve_", "validation_scores_", "best_validation_score_"):
        assert hasattr(ours, name) == hasattr(theirs, name), name
    if solver != "lbfgs":
        assert len(ours.loss_curve_) == ours.n_iter_ and ours.t_ == 150 * ours.n_iter_
        assert ours.best_loss_ == min(ours.loss_curve_)
    assert isinstance(ours.model_, dp.Sequential) and ours.model_.n_in == 4
    assert abs(ours.score(X, y) - theirs.score(X, y)) <= 0.05


def test_coefs_are_views_and_setting_them_sets_the_network(iris):
    X, y = iris
    estimator = MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0).fit(X, y)
    estimator.coefs_[0][...] = 0
    estimator.intercepts_[0][...] = 0
    assert np.allclose(estimator.model_.layers[0].W.value, 0)
    np.testing.assert_allclose(estimator.predict_proba(X), estimator.predict_proba(X[:1]).repeat(150, 0))
    with pytest.raises(ValueError, match=r"layer 0: expected shape \(4, 5\), got \(3, 5\)"):
        estimator.coefs_ = [np.zeros((3, 5)), np.zeros((5, 3))]


def test_early_stopping_records_validation_scores_and_keeps_the_best(iris):
    X, y = iris
    estimator = MLPClassifier(early_stopping=True, validation_fraction=0.2, n_iter_no_change=5, random_state=0,
                              max_iter=300).fit(X, y)
    assert len(estimator.validation_scores_) == estimator.n_iter_
    assert estimator.best_validation_score_ == max(estimator.validation_scores_) and estimator.best_loss_ is None
    assert estimator.history_["val_accuracy"] == estimator.validation_scores_


def test_a_validation_set_given_directly(iris):
    X, y = iris
    rng = np.random.default_rng(0)
    order = rng.permutation(150)
    train, val = order[:120], order[120:]
    estimator = MLPClassifier(random_state=0, max_iter=400, n_iter_no_change=20).fit(X[train], y[train],
                                                                                     X_val=X[val], y_val=y[val])
    scores = estimator.validation_scores_
    assert len(scores) == estimator.n_iter_ and estimator.best_validation_score_ == max(scores)
    assert estimator.score(X[val], y[val]) == pytest.approx(max(scores))     # the best weights were kept


# ------------------------------------------------------------------------ 3. behaviours
def test_binary_multiclass_multilabel_and_string_labels(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    estimator = MLPClassifier(solver="lbfgs", random_state=0, max_iter=500).fit(X, names)
    assert list(estimator.classes_) == ["setosa", "versicolor", "virginica"]
    assert set(estimator.predict(X)) <= set(names) and estimator.score(X, names) > 0.95
    binary = MLPClassifier(solver="lbfgs", random_state=0).fit(X, y == 0)
    assert binary.predict_proba(X).shape == (150, 2) and binary.out_activation_ == "logistic"
    np.testing.assert_allclose(binary.predict_log_proba(X), np.log(binary.predict_proba(X)))
    Xm, Ym = make_multilabel_classification(n_samples=200, n_classes=4, random_state=0)
    multilabel = MLPClassifier(solver="lbfgs", random_state=0, max_iter=500).fit(Xm, Ym)
    assert multilabel.predict(Xm).shape == (200, 4) and multilabel.predict_proba(Xm).shape == (200, 4)
    assert multilabel.n_outputs_ == 4 and multilabel.out_activation_ == "logistic"


def test_multi_output_regression(rng):
    X = rng.normal(size=(300, 3))
    Y = np.c_[X[:, 0] * 2, np.sin(X[:, 1])]
    estimator = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", random_state=0, max_iter=2000).fit(X, Y)
    assert estimator.predict(X).shape == (300, 2) and estimator.score(X, Y) > 0.95


@pytest.mark.parametrize("kind", ["csr", "csc"])
def test_sparse_input_equals_dense(kind, iris, monkeypatch):
    X, y = iris
    sparse = scipy.sparse.csr_matrix(X) if kind == "csr" else scipy.sparse.csc_matrix(X)
    for solver in ("adam", "lbfgs"):
        dense_fit = MLPClassifier(solver=solver, random_state=0, max_iter=50).fit(X, y)
        sparse_fit = MLPClassifier(solver=solver, random_state=0, max_iter=50).fit(sparse, y)
        np.testing.assert_allclose(sparse_fit.predict_proba(sparse), dense_fit.predict_proba(X), rtol=1e-5, atol=1e-7)
    # never densified whole: every block turned dense is one batch
    seen = []
    original = scipy.sparse.csr_matrix.toarray

    def counting(self, *args, **kwargs):
        seen.append(self.shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(scipy.sparse.csr_matrix, "toarray", counting)
    MLPClassifier(batch_size=32, max_iter=2, random_state=0).fit(scipy.sparse.csr_matrix(X), y)
    assert seen and max(seen) <= 32


def test_float32_trains_and_predicts_in_float32(iris):
    X, y = iris
    estimator = MLPClassifier(random_state=0, max_iter=20).fit(X.astype(np.float32), y)
    assert estimator.model_.dtype == np.float32 and estimator.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert MLPClassifier(random_state=0, max_iter=20).fit(X, y).model_.dtype == np.float64
    assert MLPClassifier(random_state=0, max_iter=20, dtype="float32").fit(X, y).model_.dtype == np.float32


def test_warm_start_and_partial_fit_continue(iris):
    X, y = iris
    estimator = MLPClassifier(warm_start=True, max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        estimator.fit(X, y)
    first = [W.copy() for W in estimator.coefs_]
    with pytest.warns(ConvergenceWarning):
        estimator.fit(X, y)
    assert estimator.t_ == 150 * 10 and not np.allclose(first[0], estimator.coefs_[0])
    online = MLPClassifier(random_state=0)
    online.partial_fit(X[:75], y[:75], classes=[0, 1, 2])
    online.partial_fit(X[75:], y[75:])
    assert online.n_iter_ == 1 and online.t_ == 150 and list(online.classes_) == [0, 1, 2]
    with pytest.raises(AttributeError):
        MLPClassifier(solver="lbfgs").partial_fit


def test_pickle_clone_joblib_grid_search_pipeline_and_feature_names(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["sepal_length", "sepal_width", "petal_length", "petal_width"])
    pipeline = make_pipeline(StandardScaler(), MLPClassifier(max_iter=300, random_state=0)).set_output(
        transform="pandas")
    pipeline.fit(frame, y)
    estimator = pipeline[-1]
    assert list(estimator.feature_names_in_) == list(frame.columns)
    restored = pickle.loads(pickle.dumps(pipeline))
    np.testing.assert_array_equal(restored.predict_proba(frame), pipeline.predict_proba(frame))
    fresh = clone(estimator)
    assert not hasattr(fresh, "model_") and fresh.get_params() == estimator.get_params()
    search = GridSearchCV(MLPClassifier(solver="lbfgs", max_iter=1000, random_state=0),
                          {"hidden_layer_sizes": [(8,), (16,)], "alpha": [1e-4, 1e-2]}, cv=3, n_jobs=2).fit(X, y)
    assert search.best_score_ > 0.9 and len(search.cv_results_["params"]) == 4
    folds = KFold(3, shuffle=True, random_state=0)
    assert cross_val_score(MLPRegressor(solver="lbfgs", random_state=0), X, X[:, 0] * 2, cv=folds).mean() > 0.9


# ------------------------------------------------------------------------ 4.–5. L-BFGS and sample weights
def test_a_weight_of_two_equals_a_duplicated_row(iris):
    """Σ s·ℓ/Σs + α‖W‖²/(2Σs): the objective and its gradient are the same, to rounding, at any weights."""
    X, y = iris
    weights = np.ones(150)
    weights[:10] = 2
    estimator = MLPClassifier(hidden_layer_sizes=(5,), alpha=0.1, max_iter=1, dtype="float64", random_state=0)
    with pytest.warns(ConvergenceWarning):
        estimator.fit(X, y)
    model, Y = estimator.model_, np.eye(3)[y]
    weighted = objective.backprop(model, X, Y, weights, 0.1, "softmax")
    weighted_grads = [p.grad.copy() for p in model.parameters()]
    duplicated = objective.backprop(model, np.r_[X, X[:10]], np.r_[Y, Y[:10]], None, 0.1, "softmax")
    assert weighted == pytest.approx(duplicated, rel=1e-12)
    for got, want in zip(weighted_grads, model.parameters()):
        np.testing.assert_allclose(got, want.grad, rtol=1e-10, atol=1e-14)
    # so L-BFGS fits the same model (up to the rounding its iterations amplify)
    fits = []
    for X_fit, y_fit, s in ((X, y, weights), (np.r_[X, X[:10]], np.r_[y, y[:10]], None)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits.append(MLPClassifier(solver="lbfgs", random_state=0, max_iter=30).fit(X_fit, y_fit, sample_weight=s))
    np.testing.assert_allclose(fits[0].predict_proba(X), fits[1].predict_proba(X), atol=1e-4)


def test_lbfgs_minimizes_the_objective_and_reports_its_value(iris):
    X, y = iris
    estimator = MLPClassifier(hidden_layer_sizes=(6,), solver="lbfgs", alpha=1e-2, max_iter=1, random_state=0,
                              dtype="float64")
    with pytest.warns(ConvergenceWarning):
        estimator.fit(X, y)
    objective.backprop(estimator.model_, X, np.eye(3)[y], None, 1e-2, "softmax")
    start = np.abs(np.concatenate([p.grad.ravel() for p in estimator.model_.parameters()])).max()
    estimator.set_params(max_iter=5000, tol=1e-8).fit(X, y)
    value = objective.backprop(estimator.model_, X, np.eye(3)[y], None, 1e-2, "softmax")
    assert estimator.loss_ == pytest.approx(value, rel=1e-12)
    end = np.abs(np.concatenate([p.grad.ravel() for p in estimator.model_.parameters()])).max()
    assert end < 1e-3 * start


# ------------------------------------------------------------------------ 6. what scikit-learn lacks
def test_class_weight_balanced_equals_the_sample_weights_it_stands_for():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    keep = np.r_[np.flatnonzero(y == 0)[:40], np.flatnonzero(y == 1)]   # imbalanced: 40 against 357
    X, y = X[keep], y[keep]
    options = dict(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0, max_iter=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        balanced = MLPClassifier(class_weight="balanced", **options).fit(X, y)
        weighted = MLPClassifier(**options).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
        as_dict = MLPClassifier(class_weight={0: 5.0, 1: 1.0}, **options).fit(X, y)
        explicit = MLPClassifier(**options).fit(X, y, sample_weight=np.where(y == 0, 5.0, 1.0))
    np.testing.assert_allclose(balanced.predict_proba(X), weighted.predict_proba(X), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(as_dict.predict_proba(X), explicit.predict_proba(X), rtol=1e-7, atol=1e-10)


def test_normalization_dropout_activations_dtype_callbacks_and_monitor():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    estimator = MLPClassifier(hidden_layer_sizes=(64, 32), activation="gelu", normalization="batchnorm",
                              dropout=0.1, dtype="float32", max_iter=30, monitor=5, random_state=0,
                              callbacks=[dp.EarlyStopping(monitor="val_accuracy", patience=3)])
    estimator.fit(X[:1400], y[:1400], X_val=X[1400:], y_val=y[1400:])
    kinds = [type(layer).__name__ for layer in estimator.model_.layers]
    assert kinds == ["Dense", "BatchNorm", "GELU", "Dropout", "Dense", "BatchNorm", "GELU", "Dropout", "Dense"]
    assert estimator.score(X[1400:], y[1400:]) > 0.85 and estimator.model_.dtype == np.float32
    assert estimator.history_.stop_reason in ("early_stopping", "completed")
    assert len(estimator.history_.diagnostics["step"]) > 0 and "0.grad_norm" in estimator.history_.diagnostics
    with pytest.raises(ValueError, match="dropout makes the objective random"):
        MLPClassifier(solver="lbfgs", dropout=0.2).fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="activation 'swishy' is not known"):
        MLPClassifier(activation="swishy").fit(X[:50], y[:50])


def test_the_glass_box_behind_the_estimator(iris, tmp_path):
    X, y = iris
    estimator = MLPClassifier(hidden_layer_sizes=(6,), solver="lbfgs", random_state=0).fit(X, y)
    model = estimator.model_
    loss = dp.CrossEntropy()
    loss.forward(model.forward(X, training=True), y)
    model.backward(loss.backward())
    traces = model.inspect()
    assert [t.delta.shape for t in traces] == [(150, 6), (150, 3)]
    assert dp.diagnose(model, X, y, "cross_entropy") == []
    dp.save(model, tmp_path / "m.safetensors")
    probabilities = dp.Softmax().forward(dp.load(tmp_path / "m.safetensors").predict(X))
    np.testing.assert_allclose(probabilities, estimator.predict_proba(X), rtol=1e-6)


# ------------------------------------------------------------------------ resume (issue: exact resume)
class InterruptAt(dp.Callback):
    """Ctrl-C at the start of an epoch (or never)."""

    def __init__(self, epoch=None):
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs):
        if epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("save_freq", ["epoch", 5])
@pytest.mark.parametrize("options", [dict(solver="adam", early_stopping=True, n_iter_no_change=4),
                                     dict(solver="sgd", learning_rate="adaptive", tol=1e-2, n_iter_no_change=2,
                                          dropout=0.1)])
def test_an_estimator_interrupted_and_fitted_again_with_its_backup_ends_as_an_uninterrupted_one(
        tmp_path, iris, save_freq, options):
    X, y = iris

    def estimator(stop_at, backup):
        return MLPClassifier(hidden_layer_sizes=(12,), max_iter=40, random_state=0, batch_size=32,
                             callbacks=[InterruptAt(stop_at), dp.BackupAndRestore(backup, save_freq=save_freq)],
                             **options)

    reference = estimator(None, tmp_path / "a").fit(X, y)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        estimator(4, tmp_path / "b").fit(X, y)
    assert (tmp_path / "b" / "backup.safetensors").exists()
    resumed = estimator(None, tmp_path / "b").fit(X, y)
    for got, want in zip(resumed.coefs_ + resumed.intercepts_, reference.coefs_ + reference.intercepts_):
        np.testing.assert_array_equal(got, want)
    for name in ("loss_curve_", "validation_scores_", "best_loss_", "best_validation_score_", "n_iter_", "t_"):
        assert getattr(resumed, name) == getattr(reference, name), name
    assert not (tmp_path / "b").exists()     # removed when it converged or reached max_iter
