"""One line and exit 2 instead of a traceback; no command writes over what it reads; names from files never act on
the terminal; scikit-learn's refusal of weights that overflow (issue: reliability, classes 7, 8, 9)."""
import json
import os
import warnings

import numpy as np
import pytest

from conftest import run_cli
from deltaprop.tensorfile import checksum

pd = pytest.importorskip("pandas")


def _one_line(code, out, err, *parts):
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith("deltaprop: error: ") and "Traceback" not in err, err
    for part in parts:
        assert part in err, err


@pytest.fixture
def run(tmp_path):
    code, out, err = run_cli("train", "--data", "iris", "--epochs", "2", "--quiet", "--out", "run", cwd=tmp_path)
    assert code == 0, err
    return tmp_path


# ------------------------------------------------------------------------------- 7. outputs are never inputs
def test_predict_refuses_to_write_over_its_model_or_its_data(run):
    before = (run / "run" / "model.safetensors").read_bytes()
    _one_line(*run_cli("predict", "run/model.safetensors", "--data", "iris", "--out", "run/model.safetensors",
                       cwd=run), "--out run/model.safetensors: is the model file this command reads")
    assert (run / "run" / "model.safetensors").read_bytes() == before
    pd.DataFrame({"sepal length (cm)": [5.0], "sepal width (cm)": [3.0], "petal length (cm)": [1.5],
                  "petal width (cm)": [0.2]}).to_csv(run / "new.csv", index=False)
    os.link(run / "new.csv", run / "same.csv")
    _one_line(*run_cli("predict", "run/model.safetensors", "--data", "new.csv", "--out", "same.csv", cwd=run),
              "is the data file this command reads")
    _one_line(*run_cli("export", "run/model.safetensors", "--out", "./run/model.safetensors", cwd=run),
              "is the model file this command reads")


def test_train_refuses_an_out_folder_that_holds_its_data(run):
    pd.read_csv(run / "run" / "history.csv").to_csv(run / "run" / "history.csv", index=False)
    _one_line(*run_cli("train", "--data", "run/history.csv", "--target", "loss", "--out", "run", "--overwrite",
                       cwd=run), "--out run: holds the data file run/history.csv this run reads")
    assert (run / "run" / "model.safetensors").exists()


# ------------------------------------------------------------------------------- 8. one line, exit 2
def _forged_model(path, change):
    from safetensors import safe_open
    from safetensors.numpy import load, save

    tensors = load(path.read_bytes())
    with safe_open(path, "numpy") as handle:
        header = json.loads(handle.metadata()["deltaprop"])
    change(header)
    text = json.dumps(header)
    path.write_bytes(save(tensors, metadata={"deltaprop": text, "deltaprop_checksum": checksum(text, tensors)}))


@pytest.mark.parametrize("field, value, message", [
    ("loss", "hinge", "info.loss must be one of cross_entropy"),
    ("test_split", 7, "info.test_split must be a number in [0, 1)"),
    ("seed", "zero", "info.seed must be an integer >= 0"),
    ("seed", -4, "info.seed must be an integer >= 0"),
    ("data", 12, "info.data must be a string"),
])
def test_evaluate_refuses_bad_run_information_in_the_model_file(run, field, value, message):
    _forged_model(run / "run" / "model.safetensors", lambda header: header["info"].__setitem__(field, value))
    _one_line(*run_cli("evaluate", "run/model.safetensors", "--data", "iris", "--split", "test", cwd=run), message)


def test_a_subnormal_preprocessing_scale_is_refused(run):
    _forged_model(run / "run" / "model.safetensors",
                  lambda header: header["preprocessing"].__setitem__("std", [1e-320] * 4))
    _one_line(*run_cli("predict", "run/model.safetensors", "--data", "iris", cwd=run), "every std a normal number")


def test_deep_nesting_in_a_header_or_a_config_is_one_line(tmp_path):
    from safetensors.numpy import save

    deep = '{"format": "deltaprop-model", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (tmp_path / "deep.safetensors").write_bytes(save({}, metadata={"deltaprop": deep}))
    _one_line(*run_cli("summary", "deep.safetensors", cwd=tmp_path), "nested too deeply")
    (tmp_path / "deep.toml").write_text("[train]\nlayers = " + "[" * 5000 + "]" * 5000 + "\n")
    _one_line(*run_cli("train", "--config", "deep.toml", cwd=tmp_path), "nested too deeply")


def test_250_nested_residual_blocks_in_a_model_file_are_refused(tmp_path):
    from safetensors.numpy import save

    spec = {"type": "Dense", "config": {"n_in": 4, "n_out": 4}}
    for _ in range(250):
        spec = {"type": "Residual", "config": {"layers": [spec], "projection": None}}
    text = json.dumps({"format": "deltaprop-model", "format_version": 2, "dtype": "float32", "architecture": [spec]})
    tensors = {"0." * 251 + "W": np.zeros((4, 4), np.float32)}
    (tmp_path / "nested.safetensors").write_bytes(save(tensors, metadata={
        "deltaprop": text, "deltaprop_checksum": checksum(text, tensors)}))
    _one_line(*run_cli("summary", "nested.safetensors", cwd=tmp_path), "Residual blocks nested more than 32 deep")


