"""BackupAndRestore: a run that is killed continues where it stopped, and ends as if it never had.

At the end of every epoch (or every N updates) the whole run state goes to ``backup_dir/backup.safetensors``:
the parameters and layer state (BatchNorm's running statistics), the optimizer's state, every random
generator (the run's — shuffling, validation split — and each dropout layer's), the position (epoch,
update, and within an epoch the shuffled order, the next batch and the partial sums), the schedule's
state, every callback's state (``Callback.state_dict``) and the history. When ``fit`` starts and a
backup is there, all of it is put back and training continues from that point: the weights, running
statistics and history then end bit for bit as in a run that was never interrupted. When training ends
normally (its last epoch, early stopping, a target reached) the backup is removed; after an interruption
or a failure of any kind (an exception, a full disk, a kill) it stays.

The file is deltaprop's model-file format (safetensors and a JSON header with a checksum of every byte,
no pickle), written atomically and fsynced: a new backup replaces the previous one only once it is whole
on disk, and a temporary left by a process killed while writing is never read (it is removed). Every
field is checked before anything is put back — a damaged or edited file, or a backup from another
model, other fit settings or other data, is refused with one [`BackupError`][deltaprop.BackupError] naming the file and
what is wrong, and the backup is left where it is.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import os

import numpy as np

from .. import tensorfile
from .._checks import check_positive_int
from .._files import fsync_folder, remove_temporaries
from ..digest import update as update_digest
from ..errors import InputError, malformed_reason
from .callbacks import Callback
from .history import RUNNING
from .trainer import EpochProgress

FORMAT = "deltaprop-backup"
FORMAT_VERSION = 3   # 2: parameters and layer state in one "arrays" entry; 3: a checksum, every field checked
FILE = "backup.safetensors"
#: how training ended when the backup is no longer needed ("converged": the scikit-learn estimators' rule)
NORMAL_ENDS = ("completed", "early_stopping", "target_reached", "converged")
STOP_REASONS = (RUNNING, *NORMAL_ENDS, "non_finite", "interrupted", "failed")


class BackupError(InputError):
    """A backup that cannot be used for this run: another model, other settings, other data, or a bad file."""


def _digest(*arrays) -> str:
    """A short fingerprint of the data trained on (BLAKE2b of every value, read in chunks); rows read lazily from
    a file by the file's identity (path, size, time) instead of its values, which would mean reading it all."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        if hasattr(array, "fingerprint"):
            digest.update(array.fingerprint().encode())
        else:
            update_digest(digest, array)
    return digest.hexdigest()


def fingerprint(run) -> dict:
    """What must be the same for a backup to continue this run: the network, the fit settings, the data."""
    model = run.model
    return {
        "layers": [f"{type(layer).__name__}{layer.config()}" for layer in model.layers],
        "dtype": np.dtype(model.dtype).name,
        "parameters": {p.name: list(p.value.shape) for p in model.parameters()},
        "callbacks": [type(callback).__name__ for callback in run.callbacks if not callback.restores_runs],
        **{f"fit {key}": value for key, value in run.settings.items()},
        "data": _digest(*run.data),
    }


