"""Nothing lost (issue: reliability, classes 1, 5 and 9): a failure never deletes the backup, a killed commit is
finished by the next command, a run is locked while it trains, and Ctrl-C in the first epoch writes nothing.

The library cases use the public API; the command-line cases run the installed ``deltaprop`` in a subprocess.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import deltaprop as dp
from conftest import FailAt, run_cli

pytest.importorskip("pandas")


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def _fit(backup_dir, *extra, epochs=6):
    X, y = _data()
    model = dp.mlp([5, 16, 2], seed=1, dtype="float64")
    history = model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=epochs, batch_size=32, seed=2,
                        validation_split=0.2, callbacks=[dp.EarlyStopping(patience=50), *extra,
                                                         dp.BackupAndRestore(backup_dir)], verbose=0)
    return model, history


# ------------------------------------------------------------------------------- 1. the library
@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), MemoryError(), RuntimeError("a bug")])
def test_any_exception_keeps_the_last_backup_and_the_run_continues_from_it(tmp_path, error):
    backup_dir = tmp_path / "backup"
    with pytest.raises(type(error)):
        _fit(backup_dir, FailAt(3, error))
    state = dp.training.backup.read_state(str(backup_dir / "backup.safetensors"))
    assert state["position"]["epoch"] == 3      # epochs 0–2 backed up; the failure came before epoch 3's backup
    resumed, history = _fit(backup_dir, FailAt(-1, error))     # the same callbacks, this time no failure
    assert history.epochs == 6 and history.stop_reason == "completed"
    assert not backup_dir.exists()              # removed once training ended normally
    uninterrupted, _ = _fit(tmp_path / "other", FailAt(-1, error))
    np.testing.assert_array_equal(resumed.parameters().values, uninterrupted.parameters().values)


def test_the_history_says_failed_while_callbacks_end_after_an_exception(tmp_path):
    seen = {}

    class Watch(dp.Callback):
        def on_train_end(self, logs):
            seen["reason"] = self.run.history.stop_reason

    with pytest.raises(OSError):
        _fit(tmp_path / "b", Watch(), FailAt(1, OSError(28, "No space left on device")))
    assert seen["reason"] == "failed"
    _, history = _fit(tmp_path / "c", Watch(), FailAt(-1, None))
    assert seen["reason"] == history.stop_reason == "completed"


def test_a_temporary_left_by_a_killed_write_is_removed_and_never_read(tmp_path):
    backup_dir = tmp_path / "backup"
    with pytest.raises(RuntimeError):
        _fit(backup_dir, FailAt(2, RuntimeError("stop")))
    leftover = backup_dir / ".backup.safetensors-k1ll3d.tmp"
    leftover.write_bytes(b"half a backup")
    _, history = _fit(backup_dir, FailAt(-1, None))
    assert history.epochs == 6 and not backup_dir.exists()
    # a temporary alone is no backup: training starts afresh and removes it
    backup_dir.mkdir()
    leftover.write_bytes(b"half a backup")
    backup = dp.BackupAndRestore(backup_dir)
    X, y = _data()
    dp.mlp([5, 4, 2], seed=0).fit(X, y, loss="cross_entropy", optimizer="adam", epochs=1, callbacks=[backup],
                                  verbose=0)
    assert backup.resumed_from is None and not backup_dir.exists()


# ------------------------------------------------------------------------------- 1. the command line
def _model_tensors(path):
    from safetensors.numpy import load_file

    return load_file(path)


# the command line with a full disk once training is over: writing history.csv fails as a full disk makes it fail
_FULL_DISK_WHILE_SAVING = """
import errno, sys
from deltaprop.training.history import History
def no_space(self, path):
    raise OSError(errno.ENOSPC, "No space left on device")
