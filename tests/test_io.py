"""Model files: round trips, resuming, atomic saves and a clear error for every malformed file."""
import json
import os
import struct

import numpy as np
import pytest
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

import deltaprop as dp
from deltaprop import tensorfile


@pytest.fixture
def trained(rng):
    model = dp.Sequential([dp.Dense(4, 6, l2=1e-3), dp.BatchNorm(6), dp.Tanh(), dp.Dropout(0.2), dp.Dense(6, 3)],
                          seed=0)
    X, y = rng.normal(size=(50, 4)), rng.integers(0, 3, size=50)
    optimizer = dp.Adam(lr=1e-2, amsgrad=True)
    model.fit(X, y, loss=dp.CrossEntropy(), optimizer=optimizer, epochs=3, batch_size=8, verbose=0, seed=0)
    return model, optimizer, X, y


def test_round_trip_keeps_weights_running_statistics_and_outputs(trained, tmp_path):
    model, _, X, _ = trained
    path = tmp_path / "model.safetensors"
    dp.save(model, path)
    loaded = dp.load(path)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    for a, b in zip(model.parameters(), loaded.parameters()):
        assert a.name == b.name
        np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(loaded.layers[1].running_mean, model.layers[1].running_mean)
    np.testing.assert_array_equal(loaded.layers[1].running_var, model.layers[1].running_var)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.layers[0].l2 == 1e-3 and loaded.layers[3].p == 0.2
    assert loaded.dtype == np.float32


def test_bytes_for_sending_are_the_saved_file(trained, tmp_path):
    model, _, X, _ = trained
    path = tmp_path / "model.safetensors"
    dp.save(model, path, info={"from": "a test"})
    (tmp_path / "sent.safetensors").write_bytes(dp.io.to_bytes(model, info={"from": "a test"}))
    saved_header, saved_tensors = tensorfile.read(path)
    sent_header, sent_tensors = tensorfile.read(tmp_path / "sent.safetensors")     # checksum checked on read
    assert sent_header == saved_header and sent_header["info"] == {"from": "a test"}
    assert sent_tensors.keys() == saved_tensors.keys()
    for name, value in saved_tensors.items():
        np.testing.assert_array_equal(sent_tensors[name], value)
    np.testing.assert_array_equal(dp.load(tmp_path / "sent.safetensors").predict(X), model.predict(X))
    with pytest.raises(TypeError, match="model must be a deltaprop Sequential"):
        dp.io.to_bytes([model])


def test_float64_model_round_trip(tmp_path, rng):
    model = dp.mlp([3, 5, 2], activation="gelu", seed=1, dtype="float64")
    dp.save(model, tmp_path / "m.safetensors")
    loaded = dp.load(tmp_path / "m.safetensors")
    assert loaded.dtype == np.float64
    X = rng.normal(size=(4, 3))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_file_is_plain_safetensors_with_json_architecture(trained, tmp_path):
    model, _, _, _ = trained
    path = tmp_path / "model.safetensors"
    dp.save(model, path)
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    info = json.loads(header["__metadata__"]["deltaprop"])
    assert [entry["type"] for entry in info["architecture"]] == ["Dense", "BatchNorm", "Tanh", "Dropout", "Dense"]
    assert info["dtype"] == "float32" and info["deltaprop_version"] == dp.__version__
    assert set(st_load(data)) == {"0.W", "0.b", "1.gamma", "1.beta", "1.running_mean", "1.running_var", "4.W", "4.b"}
    assert b"pickle" not in data


def test_resuming_from_a_checkpoint_is_bit_identical_to_never_stopping(trained, tmp_path, rng):
    model, optimizer, X, y = trained
    dp.save(model, tmp_path / "c.safetensors", optimizer=optimizer, step=3)
    checkpoint = dp.load_checkpoint(tmp_path / "c.safetensors")
    assert checkpoint.step == 3 and isinstance(checkpoint.optimizer, dp.Adam)
    assert checkpoint.optimizer.hyper["amsgrad"] is True

    def steps(net, opt):
        loss = dp.CrossEntropy()
        for _ in range(5):
            loss.forward(net.forward(X, training=False), y)   # eval mode: no dropout randomness
            net.backward(loss.backward())
            opt.step(net.parameters())
        return [p.value.copy() for p in net.parameters()]

    for a, b in zip(steps(model, optimizer), steps(checkpoint.model, checkpoint.optimizer)):
        np.testing.assert_array_equal(a, b)