class BackupAndRestore(Callback):
    """Back up the whole run every epoch (or every ``save_freq`` updates) and resume from the backup.

    Keras's ``BackupAndRestore``, exact: run the same script again after a crash, a kill or a
    pre-emption, and training continues from the last backup and ends bit for bit as an
    uninterrupted run would (the per-epoch ``seconds`` aside).

    Parameters
    ----------
    backup_dir : str or path
        Folder of the backup (created when needed).
    save_freq : "epoch" or int, default "epoch"
        Back up at the end of every epoch, or after every N parameter updates.
    delete_on_end : bool, default True
        Remove the backup when training ends normally.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> import deltaprop as dp
    >>> X, y = np.random.default_rng(0).normal(size=(64, 3)), np.arange(64) % 2
    >>> backup = dp.BackupAndRestore(tempfile.mkdtemp())
    >>> history = dp.mlp([3, 8, 2], seed=0).fit(X, y, loss="cross_entropy", optimizer="adam", epochs=3,
    ...                                          callbacks=[backup], verbose=0)
    >>> history.epochs, backup.resumed_from
    (3, None)
    """

    restores_runs = True

    def __init__(self, backup_dir, save_freq="epoch", delete_on_end: bool = True):
        if save_freq != "epoch":
            save_freq = check_positive_int(save_freq, "save_freq")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_on_end = bool(delete_on_end)
        self.resumed_from = None   # (epoch, step) of the backup this run resumed from, if it did

    @property
    def path(self) -> str:
        return os.path.join(self.backup_dir, FILE)

    # ------------------------------------------------------------------ saving
    def _state(self) -> dict:
        run = self.run
        model = run.model
        progress = run.progress
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION, "fingerprint": self._fingerprint,
            "position": {"epoch": run.history.epochs, "step": run.step},
            "progress": None if progress is None else {
                "epoch": progress.epoch, "order": progress.order, "batch": progress.batch,
                "loss_sum": progress.loss_sum, "seen": progress.seen, "predictions": progress.predictions},
            "arrays": model.named_arrays(),
            "optimizer": run.optimizer.state_dict(),
            "rng": run.rng.bit_generator.state,
            "layer_rngs": {str(index): layer.rng.bit_generator.state for index, layer in enumerate(model.layers)
                           if layer.draws_random},
            "schedule": run.schedule.state_dict() if run.schedule is not None else None,
            "callbacks": [callback.state_dict() for callback in run.callbacks if not callback.restores_runs],
            "history": {"columns": dict(run.history), "stop_reason": run.history.stop_reason,
                        "message": run.history.message},
        }

    def save(self) -> None:
        """Write the run's state now (atomically); in a distributed run, rank 0 alone writes."""
        if not self.run.is_chief:
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        header, tensors = tensorfile.pack(self._state())
        tensorfile.write(self.path, tensors, header)

    def on_epoch_end(self, epoch, logs):
        if self.save_freq == "epoch":
            self.save()

    def on_batch_end(self, batch, logs):
        if self.save_freq != "epoch" and self.run.step % self.save_freq == 0:
            self.save()

    # ---------------------------------------------------------------- restoring
    def on_train_begin(self, logs):
        self.resumed_from = None
        if self.run.replicas.size > 1 and self.save_freq != "epoch":
            raise ValueError("BackupAndRestore: use save_freq='epoch' in a distributed run (a backup within an "
                             "epoch would hold only rank 0's part of the epoch's predictions)")
        self._fingerprint = fingerprint(self.run)   # the data does not change during the run: hashed once
        if self.run.is_chief:
            remove_temporaries(self.path)           # a write killed midway: never the backup
        if os.path.exists(self.path):
            self.restore()

    def restore(self) -> None:
        """Put back the run saved in the backup, after checking every field belongs to this run."""
        state = read_state(self.path)
        self._check(state["fingerprint"])
        with _damaged_if_malformed(self.path):
            _validate(state, self.run)
        run, model = self.run, self.run.model
        for name, array in model.named_arrays().items():
            array[...] = state["arrays"][name]
        run.optimizer.load_state_dict(state["optimizer"])
        run.rng.bit_generator.state = state["rng"]
        for index, layer_state in state["layer_rngs"].items():
            model.layers[int(index)].rng.bit_generator.state = layer_state
        others = [callback for callback in run.callbacks if not callback.restores_runs]
        with _damaged_if_malformed(self.path):
            if run.schedule is not None:
                run.schedule.load_state_dict(state["schedule"])
            for callback, callback_state in zip(others, state["callbacks"]):
                callback.load_state_dict(callback_state)
        run.history.clear()
        run.history.update(state["history"]["columns"])
        # a run that had decided to stop (and was killed before removing its backup) trains no further; an
        # interrupted one (Ctrl-C, SIGTERM) continues
        decided_to_stop = state["history"]["stop_reason"] in NORMAL_ENDS[1:]
        if decided_to_stop:
            run.history.stop_reason, run.history.message = state["history"]["stop_reason"], state["history"]["message"]
        run.step = state["position"]["step"]
        run.start_epoch = run.settings["epochs"] if decided_to_stop else state["position"]["epoch"]
        progress = state["progress"]
        if progress is not None:
            run.progress = EpochProgress(progress["epoch"], progress["order"], progress["batch"],
                                         progress["loss_sum"], progress["seen"], progress["predictions"])
            run.start_epoch = progress["epoch"]
        self.resumed_from = (run.start_epoch, run.step)

    def _check(self, saved: dict) -> None:
        now = self._fingerprint
        keys = [key for key in sorted(set(saved) | set(now)) if saved.get(key) != now.get(key)]
        if keys:
            shown = [f"{key}: {saved.get(key)!r} in the backup, {now.get(key)!r} now" for key in keys[:3]]
            error = BackupError(f"{self.path} was made for another run ({'; '.join(shown)}"
                                f"{'; …' if len(keys) > 3 else ''}); remove it to start afresh")
            error.differences = keys
            raise error

    def on_train_end(self, logs):
        """Remove the backup if training ended normally; after a failure or an interruption it is the way back."""
        if self.run.is_chief and self.delete_on_end and self.run.history.stop_reason in NORMAL_ENDS:
            remove_backup(self.backup_dir)


