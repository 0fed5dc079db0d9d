"""Callbacks: hooks into the training loop, and a stop flag.

The loop calls, in order: ``on_train_begin``; for each epoch ``on_epoch_begin``, then for each
batch ``on_backward_end`` (gradients computed, update not yet applied) and ``on_batch_end``
(after the update); ``on_epoch_end`` with the epoch's logs; ``on_train_end`` however training
ends (last epoch, a stop, an error or ``KeyboardInterrupt``). ``self.stop(reason)`` ends training
after the current batch.

A callback sees the run through ``self.run`` (a [`deltaprop.training.TrainingRun`][deltaprop.training.TrainingRun]: model,
loss, optimizer, history) and the model's public API only. Its state (what it has counted and
kept) can be saved and restored with ``state_dict()`` / ``load_state_dict()``.
"""
from __future__ import annotations

import math

import numpy as np

from .metrics import METRICS


class Callback:
    """Base class; ``self.run`` (model, optimizer, loss, history, stop flag) is set by fit."""

    run = None
    #: True for a callback that saves and restores the whole run (BackupAndRestore): fit calls it last
    restores_runs = False

    def set_run(self, run) -> None:
        self.run = run

    def state_dict(self) -> dict:
        """What the callback has counted and kept (arrays, numbers, strings, lists, dicts), for a backup of
        the run; restored by [`load_state_dict()`][deltaprop.training.callbacks.Callback.load_state_dict] after ``on_train_begin``. Stateless callbacks keep {}."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Take back what [`state_dict()`][deltaprop.training.callbacks.Callback.state_dict] gave (called after ``on_train_begin`` when a run resumes)."""

    def on_train_begin(self, logs: dict) -> None: ...
    def on_train_end(self, logs: dict) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict) -> None: ...
    def on_backward_end(self, batch: int, logs: dict) -> None: ...
    def on_batch_end(self, batch: int, logs: dict) -> None: ...

    def stop(self, reason: str, message: str = "") -> None:
        """Ask the loop to stop after this batch, recording why in the History."""
        self.run.stop = True
        self.run.history.stop_reason = reason
        self.run.history.message = message


def check_state(state, fields: dict, owner: str) -> None:
    """A callback's saved state (read from a backup) holds exactly ``fields``, each of its type: ``int`` (≥ 0),
    ``float`` (a number; inf allowed), ``list``, ``dict``, ``str``, or a tuple of them with None allowed;
    ``ValueError`` naming the field otherwise."""
    if not isinstance(state, dict) or set(state) != set(fields):
        shown = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{owner} state must hold {sorted(fields)}, got {shown}")
    for name, kinds in fields.items():
        value = state[name]
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        if value is None and None in kinds:
            continue
        ok = False
        for kind in kinds:
            if kind is int:
                ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0
            elif kind is float:
                ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) \
                    and not math.isnan(value)
            elif kind is not None:
                ok = isinstance(value, kind)
            if ok:
                break
        if not ok:
            raise ValueError(f"{owner} state {name!r} has a wrong value: {value!r:.60}")


def resolve_mode(monitor: str, mode: str) -> str:
    """"min" or "max": as given, or for "auto" the direction the monitored metric says is better
    (``Metric.mode``: accuracy and R² up, errors down); a loss, or anything unknown, goes down."""
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    name = monitor[4:] if monitor.startswith("val_") else monitor
    return METRICS.lookup(name).mode if name in METRICS else "min"


