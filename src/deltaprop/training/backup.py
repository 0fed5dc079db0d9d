"""BackupAndRestore: a run that is killed continues where it stopped, and ends as if it never had.

At the end of every epoch (or every N updates) the whole run state goes to ``backup_dir/backup.safetensors``:
the parameters and layer state (BatchNorm's running statistics), the optimizer's state, every random
generator (the run's — shuffling, validation split — and each dropout layer's), the position (epoch,
update, and within an epoch the shuffled order, the next batch and the partial sums), the schedule's
state, every callback's state (``Callback.state_dict``) and the history. When ``fit`` starts and a
backup is there, all of it is put back and training continues from that point: the weights, running
statistics and history then end bit for bit as in a run that was never interrupted. When training ends
normally (its last epoch, early stopping, a target reached) the backup is removed; after an interruption
or a failure it stays.

The file is deltaprop's model-file format (safetensors and a JSON header, no pickle), written
atomically: a process killed while writing leaves the previous backup intact. A backup from another
model, other fit settings or other data is refused, saying what differs.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np

from .. import tensorfile
from .._checks import check_positive_int
from ..errors import InputError
from .callbacks import Callback
from .trainer import EpochProgress

FORMAT = "deltaprop-backup"
FORMAT_VERSION = 2   # 2: parameters and layer state in one "arrays" entry
FILE = "backup.safetensors"
#: how training ended when the backup is no longer needed ("converged": the scikit-learn estimators' rule)
NORMAL_ENDS = ("completed", "early_stopping", "target_reached", "converged")


class BackupError(InputError):
    """A backup that cannot be used for this run: another model, other settings, other data, or a bad file."""


def _digest(*arrays) -> str:
    """A short fingerprint of the data trained on (BLAKE2b of the bytes, shapes and dtypes; a SciPy sparse
    matrix by its CSR arrays)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        if array is None:
            continue
        if hasattr(array, "fingerprint"):    # rows read lazily from a file: its identity, not its bytes
            digest.update(array.fingerprint().encode())
            continue
        if hasattr(array, "tocsr"):
            csr = array.tocsr()
            parts = [csr.data, csr.indices, csr.indptr]
        else:
            parts = [array]
        digest.update(f"{array.shape}".encode())
        for part in parts:
            part = np.ascontiguousarray(part)
            digest.update(f"{part.dtype}".encode())
            digest.update(part.data)
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
        if os.path.exists(self.path):
            self.restore()

    def restore(self) -> None:
        """Put back the run saved in the backup (checked to belong to this run)."""
        header, tensors = tensorfile.read(self.path, BackupError, "backup")
        if header.get("format") != FORMAT or header.get("format_version") != FORMAT_VERSION:
            raise BackupError(f"{self.path}: not a deltaprop backup of format {FORMAT!r} version {FORMAT_VERSION}")
        state = tensorfile.unpack(header, tensors)
        self._check(state["fingerprint"])
        run, model = self.run, self.run.model
        for name, array in model.named_arrays().items():   # same architecture: checked by the fingerprint
            array[...] = state["arrays"][name]
        run.optimizer.load_state_dict(state["optimizer"])
        run.rng.bit_generator.state = state["rng"]
        for index, layer_state in state["layer_rngs"].items():
            model.layers[int(index)].rng.bit_generator.state = layer_state
        if run.schedule is not None:
            run.schedule.load_state_dict(state["schedule"])
        others = [callback for callback in run.callbacks if not callback.restores_runs]
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
        differences = [f"{key}: {saved.get(key)!r} in the backup, {now.get(key)!r} now"
                       for key in sorted(set(saved) | set(now)) if saved.get(key) != now.get(key)]
        if differences:
            raise BackupError(f"{self.path} was made for another run ({'; '.join(differences[:3])}"
                              f"{'; …' if len(differences) > 3 else ''}); remove it to start afresh")

    def on_train_end(self, logs):
        if self.run.is_chief and self.delete_on_end and self.run.history.stop_reason in NORMAL_ENDS and os.path.exists(self.path):
            os.remove(self.path)
            if not os.listdir(self.backup_dir):
                os.rmdir(self.backup_dir)