def test_preprocessing_and_class_names_are_saved(tmp_path):
    pd = pytest.importorskip("pandas")
    features = pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0], "colour": ["red", "blue", "red", "green"]})
    target = pd.Series(["cat", "dog", "cat", "dog"], name="animal")
    pre = dp.Preprocessor.fit(features, target)
    model = dp.mlp([pre.n_inputs, 4, pre.n_outputs], seed=0)
    model.preprocessing = pre
    dp.save(model, tmp_path / "m.safetensors")
    loaded = dp.load(tmp_path / "m.safetensors").preprocessing
    assert loaded.class_names == ["cat", "dog"] and loaded.categories == {"colour": ["blue", "green", "red"]}
    np.testing.assert_array_equal(loaded.transform(features), pre.transform(features))


# ------------------------------------------------------------------------------ atomic saving
def test_an_interrupted_save_leaves_the_previous_model_intact(trained, tmp_path, monkeypatch):
    model, _, X, _ = trained
    path = tmp_path / "model.safetensors"
    dp.save(model, path)
    before = path.read_bytes()
    other = dp.mlp([4, 9, 3], seed=5)

    def interrupted(descriptor):   # the process is stopped after writing, before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dp.save(other, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"]   # no temporary file left behind
    np.testing.assert_array_equal(dp.load(path).predict(X), model.predict(X))


def test_a_killed_save_process_never_leaves_a_partial_file(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "big.safetensors"
    dp.save(dp.mlp([3, 2], seed=0), path)
    before = path.read_bytes()
    script = ("import deltaprop as dp, sys\n"
              "model = dp.mlp([2000, 2000, 2000, 10], seed=0)\n"
              "print('ready', flush=True)\n"
              "while True:\n    dp.save(model, sys.argv[1])\n")
    process = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE)
    assert process.stdout.readline().strip() == b"ready"
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    # whatever instant the kill hit, the target is a complete file: the old one or a whole new one
    data = path.read_bytes()
    assert data == before or dp.load(path).n_in == 2000


