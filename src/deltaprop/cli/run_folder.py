"""Where a run's files go, written so that the folder is always a complete run — the old one or the new one.

A run is built in a staging folder beside its destination, ``runs/.NAME.partial/``, which is
created only when training starts (after every input has been checked). When every file is
written, the staging folder is renamed to ``runs/NAME/``; with ``--overwrite`` the previous run
is first moved aside and removed only after the new one is in place. A failure while writing
(a full disk) removes the staging folder and leaves any previous run untouched; messages name
the final path, never the staging one.

Default names (``runs/<data>-<YYYYmmdd-HHMMSS>``) get a ``-2``, ``-3`` … suffix when taken, and
creating the staging folder is what claims a name, so two runs started in the same second
never share one.

While training, the staging folder holds the run's settings (``config.toml``) and its backup
(``backup/``): a killed run leaves them there, and ``deltaprop train --resume runs/NAME`` continues it.
A run stopped by Ctrl-C or SIGTERM is saved with its backup inside (``runs/NAME/backup/``), which
``--resume`` takes back into a staging folder before training on.
"""
from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager

from ..errors import InputError, shorten

#: the files (and folders) a run folder may hold; anything else means it is not a run folder
RUN_FILES = {"model.safetensors", "history.csv", "curves.png", "config.toml", "diagnostics.csv",
             "activations.npz", "findings.json", "report.html", "backup"}
BACKUP = "backup"
BACKUP_FILE = "backup.safetensors"
PARTIAL = ".partial"


def staging_path(final: str) -> str:
    parent, name = os.path.split(os.path.normpath(final))
    return os.path.join(parent, f".{name}{PARTIAL}")


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


class RunFolder:
    """The destination of a run and its staging folder.

    Parameters
    ----------
    out : str or None
        The ``--out`` folder; None chooses ``runs/<default_name>-<time>`` (made unique on :meth:`stage`).
    default_name : str
        The data's name, for the default folder.
    overwrite : bool
        Replace a previous run at ``out``.
    """

    def __init__(self, out: str | None, default_name: str, overwrite: bool = False):
        self.explicit = out is not None
        self.overwrite = overwrite
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.final = out if out is not None else os.path.join("runs", f"{default_name}-{stamp}")
        if self.explicit:
            check_out(self.final, overwrite)
        self.staging = None
        self.created_parent = None   # a folder (runs/) made for this run, removed again if the run fails

    def stage(self) -> str:
        """Create the staging folder (claiming a default name); returns its path."""
        parent = os.path.dirname(os.path.abspath(self.final))
        if not os.path.isdir(parent):
            os.makedirs(parent)
            self.created_parent = parent
        base = self.final
        for attempt in range(1, 1000):
            candidate = base if attempt == 1 else f"{base}-{attempt}"
            if not self.explicit and os.path.exists(candidate):
                continue
            try:
                os.mkdir(staging_path(candidate))
            except FileExistsError:
                if self.explicit:
                    raise InputError(f"--out {self.final}: another run is being written there, or a killed one left "
                                     f"{staging_path(candidate)}: continue it with deltaprop train --resume "
                                     f"{self.final}, or remove that folder") from None
                continue
            self.final, self.staging = candidate, staging_path(candidate)
            return self.staging
        raise InputError(f"cannot find a free run folder name next to {base}")

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

    def commit(self) -> None:
        """Put the staged run in place of the destination (a previous run is removed only afterwards)."""
        old = None
        if os.path.isdir(self.final) and os.listdir(self.final):
            if not self.overwrite:
                raise InputError(f"--out {self.final}: a run appeared there while this one trained; this run stays "
                                 f"in {self.staging}")
            old = f"{staging_path(self.final)[:-len(PARTIAL)]}.old-{os.getpid()}"
            os.rename(self.final, old)
        try:
            os.replace(self.staging, self.final)   # onto an empty folder, or where there was none
        except OSError:
            if old is not None:
                os.rename(old, self.final)
            raise
        self.staging = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def discard(self, keep_backup: bool = True) -> bool:
        """After a failure: remove the staging folder, unless it holds a backup to resume from (and
        ``keep_backup``). The destination is left as it was. Returns True when a backup was kept."""
        if self.staging is not None:
            if keep_backup and self.has_backup():
                return True
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
        if self.created_parent is not None and not os.listdir(self.created_parent):
            os.rmdir(self.created_parent)
        return False

    def has_backup(self) -> bool:
        return self.staging is not None and os.path.isfile(os.path.join(self.staging, BACKUP, BACKUP_FILE))

    @classmethod
    def resuming(cls, run_dir: str) -> "RunFolder":
        """The folder of a run to continue: its staging folder (a killed run), or a saved run's backup moved into
        a new staging folder (a run stopped by Ctrl-C). The continued run replaces the saved one when done."""
        folder = cls.__new__(cls)
        folder.explicit, folder.overwrite, folder.created_parent = True, True, None
        folder.final = os.path.normpath(run_dir)
        staging = staging_path(folder.final)
        if os.path.isdir(os.path.join(staging, BACKUP)):
            folder.staging = staging
        elif os.path.isdir(os.path.join(folder.final, BACKUP)):
            os.mkdir(staging)
            os.rename(os.path.join(folder.final, BACKUP), os.path.join(staging, BACKUP))
            shutil.copy2(os.path.join(folder.final, "config.toml"), os.path.join(staging, "config.toml"))
            folder.staging = staging
        elif holds_a_run(folder.final):
            raise InputError(f"--resume {run_dir}: that run finished; there is nothing to resume")
        else:
            raise InputError(f"--resume {run_dir}: no interrupted run there (no backup in {run_dir} or {staging})")
        return folder