# ---------------------------------------------------------------------------------- the file on disk
def has_backup(backup_dir) -> bool:
    """Whether ``backup_dir`` holds a backup (a temporary left by a killed write does not count)."""
    return os.path.isfile(os.path.join(os.fspath(backup_dir), FILE))


def remove_backup(backup_dir) -> None:
    """Remove the backup, any temporary a killed write left beside it, and the folder if that empties it."""
    backup_dir = os.fspath(backup_dir)
    path = os.path.join(backup_dir, FILE)
    if os.path.exists(path):
        os.remove(path)
    remove_temporaries(path)
    if os.path.isdir(backup_dir) and not os.listdir(backup_dir):
        os.rmdir(backup_dir)
    fsync_folder(os.path.dirname(os.path.abspath(backup_dir)))


def read_state(path: str) -> dict:
    """The run state in the backup file at ``path``: read, checksum verified, unpacked; BackupError otherwise."""
    header, tensors = tensorfile.read(path, BackupError, "backup")
    if header.get("format") != FORMAT or header.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{path}: not a deltaprop backup of format {FORMAT!r} version {FORMAT_VERSION}")
    with _damaged_if_malformed(path):
        state = tensorfile.unpack(header, tensors)
        _check_layout(state)
    return state


def backup_ended(backup_dir) -> bool:
    """Whether the run saved in ``backup_dir`` had ended — its last epoch done, or a callback's decision to
    stop — so that the backup is a finished run's leftover (a process killed after the run was written,
    before its backup was removed), not a run to continue."""
    state = read_state(os.path.join(os.fspath(backup_dir), FILE))
    epochs = state["fingerprint"].get("fit epochs")
    reached_the_end = isinstance(epochs, int) and state["position"]["epoch"] >= epochs and state["progress"] is None
    return state["history"]["stop_reason"] in NORMAL_ENDS[1:] or reached_the_end


# ---------------------------------------------------------------------------------- checking a backup
@contextlib.contextmanager
def _damaged_if_malformed(path: str):
    """A field of the backup at ``path`` that is missing or malformed (KeyError, ValueError …, raised while it is
    checked or put back) becomes one BackupError naming the file and the field."""
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise BackupError(f"{path} is damaged: {malformed_reason(exc)}; remove it to start afresh") from None


def _fields(value, name: str, keys) -> dict:
    if not isinstance(value, dict) or set(value) != set(keys):
        shown = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise ValueError(f"{name} must hold exactly {sorted(keys)}, got {shown}")
    return value


def _integer(value, name: str, low: int = 0, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low \
            or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}")
    return int(value)


def _check_layout(state) -> None:
    """The top-level fields a backup of this format holds, with the types they must have."""
    _fields(state, "the backup", ("format", "format_version", "fingerprint", "position", "progress", "arrays",
                                  "optimizer", "rng", "layer_rngs", "schedule", "callbacks", "history"))
    for name in ("fingerprint", "arrays", "optimizer", "rng", "layer_rngs"):
        if not isinstance(state[name], dict):
            raise ValueError(f"{name} must be an object")
    position = _fields(state["position"], "position", ("epoch", "step"))
    _integer(position["epoch"], "position.epoch")
    _integer(position["step"], "position.step")
    history = _fields(state["history"], "history", ("columns", "stop_reason", "message"))
    if history["stop_reason"] not in STOP_REASONS or not isinstance(history["message"], str):
        raise ValueError(f"history.stop_reason {history['stop_reason']!r} is not one of {', '.join(STOP_REASONS)}")
    columns = history["columns"]
    if not isinstance(columns, dict) or not all(isinstance(v, list) for v in columns.values()):
        raise ValueError("history.columns must map names to lists")
    if any(len(values) != position["epoch"] for values in columns.values()):
        raise ValueError(f"history.columns must hold one value per epoch ({position['epoch']})")
    if not isinstance(state["callbacks"], list):
        raise ValueError("callbacks must be a list")


