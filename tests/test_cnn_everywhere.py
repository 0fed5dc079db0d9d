"""Convolutional networks go wherever an MLP goes: inspect, the monitor, diagnose, model files, ONNX, the CLI."""
import copy
import pickle

import numpy as np
import pytest

import deltaprop as dp
from conftest import run_cli


def small_cnn(dtype="float32", seed=0):
    return dp.Sequential([
        dp.Conv2D(1, 4, 3, padding=1, bias=False), dp.BatchNorm(4), dp.ReLU(), dp.MaxPool2D(2),
        dp.Residual([dp.Conv2D(4, 6, 3, padding="same"), dp.ReLU(), dp.Conv2D(6, 6, 3, padding=1)],
                    projection=dp.Conv2D(4, 6, 1)),
        dp.ReLU(), dp.AvgPool2D(2), dp.Conv2D(6, 8, (2, 1), stride=(1, 2)), dp.Tanh(), dp.GlobalAvgPool(),
        dp.Dense(8, 3)], seed=seed, dtype=dtype)


@pytest.fixture
def images(rng):
    return rng.normal(size=(24, 1, 8, 8)), rng.integers(0, 3, size=24)


def test_summary_shapes_and_inspect_give_delta_per_convolution(images):
    X, y = images
    model = small_cnn()
    assert model.input_shape == (1, None, None)
    text = model.summary()
    assert "Conv2D(1, 4, 3, padding=1, bias=False)" in text and "Residual(" in text
    loss = dp.CrossEntropy()
    loss.forward(model.forward(X, training=True), y)
    model.backward(loss.backward())
    traces = model.inspect()
    assert [t.layer for t in traces] == [0, 7, 10]       # the weight layers at the top level
    first = traces[0]
    assert first.Z.shape == (24, 4, 8, 8) and first.delta.shape == first.Z.shape
    assert first.grads["W"].shape == (4, 1, 3, 3)
    block = model.layers[4]
    assert block.layers[0].grad_output.shape == (24, 6, 4, 4)   # each inner layer keeps its own δ
    assert block.grad_output.shape == (24, 6, 4, 4)


def test_the_monitor_records_convolutions_and_dead_channels(images):
    X, y = images
    model = small_cnn()
    history = model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=2, batch_size=8, monitor=1, verbose=0)
    records = history.diagnostics
    assert len(records["0.delta_rms"]) == 6 and np.isfinite(records["0.delta_rms"]).all()
    assert all(0 <= value <= 1 for value in records["2.dead"])


def test_diagnose_finds_dead_channels_after_a_convolution(images):
    X, y = images
    model = dp.Sequential([dp.Conv2D(1, 4, 3), dp.ReLU(), dp.Flatten(), dp.Dense(144, 3)], seed=0)
    model.layers[0].b.value[:3] = -50.0            # three of four channels below zero everywhere
    dead = [f for f in dp.diagnose(model, X, y, "cross_entropy") if f.kind == "dead_units"]
    assert len(dead) == 1 and dead[0].layer == 1 and dead[0].value == pytest.approx(0.75)