def test_save_refuses_a_folder_and_a_missing_folder(tmp_path):
    model = dp.mlp([2, 2], seed=0)
    with pytest.raises(ValueError, match="is a folder"):
        dp.save(model, tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        dp.save(model, tmp_path / "nowhere" / "m.safetensors")


# ------------------------------------------------------------------------------ malformed files
def _valid_parts(model):
    from deltaprop.io import _tensors_and_header

    tensors, header = _tensors_and_header(model, None, None)
    return {name: value.copy() for name, value in tensors.items()}, {"deltaprop": json.dumps(header)}


def _write(tmp_path, tensors, metadata):
    """The file, with a checksum made for its (edited) contents when it has deltaprop metadata and none."""
    from deltaprop.tensorfile import checksum

    if metadata and "deltaprop" in metadata and "deltaprop_checksum" not in metadata:
        metadata = {**metadata, "deltaprop_checksum": checksum(metadata["deltaprop"], tensors)}
    path = tmp_path / "bad.safetensors"
    path.write_bytes(st_save(tensors, metadata=metadata))
    return path


def _with_info(model, change):
    """A model file edited by ``change``, with a checksum made for the edit: what a forger (or a tool that
    rewrites files) produces, so that every check behind the checksum is reached."""
    from deltaprop.tensorfile import checksum

    tensors, metadata = _valid_parts(model)
    info = json.loads(metadata["deltaprop"])
    change(info, tensors)
    text = json.dumps(info)
    return tensors, {"deltaprop": text, "deltaprop_checksum": checksum(text, tensors)}


@pytest.fixture
def small():
    return dp.Sequential([dp.Dense(3, 4), dp.BatchNorm(4), dp.ReLU(), dp.Dense(4, 2)], seed=0)


def _raw(tmp_path, data: bytes):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda tmp, model: _raw(tmp, b""), "empty"),
    (lambda tmp, model: _raw(tmp, b"\x01\x02"), "too short"),
    (lambda tmp, model: _raw(tmp, b"name,age\nann,3\n"), "past the end"),
    (lambda tmp, model: _raw(tmp, struct.pack("<Q", 10**9) + b"{}"), "header length 1000000000 runs past the end"),
    (lambda tmp, model: _raw(tmp, struct.pack("<Q", 6) + b"{oops}"), "not valid JSON"),
    (lambda tmp, model: _raw(tmp, struct.pack("<Q", 4) + b"\xff\xfe\xfd\xfc"), "not UTF-8"),
    (lambda tmp, model: _raw(tmp, struct.pack("<Q", 2) + b"[]"), "not a JSON object"),
    (lambda tmp, model: _write(tmp, {"x": np.zeros(2, np.float32)}, None), "without deltaprop metadata"),
    (lambda tmp, model: _write(tmp, {"x": np.zeros(2, np.float32)}, {"deltaprop": "{not json"}),
     "metadata is not valid JSON"),
    (lambda tmp, model: _write(tmp, *_with_info(model, lambda i, t: i["architecture"].__setitem__(
        2, {"type": "os.system", "config": {}}))), "unknown layer type 'os.system'"),
    (lambda tmp, model: _write(tmp, *_with_info(model, lambda i, t: i["architecture"][0]["config"].__setitem__(
        "n_out", -4))), "layer 0 \\(Dense\\): bad arguments"),
    (lambda tmp, model: _write(tmp, *_with_info(model, lambda i, t: t.pop("3.W"))), "missing tensor\\(s\\) '3.W'"),
    (lambda tmp, model: _write(tmp, *_with_info(model, lambda i, t: t.__setitem__("9.W", np.ones(2, np.float32)))),
     "unexpected tensor\\(s\\) '9.W'"),
    (lambda tmp, model: _write(tmp, *_with_info(model, lambda i, t: t.__setitem__("0.W", np.ones((3, 5), np.float32)))),
     "'0.W' has shape \\(3, 5\\), the architecture needs \\(3, 4\\)"),
    (lambda tmp, model: _write(tmp, *_with_info(model, lambda i, t: t.__setitem__("0.W", np.ones((3, 4))))),
     "'0.W' has dtype float64"),
    (lambda tmp, model: _write(tmp, *_with_info(model, lambda i, t: t["3.b"].__setitem__(0, np.nan))),
     "'3.b' holds non-finite"),
    (lambda tmp, model: _write(tmp, *_with_info(model, lambda i, t: t["1.running_var"].__setitem__(1, np.inf))),
     "'1.running_var' holds non-finite"),
    (lambda tmp, model: _write(tmp, *_with_info(model, lambda i, t: i.__setitem__("dtype", "int8"))),
     "dtype 'int8'"),
    (lambda tmp, model: _write(tmp, *_with_info(model, lambda i, t: i.__setitem__("format_version", 99))),
     "version 99"),
    (lambda tmp, model: _write(tmp, *_with_info(model, lambda i, t: (i["architecture"].__setitem__(
        3, {"type": "Dense", "config": {"n_in": 7, "n_out": 2}}), t.__setitem__("3.W", np.ones((7, 2), np.float32))))),
     "architecture is inconsistent"),
])
def test_every_malformed_file_raises_model_file_error(make, message, tmp_path, small):
    path = make(tmp_path, small)
    with pytest.raises(dp.ModelFileError, match=message) as info:
        dp.load(path)
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value)


