"""Damaged or edited files are refused, not trusted (issue: reliability, class 2).

Model files and backups carry a checksum of every byte that matters; their values are checked for meaning; every
field of a backup is checked before anything is restored. The byte-flip fuzzers flip one bit at a time, at seeded
random places, in a model file and in a backup: each flip is refused, or loads to identical predictions.
"""
import json

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.tensorfile import checksum

pd = pytest.importorskip("pandas")


def _table_model(tmp_path):
    """A trained model with BatchNorm and a preprocessing (text column, classes), as `deltaprop train` makes."""
    from deltaprop import datasets

    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n) * 50 + 10,
                          "colour": rng.choice(["red", "green", "blue"], n)})
    target = pd.Series(np.where(frame["x1"] + (frame["colour"] == "red") > 0.5, "yes", "no"), name="label")
    split = datasets.split(datasets.Table("t", frame, target, "auto"), test_split=0.2, seed=0)
    model = dp.Sequential([dp.Dense(split.preprocessor.n_inputs, 8), dp.BatchNorm(8), dp.ReLU(), dp.Dense(8, 2)],
                          seed=0)
    model.preprocessing = split.preprocessor
    model.fit(split.X_train, split.y_train, loss="cross_entropy", optimizer="adam", epochs=3, verbose=0, seed=0)
    path = tmp_path / "model.safetensors"
    dp.save(model, path, optimizer=dp.Adam(), step=3, info={"data": "t.csv"})
    return path, split.X_test


def _flip(data: bytes, position: int, bit: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= 1 << bit
    return bytes(changed)


def test_a_flipped_sign_bit_in_a_running_variance_is_refused(tmp_path):
    path, X = _table_model(tmp_path)
    data = path.read_bytes()
    model = dp.load(path)
    var = model.layers[1].running_var
    offset = data.index(var.tobytes())          # the bytes of running_var in the file
    flipped = tmp_path / "flipped.safetensors"
    flipped.write_bytes(_flip(data, offset + 3, 7))   # the sign bit of running_var[0] (little-endian float32)
    with pytest.raises(dp.ModelFileError, match=r"is damaged \(checksum mismatch\)"):
        dp.load(flipped)


def test_a_negative_variance_with_a_valid_checksum_is_refused_for_its_meaning(tmp_path):
    from safetensors.numpy import load, save

    path, _ = _table_model(tmp_path)
    data = path.read_bytes()
    tensors = load(data)
    tensors["1.running_var"][0] *= -1
    from safetensors import safe_open

    with safe_open(path, "numpy") as handle:
        text = handle.metadata()["deltaprop"]
    forged = tmp_path / "forged.safetensors"
    forged.write_bytes(save(tensors, metadata={"deltaprop": text, "deltaprop_checksum": checksum(text, tensors)}))
    with pytest.raises(dp.ModelFileError, match=r"layer 1 \(BatchNorm\): running_var\[0\] is -[0-9.e-]+; a variance "
                                                r"cannot be negative"):
        dp.load(forged)


@pytest.mark.parametrize("field, value, message", [
    ("std", [1e-320], "every std a normal number > 0"),
    ("class_names", ["no", "no"], "list a class twice"),
    ("target_std", 0.0, "target_std a normal number > 0"),
])
def test_preprocessing_values_are_checked_for_meaning(tmp_path, field, value, message):
    from safetensors import safe_open
    from safetensors.numpy import load, save

    path, _ = _table_model(tmp_path)
    tensors = load(path.read_bytes())
    with safe_open(path, "numpy") as handle:
        header = json.loads(handle.metadata()["deltaprop"])
    pre = header["preprocessing"]
    pre[field] = value if field != "std" else value + pre["std"][1:]
    text = json.dumps(header)
    forged = tmp_path / "forged.safetensors"
    forged.write_bytes(save(tensors, metadata={"deltaprop": text, "deltaprop_checksum": checksum(text, tensors)}))
    with pytest.raises(dp.ModelFileError, match=message):
        dp.load(forged)


def test_byte_flip_fuzzer_over_a_model_file(tmp_path):
    """Every one of 400 seeded single-bit flips anywhere in the file: refused, or identical predictions."""
    path, X = _table_model(tmp_path)
    data = path.read_bytes()
    expected = dp.load(path).predict(X)
    rng = np.random.default_rng(2026)
    flipped = tmp_path / "flipped.safetensors"
    refused = 0
    for _ in range(400):
        flipped.write_bytes(_flip(data, int(rng.integers(len(data))), int(rng.integers(8))))
        try:
            model = dp.load(flipped)
        except dp.ModelFileError:
            refused += 1
            continue
        np.testing.assert_array_equal(model.predict(X), expected)
    assert refused >= 390      # (the few others: a flip that leaves the JSON meaning the same)


# ------------------------------------------------------------------------------- backups
def _backup_run(backup_dir, epochs=4, fail_after=None):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(96, 4))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)

    class Stop(dp.Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == fail_after:
                raise KeyboardInterrupt

    model = dp.Sequential([dp.Dense(4, 8), dp.BatchNorm(8), dp.ReLU(), dp.Dropout(0.2), dp.Dense(8, 2)], seed=2)
    history = model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=epochs, batch_size=16, seed=3,
                        validation_split=0.25, callbacks=[dp.EarlyStopping(patience=10), Stop(),
                                                          dp.BackupAndRestore(backup_dir)], verbose=0)
    return model, history


