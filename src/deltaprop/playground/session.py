"""One tab's training run: ``dp.fit`` in a thread of its own, driven by the page (play, pause, one epoch,
speed, new settings) through a callback that waits between epochs.

The page is never sent a queue: after each epoch the run keeps only its *latest* frame (pictures, weights,
unit states, findings) and the per-epoch rows; a stream sends what is new when it can. Anything that reads the
whole model (a step explained, a download) runs in the training thread between two epochs, where no batch is
half done.
"""
from __future__ import annotations

import concurrent.futures
import json
import threading
import time

import numpy as np

from ..training import measures
from ..training.callbacks import Callback, TerminateOnNaN
from ..training.trainer import fit
from . import advice, frames
from .data import features, grid, problem
from .network import build_loss, build_model, build_optimizer, metric
from .settings import MAX_LAYERS, MAX_UNITS, Settings

MAX_EPOCHS = 1_000_000      # a run goes on until paused or closed
FRAME_INTERVAL = 0.05       # at most 20 frames a second while playing …
FRAME_SHARE = 0.25          # … and frames take at most a quarter of the run's time (large networks: fewer frames)
FINDINGS_INTERVAL = 1.0     # diagnose at most once a second (and at every paused frame)
SPEEDS = (1, 3, 10, 30, 100, 0)   # epochs per second; 0: as fast as it trains
KEPT_VALUES = 1_000_000     # δ values of the latest epochs a run keeps for a page that (re)connects; older rows go
KEPT_EPOCHS = (1_000, 20_000)   # … and at least / at most this many epochs


class TakeTurns:
    """A first-come, first-served lock: the runs of all tabs train one epoch at a time, in turn.

    Their threads share one GIL, so running them at once trains no faster; taking turns keeps each epoch short and
    leaves the GIL free between epochs for the server (requests, streams) instead of fighting over it."""

    def __init__(self):
        self.condition = threading.Condition()
        self.issued = 0      # tickets handed out
        self.serving = 0     # the ticket whose turn it is

    def acquire(self) -> None:
        with self.condition:
            ticket, self.issued = self.issued, self.issued + 1
            while self.serving != ticket:
                self.condition.wait()

    def release(self) -> None:
        with self.condition:
            self.serving += 1
            self.condition.notify_all()


TURNS = TakeTurns()


class Closed(Exception):
    """The run was closed (its tab went away, or new settings replaced it)."""


class Bridge(Callback):
    """The fit callback between the run and the page: it measures δ and ‖∂L/∂W‖ of every batch, publishes a
    frame after an epoch, and waits while the run is paused."""

    def __init__(self, session: Session):
        self.session = session
        self.layers = []
        self.turn = False        # this run holds TURNS (an epoch is under way)

    def on_epoch_begin(self, epoch, logs):
        TURNS.acquire()
        self.turn = True

    def _end_turn(self):
        if self.turn:
            self.turn = False
            TURNS.release()

    def on_train_end(self, logs):
        self._end_turn()

    def on_train_begin(self, logs):
        self.layers = frames.weight_layers(self.run.model)
        self._reset_sums()
        self.session.epoch_done(self.run, None)

    def _reset_sums(self):
        model = self.run.model
        self.delta_sq = [np.zeros(model.layers[i].n_out) for i in self.layers]
        self.grad_norm = np.zeros(len(self.layers))
        self.batches = 0

    def on_backward_end(self, batch, logs):
        model = self.run.model
        with np.errstate(over="ignore", invalid="ignore"):    # exploding δ is what the heatmap is for
            for position, index in enumerate(self.layers):
                layer = model.layers[index]
                delta = layer.grad_output
                self.delta_sq[position] += np.mean(delta * delta, axis=0)
                self.grad_norm[position] += measures.norm(layer.W.grad)
        self.batches += 1

    def on_epoch_end(self, epoch, logs):
        self._end_turn()
        count = max(self.batches, 1)
        gradients = {"delta": [_short(np.sqrt(sums / count)) for sums in self.delta_sq],
                     "grad_norm": _short(self.grad_norm / count)}
        self._reset_sums()
        self.session.epoch_done(self.run, dict(logs, **gradients))