def _monitored(callback_name: str, monitor: str, logs: dict) -> float:
    if monitor not in logs:
        hint = " (pass validation_split or validation_data, or monitor a training value)" if monitor.startswith("val_") else ""
        raise ValueError(
            f"{callback_name} monitors {monitor!r}, which is not among the logged values "
            f"({', '.join(k for k in logs if k not in ('epoch',))}){hint}"
        )
    return logs[monitor]


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    With ``restore_best_weights=True`` the weights of the best epoch are put back however
    training ends: an early stop, the last epoch, or a ``KeyboardInterrupt``.

    Parameters
    ----------
    monitor : str, default "val_loss"
    patience : int, default 0
        Epochs without improvement tolerated before stopping.
    min_delta : float, default 0
    mode : "auto", "min" or "max"
        "auto" maximises accuracy and R², minimises everything else.
    restore_best_weights : bool, default True
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0, mode: str = "auto",
                 restore_best_weights: bool = True):
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.patience = int(patience)
        self.min_delta = abs(float(min_delta))
        self.mode = resolve_mode(monitor, mode)
        self.restore_best_weights = bool(restore_best_weights)

    def on_train_begin(self, logs):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = None      # 0-based index of the best epoch so far
        self.best_weights = None
        self.restored_epoch = None  # the epoch whose weights were put back when training ended
        self.wait = 0

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "best_weights": self.best_weights}

    def load_state_dict(self, state: dict) -> None:
        check_state(state, {"best": float, "best_epoch": (int, None), "wait": int, "best_weights": (list, None)},
                    "EarlyStopping")
        if state["best_weights"] is not None:
            self.run.check_snapshot(state["best_weights"], "EarlyStopping best_weights")
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.best_weights = state["best_weights"]

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs):
        value = _monitored("EarlyStopping", self.monitor, logs)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.run.snapshot()
            return
        self.wait += 1
        if self.wait >= max(self.patience, 1):  # patience epochs without improvement, as in Keras
            self.stop("early_stopping",
                      f"EarlyStopping: {self.monitor} did not improve for {self.wait} epoch(s) "
                      f"(best {self.best:.6g} at epoch {self.best_epoch + 1})")

    def on_train_end(self, logs):
        self.restored_epoch = None
        if self.restore_best_weights and self.best_weights is not None:
            self.run.restore(self.best_weights)
            self.restored_epoch = self.best_epoch


class StopAtTarget(Callback):
    """Stop once ``monitor`` reaches ``target`` (≥ for "max" metrics, ≤ for "min" ones)."""

    def __init__(self, monitor: str = "val_accuracy", target: float = 0.95, mode: str = "auto"):
        self.monitor = monitor
        self.target = float(target)
        self.mode = resolve_mode(monitor, mode)

    def on_epoch_end(self, epoch, logs):
        value = _monitored("StopAtTarget", self.monitor, logs)
        reached = value >= self.target if self.mode == "max" else value <= self.target
        if reached:
            self.stop("target_reached",
                      f"StopAtTarget: {self.monitor} = {value:.6g} reached {self.target:g} at epoch {epoch + 1}")


class TerminateOnNaN(Callback):
    """Stop at the first non-finite loss, layer output, gradient or weight.

    Before each update it checks the loss, every layer's output and gradient, and every
    parameter gradient; after each update, every weight. On the first non-finite value,
    training stops, the weights go back to the last state in which they were all finite,
    and the message names the first layer (in the order the algorithm ran) where it appeared.
    Keeping that state costs one copy of the weights per batch.
    """

    def on_train_begin(self, logs):
        self.message = ""
        self.where = None   # e.g. "the output of layer 2 (Dense)", once found
        self.epoch = None   # 0-based epoch and batch of the step where it appeared
        self.batch = None
        self._finite_weights = self.run.snapshot()

    def load_state_dict(self, state: dict) -> None:
        self._finite_weights = self.run.snapshot()   # the restored weights are finite

    def _halt(self, where: str, epoch: int, batch: int, restore: bool) -> None:
        if restore:
            self.run.restore(self._finite_weights)
        self.where, self.epoch, self.batch = where, epoch, batch
        message = (f"TerminateOnNaN: non-finite value in {where} (epoch {epoch + 1}, batch {batch + 1}); weights "
                   "are the last finite ones")
        self.message = message
        self.stop("non_finite", message)

    def on_backward_end(self, batch, logs):
        found = self.run.model.first_non_finite(logs["loss"])
        if found is not None:
            weights_finite = all(np.isfinite(p.value).all() for p in self.run.model.parameters())
            self._halt(found[1], logs["epoch"], batch, restore=not weights_finite)

    def on_batch_end(self, batch, logs):
        if self.run.stop:
            return
        model = self.run.model
        for layer in model.layers:
            if not all(np.isfinite(p.value).all() for p in layer.parameters()):
                self._halt(f"the weights of {layer.label} after the update", logs["epoch"], batch, restore=True)
                return
        self.run.snapshot(into=self._finite_weights)


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, **hooks):
        for name, function in hooks.items():
            if not hasattr(Callback, name) or not name.startswith("on_"):
                raise ValueError(f"unknown callback hook {name!r}")
            setattr(self, name, function)
