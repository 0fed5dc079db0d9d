"""MLPRegressor: scikit-learn's MLPRegressor, parameter for parameter, on a deltaprop network."""
from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d, validate_data

from ._base import BaseMLP


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor: ``sklearn.neural_network.MLPRegressor`` on a deltaprop network.

    The same parameters, defaults, attributes and convergence rules as scikit-learn's class (see
    [`deltaprop.sklearn.MLPClassifier`][deltaprop.sklearn.MLPClassifier] for them and for what deltaprop adds: ``normalization``,
    ``dropout``, every activation, ``dtype``, ``callbacks``, ``monitor``, ``fit(X_val=, y_val=)``).

    Parameters
    ----------
    loss : "squared_error" or "poisson", default "squared_error"
        Half the squared error with an identity output, or half the Poisson deviance with an exp
        output (targets must be ≥ 0), as scikit-learn defines them; plus ``alpha·Σ‖W‖²/(2·Σs)``. With
        several outputs the per-output losses are summed, so that the value and the gradient agree
        (scikit-learn reports their mean while following the summed gradient).

    Examples
    --------
    >>> import numpy as np
    >>> from deltaprop.sklearn import MLPRegressor
    >>> X = np.linspace(-3, 3, 200).reshape(-1, 1)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=1000, random_state=0)
    >>> reg.fit(X, np.sin(X).ravel()).score(X, np.sin(X).ravel()) > 0.99
    True
    """

    _parameter_constraints: dict = {**BaseMLP._parameter_constraints,
                                    "loss": [StrOptions({"squared_error", "poisson"})]}
    _score_name = "r2"

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, normalization=None, dropout=0.0,
                 dtype=None, callbacks=None, monitor=None):
        self.loss = loss
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
        self.normalization = normalization
        self.dropout = dropout
        self.dtype = dtype
        self.callbacks = callbacks
        self.monitor = monitor

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Fit the network to X and y (one or several target columns); ``X_val, y_val`` as in MLPClassifier."""
        if (X_val is None) != (y_val is None):
            raise ValueError("give both X_val and y_val, or neither")
        validation = None if X_val is None else (X_val, y_val)
        return self._fit(X, y, sample_weight=sample_weight, incremental=False, validation=validation)

    @available_if(lambda estimator: estimator.solver != "lbfgs")
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _is_classifier(self) -> bool:
        return False

    def _output_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("loss='poisson' needs targets >= 0")
        return X, y

    def _decode(self, y):
        return y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y

    @staticmethod
    def _score_function(y, prediction, sample_weight=None) -> float:
        return r2_score(y, prediction, sample_weight=sample_weight)

    def _predict(self, X):
        output = self._output(X)
        return output.ravel() if output.shape[1] == 1 else output

    def predict(self, X):
        """The predicted value(s) of each row."""
        return self._predict(X)


__all__ = ["MLPRegressor"]
