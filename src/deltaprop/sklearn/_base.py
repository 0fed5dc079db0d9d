"""What MLPClassifier and MLPRegressor share: scikit-learn's training algorithm on a deltaprop network.

The parameters, their defaults and meaning, the fitted attributes and the convergence rules are
scikit-learn's (``sklearn.neural_network``); the network is a [`deltaprop.Sequential`][deltaprop.Sequential]
(``model_``), trained by deltaprop's backward pass and optimizers, so everything deltaprop shows —
``inspect()``, δ, ``diagnose``, the monitor, ``dp.save`` — works on it.
"""
from __future__ import annotations

import math
import numbers
import time
import warnings

import numpy as np
import scipy.optimize
import scipy.sparse
from threadpoolctl import threadpool_limits
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import optim, threads
from ..builders import mlp
from ..layers import LAYERS
from ..layers.activations import is_activation
from ..training.callbacks import Callback, check_state
from ..training.history import RUNNING, History
from ..training.monitor import TrainingMonitor
from ..training.trainer import EpochProgress, TrainingRun, end_by_failure, resolve_monitor
from . import objective

#: scikit-learn's activation names that differ from deltaprop's
ACTIVATION_NAMES = {"logistic": "sigmoid"}
#: rows per chunk when L-BFGS sums the full-batch gradient (sparse input is densified one chunk at a time)
CHUNK_ROWS = 4096
PREDICT_BATCH = 4096


def _is_activation_name(name) -> bool:
    name = ACTIVATION_NAMES.get(name, name)
    return isinstance(name, str) and name in LAYERS and is_activation(LAYERS.lookup(name)) and name != "softmax"


def rows(X, index):
    """Rows of X as a dense array: a sparse matrix is densified only for these rows."""
    part = X[index]
    return part.toarray() if scipy.sparse.issparse(part) else part


