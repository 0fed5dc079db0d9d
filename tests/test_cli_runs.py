"""What `deltaprop train` writes, and when: divergence, run folders, write failures, signals, the final table.

Everything runs the installed command in a subprocess, as a user would.
"""
import os
import re
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

import deltaprop as dp  # noqa: E402
from conftest import run_cli  # noqa: E402

RUN_FILES = {"model.safetensors", "history.csv", "curves.png", "config.toml"}


def contents(folder) -> dict:
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


def no_staging_left(parent) -> bool:
    return not any(name.endswith(".partial") or ".old-" in name for name in os.listdir(parent))


# ------------------------------------------------------------------------------- 2. divergence
def test_divergence_stops_with_one_line_exit_3_and_writes_nothing(tmp_path):
    code, out, err = run_cli("train", "--data", "diabetes", "--optimizer", "sgd", "--lr", "1e10", "--epochs", "3",
                             cwd=tmp_path)
    assert code == 3, (out, err)
    assert err.count("\n") == 1, err
    assert re.fullmatch(r"deltaprop: training failed: the loss became NaN or infinite at epoch 1, step \d+ \(first in "
                        r"[^)]+\): lower --lr \(now 1e\+10\), or add --clip-norm 1.0; nothing was written\n", err), err
    assert "RuntimeWarning" not in out + err and "nan" not in out.lower()
    assert not (tmp_path / "runs").exists()


def test_clip_norm_is_an_option_and_named_in_the_advice(tmp_path):
    code, out, err = run_cli("train", "--data", "diabetes", "--optimizer", "sgd", "--lr", "1e10", "--epochs", "2",
                             "--clip-norm", "10", cwd=tmp_path)
    assert code == 3 and "or a smaller --clip-norm (now 10)" in err, err
    code, out, err = run_cli("train", "--data", "diabetes", "--optimizer", "sgd", "--lr", "0.01", "--epochs", "2",
                             "--clip-norm", "1", "--quiet", "--out", "run", cwd=tmp_path)
    assert code == 0, err
    assert "clip_norm = 1" in (tmp_path / "run" / "config.toml").read_text()


# ------------------------------------------------------------------------------- 6. nothing written until checked
@pytest.mark.parametrize("args, files", [
    (["--data", "two.csv"], {"two.csv": "a,b,y\n1,2,0\n3,4,1\n"}),
    (["--data", "ten.csv", "--val-split", "0.99"], {"ten.csv": "a,y\n" + "".join(f"{i},{i * 0.5}\n" for i in range(10))}),
    (["--data", "inf.csv"], {"inf.csv": "a,y\n1,0\ninf,1\n2,0\n3,1\n"}),
    (["--config", "c.toml"], {"c.toml": "[train]\nepochs = 2.5\n"}),
    (["--config", "c.toml"], {"c.toml": "[train]\nbatch_size = true\n"}),
    (["--normalization", "batchnorm", "--batch-size", "1"], {}),
])
def test_refused_input_leaves_no_run_folder(tmp_path, args, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    code, out, err = run_cli("train", "--quiet", *args, cwd=tmp_path)
    assert code == 2 and err.count("\n") == 1, (out, err)
    assert not (tmp_path / "runs").exists()


# ------------------------------------------------------------------------------- 7. re-runs and --out
def test_config_rerun_gets_a_new_folder_and_out_with_a_run_needs_overwrite(tmp_path):
    code, out, err = run_cli("train", "--data", "iris", "--epochs", "3", "--diagnose", "--quiet", "--out", "runs/a",
                             cwd=tmp_path)
    assert code == 0, err
    first = contents(tmp_path / "runs" / "a")
    assert {"report.html", "findings.json"} <= set(first)
    assert not re.search(r"^out\b", (tmp_path / "runs" / "a" / "config.toml").read_text(), re.MULTILINE)

    code, out, err = run_cli("train", "--config", "runs/a/config.toml", "--quiet", cwd=tmp_path)
    assert code == 0, err
    assert contents(tmp_path / "runs" / "a") == first             # the original run is untouched
    again = re.search(r"^wrote (runs/iris-\d{8}-\d{6}(-\d+)?)/", out, re.MULTILINE).group(1)
    assert (tmp_path / again / "model.safetensors").exists()

    code, out, err = run_cli("train", "--data", "iris", "--epochs", "2", "--quiet", "--out", "runs/a", cwd=tmp_path)
    assert code == 2 and "--out runs/a: holds a previous run; use --overwrite to replace it" in err
    assert contents(tmp_path / "runs" / "a") == first

    code, out, err = run_cli("train", "--data", "iris", "--epochs", "2", "--quiet", "--out", "runs/a", "--overwrite",
                             cwd=tmp_path)
    assert code == 0, err
    assert set(os.listdir(tmp_path / "runs" / "a")) == RUN_FILES   # no stale report.html or findings.json
    assert no_staging_left(tmp_path / "runs")
    code, out, err = run_cli("report", "runs/a", cwd=tmp_path)
    assert code == 0 and "No gradient diagnostics in this run" in (tmp_path / "runs" / "a" / "report.html").read_text()


def test_out_holding_other_files_is_refused_even_with_overwrite(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    code, out, err = run_cli("train", "--out", "mine", "--overwrite", "--epochs", "1", cwd=tmp_path)
    assert code == 2 and "holds files that are not part of a deltaprop run ('notes.txt')" in err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_default_folder_names_never_collide(tmp_path, monkeypatch):
    from deltaprop.cli.run_folder import RunFolder

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(time, "strftime", lambda fmt, *a: "20260101-000000")
    first, second = RunFolder(None, "iris"), RunFolder(None, "iris")   # two runs in the same second
    first.stage(), second.stage()
    assert first.final == os.path.join("runs", "iris-20260101-000000")
    assert second.final == os.path.join("runs", "iris-20260101-000000-2")
    for folder in (first, second):
        (tmp_path / folder.path("model.safetensors")).write_bytes(b"x")
        folder.commit()
    assert sorted(os.listdir(tmp_path / "runs")) == ["iris-20260101-000000", "iris-20260101-000000-2"]


# ------------------------------------------------------------------------------- 8. a failure while writing
def _small_file_limit():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG, like a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))