def _check_generator(saved, generator, name: str) -> None:
    """A Generator state of the same bit generator, accepted by a copy of it (never the run's own)."""
    kind = type(generator.bit_generator).__name__
    if not isinstance(saved, dict) or saved.get("bit_generator") != kind:
        found = saved.get("bit_generator") if isinstance(saved, dict) else type(saved).__name__
        raise ValueError(f"{name} is not a {kind} generator state (got {found!r})")
    probe = copy.deepcopy(generator.bit_generator)
    try:
        probe.state = saved
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise ValueError(f"{name} is not a valid {kind} generator state ({exc})") from None


def _validate(state: dict, run) -> None:
    """Every field of ``state`` checked against ``run`` before anything is put back (ValueError & co.)."""
    model = run.model
    epochs = run.settings.get("epochs")
    position = state["position"]
    if isinstance(epochs, int):
        _integer(position["epoch"], "position.epoch", 0, epochs)
    model.check_named_arrays(state["arrays"])
    run.optimizer.check_state_dict(state["optimizer"], model.parameters())
    _check_generator(state["rng"], run.rng, "rng")
    drawing = {str(index): layer for index, layer in enumerate(model.layers) if layer.draws_random}
    if set(state["layer_rngs"]) != set(drawing):
        raise ValueError(f"layer_rngs must be those of layers {sorted(drawing)}, got {sorted(state['layer_rngs'])}")
    for index, layer in drawing.items():
        _check_generator(state["layer_rngs"][index], layer.rng, f"layer_rngs[{index}]")
    if (state["schedule"] is None) != (run.schedule is None) or \
            (state["schedule"] is not None and not isinstance(state["schedule"], dict)):
        raise ValueError("schedule does not match the run's schedule")
    others = [callback for callback in run.callbacks if not callback.restores_runs]
    if len(state["callbacks"]) != len(others) or not all(isinstance(c, dict) for c in state["callbacks"]):
        raise ValueError(f"callbacks must hold the state of {len(others)} callback(s)")
    if state["progress"] is not None:
        _validate_progress(state["progress"], position["epoch"], run)


def _validate_progress(progress, epoch: int, run) -> None:
    """A position within an epoch: its row order a permutation, its batch one of the epoch's, the rows seen and
    the predictions kept those of the batches before it."""
    progress = _fields(progress, "progress", ("epoch", "order", "batch", "loss_sum", "seen", "predictions"))
    if progress["epoch"] != epoch:
        raise ValueError(f"progress.epoch {progress['epoch']!r} is not the epoch in progress ({epoch})")
    n_rows, bounds = len(run.data[0]), run.bounds
    order = progress["order"]
    if not isinstance(order, np.ndarray) or order.dtype.kind not in "iu" or order.shape != (n_rows,) \
            or not np.array_equal(np.sort(order), np.arange(n_rows)):
        raise ValueError(f"progress.order must be a permutation of the {n_rows} training rows")
    batch = _integer(progress["batch"], "progress.batch", 0, len(bounds))
    rows_before = bounds[batch - 1][1] if batch else 0
    if _integer(progress["seen"], "progress.seen") != rows_before:
        raise ValueError(f"progress.seen {progress['seen']} is not the {rows_before} rows of the batches before "
                         f"batch {batch}")
    loss_sum = progress["loss_sum"]
    if isinstance(loss_sum, bool) or not isinstance(loss_sum, (int, float)) or not np.isfinite(loss_sum):
        raise ValueError(f"progress.loss_sum must be a finite number, got {loss_sum!r}")
    predictions = progress["predictions"]
    if not isinstance(predictions, list) or len(predictions) not in (0, batch):
        raise ValueError(f"progress.predictions must hold the outputs of the {batch} batches trained")
    output = run.model.output_shape
    for number, prediction in enumerate(predictions):
        rows = bounds[number][1] - bounds[number][0]
        if not isinstance(prediction, np.ndarray) or prediction.dtype != run.model.dtype or len(prediction) != rows \
                or (output is not None and prediction.shape[1:] != tuple(output)):
            raise ValueError(f"progress.predictions[{number}] is not the output of a batch of {rows} rows")