History.to_csv = no_space
from deltaprop.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_failure_while_saving_the_run_keeps_its_backup_and_resume_finishes_it(tmp_path):
    options = ["--data", "iris", "--epochs", "4", "--patience", "0", "--quiet"]
    code, out, err = run_cli("train", *options, "--out", "full", cwd=tmp_path)
    assert code == 0, err
    process = subprocess.run([sys.executable, "-c", _FULL_DISK_WHILE_SAVING, "train", *options, "--out", "run"],
                             cwd=tmp_path, capture_output=True, text=True)
    assert process.returncode == 2, process.stderr
    assert process.stderr.splitlines() == [
        "deltaprop: error: cannot write run/history.csv: No space left on device",
        "deltaprop: the last backup is kept; continue the run with: deltaprop train --resume run"]
    assert not (tmp_path / "run").exists()
    assert os.path.isfile(tmp_path / ".run.partial" / "backup" / "backup.safetensors")
    code, out, err = run_cli("train", "--resume", "run", cwd=tmp_path)
    assert code == 0, err
    assert "resuming run from its backup" in out
    assert not (tmp_path / ".run.partial").exists() and "backup" not in os.listdir(tmp_path / "run")
    full, resumed = _model_tensors(tmp_path / "full" / "model.safetensors"), \
        _model_tensors(tmp_path / "run" / "model.safetensors")
    assert sorted(full) == sorted(resumed)
    for name in full:
        np.testing.assert_array_equal(full[name], resumed[name], err_msg=name)


def test_a_finished_runs_leftover_backup_or_temporary_is_not_a_run_to_resume(tmp_path):
    code, out, err = run_cli("train", "--data", "iris", "--epochs", "2", "--quiet", "--out", "run", cwd=tmp_path)
    assert code == 0, err
    # a kill mid-write of a backup leaves only a temporary: not a sign that the run can be resumed
    (tmp_path / "run" / "backup").mkdir()
    (tmp_path / "run" / "backup" / ".backup.safetensors-x1y2.tmp").write_bytes(b"\0" * 100)
    code, out, err = run_cli("train", "--resume", "run", cwd=tmp_path)
    assert code == 2 and "that run finished; there is nothing to resume" in err, err
    # a kill after the finished run was put in place, before its backup went: the backup of a run that ended
    code, out, err = run_cli("train", "--data", "iris", "--epochs", "2", "--quiet", "--out", "again", cwd=tmp_path)
    staged = tmp_path / "staged"
    process = subprocess.run([sys.executable, "-c", _KEEP_BACKUP, str(staged)], capture_output=True, text=True)
    assert process.returncode == 0, process.stderr
    shutil.copytree(staged / "backup", tmp_path / "again" / "backup")
    code, out, err = run_cli("train", "--resume", "again", cwd=tmp_path)
    assert code == 2 and "that run finished (its leftover backup is now removed)" in err, err
    assert not (tmp_path / "again" / "backup").exists()


# a backup of a run that ended (2 epochs of 2), as the command line's runs leave one before commit
_KEEP_BACKUP = """
import sys, numpy as np, deltaprop as dp
X = np.random.default_rng(0).normal(size=(40, 4)); y = np.arange(40) % 3
dp.mlp([4, 5, 3], seed=0).fit(X, y, loss="cross_entropy", optimizer="adam", epochs=2, verbose=0,
                              callbacks=[dp.BackupAndRestore(sys.argv[1] + "/backup", delete_on_end=False)])
"""


