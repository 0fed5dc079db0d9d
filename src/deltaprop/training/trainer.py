"""The training loop: forward, loss, backward, update — over mini-batches and epochs."""
from __future__ import annotations

import time

import numpy as np

from .. import losses as loss_registry
from .. import optim
from .._checks import check_positive_int
from ..layers.activations import Sigmoid
from . import metrics as metric_registry
from .callbacks import Callback
from .data import check_targets, split_validation, training_rng
from .history import History
from .progress import Progress


class Trainer:
    """What callbacks see of a run: model, loss, optimizer, history, and the ``stop`` flag."""

    def __init__(self, model, loss, optimizer, history):
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.history = history
        self.stop = False

    def snapshot(self, into: list | None = None) -> list:
        """Copy every parameter and state array (running statistics), or copy into ``into``."""
        arrays = [p.value for p in self.model.parameters()]
        arrays += [a for layer in self.model.layers for a in layer.state().values()]
        if into is None:
            return [a.copy() for a in arrays]
        for target, source in zip(into, arrays):
            np.copyto(target, source)
        return into

    def restore(self, snapshot: list) -> None:
        arrays = [p.value for p in self.model.parameters()]
        arrays += [a for layer in self.model.layers for a in layer.state().values()]
        for target, source in zip(arrays, snapshot):
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
    """Loss and metrics of ``model`` on (X, y) in eval mode: ``{"loss": …, "accuracy": …}``.

    The loss includes the layers' weight penalties, as during training.
    """
    loss = loss_registry.get(loss)
    X = model.check_input(X)
    y = check_targets(y, X.shape[0])
    pred = model.predict(X, batch_size=batch_size)
    results = {"loss": loss.forward(pred, y) + model.penalty()}
    for metric in resolve_metrics(metrics, model, loss):
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


def _resolve_monitor(monitor):
    """None/False: no monitor; True: every 10 steps; an int N: every N steps; or a TrainingMonitor."""
    from ..diagnostics import TrainingMonitor

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


def fit(model, X, y, *, loss, optimizer, epochs: int, batch_size: int = 32, shuffle: bool = True,
        validation_split: float = 0.0, validation_data=None, metrics=None, callbacks=(), schedule=None,
        clip_norm: float | None = None, clip_value: float | None = None, seed: int | None = None,
        verbose: int = 1, monitor=None) -> History:
    """Train ``model`` by mini-batch backpropagation; see :meth:`deltaprop.Sequential.fit`."""
    loss = loss_registry.get(loss)
    optimizer = optim.get(optimizer)
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    metric_list = resolve_metrics(metrics, model, loss)
    callbacks = _check_callbacks(callbacks)
    monitor = _resolve_monitor(monitor)
    if monitor is not None:
        callbacks.insert(0, monitor)
    if schedule is not None and not isinstance(schedule, optim.Schedule):
        raise TypeError(f"schedule must be a deltaprop Schedule, got {schedule!r}")
    X = model.check_input(X)
    y = check_targets(y, X.shape[0])

    rng = training_rng(model.seed, seed)
    if validation_data is not None:
        if validation_split:
            raise ValueError("give validation_split or validation_data, not both")
        try:
            X_val, y_val = validation_data
        except (TypeError, ValueError):
            raise ValueError("validation_data must be a pair (X_val, y_val)") from None
        X_val = model.check_input(X_val, "validation_data X")
        y_val = check_targets(y_val, X_val.shape[0], "validation_data y")
    elif validation_split:
        X, y, X_val, y_val = split_validation(X, y, validation_split, rng)
    else:
        X_val = y_val = None
    model.seed_generators(rng)

    n_samples = X.shape[0]
    bounds = batch_bounds(n_samples, batch_size, merge_single=model.needs_batch_statistics())
    n_batches = len(bounds)
    params = model.parameters()
    base_lr = optimizer.lr
    history = History()
    trainer = Trainer(model, loss, optimizer, history)
    for callback in callbacks:
        callback.set_trainer(trainer)
    if schedule is not None:
        schedule.reset()
    progress = Progress(verbose, epochs, n_batches)

    for callback in callbacks:
        callback.on_train_begin({})
    try:
        for epoch in range(epochs):
            started = time.perf_counter()
            if schedule is not None:
                optimizer.lr = schedule.lr(epoch, base_lr)
            epoch_lr = optimizer.lr
            for callback in callbacks:
                callback.on_epoch_begin(epoch, {"epoch": epoch, "lr": epoch_lr})
            progress.epoch_begin(epoch)
            order = rng.permutation(n_samples) if shuffle else np.arange(n_samples)
            loss_sum, seen = 0.0, 0
            outputs = [] if metric_list else None
            running = {}
            for batch, (start, stop) in enumerate(bounds):
                index = order[start:stop]
                X_batch, y_batch = X[index], y[index]
                # 1. forward pass, 2. loss, 3. backward pass
                out = model.forward_unchecked(X_batch, training=True)
                batch_loss = loss.forward(out, y_batch) + model.penalty()
                model.backward(loss.backward(), input_gradient=False)
                model.add_penalty_gradients()
                batch_logs = {"epoch": epoch, "loss": batch_loss, "size": len(index)}
                for callback in callbacks:
                    callback.on_backward_end(batch, batch_logs)
                if trainer.stop:
                    break
                # 4. update
                if clip_value is not None:
                    optim.clip_grad_value(params, clip_value)
                if clip_norm is not None:
                    optim.clip_grad_norm(params, clip_norm)
                optimizer.step(params)
                loss_sum += batch_loss * len(index)
                seen += len(index)
                if outputs is not None:
                    outputs.append(out.copy())
                for callback in callbacks:
                    callback.on_batch_end(batch, batch_logs)
                if progress.uses_bar:
                    running["loss"] = loss_sum / seen
                    for metric in metric_list:
                        value = metric(out, y_batch)
                        running[metric.name] = running.get(metric.name, 0.0) + (value - running.get(metric.name, 0.0)) * len(index) / seen
                    progress.batch_end(running)
                if trainer.stop:
                    break
            if trainer.stop and seen < n_samples:
                progress.close()
                break  # the epoch is not complete (a non-finite value, an interruption): nothing to log
            logs = {"epoch": epoch, "loss": loss_sum / max(seen, 1)}
            if metric_list and outputs:
                epoch_pred = np.concatenate(outputs)
                epoch_y = y[order[:len(epoch_pred)]]
                for metric in metric_list:
                    logs[metric.name] = metric(epoch_pred, epoch_y)
            if X_val is not None:
                for key, value in evaluate(model, X_val, y_val, loss=loss, metrics=metric_list).items():
                    logs[f"val_{key}"] = value
            logs["lr"] = epoch_lr
            logs["seconds"] = time.perf_counter() - started
            if schedule is not None:
                schedule.observe(epoch, logs)
            history.append(logs)
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            progress.epoch_end(logs)
            if trainer.stop:
                break
    except KeyboardInterrupt:
        history.stop_reason = "interrupted"
        history.message = f"training interrupted by the user after {history.epochs} complete epochs"
    finally:
        progress.close()
        for callback in callbacks:
            callback.on_train_end({})
    progress.message(history.message)
    return history