class Session:
    """A run with its own settings, model, thread and latest frame. ``play``, ``pause``, ``step`` (one epoch),
    ``set_speed``, ``reset(settings)`` and ``close`` drive it; ``snapshot(since_epoch)`` reads what is new.

    It keeps the rows of its latest epochs only (``KEPT_VALUES`` δ values in all, ``KEPT_EPOCHS``): what a
    stream has not sent yet. A run that plays for hours holds the same memory as one that played for minutes."""

    def __init__(self, settings: Settings, speed: int = 0):
        self.condition = threading.Condition()
        self.speed = speed
        self.generation = 0
        self.version = 0           # grows at every change a stream should send
        self.thread = None
        self.closed = False
        self._start(settings, problem(settings))

    # ------------------------------------------------------------------ the run's life
    def _start(self, settings: Settings, data) -> None:
        """A new run (the previous thread, if any, has ended): its model and state, then its thread. The streams see
        the new generation only once all of it is in place (under the lock)."""
        p = data
        value_range = ((float(min(p.y_train.min(), p.y_test.min())), float(max(p.y_train.max(), p.y_test.max())))
                       if p.task == "regression" else (0.0, 1.0))
        low, high = KEPT_EPOCHS
        with self.condition:
            self.settings, self.problem, self.value_range = settings, p, value_range
            self.model = build_model(settings, p.X_train.shape[1], p.n_out)
            self.loss = build_loss(settings)
            self.optimizer = build_optimizer(settings)
            self.grid_inputs = features(grid(p.extent, frames.GRID), settings.features)   # the inputs at the grid
            self.stride = frames.unit_stride(sum(settings.hidden))
            self.state = "paused"
            self.steps_left = 0
            self.stopping = False
            self.rows = []             # the latest epochs' rows: epochs first_kept, first_kept + 1, …
            self.first_kept = 0
            self.epoch_count = 0
            self.kept_rows = min(high, max(low, KEPT_VALUES // (sum(settings.hidden) + p.n_out)))
            self.frame = None
            self.findings = []
            self.error = None
            self.message = ""
            self.last_frame_at = self.last_findings_at = self.last_epoch_at = 0.0
            self.frame_cost = 0.0      # seconds the last frame took to make
            self.jobs = []
            self.version += 1
            self.generation += 1
            self.thread = threading.Thread(target=self._train, name=f"playground-run-{id(self)}", daemon=True)
        self.thread.start()

    def _train(self) -> None:
        p = self.problem
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):   # TerminateOnNaN says where
                history = fit(self.model, p.X_train, p.y_train, loss=self.loss, optimizer=self.optimizer,
                              epochs=MAX_EPOCHS, batch_size=self.settings.batch_size,
                              validation_data=(p.X_test, p.y_test),
                              metrics=[metric(self.settings)], seed=self.settings.seed, verbose=0,
                              callbacks=[Bridge(self), TerminateOnNaN()])
            self.message = history.message      # why it stopped by itself (a non-finite value …)
            stopped = [advice.non_finite(history.message, self.settings)] if history.stop_reason == "non_finite" \
                else None
            self._publish(self.model, self.loss, time.perf_counter(), findings=stopped)
        except Closed:
            pass
        except Exception as exc:  # noqa: BLE001 - shown on the page; the server and other runs go on
            with self.condition:
                self.error = f"{type(exc).__name__}: {exc}"
                self.state = "failed"
                self.version += 1
                self.condition.notify_all()
        finally:
            with self.condition:
                if self.state != "failed":
                    self.state = "stopped"
                self._run_jobs_locked()
                self.condition.notify_all()

    def _stop_thread(self) -> None:
        with self.condition:
            self.stopping = True
            self.condition.notify_all()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join()

    def reset(self, settings: Settings | None = None) -> None:
        """End the run and start a new one (new settings, or the same ones: new weights from the same seed).
        Settings whose data cannot be made (``ValueError``) leave the run as it was."""
        settings = settings or self.settings
        data = problem(settings)
        self._stop_thread()
        self._start(settings, data)

    def close(self) -> None:
        self.closed = True
        self._stop_thread()

    # ------------------------------------------------------------------ controls
    def play(self) -> None:
        with self.condition:
            if self.state == "paused":
                self.state = "playing"
                self.version += 1
            self.condition.notify_all()

    def pause(self) -> None:
        with self.condition:
            if self.state == "playing":
                self.state = "paused"
                self.version += 1
            self.condition.notify_all()

    def step(self) -> None:
        """One more epoch, then pause."""
        with self.condition:
            if self.state == "playing":
                self.state = "paused"
            if self.state == "paused":
                self.steps_left += 1
            self.condition.notify_all()

    def set_speed(self, speed: int) -> None:
        if speed not in SPEEDS:
            raise ValueError(f"speed must be one of {', '.join(map(str, SPEEDS))} epochs a second (0: unlimited), "
                             f"got {speed!r}")
        with self.condition:
            self.speed = speed
            self.condition.notify_all()

    def call(self, job, timeout: float = 30.0):
        """Run ``job(session)`` in the training thread between two epochs (or here, when no epoch can be under
        way) and return its result."""
        future = concurrent.futures.Future()
        with self.condition:
            if self.thread is None or not self.thread.is_alive() or self.waiting:
                return job(self)      # under the lock: the thread cannot start an epoch meanwhile
            self.jobs.append((job, future))
            self.condition.notify_all()
        return future.result(timeout)

    # ------------------------------------------------------------------ in the training thread
    waiting = False

    def _run_jobs_locked(self) -> None:
        jobs, self.jobs = self.jobs, []
        for job, future in jobs:
            try:
                future.set_result(job(self))
            except Exception as exc:  # noqa: BLE001 - handed to the request that asked
                future.set_exception(exc)

    def epoch_done(self, run, row: dict | None) -> None:
        """After an epoch (row: its logs and gradient measures) or before the first (row None): record, publish a
        frame when one is due, then wait for the page (paused) or for the speed's pace (playing)."""
        now = time.perf_counter()
        with self.condition:
            if row is not None:
                self.rows.append(_plain(row))
                self.epoch_count += 1
                if len(self.rows) > self.kept_rows * 1.1:       # drop the oldest tenth at once
                    dropped = len(self.rows) - self.kept_rows
                    del self.rows[:dropped]
                    self.first_kept += dropped
            interval = max(FRAME_INTERVAL, self.frame_cost / FRAME_SHARE)
            due = row is None or self.state != "playing" or now - self.last_frame_at >= interval
        if due:
            self._publish(run.model, run.loss, now)
        with self.condition:
            self.waiting = True
            try:
                while True:
                    self._run_jobs_locked()
                    if self.stopping:
                        raise Closed()
                    if self.state == "playing":
                        pause = 1.0 / self.speed - (time.perf_counter() - self.last_epoch_at) if self.speed else 0.0
                        if pause <= 0:
                            break
                        self.condition.wait(pause)
                    elif self.steps_left > 0:
                        self.steps_left -= 1
                        break
                    else:
                        self.condition.wait()
            finally:
                self.waiting = False
            self.last_epoch_at = time.perf_counter()

    def _publish(self, model, loss, now: float, findings=None) -> None:
        p = self.problem
        with np.errstate(over="ignore", invalid="ignore"):    # a diverging run is shown, not raised
            frame = json.dumps(frames.picture_frame(model, p.task, self.grid_inputs, p.X_train, self.value_range,
                                                    self.stride))
            findings_due = self.state != "playing" or now - self.last_findings_at >= FINDINGS_INTERVAL
            if findings is None and findings_due:
                findings = advice.findings(model, p.X_train, p.y_train, loss, self.settings)
        with self.condition:
            self.frame = frame
            if findings is not None:
                self.findings = findings
                self.last_findings_at = now
            self.last_frame_at = now
            self.frame_cost = time.perf_counter() - now
            self.version += 1
            self.condition.notify_all()

    # ------------------------------------------------------------------ what the page reads
    @property
    def epochs(self) -> int:
        """Epochs trained so far."""
        return self.epoch_count

    def snapshot(self, since_epoch: int) -> dict:
        """What is new after the first ``since_epoch`` epochs: their rows (from the oldest kept one, for a stream that
        is further behind), the latest frame, the findings and the run's state."""
        with self.condition:
            new_rows = self.rows[max(since_epoch - self.first_kept, 0):]
            return {"generation": self.generation, "state": self.state, "epoch": self.epoch_count,
                    "speed": self.speed, "rows": new_rows, "frame": self.frame,
                    "findings": self.findings, "error": self.error, "message": self.message}

    def info(self) -> dict:
        """The run's fixed facts: settings, data points, axes, classes, the layer sizes and the pictures of the
        input features."""
        p = self.problem
        return {"generation": self.generation, "settings": self.settings.to_dict(), "task": p.task,
                "extent": p.extent, "grid": frames.GRID, "unit_grid": frames.GRID // self.stride,
                "limits": {"layers": MAX_LAYERS, "units": MAX_UNITS}, "axes": p.axes, "classes": p.classes,
                "columns": p.columns, "features": self.settings.features,
                "inputs": frames.column_pictures(self.grid_inputs, self.stride),
                "sizes": [p.X_train.shape[1], *self.settings.hidden, p.n_out],
                "train": {"points": np.round(p.points_train, 4).tolist(), "y": p.y_train.tolist()},
                "test": {"points": np.round(p.points_test, 4).tolist(), "y": p.y_test.tolist()},
                "value_range": list(self.value_range)}


def _short(values: np.ndarray) -> list:
    """Four significant digits: what a heatmap colour can show."""
    return [float(f"{value:.4g}") for value in values]


def _plain(row: dict) -> dict:
    """An epoch row with plain floats, None for a non-finite one (JSON has no NaN)."""
    def plain(value):
        if isinstance(value, (np.floating, float, int)) and not isinstance(value, bool):
            return float(value) if np.isfinite(value) else None
        if isinstance(value, list):
            return [plain(item) for item in value]
        return value
    return {key: plain(value) for key, value in row.items()}