def test_a_commit_killed_between_its_two_renames_is_finished_by_the_next_command(tmp_path):
    for name, epochs in (("run", "2"), ("new", "3")):
        code, out, err = run_cli("train", "--data", "iris", "--epochs", epochs, "--quiet", "--out", name, cwd=tmp_path)
        assert code == 0, err
    new_model = (tmp_path / "new" / "model.safetensors").read_bytes()
    # what `--overwrite` leaves when killed between its renames: the old run aside, the new one still staged
    os.rename(tmp_path / "run", tmp_path / ".run.old-4242")
    os.rename(tmp_path / "new", tmp_path / ".run.partial")
    code, out, err = run_cli("evaluate", "run/model.safetensors", "--data", "iris", cwd=tmp_path)
    assert code == 0, err
    assert "completed the replacement of run" in out
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == new_model
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith(".")) == []
    # killed after the first rename only: the old run is put back
    before = (tmp_path / "run" / "model.safetensors").read_bytes()
    os.rename(tmp_path / "run", tmp_path / ".run.old-4243")
    code, out, err = run_cli("train", "--data", "iris", "--epochs", "2", "--quiet", "--out", "run", cwd=tmp_path)
    assert code == 2 and "holds a previous run" in err, err        # the run is back, and protected
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == before


# ------------------------------------------------------------------------------- 5. Ctrl-C in the first epoch
def _popen(tmp_path, *args):
    script = os.path.join(os.path.dirname(sys.executable), "deltaprop")
    return subprocess.Popen([script, "train", *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.mark.slow
@pytest.mark.parametrize("signum, code, name", [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_in_the_first_epoch_writes_nothing_and_says_so_in_one_line(tmp_path, signum, code, name):
    process = _popen(tmp_path, "--data", "mnist5k", "--layers", "2048,2048", "--batch-size", "8", "--epochs", "2",
                     "--quiet", "--out", "run")
    for line in process.stdout:          # training has begun once the backup note is out
        if line.startswith("note: backing up every epoch"):
            break
    time.sleep(0.5)
    process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    assert process.returncode == code, err
    assert err == f"deltaprop: stopped by {name} during the first epoch: nothing was written\n"
    assert os.listdir(tmp_path) == []        # no run, no staging folder, no lock, no runs/


# ------------------------------------------------------------------------------- 9. one process per run
@pytest.mark.slow
def test_a_run_that_trains_is_locked_and_the_second_process_is_named(tmp_path):
    code, out, err = run_cli("train", "--data", "iris", "--epochs", "2", "--quiet", "--out", "run", cwd=tmp_path)
    assert code == 0, err
    process = _popen(tmp_path, "--data", "mnist1d", "--epochs", "300", "--patience", "0", "--out", "run",
                     "--overwrite")
    for line in process.stdout:
        if re.match(r"epoch\s+2/", line):
            break
    try:
        for args in (["--resume", "run"], ["--data", "iris", "--out", "run", "--overwrite"]):
            code, out, err = run_cli("train", *args, cwd=tmp_path)
            assert code == 2, err
            assert f"process {process.pid} is training this run now" in err, err
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=120)
    assert process.returncode == 130
    code, out, err = run_cli("train", "--resume", "run", cwd=tmp_path, timeout=600)   # free again, and resumable
    assert code == 0, err


# the command line receiving Ctrl-C while it writes the finished run (from inside history.csv's write)
_CTRL_C_WHILE_SAVING = """
import os, signal, sys
from deltaprop.training.history import History
write = History.to_csv
def interrupted(self, path):
    os.kill(os.getpid(), signal.SIGINT)
    write(self, path)
History.to_csv = interrupted
from deltaprop.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_while_the_finished_run_is_saved_says_the_run_is_complete(tmp_path):
    process = subprocess.run([sys.executable, "-c", _CTRL_C_WHILE_SAVING, "train", "--data", "iris", "--epochs", "3",
                              "--patience", "0", "--quiet", "--out", "run"], cwd=tmp_path, capture_output=True,
                             text=True)
    assert process.returncode == 130, process.stderr
    assert process.stdout.splitlines()[-1] == \
        "Ctrl-C came while the finished run was being saved: it is complete in run/"
    assert "--resume" not in process.stderr
    assert sorted(os.listdir(tmp_path / "run")) == ["config.toml", "curves.png", "history.csv", "model.safetensors"]
    assert sorted(os.listdir(tmp_path)) == ["run"]
