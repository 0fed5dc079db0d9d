"""ONNX export of RNN, GRU and LSTM: onnxruntime's output equals predict (float32, 1e-5 relative)."""
import numpy as np
import pytest

import deltaprop as dp

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

OPTIONS = [{}, {"bidirectional": True, "num_layers": 2}, {"return_sequences": True, "bidirectional": True},
           {"mask_value": 0.0, "bidirectional": True, "num_layers": 2}, {"mask_value": 0.0, "return_sequences": True}]


def build(layer_class, options, steps):
    extra = {"nonlinearity": "relu"} if layer_class is dp.RNN and options.get("num_layers") else {}
    layer = layer_class(3, 5, **options, **extra)
    width = 5 * (2 if options.get("bidirectional") else 1)
    head = [dp.Flatten(), dp.Dense(width * steps, 2)] if options.get("return_sequences") else [dp.Dense(width, 2)]
    return dp.Sequential([layer, *head], seed=0, input_shape=(steps, 3) if options.get("return_sequences") else None)


@pytest.mark.parametrize("layer_class", [dp.RNN, dp.GRU, dp.LSTM], ids=["rnn", "gru", "lstm"])
@pytest.mark.parametrize("options", OPTIONS, ids=["plain", "2-layers-bidirectional", "sequences", "masked",
                                                  "masked-sequences"])
def test_onnxruntime_equals_predict(layer_class, options, tmp_path, rng):
    model = build(layer_class, options, steps=7)
    X = rng.normal(size=(4, 7, 3)).astype(np.float32)
    if "mask_value" in options:
        X[1, 4:] = 0.0           # rows of lengths 7, 4, 2, 7: padding after the real steps
        X[2, 2:] = 0.0
    path = tmp_path / "model.onnx"
    dp.export_onnx(model, path)
    session = ort.InferenceSession(str(path))
    output = session.run(None, {session.get_inputs()[0].name: X})[0]
    np.testing.assert_allclose(output, model.predict(X), rtol=1e-5, atol=1e-5 * np.abs(model.predict(X)).max())


def test_a_float64_recurrent_model_is_refused_with_what_to_do(tmp_path):
    model = dp.Sequential([dp.GRU(3, 4), dp.Dense(4, 2)], seed=0, dtype="float64")
    with pytest.raises(ValueError, match=r"float32 only .*model.astype\('float32'\)"):
        dp.export_onnx(model, tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()
