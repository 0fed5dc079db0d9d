"""Where a run's files go, written so that the folder is always a complete run — the old one or the new one.

A run is built in a staging folder beside its destination, ``runs/.NAME.partial/``, which is
created only when training starts (after every input has been checked). When every file is
written, the staging folder is renamed to ``runs/NAME/``; with ``--overwrite`` the previous run
is first moved aside (``runs/.NAME.old-PID/``) and removed only after the new one is in place. A
failure while writing (a full disk) leaves any previous run untouched; messages name the final
path, never the staging one.

While training, the staging folder holds the run's settings (``config.toml``) and its backup
(``backup/``). The backup goes only after the finished run is in place, so whatever kills the
process — a failure, a signal, a kill during the final save — leaves either the complete run or a
staging folder that ``deltaprop train --resume runs/NAME`` continues. A run stopped by Ctrl-C or
SIGTERM is saved with its backup inside (``runs/NAME/backup/``), which ``--resume`` takes back into a
staging folder before training on.

One process at a time works on a run: it holds ``runs/.NAME.lock`` (an advisory ``flock``, released
by the system when the process ends, however it ends) from the moment it chooses the folder; a
second one is refused, naming the process. Under the lock, `recover()` finishes what a process
killed between the two renames of `commit()` left half done.

Default names (``runs/<data>-<YYYYmmdd-HHMMSS>``) get a ``-2``, ``-3`` … suffix when taken.
"""
from __future__ import annotations

import glob
import os
import shutil
import time
from contextlib import contextmanager

from .._files import atomic_path, fsync_folder
from ..errors import InputError, shorten
from ..training.backup import BackupError, backup_ended, has_backup, remove_backup

#: the files (and folders) a run folder may hold; anything else means it is not a run folder
RUN_FILES = {"model.safetensors", "history.csv", "curves.png", "config.toml", "diagnostics.csv",
             "activations.npz", "findings.json", "report.html", "backup", "model.onnx"}
BACKUP = "backup"
PARTIAL = ".partial"
OLD = ".old-"
LOCK = ".lock"


def _hidden(final: str, suffix: str) -> str:
    parent, name = os.path.split(os.path.normpath(final))
    return os.path.join(parent, f".{name}{suffix}")


def staging_path(final: str) -> str:
    """``runs/.NAME.partial``: where the run ``runs/NAME`` is built."""
    return _hidden(final, PARTIAL)


def old_paths(final: str) -> list:
    """``runs/.NAME.old-PID`` folders: a previous run moved aside by a commit that has not finished."""
    return sorted(glob.glob(glob.escape(_hidden(final, OLD)) + "*"))


def holds_a_run(folder: str) -> bool:
    return os.path.isdir(folder) and any(name in RUN_FILES for name in os.listdir(folder))