def test_target_with_an_npy_folder_and_a_test_split_leaving_one_row(tmp_path):
    (tmp_path / "arrays").mkdir()
    np.save(tmp_path / "arrays" / "X.npy", np.ones((10, 2)))
    np.save(tmp_path / "arrays" / "y.npy", np.arange(10) % 2)
    _one_line(*run_cli("train", "--data", "arrays", "--target", "y", cwd=tmp_path),
              "--target applies to CSV files; a data folder's target is y.npy")
    (tmp_path / "three.csv").write_text("a,b,y\n1,2,1.5\n3,4,2.5\n5,6,0.1\n")
    _one_line(*run_cli("train", "--data", "three.csv", "--test-split", "0.5", cwd=tmp_path),
              "--test-split 0.5 leaves 1 training row(s) of the 3 rows")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("name, text, message", [
    ("config.toml", "[train\n", "config.toml: damaged, cannot be read for the report"),
    ("findings.json", '{"findings": {"before": [{"kind": 3}]}', "findings.json: damaged"),
    ("findings.json", '{"findings": {"after": [{"kind": "dead", "layer_name": "x", "value": "many", "advice": ""}]}}',
     "findings.json: damaged"),
    ("activations.npz", "not a zip file", "activations.npz: damaged"),
    ("history.csv", "epoch,loss\n1,\n", "history.csv: no epochs recorded"),
])
def test_report_on_a_damaged_run_folder_is_one_line(run, name, text, message):
    (run / "run" / name).write_text(text)
    _one_line(*run_cli("report", "run", cwd=run), message)


@pytest.mark.parametrize("columns", [("label", "x"), ("probabilities", "x"), ("numbers", "numbers_input")])
def test_onnx_export_of_text_columns_named_like_its_inputs_or_outputs(tmp_path, columns):
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    n = 80
    frame = pd.DataFrame({columns[0]: rng.choice(["p", "q"], n), columns[1]: rng.choice(["r", "s"], n),
                          "v": rng.normal(size=n), "y": rng.choice(["A", "B"], n)})
    frame.to_csv(tmp_path / "odd.csv", index=False)
    assert run_cli("train", "--data", "odd.csv", "--epochs", "3", "--quiet", "--out", "run", cwd=tmp_path)[0] == 0
    code, out, err = run_cli("export", "run/model.safetensors", cwd=tmp_path)
    assert code == 0, err
    session = ort.InferenceSession(str(tmp_path / "run" / "model.onnx"))
    metadata = session.get_modelmeta().custom_metadata_map
    text_inputs = json.loads(metadata["text_inputs"])
    names = [i.name for i in session.get_inputs()]
    assert len(set(names)) == len(names) and not {"label", "probabilities"} & set(names)
    feeds = {text_inputs[c]: frame[[c]].to_numpy(dtype=object) for c in text_inputs}
    feeds[metadata["numbers_input"]] = frame[["v"]].to_numpy()
    labels = session.run(["label"], feeds)[0]
    assert run_cli("predict", "run/model.safetensors", "--data", "odd.csv", "--out", "p.csv", cwd=tmp_path)[0] == 0
    assert list(labels.astype(str)) == list(pd.read_csv(tmp_path / "p.csv")["prediction"].astype(str))


def test_names_from_files_are_escaped_before_they_reach_the_terminal(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=60), "\x1b]0;title\x07col": rng.normal(size=60),
                          "y": rng.choice(["\x1b[2J", "ok\u202eko"], 60)})
    frame.to_csv(tmp_path / "evil.csv", index=False)
    code, out, err = run_cli("train", "--data", "evil.csv", "--epochs", "2", "--quiet", "--out", "run", cwd=tmp_path)
    assert code == 0, err
    assert "\x1b" not in out + err and "\u202e" not in out + err
    assert "\\x1b[2J" in out                                          # the class, shown as an escape
    code, out, err = run_cli("summary", "run/model.safetensors", cwd=tmp_path)
    assert code == 0 and "\x1b" not in out and "\\x1b[2J" in out


# ------------------------------------------------------------------------------- 9. scikit-learn's refusal
def test_sample_weights_whose_sum_overflows_are_refused_as_scikit_learn_does():
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    from deltaprop.sklearn import MLPClassifier

    X, y = np.random.default_rng(0).normal(size=(50, 3)), np.arange(50) % 2
    weights = np.full(50, 1e308)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError):
            SklearnMLP(max_iter=5).fit(X, y, sample_weight=weights)     # scikit-learn's behaviour, for reference
        with pytest.raises(ValueError, match="sample_weight sums to inf"):
            MLPClassifier(max_iter=5).fit(X, y, sample_weight=weights)