def test_truncated_file(tmp_path, small):
    path = tmp_path / "m.safetensors"
    dp.save(small, path)
    data = path.read_bytes()
    for cut in (len(data) - 1, len(data) // 2, 9):
        path.write_bytes(data[:cut])
        with pytest.raises(dp.ModelFileError, match=str(path)):
            dp.load(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(dp.ModelFileError, match="no such file"):
        dp.load(tmp_path / "absent.safetensors")
    with pytest.raises(dp.ModelFileError, match="is a folder"):
        dp.load(tmp_path)


def test_saved_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        dp.save(dp.mlp([2, 2], seed=0), tmp_path / "m.safetensors")
    finally:
        os.umask(umask)
    assert (tmp_path / "m.safetensors").stat().st_mode & 0o777 == 0o644


# ------------------------------------------------------------------------------ header values of the wrong type
def _table_model(tmp_path, task="classification"):
    pd = pytest.importorskip("pandas")
    features = pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "colour": ["red", "blue", "red", "green"] * 1
                             + ["red", "blue"]})
    target = pd.Series(["cat", "dog", "cat", "dog", "cat", "dog"] if task == "classification"
                       else [1.5, 2.5, 3.0, 4.25, 0.5, 9.0], name="y")
    pre = dp.Preprocessor.fit(features, target, task)
    model = dp.mlp([pre.n_inputs, 4, pre.n_outputs], seed=0)
    model.preprocessing = pre
    return model


@pytest.mark.parametrize("change, message", [
    (lambda p: p.__setitem__("categories", ["red", "blue"]), "field 'categories' has the wrong type"),
    (lambda p: p.__setitem__("categories", {"colour": "red"}), "categories of 'colour' must be a list of strings"),
    (lambda p: p.__setitem__("categories", {"weight": ["a"]}), "'weight', which is not a feature column"),
    (lambda p: p.__setitem__("feature_columns", "size"), "field 'feature_columns' has the wrong type"),
    (lambda p: p.__setitem__("mean", {"a": 1}), "field 'mean' has the wrong type"),
    (lambda p: p.__setitem__("target_std", "wide"), "field 'target_std' has the wrong type"),
    (lambda p: p.__setitem__("class_names", [1, 2]), "class_names must be strings"),
    (lambda p: p.__setitem__("class_names", ["cat", "dog", "eel"]), "describes 3 class names but the network has 2"),
    (lambda p: p.__setitem__("dropped", ["x"]), "field 'dropped' has the wrong type"),
])
def test_preprocessing_header_fields_of_the_wrong_type_are_model_file_errors(tmp_path, change, message):
    model = _table_model(tmp_path)
    tensors, metadata = _valid_parts(model)
    info = json.loads(metadata["deltaprop"])
    change(info["preprocessing"])
    path = _write(tmp_path, tensors, {"deltaprop": json.dumps(info)})
    with pytest.raises(dp.ModelFileError, match=message):
        dp.load(path)


def test_the_task_must_fit_the_output_width(tmp_path):
    model = _table_model(tmp_path, task="regression")
    tensors, metadata = _valid_parts(model)
    info = json.loads(metadata["deltaprop"])
    info["architecture"][-1]["config"]["n_out"] = 3
    tensors["2.W"], tensors["2.b"] = np.zeros((4, 3), np.float32), np.zeros(3, np.float32)
    path = _write(tmp_path, tensors, {"deltaprop": json.dumps(info)})
    with pytest.raises(dp.ModelFileError, match=r"describes a regression \(one value\) but the network has 3 outputs"):
        dp.load(path)


@pytest.mark.parametrize("change, message", [
    (lambda i: i.__setitem__("dtype", ["float32"]), "dtype \\['float32'\\] is not one of"),
    (lambda i: i.__setitem__("optimizer", ["adam"]), "bad optimizer state"),
    (lambda i: i.__setitem__("optimizer", {"type": "adam", "lr": 0.1, "hyper": {}, "scalars": []}),
     "bad optimizer state"),
    (lambda i: i.__setitem__("info", [1]), "info must be a JSON object"),
])
def test_other_header_values_of_the_wrong_type(tmp_path, small, change, message):
    path = _write(tmp_path, *_with_info(small, lambda info, tensors: change(info)))
    with pytest.raises(dp.ModelFileError, match=message):
        dp.load(path)