def test_a_full_disk_names_the_file_and_leaves_the_previous_run_whole(tmp_path):
    code, out, err = run_cli("train", "--epochs", "2", "--quiet", "--out", "run", cwd=tmp_path)
    assert code == 0, err
    before = contents(tmp_path / "run")
    code, out, err = run_cli("train", "--epochs", "3", "--quiet", "--out", "run", "--overwrite", cwd=tmp_path,
                             preexec_fn=_small_file_limit)
    assert code == 2, (out, err)
    assert err == "deltaprop: error: cannot write run/backup: File too large\n"   # the first file written
    assert contents(tmp_path / "run") == before
    assert no_staging_left(tmp_path)
    code, out, err = run_cli("train", "--epochs", "3", "--quiet", "--out", "fresh", cwd=tmp_path,
                             preexec_fn=_small_file_limit)
    assert code == 2 and not (tmp_path / "fresh").exists() and no_staging_left(tmp_path)


# ------------------------------------------------------------------------------- 9. signals
def _start(tmp_path, *args):
    script = os.path.join(os.path.dirname(sys.executable), "deltaprop")
    epochs = [] if "--epochs" in args else ["--epochs", "300"]
    process = subprocess.Popen([script, "train", "--data", "mnist1d", *epochs, "--patience", "0",
                                "--out", "run", *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    for line in process.stdout:            # wait until training runs: the per-epoch lines have begun
        if re.match(r"epoch\s+2/", line):
            break
    return process


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_after_the_current_step_and_saves_a_consistent_run(tmp_path, signum, code):
    process = _start(tmp_path)
    process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    assert process.returncode == code, err
    assert "Traceback" not in err
    # a stopped run is saved whole, with its backup to continue from (deltaprop train --resume run)
    assert set(os.listdir(tmp_path / "run")) == RUN_FILES | {"backup"} and no_staging_left(tmp_path)
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert 1 <= len(history) < 300 and list(history["epoch"]) == list(range(1, len(history) + 1))
    assert history["seconds"].min() > 0.005        # only complete epochs are recorded
    model = dp.load(tmp_path / "run" / "model.safetensors")
    assert all(np.isfinite(p.value).all() for p in model.parameters())


@pytest.mark.slow
def test_a_second_ctrl_c_while_stopping_prints_no_traceback_and_leaves_no_partial_file(tmp_path):
    process = _start(tmp_path)
    process.send_signal(signal.SIGINT)
    for _ in range(20):                          # keep pressing Ctrl-C while it stops and saves
        time.sleep(0.02)
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in err, err
    assert set(os.listdir(tmp_path / "run")) == RUN_FILES | {"backup"} and no_staging_left(tmp_path)
    dp.load(tmp_path / "run" / "model.safetensors")


# ------------------------------------------------------------------------------- 12. the final table
def test_final_table_names_the_kept_epoch_and_history_counts_as_the_screen(tmp_path):
    code, out, err = run_cli("train", "--data", "iris", "--out", "run", cwd=tmp_path)
    assert code == 0, err
    trained = int(re.search(r"^epochs trained\s+(\d+)$", out, re.MULTILINE).group(1))
    kept = int(re.search(r"^kept weights of epoch\s+(\d+) \(lowest validation loss\)$", out, re.MULTILINE).group(1))
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert list(history["epoch"]) == list(range(1, trained + 1))
    best = int(history.loc[history["val_loss"].idxmin(), "epoch"])
    assert kept == best
    shown = float(re.search(r"^validation loss\s+([0-9.]+)$", out, re.MULTILINE).group(1))
    assert shown == pytest.approx(history.loc[history["epoch"] == kept, "val_loss"].item(), abs=1e-4)
    last_screen_epoch = re.findall(rf"^epoch\s+(\d+)/{300}", out, re.MULTILINE)[-1]
    assert int(last_screen_epoch) == trained


# ------------------------------------------------------------------------------- resume (issue: exact resume)
def _tensors(path):
    from safetensors.numpy import load_file

    return load_file(path)


def _same_tensors(a, b):
    first, second = _tensors(a), _tensors(b)
    assert sorted(first) == sorted(second)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)


@pytest.mark.slow
def test_a_killed_train_resumes_to_the_same_model(tmp_path):
    options = ["--data", "mnist1d", "--epochs", "12", "--patience", "4", "--quiet"]
    code, out, err = run_cli("train", *options, "--out", "full", cwd=tmp_path)
    assert code == 0, err
    script = os.path.join(os.path.dirname(sys.executable), "deltaprop")
    process = subprocess.Popen([script, "train", *options, "--out", "killed"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    backup = tmp_path / ".killed.partial" / "backup" / "backup.safetensors"
    while not backup.exists():
        assert process.poll() is None, "the run ended before its first backup"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "killed").exists()
    code, out, err = run_cli("train", "--resume", "killed", cwd=tmp_path)
    assert code == 0, err
    assert "resuming killed from its backup" in out
    _same_tensors(tmp_path / "full" / "model.safetensors", tmp_path / "killed" / "model.safetensors")
    assert set(os.listdir(tmp_path / "killed")) == RUN_FILES and no_staging_left(tmp_path)
    code, out, err = run_cli("train", "--resume", "killed", cwd=tmp_path)
    assert code == 2 and "that run finished; there is nothing to resume" in err and out == ""


@pytest.mark.slow
def test_ctrl_c_says_how_to_resume_and_resume_continues_the_saved_run(tmp_path):
    options = ["--data", "mnist1d", "--epochs", "30", "--patience", "0", "--quiet"]
    code, out, err = run_cli("train", *options, "--out", "full", cwd=tmp_path)
    assert code == 0, err
    process = _start(tmp_path, "--epochs", "30")       # mnist1d, patience 0, --out run
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "continue it with: deltaprop train --resume run" in out
    assert os.path.isdir(tmp_path / "run" / "backup")
    code, out, err = run_cli("train", "--resume", "run", cwd=tmp_path)
    assert code == 0, err
    _same_tensors(tmp_path / "full" / "model.safetensors", tmp_path / "run" / "model.safetensors")
    assert set(os.listdir(tmp_path / "run")) == RUN_FILES


def test_resume_takes_no_other_option(tmp_path):
    code, out, err = run_cli("train", "--resume", "run", "--lr", "0.1", cwd=tmp_path)
    assert code == 2 and "--resume continues a run with its own settings; leave out --lr" in err
    code, out, err = run_cli("train", "--resume", "nowhere", cwd=tmp_path)
    assert code == 2 and "no interrupted run there" in err