def test_model_files_pickles_and_copies_keep_every_layer(images, tmp_path):
    X, y = images
    model = small_cnn()
    model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=2, batch_size=8, verbose=0)
    expected = model.predict(X)
    dp.save(model, tmp_path / "cnn.safetensors")
    for twin in (dp.load(tmp_path / "cnn.safetensors"), pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        np.testing.assert_array_equal(twin.predict(X), expected)
        assert [p.name for p in twin.parameters()] == [p.name for p in model.parameters()]
    assert "4.projection.W" in [p.name for p in model.parameters()]
    np.testing.assert_array_equal(dp.load(tmp_path / "cnn.safetensors").layers[1].running_var,
                                  model.layers[1].running_var)


def test_blocks_inside_blocks_name_every_parameter_once_and_save_whole(tmp_path):
    """A Residual inside a Residual: each inner weight keeps its own name, so a model file holds them all."""
    model = dp.Sequential([dp.Dense(4, 4), dp.Residual([dp.Residual([dp.Dense(4, 4), dp.ReLU(), dp.Dense(4, 4)]),
                                                        dp.Dense(4, 4)]), dp.Dense(4, 2)], seed=0)
    assert [p.name for p in model.parameters()] == ["0.W", "0.b", "1.0.0.W", "1.0.0.b", "1.0.2.W", "1.0.2.b", "1.1.W",
                                                    "1.1.b", "2.W", "2.b"]
    dp.save(model, tmp_path / "nested.safetensors")
    X = np.random.default_rng(0).normal(size=(3, 4))
    np.testing.assert_array_equal(dp.load(tmp_path / "nested.safetensors").predict(X), model.predict(X))


def test_a_layer_that_names_two_parameters_alike_is_refused():
    class Twice(dp.Dense):
        def parameter_names(self):
            return ["W", "W"]

    with pytest.raises(ValueError, match="parameters named alike: 0.W"):
        dp.Sequential([Twice(2, 2)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_onnx_export_of_a_cnn_equals_predict(images, tmp_path, dtype):
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    X, y = images
    model = small_cnn(dtype)
    model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=1, batch_size=8, verbose=0)
    one_d = dp.Sequential([dp.Conv1D(2, 3, 3, stride=2, padding=1, dilation=2), dp.BatchNorm(3), dp.ReLU(),
                           dp.MaxPool1D(3, stride=2, padding=1), dp.AvgPool1D(2), dp.Flatten(), dp.Dense(6, 2)],
                          seed=1, dtype=dtype)
    one_d.fit(np.random.default_rng(1).normal(size=(16, 2, 21)), np.arange(16) % 2, loss="cross_entropy",
              optimizer="adam", epochs=1, batch_size=4, verbose=0)
    tolerance = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-7, atol=1e-12)
    for network, inputs in ((model, X), (one_d, np.random.default_rng(2).normal(size=(5, 2, 21)))):
        dp.export_onnx(network, tmp_path / "m.onnx")
        onnx.checker.check_model(onnx.load(str(tmp_path / "m.onnx")), full_check=True)
        if dtype == "float64":
            continue      # valid ONNX, but onnxruntime's CPU provider has no float64 Conv kernel to run it
        session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
        (output,) = session.run(None, {"X": inputs.astype(dtype)})
        np.testing.assert_allclose(output, network.predict(inputs), **tolerance)


def test_the_cli_trains_a_cnn_and_its_model_predicts_evaluates_and_exports(tmp_path):
    code, out, err = run_cli("train", "--data", "digits", "--conv", "8:3,16:3", "--pool", "max", "--layers", "none",
                             "--epochs", "3", "--out", "cnn", "--quiet", cwd=tmp_path)
    assert code == 0, err
    assert "model: 1×8×8 → conv 8:3,16:3 → 10 (relu)" in out
    model = dp.load(tmp_path / "cnn" / "model.safetensors")
    assert [type(layer).__name__ for layer in model.layers][:4] == ["Conv2D", "ReLU", "MaxPool2D", "Conv2D"]
    test_accuracy = float(out.split("test accuracy")[1].split()[0])
    code, out, err = run_cli("evaluate", tmp_path / "cnn" / "model.safetensors", "--data", "digits", "--split", "test",
                             cwd=tmp_path)
    assert code == 0, err
    assert float(out.split("accuracy")[1].split()[0]) == pytest.approx(test_accuracy)
    code, _, err = run_cli("export", tmp_path / "cnn" / "model.safetensors", "--out", "cnn.onnx", cwd=tmp_path)
    assert code == 0, err


@pytest.mark.parametrize("options, message", [
    (["--conv", "8:3:x"], "--conv: conv layer '8:3:x' must be C:K, C:K:S or C:K:S:P"),
    (["--data", "iris", "--conv", "8:3"], "--conv needs a sample shape: give --input-shape C,L or C,H,W for iris"),
    (["--data", "iris", "--conv", "2:1", "--input-shape", "1,5"], "--input-shape 1,5 holds 5 values, but the data has "
                                                                   "4 inputs"),
    (["--pool", "max"], "--pool applies to a CNN; give --conv"),
    (["--conv", "8:3", "--normalization", "layernorm"], "--normalization layernorm is for Dense layers"),
    (["--conv", "8:9:1:0"], "the convolutions '8:9:1:0' leave no positions"),
])
def test_bad_cnn_options_are_one_line_with_exit_code_2(tmp_path, options, message):
    code, out, err = run_cli("train", *options, "--epochs", "1", cwd=tmp_path)
    assert code == 2, (out, err)
    assert message in err and err.count("\n") == 1, err