class BaseMLP(BaseEstimator):
    """The estimator both MLPs derive from; see [`deltaprop.sklearn.MLPClassifier`][deltaprop.sklearn.MLPClassifier] for the parameters."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [callable, str],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "power_t": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(numbers.Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left"), Options(numbers.Real, {np.inf})],
        "max_fun": [Interval(numbers.Integral, 1, None, closed="left")],
        # what scikit-learn's MLPs lack
        "normalization": [StrOptions({"batchnorm", "layernorm"}), None],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "dtype": [StrOptions({"float32", "float64"}), None],
        "callbacks": [list, tuple, None],
        "monitor": ["boolean", Interval(numbers.Integral, 1, None, closed="left"), TrainingMonitor, None],
    }

    # ------------------------------------------------------------------ the network
    def _hidden_sizes(self) -> list:
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if any(int(size) != size or size <= 0 for size in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(size) for size in sizes]

    def _activation(self) -> str:
        if not _is_activation_name(self.activation):
            raise ValueError(f"activation {self.activation!r} is not known: use identity, logistic, tanh, relu or any "
                             "deltaprop activation (sigmoid, leaky_relu, elu, gelu, softplus, or a registered one)")
        return ACTIVATION_NAMES.get(self.activation, self.activation)

    def _build(self, n_features: int, n_outputs: int, dtype, rng: np.random.Generator):
        """The network, initialized as scikit-learn does: W and b ~ U(±√(c/(fan_in + fan_out))), c = 2 for
        logistic and 6 otherwise (Glorot)."""
        model = mlp([n_features, *self._hidden_sizes(), n_outputs], activation=self._activation(),
                    normalization=self.normalization, dropout=self.dropout, dtype=dtype,
                    seed=int(rng.integers(2**31)))
        factor = 2.0 if self.activation == "logistic" else 6.0
        for layer in model.layers:
            if layer.kind == "weights":
                n_in, n_out = layer.W.value.shape
                bound = math.sqrt(factor / (n_in + n_out))
                layer.W.value[...] = rng.uniform(-bound, bound, (n_in, n_out))
                if layer.b is not None:
                    layer.b.value[...] = rng.uniform(-bound, bound, n_out)
        return model

    @property
    def coefs_(self) -> list:
        """The weights W of every Dense layer, shape (n_in, n_out) — views: changing them changes the network."""
        check_is_fitted(self, "model_")
        return [layer.W.value for layer in self.model_.layers if layer.kind == "weights"]

    @coefs_.setter
    def coefs_(self, values):
        self._set_weights("W", values)

    @property
    def intercepts_(self) -> list:
        """The bias b of every Dense layer (zeros where a layer has none, before BatchNorm) — views."""
        check_is_fitted(self, "model_")
        return [layer.b.value if layer.b is not None else np.zeros(layer.n_out, dtype=self.model_.dtype)
                for layer in self.model_.layers if layer.kind == "weights"]

    @intercepts_.setter
    def intercepts_(self, values):
        self._set_weights("b", values)

    def _set_weights(self, name: str, values) -> None:
        layers = [layer for layer in self.model_.layers if layer.kind == "weights"]
        values = list(values)
        if len(values) != len(layers):
            raise ValueError(f"expected {len(layers)} arrays, one per layer, got {len(values)}")
        for index, (layer, value) in enumerate(zip(layers, values)):
            target = getattr(layer, name)
            if target is None:
                continue
            value = np.asarray(value)
            if value.shape != target.value.shape:
                raise ValueError(f"layer {index}: expected shape {target.value.shape}, got {value.shape}")
            target.value[...] = value

    # ------------------------------------------------------------------ fitting
    def _rng(self) -> np.random.Generator:
        """A Generator drawn from ``random_state`` (an int gives the same one every fit, as in scikit-learn)."""
        return np.random.default_rng(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _dtype(self, X):
        return np.dtype(self.dtype) if self.dtype is not None else X.dtype

    def _validate_solver_options(self) -> None:
        if self.solver == "lbfgs" and self.dropout:
            raise ValueError("dropout makes the objective random, which L-BFGS cannot minimize: use solver='adam' "
                             "or 'sgd'")
        for callback in self.callbacks or ():
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks must be deltaprop Callback objects, got {type(callback).__name__}")

    def _fit(self, X, y, sample_weight=None, incremental=False, validation=None):
        self._validate_solver_options()
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        sample_weight = self._with_class_weight(y, sample_weight)
        if sample_weight is not None:
            with np.errstate(over="ignore"):
                total = sample_weight.sum()
            if not np.isfinite(total) or total <= 0:
                raise ValueError(f"sample_weight sums to {total:g}: the objective divides by this sum; give weights "
                                 "whose sum is a positive finite number (rescale them)")
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        rng = self._rng()
        if first_pass:
            self._initialize(X, y, rng)
        elif self.model_.dtype != self._dtype(X):
            self.model_.astype(self._dtype(X))
        y = y.astype(self.model_.dtype, copy=False)
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, y, sample_weight)
        else:
            with threads.session():       # BLAS on deltaprop's thread budget, as dp.fit does
                self._fit_stochastic(X, y, sample_weight, rng, incremental, validation)
        if not all(np.isfinite(p.value).all() for p in self.model_.parameters()) or \
                not np.isfinite(getattr(self, "loss_", 0.0) or 0.0):
            raise ValueError("Solver produced non-finite parameter weights. The input data may contain large values "
                             "and need to be preprocessed.")
        return self

    def _with_class_weight(self, y, sample_weight):
        return sample_weight

    def _initialize(self, X, y, rng) -> None:
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(self._hidden_sizes()) + 2
        self.out_activation_ = self._output_activation()
        self.model_ = self._build(X.shape[1], self.n_outputs_, self._dtype(X), rng)
        self.history_ = History()
        if self.solver != "lbfgs":
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None
        for name in ("_optimizer", "_best_weights"):
            self.__dict__.pop(name, None)

    # ----------------------------------------------------------------- L-BFGS
    def _fit_lbfgs(self, X, y, sample_weight) -> None:
        """Full-batch L-BFGS (scipy.optimize.minimize) on the flat vector of every parameter; the gradient comes
        from deltaprop's backward pass, summed over chunks of rows."""
        model = self.model_
        params = model.parameters()
        ends = np.cumsum([p.value.size for p in params])
        places = [slice(end - p.value.size, end) for p, end in zip(params, ends)]   # each parameter in θ
        penalized = {id(layer.parameters()[0]) for layer in model.layers if layer.kind == "weights"}
        weights = [index for index, p in enumerate(params) if id(p) in penalized]   # W, not b
        total = objective.weight_sum(X, sample_weight)
        chunk = X.shape[0] if model.needs_batch_statistics() else CHUNK_ROWS   # BatchNorm: the whole batch
        gradient = np.empty(int(ends[-1]))

        def loss_and_gradient(theta):
            for param, place in zip(params, places):
                param.value[...] = theta[place].reshape(param.value.shape)
            gradient[...] = 0
            value = 0.0
            for start in range(0, X.shape[0], chunk):
                index = slice(start, start + chunk)
                row_weights = None if sample_weight is None else sample_weight[index]
                value += objective.data_step(model, rows(X, index), y[index], row_weights, self.out_activation_,
                                             total)
                for param, place in zip(params, places):
                    gradient[place] += param.grad.ravel()
            if self.alpha:   # the penalty α·Σ‖W‖²/(2Σs) and its gradient α·W/Σs, once for the whole batch
                for index in weights:
                    W = theta[places[index]]
                    value += self.alpha * float(W @ W) / (2 * total)
                    gradient[places[index]] += (self.alpha / total) * W
            return value, gradient.copy()   # a new array each time: the optimizer keeps earlier ones

        start = np.concatenate([p.value.ravel() for p in params]).astype(np.float64)
        # one BLAS thread: between the matrix products each evaluation runs Python, NumPy and SciPy's own
        # OpenBLAS (L-BFGS-B's vector work), and idle BLAS workers spinning against them cost more than a second
        # thread gains (bench/sklearn_estimators.py: 1.2–10× faster on 2 cores, digits to 5,000 MNIST rows)
        with threadpool_limits(limits=1, user_api="blas"):
            result = scipy.optimize.minimize(loss_and_gradient, start, method="L-BFGS-B", jac=True,
                                             options={"maxfun": self.max_fun, "maxiter": self.max_iter,
                                                      "gtol": self.tol})
        if result.status != 0:
            warnings.warn(f"lbfgs failed to converge after {result.nit} iteration(s) (status={result.status}): "
                          f"{result.message}. Increase the number of iterations (max_iter) or scale the data.",
                          ConvergenceWarning, stacklevel=3)
        self.n_iter_ = min(int(result.nit), self.max_iter)
        self.loss_ = float(result.fun)
        for param, place in zip(params, places):
            param.value[...] = result.x[place].reshape(param.value.shape)

    # ------------------------------------------------------------- stochastic
    def _optimizer_for(self):
        if self.solver == "adam":
            return optim.Adam(lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2), eps=self.epsilon)
        return optim.SGD(lr=self.learning_rate_init, momentum=self.momentum,
                         nesterov=bool(self.nesterovs_momentum and self.momentum > 0))

    def _split_validation(self, X, y, sample_weight, rng, validation):
        """The training rows and the validation set: given (X_val, y_val), or ``validation_fraction`` of the rows
        (stratified for single-output classification), or none."""
        if validation is not None:
            X_val, y_val = validation
            X_val = validate_data(self, X_val, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32),
                                  reset=False)
            return X, y, sample_weight, X_val, np.asarray(y_val), None
        if not self.early_stopping:
            return X, y, sample_weight, None, None, None
        stratify = y if self._is_classifier() and self.n_outputs_ == 1 else None
        parts = train_test_split(X, y, *([] if sample_weight is None else [sample_weight]),
                                 random_state=int(rng.integers(2**31)), test_size=self.validation_fraction,
                                 stratify=stratify)
        X, X_val, y, y_val = parts[:4]
        sample_weight, weight_val = (parts[4], parts[5]) if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of your "
                             "dataset.")
        return X, y, sample_weight, X_val, self._decode(y_val), weight_val

    def _fit_stochastic(self, X, y, sample_weight, rng, incremental, validation) -> None:
        model = self.model_
        params = model.parameters()
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._optimizer_for()
        optimizer = self._optimizer
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        X, y, sample_weight, X_val, y_val, weight_val = self._split_validation(X, y, sample_weight, rng, validation)
        watching = X_val is not None
        if watching and self.validation_scores_ is None:     # a validation set given directly
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = [], -np.inf, None
        n_samples = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        if model.needs_batch_statistics() and n_samples % batch_size == 1 and n_samples > 1:
            batch_size += 1   # BatchNorm cannot normalize a last batch of one sample
        callbacks = [EstimatorProgress(self), *(self.callbacks or ())]
        monitor = resolve_monitor(self.monitor)
        if monitor is not None:
            callbacks.insert(1, monitor)
        callbacks.sort(key=lambda callback: callback.restores_runs)   # BackupAndRestore last, as in dp.fit
        settings = {name: repr(value) for name, value in self.get_params().items()
                    if name not in ("callbacks", "monitor", "verbose", "warm_start")}
        run = TrainingRun(model, None, optimizer, self.history_, rng=rng, callbacks=callbacks,
                          settings={**settings, "batch": batch_size, "incremental": incremental},
                          data=(X, y, X_val, y_val))
        run.bounds = [(start, min(start + batch_size, n_samples)) for start in range(0, n_samples, batch_size)]
        model.seed_generators(rng)
        self.n_iter_ = 0   # per call, as scikit-learn counts it (t_ keeps counting the samples seen)
        self.history_.stop_reason, self.history_.message = RUNNING, ""
        for callback in callbacks:
            callback.set_run(run)
            callback.on_train_begin({})   # BackupAndRestore may put back a run's state and position here
        n_batches = -(-n_samples // batch_size)
        try:
            while self.n_iter_ < self.max_iter and self.history_.stop_reason == RUNNING:
                epoch = self.history_.epochs
                started, epoch_lr = time.perf_counter(), optimizer.lr
                if run.progress is None or run.progress.epoch != epoch:
                    for callback in callbacks:
                        callback.on_epoch_begin(epoch, {"epoch": epoch, "lr": epoch_lr})
                    run.progress = EpochProgress(epoch, rng.permutation(n_samples) if self.shuffle
                                                 else np.arange(n_samples))
                state = run.progress
                for batch in range(state.batch, n_batches):
                    index = state.order[batch * batch_size:(batch + 1) * batch_size]
                    weights = None if sample_weight is None else sample_weight[index]
                    value = objective.backprop(model, rows(X, index), y[index], weights, self.alpha,
                                               self.out_activation_)
                    logs = {"epoch": epoch, "loss": value, "size": len(index)}
                    for callback in callbacks:
                        callback.on_backward_end(batch, logs)
                    if run.stop:
                        break
                    optimizer.step(params)
                    run.step += 1
                    state.batch, state.loss_sum, state.seen = batch + 1, state.loss_sum + value * len(index), \
                        state.seen + len(index)
                    for callback in callbacks:
                        callback.on_batch_end(batch, logs)
                    if run.stop:
                        break
                if run.stop and state.seen < n_samples:
                    break
                self._end_of_epoch(state.loss_sum / n_samples, n_samples, optimizer, (X_val, y_val, weight_val))
                logs = {"epoch": epoch, "loss": self.loss_, "lr": epoch_lr}
                if watching:
                    logs[f"val_{self._score_name}"] = self.validation_scores_[-1]
                logs["seconds"] = time.perf_counter() - started
                run.progress = None
                self.history_.append(logs)
                for callback in callbacks:
                    callback.on_epoch_end(epoch, logs)
                if run.stop or incremental:
                    break
            if self.history_.stop_reason == RUNNING:
                self.history_.stop_reason = "completed"
                if self.n_iter_ == self.max_iter and not incremental:
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                                  "optimization hasn't converged yet.", ConvergenceWarning)
        except KeyboardInterrupt:
            self.history_.stop_reason = "interrupted"
            warnings.warn("Training interrupted by user.")
        except BaseException as exc:
            end_by_failure(self.history_, exc)
            raise
        finally:
            for callback in callbacks:
                callback.on_train_end({})
        if watching and getattr(self, "_best_weights", None) is not None:
            run.restore(self._best_weights)   # the weights of the best validation score

    def _end_of_epoch(self, loss: float, n_samples: int, optimizer, validation) -> None:
        """scikit-learn's bookkeeping after an epoch: the loss curve, the samples seen, the no-improvement count,
        the learning-rate rules, and whether the run converged (then ``history_.stop_reason = "converged"``)."""
        self.n_iter_ += 1
        self.loss_ = loss
        self.t_ += n_samples
        self.loss_curve_.append(self.loss_)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
        self._update_no_improvement_count(*validation)
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            optimizer.lr = self.learning_rate_init / (self.t_ + 1) ** self.power_t
        if self._no_improvement_count > self.n_iter_no_change:
            what = "Validation score" if validation[0] is not None else "Training loss"
            message = (f"{what} did not improve more than tol={self.tol:f} for {self.n_iter_no_change} consecutive "
                       "epochs.")
            if self._stop_or_slow_down(optimizer, message):
                self.history_.stop_reason, self.history_.message = "converged", message
            else:
                self._no_improvement_count = 0

    def _stop_or_slow_down(self, optimizer, message: str) -> bool:
        """scikit-learn's rule: stop, except with SGD and learning_rate='adaptive', which divides the learning
        rate by 5 until it falls to 1e-6."""
        if self.solver == "sgd" and self.learning_rate == "adaptive" and optimizer.lr > 1e-6:
            optimizer.lr /= 5.0
            if self.verbose:
                print(f"{message} Setting learning rate to {optimizer.lr:f}")
            return False
        if self.verbose:
            print(f"{message} Stopping.")
        return True

    def _update_no_improvement_count(self, X_val, y_val, weight_val) -> None:
        """Count the epochs without improvement by more than ``tol``: of the validation score when there is a
        validation set (keeping the best weights), else of the training loss."""
        if X_val is not None:
            score = self._score_rows(X_val, y_val, weight_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_weights = TrainingRun(self.model_, None, None, None).snapshot()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _score_rows(self, X, y, sample_weight) -> float:
        prediction = self._predict(X)
        if np.issubdtype(np.asarray(prediction).dtype, np.floating) and not np.isfinite(prediction).all():
            return np.nan
        return self._score_function(y, prediction, sample_weight=sample_weight)

    # --------------------------------------------------------------- predicting
    def _output(self, X) -> np.ndarray:
        """f(z) of the output layer (softmax, logistic, identity or exp), in batches, eval mode."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=False)
        activation = objective.OUTPUT_ACTIVATIONS[self.out_activation_]
        outputs = [activation(self.model_.predict(rows(X, slice(start, start + PREDICT_BATCH))))
                   for start in range(0, X.shape[0], PREDICT_BATCH)]
        return np.concatenate(outputs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")



class EstimatorProgress(Callback):
    """The estimator's own progress — loss curve, samples seen, no-improvement count, best scores and weights —
    as a callback's state, so that BackupAndRestore backs it up and puts it back with the rest of the run."""

    FIELDS = ("n_iter_", "t_", "loss_", "loss_curve_", "best_loss_", "_no_improvement_count", "validation_scores_",
              "best_validation_score_", "_best_weights")

    def __init__(self, estimator):
        self.estimator = estimator

    def state_dict(self) -> dict:
        return {name: getattr(self.estimator, name, None) for name in self.FIELDS}

    #: the type of each field as a backup holds it (see training.callbacks.check_state)
    TYPES = {"n_iter_": int, "t_": int, "loss_": (float, None), "loss_curve_": list, "best_loss_": (float, None),
             "_no_improvement_count": int, "validation_scores_": (list, None),
             "best_validation_score_": (float, None), "_best_weights": (list, None)}

    def load_state_dict(self, state: dict) -> None:
        """Only the estimator's own progress fields, each checked: a backup cannot set anything else (``max_iter``,
        a method) on the estimator."""
        check_state(state, self.TYPES, type(self.estimator).__name__)
        for name in ("loss_curve_", "validation_scores_"):
            values = state[name] or []
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                raise ValueError(f"{type(self.estimator).__name__} state {name!r} must be a list of numbers")
        if state["_best_weights"] is not None:
            self.run.check_snapshot(state["_best_weights"], "best weights")
        for name in self.FIELDS:
            setattr(self.estimator, name, state[name])
