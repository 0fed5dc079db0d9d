"""MLPClassifier: scikit-learn's MLPClassifier, parameter for parameter, on a deltaprop network."""
from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d, validate_data

from ._base import BaseMLP


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier: ``sklearn.neural_network.MLPClassifier`` on a deltaprop network.

    Change one import line — ``from deltaprop.sklearn import MLPClassifier`` — and code written for
    scikit-learn's class runs: the same parameters, defaults and meaning, the same fitted attributes,
    the same convergence rules and warnings, inside Pipeline, GridSearchCV and cross_val_score. The
    objective is scikit-learn's: the log-loss of a softmax (multiclass) or logistic (binary,
    multilabel) output plus ``alpha·Σ‖W‖²/(2·Σs)``, with sample weights s.

    Parameters
    ----------
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, learning_rate_init,
    power_t, max_iter, shuffle, random_state, tol, verbose, warm_start, momentum, nesterovs_momentum,
    early_stopping, validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change, max_fun
        As in scikit-learn. ``activation`` also accepts every deltaprop activation by name
        (``"gelu"``, ``"elu"``, ``"leaky_relu"``, ``"sigmoid"``, ``"softplus"``, a registered one).
        The ``sgd`` and ``adam`` solvers run deltaprop's SGD and Adam (PyTorch's update rules).
    class_weight : "balanced", dict or None, default None
        Weights per class, multiplied into the sample weights (``"balanced"``: n_samples / (n_classes ·
        count of the class)).
    normalization : "batchnorm", "layernorm" or None, default None
        A normalization layer after each hidden Dense.
    dropout : float in [0, 1), default 0
        Dropout after each hidden activation (stochastic solvers only).
    dtype : "float32", "float64" or None, default None
        The network's dtype; None follows X (float32 input trains in float32).
    callbacks : list of deltaprop Callback, optional
        Called during stochastic training (``EarlyStopping(monitor="val_accuracy")`` with a validation
        set, ``TerminateOnNaN`` …).
    monitor : bool or int, optional
        Record gradient-flow measurements every 10 (or N) steps into ``history_.diagnostics``.

    Attributes
    ----------
    classes_, loss_, best_loss_, loss_curve_, validation_scores_, best_validation_score_, t_,
    coefs_, intercepts_, n_features_in_, feature_names_in_, n_iter_, n_layers_, n_outputs_,
    out_activation_
        As in scikit-learn; ``coefs_`` and ``intercepts_`` are views of the network's weights.
    model_ : deltaprop.Sequential
        The trained network, outputting logits: ``inspect()``, δ, ``dp.diagnose``, ``dp.save`` work on it.
    history_ : deltaprop.History
        Per-epoch loss (and validation score) of the stochastic solvers; ``history_.diagnostics`` with
        ``monitor``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from deltaprop.sklearn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.95
    True
    """

    _parameter_constraints: dict = {**BaseMLP._parameter_constraints,
                                    "class_weight": [StrOptions({"balanced"}), dict, None]}
    _score_name = "accuracy"

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, class_weight=None, normalization=None,
                 dropout=0.0, dtype=None, callbacks=None, monitor=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.class_weight = class_weight
        self.normalization = normalization
        self.dropout = dropout
        self.dtype = dtype
        self.callbacks = callbacks
        self.monitor = monitor

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Fit the network to X and y (class labels, or an indicator matrix for multilabel).

        ``X_val, y_val`` (optional) are a validation set: its accuracy is recorded in
        ``validation_scores_``, decides the convergence instead of the training loss, and the best
        weights are kept — as ``early_stopping`` does with a random split.
        """
        if (X_val is None) != (y_val is None):
            raise ValueError("give both X_val and y_val, or neither")
        validation = None if X_val is None else (X_val, y_val)
        return self._fit(X, y, sample_weight=sample_weight, incremental=False, validation=validation)

    @available_if(lambda estimator: estimator.solver != "lbfgs")
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y); ``classes`` (all the classes there will be) is needed on the first call."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y if type_of_target(y).startswith("multilabel") else classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _is_classifier(self) -> bool:
        return True

    def _output_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(f"warm_start can only be used where `y` has the same classes as in the previous "
                                     f"call to fit. Previously got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {classes}.")
        return X, self._label_binarizer.transform(y).astype(bool)

    def _with_class_weight(self, y, sample_weight):
        if self.class_weight is None:
            return sample_weight
        if self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError("class_weight is not supported for multilabel targets; give sample_weight instead")
        weights = compute_sample_weight(self.class_weight, self._label_binarizer.inverse_transform(y))
        return weights if sample_weight is None else weights * sample_weight

    def _decode(self, y):
        return self._label_binarizer.inverse_transform(y)

    @staticmethod
    def _score_function(y, prediction, sample_weight=None) -> float:
        return accuracy_score(y, prediction, sample_weight=sample_weight)

    # --------------------------------------------------------------- predicting
    def _predict(self, X):
        output = self._output(X)
        if self.n_outputs_ == 1:
            output = output.ravel()
        return self._label_binarizer.inverse_transform(output)

    def predict(self, X):
        """The predicted class of each row (an indicator row for multilabel)."""
        return self._predict(X)

    def predict_proba(self, X):
        """Probability of each class, columns in the order of ``classes_``."""
        output = self._output(X)
        if self.n_outputs_ == 1:
            output = output.ravel()
            return np.vstack([1 - output, output]).T
        return output

    def predict_log_proba(self, X):
        """ln of [`predict_proba()`][deltaprop.sklearn.classifier.MLPClassifier.predict_proba]."""
        probabilities = self.predict_proba(X)
        return np.log(probabilities, out=probabilities)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


__all__ = ["MLPClassifier"]