def check_out(out: str, overwrite: bool) -> None:
    """Refuse an ``--out`` that is a file, holds other files, or holds a run (unless ``--overwrite``)."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--out {out}: exists and is a file, not a folder")
    parent = os.path.dirname(os.path.abspath(out))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise InputError(f"--out {out}: {os.path.relpath(parent)} is a file, not a folder")
    if not os.path.isdir(out):
        return
    entries = os.listdir(out)
    foreign = sorted(name for name in entries if name not in RUN_FILES)
    if foreign:
        raise InputError(f"--out {out}: the folder holds files that are not part of a deltaprop run "
                         f"({shorten(foreign, 3)}); choose another --out")
    if entries and not overwrite:
        raise InputError(f"--out {out}: holds a previous run; use --overwrite to replace it, or another --out")


# ---------------------------------------------------------------------------------------- the lock
class RunLock:
    """``runs/.NAME.lock``, held with ``flock`` while this process works on the run ``runs/NAME``.

    The file holds the holder's process id, for the message of the process that is refused. The
    system releases the lock when the holder ends (a kill included), so a lock is never stale.
    """

    def __init__(self, final: str):
        self.path = _hidden(final, LOCK)
        self.descriptor = None

    def acquire(self, what: str) -> "RunLock":
        import fcntl

        while True:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.read(descriptor, 32).decode("ascii", "replace").strip() or "another process"
                os.close(descriptor)
                raise InputError(f"{what}: process {holder} is training this run now; wait for it to end, or stop "
                                 "it first") from None
            try:
                same = os.path.exists(self.path) and os.stat(self.path).st_ino == os.fstat(descriptor).st_ino
            except OSError:
                same = False
            if same:    # not a file its last holder removed between our open and our flock
                break
            os.close(descriptor)
        os.ftruncate(descriptor, 0)
        os.write(descriptor, str(os.getpid()).encode())
        self.descriptor = descriptor
        return self

    def release(self) -> None:
        if self.descriptor is None:
            return
        try:
            os.unlink(self.path)   # while still held: a waiting process then notices the file is gone
        except OSError:
            pass
        os.close(self.descriptor)
        self.descriptor = None


# ------------------------------------------------------------------------------- recovering
def recover(final: str) -> str | None:
    """Finish a commit of ``final`` that a killed process left half done; a note saying what was done, or None.

    A ``runs/.NAME.old-PID`` folder means a commit had begun, so the staging folder was complete:
    if the new run is in place, the old one is removed; if only the staging folder is there, it is
    renamed into place; if neither is, the old run is put back. Call it holding the run's lock.
    """
    olds = old_paths(final)
    if not olds:
        return None
    staging = staging_path(final)
    if holds_a_run(final):
        done = f"removed the previous run of {final}, which a process killed while replacing it left aside"
    elif os.path.isdir(staging):
        os.replace(staging, final)
        fsync_folder(os.path.dirname(os.path.abspath(final)))
        done = f"completed the replacement of {final}, which a process killed between two renames left half done"
        backup = os.path.join(final, BACKUP)
        if has_backup(backup) and _ended(backup):
            remove_backup(backup)
    else:
        newest = max(olds, key=os.path.getmtime)
        os.replace(newest, final)
        olds.remove(newest)
        done = f"put back the previous run of {final}, which a process killed while replacing it left aside"
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)
    return done


def recover_before_reading(path: str) -> str | None:
    """For a command that reads ``RUN/model.safetensors``: when the file is missing because a process died in
    the middle of replacing that run, finish the replacement (under the run's lock) and say so; when the run
    is still being trained, or was killed while training, say how to continue it."""
    if os.path.exists(path):
        return None
    run_dir = os.path.dirname(path) or "."
    if old_paths(run_dir):
        lock = RunLock(run_dir).acquire(path)
        try:
            return recover(run_dir)
        finally:
            lock.release()
    if os.path.isdir(staging_path(run_dir)):
        raise InputError(f"{path}: no such file: the run {run_dir} has not been saved yet — it is training, or it was "
                         f"stopped; continue it with: deltaprop train --resume {run_dir}")
    return None


def _ended(backup_dir: str) -> bool:
    """Whether the backup is one of a run that had ended (a finished run's leftover), or of a run to continue."""
    try:
        return backup_ended(backup_dir)
    except BackupError:
        return False    # damaged: kept for the user to see (--resume names the problem)


# ------------------------------------------------------------------------------- the run folder
class RunFolder:
    """The destination of a run, its staging folder and its lock.

    Parameters
    ----------
    out : str or None
        The ``--out`` folder; None chooses ``runs/<default_name>-<time>`` (made unique on `stage()`).
    default_name : str
        The data's name, for the default folder.
    overwrite : bool
        Replace a previous run at ``out``.
    """

    def __init__(self, out: str | None, default_name: str, overwrite: bool = False, resume: bool = False):
        self.explicit = out is not None
        self.overwrite = overwrite or resume
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.final = out if out is not None else os.path.join("runs", f"{default_name}-{stamp}")
        self.staging = None
        self.created_parent = None   # a folder (runs/) made for this run, removed again if the run fails
        self.lock = None
        self.notes = []              # what was found and mended (an interrupted commit), for the user
        if resume:
            self._resume(out)
        elif self.explicit:
            check_out(self.final, overwrite)
            if os.path.isdir(os.path.dirname(os.path.abspath(self.final))):
                self._lock_and_recover(self.final, f"--out {self.final}")
                check_out(self.final, overwrite)

    def __getstate__(self):
        # sent to the other ranks of a distributed run: the lock (a file descriptor) stays with its holder
        return {**self.__dict__, "lock": None}

    def _lock_and_recover(self, final: str, what: str) -> None:
        if self.lock is None or self.lock.path != _hidden(final, LOCK):
            if self.lock is not None:
                self.lock.release()
            self.lock = RunLock(final).acquire(what)
        note = recover(final)
        if note:
            self.notes.append(note)

    def stage(self) -> str:
        """Create the staging folder (claiming a default name); returns its path."""
        parent = os.path.dirname(os.path.abspath(self.final))
        if not os.path.isdir(parent):
            os.makedirs(parent)
            self.created_parent = parent
        base = self.final
        for attempt in range(1, 1000):
            candidate = base if attempt == 1 else f"{base}-{attempt}"
            if self.explicit and self.lock is None:      # its folder did not exist before
                self._lock_and_recover(candidate, f"--out {candidate}")
            if not self.explicit:
                if os.path.exists(candidate) or os.path.exists(staging_path(candidate)):
                    continue
                try:
                    self._lock_and_recover(candidate, f"--out {candidate}")
                except InputError:
                    continue
            self._remove_unresumable(candidate)
            try:
                os.mkdir(staging_path(candidate))
            except FileExistsError:
                if self.explicit:
                    raise InputError(f"--out {self.final}: a killed run left {staging_path(candidate)}: continue "
                                     f"it with deltaprop train --resume {self.final}, or remove that folder") from None
                continue
            self.final, self.staging = candidate, staging_path(candidate)
            return self.staging
        raise InputError(f"cannot find a free run folder name next to {base}")

    def _remove_unresumable(self, final: str) -> None:
        """A staging folder without a backup (a run killed before its first epoch ended) holds nothing to
        continue: it is removed, and said. (Only under the run's lock: no other process is writing there.)"""
        staging = staging_path(final)
        if os.path.isdir(staging) and not has_backup(os.path.join(staging, BACKUP)):
            shutil.rmtree(staging)
            self.notes.append(f"removed {staging}, left by a run stopped before its first backup (nothing to "
                              "continue there)")

    def path(self, name: str) -> str:
        """Where file ``name`` is written now (inside the staging folder)."""
        return os.path.join(self.staging, name)

    @contextmanager
    def writing(self, name: str):
        """Write file ``name`` into the staging folder; an OSError names the file's final path."""
        try:
            yield self.path(name)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot write {os.path.join(self.final, name)}: {exc.strerror}") from None

    def commit(self, finished: bool = False) -> None:
        """Put the staged run in place of the destination (a previous run is removed only afterwards); for a run
        that ended normally (``finished``), then remove its backup; then let other processes at the run."""
        old = None
        if os.path.isdir(self.final) and os.listdir(self.final):
            if not self.overwrite:
                raise InputError(f"--out {self.final}: a run appeared there while this one trained; this run stays "
                                 f"in {self.staging}")
            old = f"{_hidden(self.final, OLD)}{os.getpid()}"
            os.rename(self.final, old)
        try:
            os.replace(self.staging, self.final)   # onto an empty folder, or where there was none
        except OSError:
            if old is not None:
                os.rename(old, self.final)
            raise
        fsync_folder(os.path.dirname(os.path.abspath(self.final)))
        self.staging = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        if finished:
            remove_backup(os.path.join(self.final, BACKUP))
        self.release()

    def discard(self, keep_backup: bool = True) -> bool:
        """After a failure: remove the staging folder, unless it holds a backup to resume from (and
        ``keep_backup``). The destination is left as it was. Returns True when a backup was kept."""
        if self.staging is not None:
            if keep_backup and self.has_backup():
                return True
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
        self._remove_created_parent()
        return False

    def _remove_created_parent(self) -> None:
        if self.created_parent is not None and os.path.isdir(self.created_parent) \
                and not os.listdir(self.created_parent):
            os.rmdir(self.created_parent)

    def has_backup(self) -> bool:
        return self.staging is not None and has_backup(os.path.join(self.staging, BACKUP))

    def release(self) -> None:
        """Let another process work on the run (the lock also goes when this process ends)."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        self._remove_created_parent()

    @classmethod
    def resuming(cls, run_dir: str) -> "RunFolder":
        """The folder of a run to continue: its staging folder (a killed run), or a saved run's backup moved into
        a new staging folder (a run stopped by Ctrl-C). The continued run replaces the saved one when done."""
        return cls(run_dir, "", resume=True)

    def _resume(self, run_dir: str) -> None:
        self.final = os.path.normpath(run_dir)
        if not os.path.isdir(os.path.dirname(os.path.abspath(self.final))):
            raise InputError(f"--resume {run_dir}: no interrupted run there (no such folder)")
        self._lock_and_recover(self.final, f"--resume {run_dir}")
        try:
            self._arrange_resumption(run_dir)
        except BaseException:
            self.release()
            raise

    def _arrange_resumption(self, run_dir: str) -> None:
        staging, saved_backup = staging_path(self.final), os.path.join(self.final, BACKUP)
        if has_backup(os.path.join(staging, BACKUP)):
            self.staging = staging
        elif has_backup(saved_backup):
            if _ended(saved_backup):    # killed after the finished run was put in place, before its backup went
                remove_backup(saved_backup)
                raise InputError(f"--resume {run_dir}: that run finished (its leftover backup is now removed); "
                                 "there is nothing to resume")
            self._remove_unresumable(self.final)
            os.mkdir(staging)
            with atomic_path(os.path.join(staging, "config.toml")) as temporary:  # settings first, then the backup:
                shutil.copyfile(os.path.join(self.final, "config.toml"), temporary)  # never a backup without them
            os.rename(saved_backup, os.path.join(staging, BACKUP))
            fsync_folder(os.path.dirname(os.path.abspath(self.final)))
            self.staging = staging
        elif holds_a_run(self.final):
            raise InputError(f"--resume {run_dir}: that run finished; there is nothing to resume")
        else:
            self._remove_unresumable(self.final)
            raise InputError(f"--resume {run_dir}: no interrupted run there (no backup in {run_dir} or {staging})")

    def settings_file(self) -> str:
        """The config.toml of the run being continued (in its staging folder)."""
        return os.path.join(self.staging, "config.toml")