def test_byte_flip_fuzzer_over_a_backup(tmp_path):
    """A run stopped after epoch 2; each of 120 seeded single-bit flips of its backup is refused with one
    BackupError (the backup left in place), or the run resumes to the very weights of an unflipped resume."""
    backup_dir = tmp_path / "backup"
    _backup_run(backup_dir, fail_after=1)
    backup = backup_dir / "backup.safetensors"
    data = backup.read_bytes()
    reference, _ = _backup_run(backup_dir)            # the unflipped resume
    rng = np.random.default_rng(7)
    refused = 0
    for _ in range(120):
        backup_dir.mkdir(exist_ok=True)
        backup.write_bytes(_flip(data, int(rng.integers(len(data))), int(rng.integers(8))))
        try:
            model, _ = _backup_run(backup_dir)
        except dp.BackupError as exc:
            assert "\n" not in str(exc)
            assert backup.exists()                     # a refused backup is never deleted
            refused += 1
            continue
        np.testing.assert_array_equal(model.parameters().values, reference.parameters().values)
    assert refused >= 115


def _forge_backup(path, change):
    """Rewrite a backup with ``change(header, tensors)`` applied and a checksum made for it (a forger's file)."""
    from safetensors import safe_open
    from safetensors.numpy import load, save

    tensors = load(path.read_bytes())
    with safe_open(path, "numpy") as handle:
        header = json.loads(handle.metadata()["deltaprop"])
    change(header, tensors)
    text = json.dumps(header)
    path.write_bytes(save(tensors, metadata={"deltaprop": text, "deltaprop_checksum": checksum(text, tensors)}))


@pytest.mark.parametrize("change, message", [
    (lambda h, t: t.__setitem__("arrays/0.b", np.zeros(1, np.float32)), r"tensor '0.b' has shape \(1,\)"),
    (lambda h, t: h["position"].__setitem__("epoch", 99), r"history.columns must hold one value per epoch \(99\)"),
    (lambda h, t: (h["position"].__setitem__("epoch", 9), [v.extend(v[:1] * 8) for v in h["history"]["columns"].values()]),
     r"position.epoch must be an integer in \[0, 4\]"),
    (lambda h, t: h["position"].__setitem__("epoch", -1), r"position.epoch must be an integer >= 0"),
    (lambda h, t: h["rng"].__setitem__("bit_generator", "MT19937"), "rng is not a PCG64 generator state"),
    (lambda h, t: h["rng"]["state"].__setitem__("state", "x"), "rng is not a valid PCG64 generator state"),
    (lambda h, t: h.__setitem__("callbacks", []), r"callbacks must hold the state of 2 callback"),
    (lambda h, t: h["callbacks"][0].__setitem__("wait", "many"), "EarlyStopping state 'wait' has a wrong value"),
    (lambda h, t: h["history"].__setitem__("stop_reason", "whatever"), "history.stop_reason"),
    (lambda h, t: h.pop("optimizer"), "the backup must hold exactly"),
    (lambda h, t: t.__setitem__("optimizer/state/0.W/exp_avg", np.zeros(3, np.float32)), r"optimizer state '0.W'/exp_avg"),
    (lambda h, t: h["layer_rngs"].clear(), "layer_rngs must be those of layers"),
])
def test_every_field_of_a_backup_is_checked_and_a_problem_is_one_backup_error(tmp_path, change, message):
    backup_dir = tmp_path / "backup"
    _backup_run(backup_dir, fail_after=1)
    path = backup_dir / "backup.safetensors"
    _forge_backup(path, change)
    before = path.read_bytes()
    with pytest.raises(dp.BackupError, match=message) as info:
        _backup_run(backup_dir)
    assert "\n" not in str(info.value)
    assert path.read_bytes() == before


def test_an_estimator_backup_sets_only_its_own_progress_fields(tmp_path):
    from deltaprop.sklearn import MLPClassifier

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(80, 3)), np.arange(80) % 2

    class Halt(dp.Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 1:
                raise KeyboardInterrupt

    backup_dir = tmp_path / "b"
    with pytest.warns(UserWarning):
        MLPClassifier(max_iter=5, callbacks=[Halt(), dp.BackupAndRestore(backup_dir)]).fit(X, y)
    path = backup_dir / "backup.safetensors"
    clean = path.read_bytes()
    for change in (lambda h, t: h["callbacks"][0].__setitem__("max_iter", 10 ** 9),
                   lambda h, t: h["callbacks"][0].__setitem__("predict", "evil"),
                   lambda h, t: h["callbacks"][0].__setitem__("loss_curve_", "not a list")):
        path.write_bytes(clean)
        _forge_backup(path, change)
        estimator = MLPClassifier(max_iter=5, callbacks=[Halt(), dp.BackupAndRestore(backup_dir)])
        with pytest.raises(dp.BackupError, match="MLPClassifier state"):
            estimator.fit(X, y)
        assert estimator.max_iter == 5 and not isinstance(getattr(estimator, "predict"), str)
