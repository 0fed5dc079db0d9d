"""The training loop: forward, loss, backward, update — over mini-batches and epochs."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .. import losses as loss_registry
from .. import optim, threads
from ..digest import data_digest
from .._checks import check_positive_int, check_targets
from ..layers.activations import Sigmoid
from ..layers.recurrent import truncated_bptt
from . import metrics as metric_registry
from .callbacks import Callback
from .data import split_validation, training_rng
from .distributed import Replicas, connect
from .history import RUNNING, History
from .monitor import TrainingMonitor
from .progress import Progress


@dataclass
class EpochProgress:
    """Where the loop is within an epoch — what a backup taken mid-epoch keeps to resume exactly there."""

    epoch: int
    order: np.ndarray            # the epoch's shuffled row order
    batch: int = 0               # the next batch to train on
    loss_sum: float = 0.0        # Σ batch loss · batch size so far
    seen: int = 0                # rows trained on so far
    predictions: list = field(default_factory=list)   # the outputs kept for the epoch's training metrics


class TrainingRun:
    """What callbacks see of a run (``callback.run``): the model, loss, optimizer, history, the ``stop``
    flag, and where the run is — ``step`` (updates so far), ``start_epoch`` and ``progress`` (a
    `EpochProgress`), the run's Generator ``rng``, its ``schedule``, ``callbacks``, the fit
    ``settings``, the mini-batches ``bounds`` ((start, stop) of each within an epoch's order) and ``is_chief``
    (False in the ranks of a distributed run that must not write files). A callback that restores a run
    (BackupAndRestore) sets them in ``on_train_begin``."""

    def __init__(self, model, loss, optimizer, history, *, rng=None, schedule=None, callbacks=(), settings=None,
                 data=None):
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.history = history
        self.stop = False
        self.rng = rng
        self.schedule = schedule
        self.callbacks = list(callbacks)
        self.settings = dict(settings or {})
        self.data = data          # (X, y, X_val, y_val) as trained on
        self.step = 0
        self.start_epoch = 0
        self.progress: EpochProgress | None = None
        self.bounds = None
        self.replicas = Replicas()   # the processes of a distributed run (one by default)

    @property
    def is_chief(self) -> bool:
        """True in the process that prints and writes files: the only one, or rank 0 of a distributed run."""
        return self.replicas.is_chief

    def _arrays(self) -> list:
        """Every parameter (one buffer) and state array (running statistics): what a snapshot copies."""
        return [self.model.parameters().values] + [a for layer in self.model.layers for a in layer.state().values()]

    def snapshot(self, into: list | None = None) -> list:
        """Copy every parameter and state array (running statistics), or copy into ``into``."""
        arrays = self._arrays()
        if into is None:
            return [a.copy() for a in arrays]
        for target, source in zip(into, arrays):
            np.copyto(target, source)
        return into

    def check_snapshot(self, snapshot, name: str = "snapshot") -> None:
        """Raise ``ValueError`` unless ``snapshot`` (read from a file) holds arrays of exactly the shapes and dtypes
        of [`snapshot()`][deltaprop.training.trainer.TrainingRun.snapshot]'s, all finite."""
        arrays = self._arrays()
        if not isinstance(snapshot, list) or len(snapshot) != len(arrays):
            raise ValueError(f"{name} must hold {len(arrays)} arrays")
        for index, (saved, array) in enumerate(zip(snapshot, arrays)):
            if not isinstance(saved, np.ndarray) or saved.shape != array.shape or saved.dtype != array.dtype \
                    or not np.isfinite(saved).all():
                raise ValueError(f"{name}[{index}] must be a finite array of shape {array.shape} and dtype "
                                 f"{array.dtype}")

    def restore(self, snapshot: list) -> None:
        for target, source in zip(self._arrays(), snapshot):
            np.copyto(target, source)


def resolve_metrics(metrics, model, loss) -> list:
    """Metric objects from names; one-output models ending in Sigmoid get accuracy at 0.5.

    A regression metric (MSE, MAE, R²) with a classification loss compares logits with class
    labels, a number without meaning: that is refused.
    """
    if metrics is None:
        return []
    if isinstance(metrics, (str, metric_registry.Metric)):
        metrics = [metrics]
    resolved = []
    for metric in metrics:
        metric = metric_registry.get(metric)
        if metric.task == "regression" and loss.task == "classification":
            raise ValueError(f"metrics: {metric.name!r} measures a regression, but the loss {loss!r} is a "
                             "classification loss; use 'accuracy'")
        if isinstance(metric, metric_registry.Accuracy) and isinstance(model.layers[-1], Sigmoid):
            metric.threshold = 0.5
        resolved.append(metric)
    return resolved


def evaluate(model, X, y, *, loss, metrics=None, batch_size: int = 1024) -> dict:
    """Loss (with weight penalties) and metrics in eval mode: ``{"loss": …, "accuracy": …}``."""
    loss = loss_registry.get(loss)
    X = model.check_input(X)
    y = check_targets(y, X.shape[0])
    return scores(model, model.predict(X, batch_size=batch_size), y, loss, resolve_metrics(metrics, model, loss))


def scores(model, pred, y, loss, metric_list) -> dict:
    """The loss (with weight penalties) and each metric of predictions ``pred`` for targets ``y``."""
    results = {"loss": loss.forward(pred, y) + model.penalty()}
    for metric in metric_list:
        results[metric.name] = metric(pred, y)
    return results


def batch_bounds(n_samples: int, batch_size: int, merge_single: bool = False) -> list:
    """(start, stop) of each mini-batch; the last partial batch is used, not dropped.

    With ``merge_single`` (a model with BatchNorm, which cannot normalize one sample), a last
    batch of a single sample joins the batch before it.
    """
    bounds = [(start, min(start + batch_size, n_samples)) for start in range(0, n_samples, batch_size)]
    if merge_single and len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n_samples)]
    return bounds


