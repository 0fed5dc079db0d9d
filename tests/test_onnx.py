"""ONNX export, checked by running the exported file in onnxruntime against deltaprop's own predictions."""
import json
import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import deltaprop as dp  # noqa: E402
from conftest import run_cli  # noqa: E402

TOLERANCE = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-7, atol=1e-12)}


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run_onnx(path, **inputs):
    return session(path).run(None, inputs)


def assert_default_domain_only(path):
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert {node.domain for node in model.graph.node} <= {""}
    assert not any(node.op_type == "ZipMap" for node in model.graph.node)
    assert [opset.domain for opset in model.opset_import] == [""]
    return model


LAYERS = {
    "Dense": lambda: [dp.Dense(5, 4)],
    "ReLU": lambda: [dp.Dense(5, 4), dp.ReLU()],
    "LeakyReLU": lambda: [dp.Dense(5, 4), dp.LeakyReLU(0.05)],
    "ELU": lambda: [dp.Dense(5, 4), dp.ELU(0.7)],
    "GELU": lambda: [dp.Dense(5, 4), dp.GELU()],
    "Sigmoid": lambda: [dp.Dense(5, 4), dp.Sigmoid()],
    "Tanh": lambda: [dp.Dense(5, 4), dp.Tanh()],
    "Softplus": lambda: [dp.Dense(5, 4), dp.Softplus()],
    "Softmax": lambda: [dp.Dense(5, 4), dp.Softmax()],
    "Identity": lambda: [dp.Dense(5, 4), dp.Identity()],
    "BatchNorm": lambda: [dp.Dense(5, 4), dp.BatchNorm(4)],
    "BatchNorm without affine": lambda: [dp.Dense(5, 4, bias=False), dp.BatchNorm(4, affine=False)],
    "LayerNorm": lambda: [dp.Dense(5, 4), dp.LayerNorm(4)],
    "Dropout": lambda: [dp.Dense(5, 4), dp.Dropout(0.5)],
    "Dense without bias": lambda: [dp.Dense(5, 4, bias=False)],
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", LAYERS)
def test_every_layer_type_equals_predict_in_onnxruntime(kind, dtype, tmp_path, rng):
    model = dp.Sequential(LAYERS[kind](), seed=1, dtype=dtype)
    X = rng.normal(size=(64, 5)) * 3
    X[:8] = rng.normal(size=(8, 5)) * 1e-4            # near the kinks and near 0, where expm1/log1p matter
    if kind.startswith("BatchNorm"):                    # trained running statistics, so eval mode differs from train
        model.fit(X, rng.normal(size=(64, 4)), loss="mse", optimizer="sgd", epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "model.onnx"
    dp.export_onnx(model, path)
    assert_default_domain_only(path)
    for batch in (X[:1], X):                            # a batch of 1 and of many: the batch dimension is dynamic
        (output,) = run_onnx(path, X=batch.astype(dtype))
        assert output.dtype == np.dtype(dtype)
        np.testing.assert_allclose(output, model.predict(batch), **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_activations_far_out_in_both_tails(dtype, tmp_path):
    z = np.array([[-60.0, -30.0, -5.0, -1e-6, 0.0, 1e-6, 5.0, 30.0, 60.0]])
    for layer in (dp.ELU(), dp.Softplus(), dp.GELU(), dp.LeakyReLU(), dp.Sigmoid()):
        model = dp.Sequential([dp.Dense(9, 9, init="zeros"), layer], dtype=dtype)
        model.layers[0].W.value[...] = np.eye(9)
        dp.export_onnx(model, tmp_path / "a.onnx")
        (output,) = run_onnx(tmp_path / "a.onnx", X=z.astype(dtype))
        np.testing.assert_allclose(output, model.predict(z), **TOLERANCE[dtype], err_msg=type(layer).__name__)


def test_a_layer_without_an_export_is_named_and_one_with_it_exports(tmp_path):
    class Cube(dp.Activation):
        def forward(self, x, training=False):
            self.Z = x
            return x ** 3

    model = dp.Sequential([dp.Dense(3, 2), Cube()], seed=0)
    with pytest.raises(dp.InputError, match=r"layer 1 \(Cube\) has no ONNX export: give its class a "
                                            r"to_onnx\(graph, x\) method"):
        dp.export_onnx(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
    Cube.to_onnx = lambda self, graph, x: graph.op("Mul", graph.op("Mul", x, x), x)
    dp.export_onnx(model, tmp_path / "m.onnx")
    X = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", X=X)[0], model.predict(X), rtol=1e-5)


def test_opset_is_checked_and_chosen(tmp_path):
    model = dp.mlp([3, 4, 2], seed=0)
    for opset in (13, 18, 21):
        dp.export_onnx(model, tmp_path / f"m{opset}.onnx", opset=opset)   # ReduceMean's axes move to an input at 18
        assert onnx.load(str(tmp_path / f"m{opset}.onnx")).opset_import[0].version == opset
    with pytest.raises(ValueError, match=r"opset must be in \[13, \d+\], got 12"):
        dp.export_onnx(model, tmp_path / "m.onnx", opset=12)
    layer_norm = dp.Sequential([dp.Dense(3, 4), dp.LayerNorm(4)], seed=0, dtype="float64")
    X = np.random.default_rng(0).normal(size=(5, 3))
    for opset in (17, 18):
        dp.export_onnx(layer_norm, tmp_path / "ln.onnx", opset=opset)
        np.testing.assert_allclose(run_onnx(tmp_path / "ln.onnx", X=X)[0], layer_norm.predict(X), rtol=1e-7)


# ------------------------------------------------------------------------ models trained from tables
def _pets(path, n, seed):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(seed)
    weight = rng.uniform(1, 40, n).round(2)
    height = rng.uniform(10, 90, n).round(1)
    colour = rng.choice(["black", "white", "ginger"], n)
    size = rng.choice(["small", "big"], n)
    animal = np.where(weight + np.where(colour == "ginger", 15, 0) > 20, "dog", "cat")
    pd.DataFrame({"weight": weight, "colour": colour, "height": height, "size": size,
                  "animal": animal}).to_csv(path, index=False)
    return path


def _table_inputs(path, frame):
    model = onnx.load(str(path))
    meta = {p.key: p.value for p in model.metadata_props}
    numeric, text = json.loads(meta["numeric_columns"]), json.loads(meta["text_columns"])
    inputs = {"numbers": frame[numeric].to_numpy(dtype=np.float64)}
    inputs.update({column: frame[[column]].astype(str).to_numpy(dtype=object) for column in text})
    return inputs, meta


@pytest.mark.slow
def test_a_table_model_exports_with_its_preprocessing_and_equals_deltaprop_predict(tmp_path):
    pd = pytest.importorskip("pandas")
    _pets(tmp_path / "pets.csv", 300, 0)
    code, out, err = run_cli("train", "--data", "pets.csv", "--target", "animal", "--epochs", "20", "--quiet",
                             "--out", "run", cwd=tmp_path)
    assert code == 0, err
    code, out, err = run_cli("export", "run/model.safetensors", "--out", "pets.onnx", cwd=tmp_path)
    assert code == 0 and "wrote pets.onnx" in out, err
    model = assert_default_domain_only(tmp_path / "pets.onnx")
    assert [i.name for i in model.graph.input] == ["numbers", "colour", "size"]
    new = pd.read_csv(_pets(tmp_path / "new.csv", 40, 1)).drop(columns=["animal"])
    new.loc[:2, "colour"] = "purple"                    # unseen: all zeros, as predict encodes it
    new.to_csv(tmp_path / "new.csv", index=False)
    code, out, err = run_cli("predict", "run/model.safetensors", "--data", "new.csv", "--out", "p.csv", cwd=tmp_path)
    assert code == 0, err
    expected = pd.read_csv(tmp_path / "p.csv")
    inputs, meta = _table_inputs(tmp_path / "pets.onnx", new)
    probabilities, label = run_onnx(tmp_path / "pets.onnx", **inputs)
    np.testing.assert_allclose(probabilities, expected[["probability_cat", "probability_dog"]], rtol=1e-5, atol=1e-7)
    assert list(label) == list(expected["prediction"])
    assert meta["task"] == "classification" and json.loads(meta["class_names"]) == ["cat", "dog"]
    assert json.loads(meta["feature_columns"]) == ["weight", "colour", "height", "size"]
    assert meta["deltaprop_version"] == dp.__version__


@pytest.mark.slow
def test_quickstart_digits_model_and_a_regression_export(tmp_path):
    pd = pytest.importorskip("pandas")
    code, out, err = run_cli("train", "--quiet", "--out", "digits", cwd=tmp_path)   # Quickstart line 1's run
    assert code == 0, err
    assert run_cli("export", "digits/model.safetensors", cwd=tmp_path)[0] == 0
    assert run_cli("predict", "digits/model.safetensors", "--data", "digits", "--out", "p.csv", cwd=tmp_path)[0] == 0
    expected = pd.read_csv(tmp_path / "p.csv")
    from sklearn.datasets import load_digits

    inputs = {"numbers": load_digits().data.astype(np.float64)}
    probabilities, label = run_onnx(tmp_path / "digits" / "model.onnx", **inputs)
    assert label.dtype == np.int64 and list(label) == list(expected["prediction"])   # integer classes
    np.testing.assert_allclose(probabilities, expected[[f"probability_{k}" for k in range(10)]], rtol=1e-5,
                               atol=1e-7)
    code, out, err = run_cli("train", "--data", "diabetes", "--epochs", "5", "--quiet", "--out", "reg",
                             cwd=tmp_path)
    assert code == 0, err
    assert run_cli("export", "reg/model.safetensors", cwd=tmp_path)[0] == 0
    assert run_cli("predict", "reg/model.safetensors", "--data", "diabetes", "--out", "r.csv", cwd=tmp_path)[0] == 0
    from sklearn.datasets import load_diabetes

    (prediction,) = run_onnx(tmp_path / "reg" / "model.onnx", numbers=load_diabetes().data)
    np.testing.assert_allclose(prediction, pd.read_csv(tmp_path / "r.csv")["prediction"], rtol=1e-6)


def test_export_command_errors(tmp_path):
    (tmp_path / "bad.safetensors").write_bytes(b"xx")
    code, out, err = run_cli("export", "bad.safetensors", cwd=tmp_path)
    assert code == 2 and "bad.safetensors: only 2 bytes" in err
    assert not os.listdir(tmp_path) == ["bad.safetensors", "bad.onnx"]


# ------------------------------------------------------------------------ scikit-learn estimators
@pytest.mark.parametrize("task", ["multiclass", "binary", "multilabel", "regression", "two outputs", "poisson"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_estimators_export(task, dtype, tmp_path, rng):
    pytest.importorskip("sklearn")
    from deltaprop.sklearn import MLPClassifier, MLPRegressor

    X = rng.normal(size=(80, 4)).astype(dtype)
    targets = {"multiclass": np.array(["a", "b", "c"])[rng.integers(0, 3, 80)], "binary": rng.integers(0, 2, 80),
               "multilabel": rng.integers(0, 2, (80, 3)), "regression": X[:, 0] * 2,
               "two outputs": np.c_[X[:, 0], X[:, 1] ** 2], "poisson": np.exp(X[:, 0] / 2)}
    classifier = task in ("multiclass", "binary", "multilabel")
    estimator = (MLPClassifier if classifier else MLPRegressor)(
        hidden_layer_sizes=(8,), solver="lbfgs", max_iter=50, random_state=0,
        **({"loss": "poisson"} if task == "poisson" else {}))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X, targets[task])
    dp.export_onnx(estimator, tmp_path / "e.onnx")
    assert_default_domain_only(tmp_path / "e.onnx")
    outputs = run_onnx(tmp_path / "e.onnx", X=X)
    if classifier:
        np.testing.assert_allclose(outputs[0], estimator.predict_proba(X), **TOLERANCE[dtype])
        assert np.array_equal(outputs[1], estimator.predict(X))
    else:
        np.testing.assert_allclose(outputs[0], estimator.predict(X), **TOLERANCE[dtype])
