"""BackupAndRestore: a run killed with SIGKILL and started again ends bit for bit as an uninterrupted one."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import deltaprop as dp

SCRIPT = textwrap.dedent('''
    import sys
    import numpy as np
    import deltaprop as dp

    backup_dir, out, save_freq = sys.argv[1], sys.argv[2], sys.argv[3]
    save_freq = "epoch" if save_freq == "epoch" else int(save_freq)
    rng = np.random.default_rng(7)
    X = rng.normal(size=(600, 10))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.5)

    class Announce(dp.Callback):
        """Tells the test where training is, so that it can kill it in the middle of an epoch."""
        def on_batch_end(self, batch, logs):
            print(f"epoch {logs['epoch'] + 1} batch {batch}", flush=True)

    model = dp.Sequential([dp.Dense(10, 32), dp.BatchNorm(32), dp.ReLU(), dp.Dropout(0.2), dp.Dense(32, 16),
                           dp.Tanh(), dp.Dropout(0.1), dp.Dense(16, 3)], seed=3, dtype="float64")
    history = model.fit(X, y, loss="cross_entropy", optimizer=dp.Adam(lr=3e-3), epochs=8, batch_size=32,
                        validation_split=0.2, metrics=["accuracy"], schedule=dp.CosineAnnealing(T_max=8),
                        callbacks=[dp.EarlyStopping(patience=3, min_delta=1e-3), Announce(),
                                   dp.BackupAndRestore(backup_dir, save_freq=save_freq)],
                        monitor=5, seed=11, verbose=0)
    arrays = {p.name: p.value for p in model.parameters()}
    arrays.update({f"{i}.{k}": v for i, layer in enumerate(model.layers) for k, v in layer.state().items()})
    arrays.update({f"history/{k}": np.array(v, dtype=float) for k, v in history.items() if k != "seconds"})
    arrays.update({f"diagnostics/{k}": np.array(v, dtype=float) for k, v in history.diagnostics.items()})
    np.savez(out, **arrays)
    print("done", history.epochs, history.stop_reason, flush=True)
''')


def launch(tmp_path, name, save_freq="epoch"):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    return subprocess.Popen([sys.executable, str(script), str(tmp_path / f"backup-{name}"),
                             str(tmp_path / f"{name}.npz"), str(save_freq)], stdout=subprocess.PIPE, text=True)


def finish(process) -> str:
    out, _ = process.communicate(timeout=300)
    assert process.returncode == 0
    return out


def kill_at(process, line: str) -> None:
    for printed in process.stdout:
        if printed.strip() == line:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return
    raise AssertionError(f"training ended before {line!r}")


def assert_same_run(a, b):
    with np.load(a) as first, np.load(b) as second:
        assert sorted(first.files) == sorted(second.files)
        for name in first.files:
            np.testing.assert_array_equal(first[name], second[name], err_msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("save_freq", ["epoch", "7"])
def test_a_run_killed_mid_epoch_and_started_again_ends_bit_for_bit_as_an_uninterrupted_one(tmp_path, save_freq):
    finish(launch(tmp_path, "uninterrupted", save_freq))
    interrupted = launch(tmp_path, "resumed", save_freq)
    kill_at(interrupted, "epoch 5 batch 8")            # SIGKILL in the middle of epoch 5 (15 batches an epoch)
    assert os.path.exists(tmp_path / "backup-resumed" / "backup.safetensors")
    resumed = launch(tmp_path, "resumed", save_freq)
    out = finish(resumed)
    first_line = out.splitlines()[0]
    # from the last backup: the end of epoch 4, or update 63 = 4 epochs of 15 batches + 3
    assert first_line == ("epoch 5 batch 0" if save_freq == "epoch" else "epoch 5 batch 3"), first_line
    assert_same_run(tmp_path / "uninterrupted.npz", tmp_path / "resumed.npz")
    assert not os.path.exists(tmp_path / "backup-resumed")      # removed once training ended normally


@pytest.mark.slow
def test_a_kill_during_the_backup_write_leaves_the_previous_backup(tmp_path):
    script = tmp_path / "big.py"
    script.write_text(textwrap.dedent('''
        import sys, numpy as np, deltaprop as dp
        X, y = np.random.default_rng(0).normal(size=(64, 400)), np.arange(64) % 2
        model = dp.mlp([400, 1500, 1500, 2], seed=0, dtype="float64")
        model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=1000, batch_size=64,
                  callbacks=[dp.BackupAndRestore(sys.argv[1], save_freq=1)], verbose=0)
    '''))
    backup = tmp_path / "backup"
    process = subprocess.Popen([sys.executable, str(script), str(backup)])
    try:
        for _ in range(6000):                              # wait until a temporary file is being written
            names = os.listdir(backup) if backup.exists() else []
            if "backup.safetensors" in names and any(name.endswith(".tmp") for name in names):
                break
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    from deltaprop import tensorfile

    header, tensors = tensorfile.read(backup / "backup.safetensors")   # the previous backup, whole
    assert header["format"] == "deltaprop-backup" and header["position"]["step"] >= 1


def fit(model, X, y, backup_dir, **options):
    return model.fit(X, y, loss="cross_entropy", optimizer=dp.Adam(), epochs=options.pop("epochs", 3),
                     callbacks=[dp.BackupAndRestore(backup_dir)], verbose=0, seed=0, **options)


def test_a_backup_from_another_run_is_refused_saying_what_differs(tmp_path):
    X, y = np.random.default_rng(0).normal(size=(40, 4)), np.arange(40) % 2

    class Stop(dp.Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 1:
                raise KeyboardInterrupt   # like Ctrl-C: the backup stays

    model = dp.mlp([4, 6, 2], seed=0)
    model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=5, seed=0, verbose=0,
              callbacks=[Stop(), dp.BackupAndRestore(tmp_path)])
    assert (tmp_path / "backup.safetensors").exists()
    with pytest.raises(dp.BackupError, match=r"was made for another run \(layers: .*Dense\{'n_in': 4, 'n_out': 6"):
        dp.mlp([4, 7, 2], seed=0).fit(X, y, loss="cross_entropy", optimizer="adam", epochs=5, seed=0, verbose=0,
                                      callbacks=[Stop(), dp.BackupAndRestore(tmp_path)])
    with pytest.raises(dp.BackupError, match=r"fit epochs: 5 in the backup, 6 now"):
        dp.mlp([4, 6, 2], seed=0).fit(X, y, loss="cross_entropy", optimizer="adam", epochs=6, seed=0, verbose=0,
                                      callbacks=[Stop(), dp.BackupAndRestore(tmp_path)])
    with pytest.raises(dp.BackupError, match=r"data: '[0-9a-f]+' in the backup, '[0-9a-f]+' now"):
        dp.mlp([4, 6, 2], seed=0).fit(X + 1, y, loss="cross_entropy", optimizer="adam", epochs=5, seed=0,
                                      verbose=0, callbacks=[Stop(), dp.BackupAndRestore(tmp_path)])


def test_resume_after_a_completed_run_starts_afresh_and_gives_the_same_result(tmp_path):
    X, y = np.random.default_rng(0).normal(size=(40, 4)), np.arange(40) % 2
    first = dp.mlp([4, 6, 2], seed=0)
    fit(first, X, y, tmp_path / "b")
    assert not (tmp_path / "b").exists()                       # removed when training ended normally
    second = dp.mlp([4, 6, 2], seed=0)
    history = fit(second, X, y, tmp_path / "b")
    assert history.epochs == 3
    for a, b in zip(first.parameters(), second.parameters()):
        np.testing.assert_array_equal(a.value, b.value)


def test_a_malformed_backup_is_a_clear_error(tmp_path):
    (tmp_path / "backup.safetensors").write_bytes(b"\x00" * 3)
    with pytest.raises(dp.BackupError, match="backup.safetensors: only 3 bytes"):
        fit(dp.mlp([4, 6, 2], seed=0), np.zeros((8, 4)), np.arange(8) % 2, tmp_path)
    with pytest.raises(ValueError, match="save_freq must be a positive integer"):
        dp.BackupAndRestore(tmp_path, save_freq=0)


def test_a_users_callback_takes_part_in_resume(tmp_path):
    """A callback with state_dict/load_state_dict gets its state back when the run resumes."""
    X, y = np.random.default_rng(0).normal(size=(40, 4)), np.arange(40) % 2

    class CountBatches(dp.Callback):
        def __init__(self, stop_at=None):
            self.stop_at = stop_at

        def on_train_begin(self, logs):
            self.batches = 0

        def on_batch_end(self, batch, logs):
            self.batches += 1

        def on_epoch_begin(self, epoch, logs):
            if epoch == self.stop_at:
                raise KeyboardInterrupt     # Ctrl-C at the start of epoch 3: two epochs are backed up

        def state_dict(self):
            return {"batches": self.batches}

        def load_state_dict(self, state):
            self.batches = state["batches"]

    counter = CountBatches(stop_at=2)
    dp.mlp([4, 6, 2], seed=0).fit(X, y, loss="cross_entropy", optimizer="adam", epochs=4, batch_size=8, seed=0,
                                  verbose=0, callbacks=[counter, dp.BackupAndRestore(tmp_path)])
    assert counter.batches == 10                        # 2 epochs of 5 batches, then the interruption
    resumed = CountBatches()
    backup = dp.BackupAndRestore(tmp_path)
    dp.mlp([4, 6, 2], seed=0).fit(X, y, loss="cross_entropy", optimizer="adam", epochs=4, batch_size=8, seed=0,
                                  verbose=0, callbacks=[resumed, backup])
    assert backup.resumed_from == (2, 10) and resumed.batches == 20