def resolve_monitor(monitor) -> TrainingMonitor | None:
    """None/False: no monitor; True: every 10 steps; an int N: every N steps; or a TrainingMonitor."""
    if monitor is None or monitor is False:
        return None
    if monitor is True:
        return TrainingMonitor()
    if isinstance(monitor, TrainingMonitor):
        return monitor
    if isinstance(monitor, (int, np.integer)):
        return TrainingMonitor(every=int(monitor))
    raise TypeError(f"monitor must be True, a number of steps or a TrainingMonitor, got {monitor!r}")


def _check_callbacks(callbacks) -> list:
    callbacks = list(callbacks or ())
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be deltaprop Callback objects, got {type(callback).__name__}")
    return callbacks


def validation_set(model, X, y, validation_split, validation_data, rng):
    """(X_train, y_train, X_val, y_val): ``validation_data`` checked, or a random ``validation_split`` of the
    rows held out, or no validation (None, None)."""
    if validation_data is not None:
        if validation_split:
            raise ValueError("give validation_split or validation_data, not both")
        try:
            X_val, y_val = validation_data
        except (TypeError, ValueError):
            raise ValueError("validation_data must be a pair (X_val, y_val)") from None
        X_val = model.check_input(X_val, "validation_data X")
        return X, y, X_val, check_targets(y_val, X_val.shape[0], "validation_data y")
    if validation_split:
        return split_validation(X, y, validation_split, rng)
    return X, y, None, None


def epoch_logs(epoch, loss_sum, seen, predictions, y, order, metric_list, model, loss, validation, lr,
               started, replicas=None) -> dict:
    """The epoch's record: mean training loss and metrics (on the predictions made while training, rows
    ``order``), the validation loss and metrics (eval mode), the learning rate and the seconds it took."""
    logs = {"epoch": epoch, "loss": loss_sum / max(seen, 1)}
    if metric_list and predictions:
        epoch_pred = np.concatenate(predictions)
        for metric in metric_list:
            logs[metric.name] = metric(epoch_pred, y[order[:len(epoch_pred)]])
    if validation[0] is not None:   # the rows shared among the processes of a distributed run
        predict = model.predict if replicas is None else lambda X: replicas.predict(model, X)
        for key, value in scores(model, predict(validation[0]), validation[1], loss, metric_list).items():
            logs[f"val_{key}"] = value
    logs["lr"] = lr
    logs["seconds"] = time.perf_counter() - started
    return logs


def fit(model, X, y, *, loss, optimizer, epochs: int, batch_size: int = 32, shuffle: bool = True,
        validation_split: float = 0.0, validation_data=None, metrics=None, callbacks=(), schedule=None,
        clip_norm: float | None = None, clip_value: float | None = None, seed: int | None = None,
        verbose: int = 1, monitor=None, distributed=False, tbptt: int | None = None) -> History:
    """Train by mini-batch backpropagation: forward pass, loss, backward pass, update.

    Parameters
    ----------
    X : array (n_samples, …)
    y : array
        Integer labels or one-hot rows for CrossEntropy; targets for the others.
    loss : Loss or str
    optimizer : Optimizer or str
    epochs : int
    batch_size : int, default 32
        The last partial batch is used, not dropped.
    shuffle : bool, default True
    validation_split : float in [0, 1), default 0
        Fraction of rows held out at random (with the fit seed) for validation.
    validation_data : (X_val, y_val), optional
    metrics : list of str or Metric, optional
        "accuracy", "mse", "mae", "r2"; logged for training and validation.
    callbacks : list of Callback
    schedule : Schedule, optional
        Learning rate per epoch from the optimizer's initial lr.
    clip_norm, clip_value : float, optional
        Gradient clipping by global norm / by value before each update.
    seed : int, optional
        With the model seed, seeds shuffling, the validation split and dropout masks.
    verbose : int, default 1
        0 silent; 1 a progress bar on a terminal, one line per epoch otherwise.
    monitor : bool, int or TrainingMonitor, optional
        Record per-layer gradient-flow measurements every 10 (or N) steps into
        ``history.diagnostics`` (see [`deltaprop.TrainingMonitor`][deltaprop.TrainingMonitor]).
    distributed : bool or mpi4py communicator, default False
        Data-parallel training under ``mpiexec -n N`` (see `deltaprop.training.distributed`):
        every process runs the same script on the same data; each global batch of ``batch_size``
        rows is split among the processes and their gradients summed by one MPI Allreduce per
        step, so the result is the one-process result. Only rank 0 prints. Outside mpiexec, one
        process trains as usual.
    tbptt : int, optional
        Truncated backpropagation through time for the recurrent layers: δ is sent back at most to the start of
        its chunk of ``tbptt`` steps (see [`deltaprop.RNN`][deltaprop.RNN]'s ``bptt_steps``). None: full BPTT.

    Returns
    -------
    History
        Per-epoch ``loss``, ``val_loss``, metrics, ``lr`` and ``seconds``; ``diagnostics``
        when monitored.
    """
    loss = loss_registry.get(loss)
    optimizer = optim.get(optimizer)
    replicas = connect(distributed)
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    metric_list = resolve_metrics(metrics, model, loss)
    callbacks = _check_callbacks(callbacks)
    monitor = resolve_monitor(monitor)
    if monitor is not None:
        callbacks.insert(0, monitor)
    if schedule is not None and not isinstance(schedule, optim.Schedule):
        raise TypeError(f"schedule must be a deltaprop Schedule, got {schedule!r}")
    X = model.check_input(X)
    y = check_targets(y, X.shape[0])
    rng = training_rng(model.seed, seed)
    # every rank must hold the same rows: a digest of all of them (before the seeded validation split), in chunks
    data_identity = data_digest(X, y) if replicas.size > 1 else None
    X, y, X_val, y_val = validation_set(model, X, y, validation_split, validation_data, rng)
    model.seed_generators(rng)

    n_samples = X.shape[0]
    bounds = batch_bounds(n_samples, batch_size, merge_single=model.needs_batch_statistics())
    params = model.parameters()
    base_lr = optimizer.lr
    history = History()
    # a callback that restores a run (BackupAndRestore) comes last: it saves after every other callback has
    # updated its state, and restores after they have reset theirs in on_train_begin
    callbacks.sort(key=lambda callback: callback.restores_runs)
    settings = {"loss": repr(loss), "optimizer": repr(optimizer), "epochs": epochs, "batch_size": batch_size,
                "shuffle": bool(shuffle), "validation_split": validation_split,
                "metrics": [metric.name for metric in metric_list], "schedule": repr(schedule),
                "clip_norm": clip_norm, "clip_value": clip_value, "seed": seed, "model_seed": model.seed,
                "tbptt": tbptt}
    run = TrainingRun(model, loss, optimizer, history, rng=rng, schedule=schedule, callbacks=callbacks,
                      settings=settings, data=(X, y, X_val, y_val))
    run.bounds = bounds
    for callback in callbacks:
        callback.set_run(run)
    if schedule is not None:
        schedule.reset()
    run.replicas = replicas
    progress = Progress(verbose if replicas.is_chief else 0, epochs, len(bounds))
    if replicas.size > 1:
        replicas.start(model, {"model seed": model.seed, "fit seed": seed, "rows": n_samples,
                               "batch_size": batch_size, "epochs": epochs,
                               "data": data_identity if validation_data is None else
                               data_identity + data_digest(X_val, y_val)})

    # one rank's failure ends them all; BLAS on the thread budget; recurrent layers truncated to tbptt steps
    with replicas.guard(), threads.session(), truncated_bptt(model, tbptt):
        for callback in callbacks:
            callback.on_train_begin({})
        try:
            for epoch in range(run.start_epoch, epochs):
                started = time.perf_counter()
                if run.progress is not None and run.progress.epoch == epoch:    # resumed in the middle of this epoch
                    epoch_lr = optimizer.lr
                else:
                    if schedule is not None:
                        optimizer.lr = schedule.lr(epoch, base_lr)
                    epoch_lr = optimizer.lr
                    for callback in callbacks:
                        callback.on_epoch_begin(epoch, {"epoch": epoch, "lr": epoch_lr})
                    run.progress = EpochProgress(epoch, rng.permutation(n_samples) if shuffle else np.arange(n_samples))
                state = run.progress
                progress.epoch_begin(epoch)
                running = {}
                stop_vote = False   # distributed: a rank's stop request, agreed on in the next step's sum
                for batch in range(state.batch, len(bounds)):
                    start, stop = bounds[batch]
                    index = state.order[start:stop]
                    first, last = replicas.slice(len(index))                 # this process's rows of the batch
                    X_batch, y_batch = X[index[first:last]], y[index[first:last]]
                    batch_loss, stop_agreed = replicas.train_step(              # 1.–3.: forward, loss, backward
                        model, loss, X_batch, y_batch, first, len(index), stop_vote)
                    if stop_agreed:    # some rank asked to stop after the last update: all stop before this one
                        run.stop = True
                        break
                    batch_logs = {"epoch": epoch, "loss": batch_loss, "size": len(index)}
                    for callback in callbacks:
                        callback.on_backward_end(batch, batch_logs)
                    if run.stop:
                        break
                    if clip_value is not None:                                   # 4. update
                        optim.clip_grad_value(params, clip_value)
                    if clip_norm is not None:
                        optim.clip_grad_norm(params, clip_norm)
                    optimizer.step(params)
                    run.step += 1
                    state.batch = batch + 1
                    state.loss_sum += batch_loss * len(index)
                    state.seen += len(index)
                    if metric_list:
                        state.predictions.append(model.layers[-1].output.copy())
                    for callback in callbacks:
                        callback.on_batch_end(batch, batch_logs)
                    if progress.uses_bar:
                        progress.batch_end(_running(running, state.loss_sum, state.seen, metric_list,
                                                    model.layers[-1].output, y_batch))
                    if run.stop and replicas.size > 1:
                        stop_vote, run.stop = True, False   # other ranks may not know yet: vote in the next sum
                    if run.stop:
                        break
                run.stop = replicas.agree(run.stop or stop_vote)
                if run.stop and state.seen < n_samples:
                    progress.close()
                    break  # the epoch is not complete (a non-finite value, an interruption): nothing to log
                logs = epoch_logs(epoch, state.loss_sum, state.seen, replicas.gather_batches(state.predictions), y,
                                  state.order, metric_list, model, loss, (X_val, y_val), epoch_lr, started, replicas)
                run.progress = None
                if schedule is not None:
                    schedule.observe(epoch, logs)
                history.append(logs)
                for callback in callbacks:
                    callback.on_epoch_end(epoch, logs)
                progress.epoch_end(logs)
                run.stop = replicas.agree(run.stop)
                if run.stop:
                    break
        except KeyboardInterrupt:
            history.stop_reason = "interrupted"
            history.message = f"training interrupted by the user after {history.epochs} complete epochs"
        except BaseException as exc:
            end_by_failure(history, exc)
            raise
        else:
            if history.stop_reason == RUNNING:
                history.stop_reason = "completed"
        finally:
            progress.close()
            model.set_shard(None)
            for callback in callbacks:
                callback.on_train_end({})
    progress.message(history.message)
    return history


def end_by_failure(history: History, exc: BaseException) -> None:
    """Record that an exception left the training loop: callbacks see ``stop_reason == "failed"`` in
    ``on_train_end`` (so BackupAndRestore keeps its backup, the run's only way back)."""
    history.stop_reason = "failed"
    history.message = f"training failed after {history.epochs} complete epochs: {type(exc).__name__}: {exc}"


def _running(running: dict, loss_sum: float, seen: int, metric_list, output, y_batch) -> dict:
    """The progress bar's running mean of the loss and metrics over the batches so far."""
    running["loss"] = loss_sum / seen
    size = len(y_batch)
    for metric in metric_list:
        previous = running.get(metric.name, 0.0)
        running[metric.name] = previous + (metric(output, y_batch) - previous) * size / seen
    return running
