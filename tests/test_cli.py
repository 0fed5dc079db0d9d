"""The deltaprop command: end-to-end runs in a subprocess, bad input in-process (exit code 2, one line)."""
import re

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

import deltaprop as dp  # noqa: E402
from deltaprop.cli import main  # noqa: E402
from conftest import run_cli  # noqa: E402


deltaprop = run_cli


def metric(output: str, name: str) -> float:
    match = re.search(rf"^{name}\s+([0-9.]+)\s*$", output, re.MULTILINE)
    assert match, f"no {name!r} line in:\n{output}"
    return float(match.group(1))


@pytest.mark.slow
def test_train_on_digits_then_predict_and_evaluate_reproduce_the_accuracy(tmp_path):
    out = tmp_path / "run"
    code, stdout, stderr = deltaprop("train", "--out", out)
    assert code == 0, stderr
    assert "task: classification — 10 classes" in stdout and "64 inputs" in stdout
    accuracy = metric(stdout, "test accuracy")
    assert accuracy >= 0.95
    for name in ("model.safetensors", "history.csv", "curves.png", "config.toml"):
        assert (out / name).stat().st_size > 0, name
    history = pd.read_csv(out / "history.csv")
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr"} <= set(history.columns)

    code, stdout, stderr = deltaprop("evaluate", out / "model.safetensors", "--data", "digits", "--split", "test")
    assert code == 0, stderr
    assert metric(stdout, "accuracy") == pytest.approx(accuracy, abs=1e-4)

    predictions = tmp_path / "predictions.csv"
    code, stdout, stderr = deltaprop("predict", out / "model.safetensors", "--data", "digits", "--split", "test",
                                     "--out", predictions)
    assert code == 0, stderr
    frame = pd.read_csv(predictions)
    probabilities = frame[[f"probability_{k}" for k in range(10)]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    assert np.mean(frame["prediction"] == frame["target"]) == pytest.approx(accuracy, abs=1e-4)

    # --config re-runs the resolved settings: same seed, same data, same accuracy
    code, stdout, stderr = deltaprop("train", "--config", out / "config.toml", "--out", tmp_path / "again")
    assert code == 0, stderr
    assert metric(stdout, "test accuracy") == accuracy


def _pets_csv(path, n=120, seed=0):
    rng = np.random.default_rng(seed)
    weight = rng.uniform(1, 40, n)
    colour = rng.choice(["black", "white", "ginger"], n)
    animal = np.where(weight + np.where(colour == "ginger", 15, 0) > 20, "dog", "cat")
    pd.DataFrame({"weight": weight.round(2), "colour": colour, "animal": animal}).to_csv(path, index=False)
    return animal


@pytest.mark.slow
def test_csv_round_trip_with_string_labels_and_a_categorical_feature(tmp_path):
    data = tmp_path / "pets.csv"
    _pets_csv(data)
    code, stdout, stderr = deltaprop("train", "--data", data, "--target", "animal", "--epochs", "60", "--layers",
                                     "16", "--lr", "0.01", "--out", tmp_path / "run", "--quiet")
    assert code == 0, stderr
    assert "2 classes: cat, dog" in stdout and "colour (3 categories)" in stdout
    new = tmp_path / "new.csv"
    truth = _pets_csv(new, n=40, seed=1)
    pd.read_csv(new).drop(columns=["animal"]).to_csv(new, index=False)   # raw rows, no labels
    code, _, stderr = deltaprop("predict", tmp_path / "run" / "model.safetensors", "--data", new,
                                "--out", tmp_path / "p.csv")
    assert code == 0, stderr
    predicted = pd.read_csv(tmp_path / "p.csv")
    assert set(predicted["prediction"]) <= {"cat", "dog"}
    assert list(predicted.columns) == ["prediction", "probability_cat", "probability_dog"]
    assert np.mean(predicted["prediction"].to_numpy() == truth) >= 0.9


def test_regression_run_reports_r2(tmp_path, capsys):
    assert main(["train", "--data", "sine", "--layers", "32,32", "--epochs", "60", "--lr", "0.01", "--quiet",
                 "--out", str(tmp_path / "run")]) == 0
    output = capsys.readouterr().out
    assert "task: regression" in output
    assert metric(output, "test r2") >= 0.9


def test_datasets_summary_and_gradcheck_commands(tmp_path, capsys):
    assert main(["datasets"]) == 0
    output = capsys.readouterr().out
    for name in ("digits", "iris", "wine", "breast_cancer", "diabetes", "mnist1d", "mnist5k", "moons", "spirals",
                 "xor", "sine"):
        assert re.search(rf"^{name}\s+\d+\s+\d+\s+(classification|regression)", output, re.MULTILINE), name
    assert main(["gradcheck", "--normalization", "batchnorm", "--activation", "sigmoid"]) == 0
    assert "gradient check passed" in capsys.readouterr().out
    model = dp.mlp([3, 4, 2], seed=0)
    dp.save(model, tmp_path / "m.safetensors")
    assert main(["summary", str(tmp_path / "m.safetensors")]) == 0
    assert "Total parameters: 26" in capsys.readouterr().out


def test_builtin_datasets_load_offline_with_their_tasks():
    from deltaprop import datasets

    for name, entry in datasets.BUILTIN.items():
        table = datasets.load(name)
        assert (table.task, table.n_samples, table.n_features) == (entry.task, entry.n_samples, entry.n_features), name
        assert table.target.notna().all()


# ------------------------------------------------------------------------------------- bad input
@pytest.fixture
def saved_model(tmp_path):
    """A model trained on a small CSV, and the bytes of its file (which must never change)."""
    data = tmp_path / "pets.csv"
    _pets_csv(data)
    run = tmp_path / "run"
    assert main(["train", "--data", str(data), "--target", "animal", "--epochs", "2", "--out", str(run),
                 "--quiet"]) == 0
    path = run / "model.safetensors"
    return path, path.read_bytes()


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
    return str(path)


def npz(tmp_path, name, **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


BAD_TRAIN_INPUT = [
    (lambda tmp: ["--data", str(tmp / "absent.csv")], "absent.csv: no such file"),
    (lambda tmp: ["--data", write(tmp, "empty.csv", "")], "empty.csv: the file is empty"),
    (lambda tmp: ["--data", write(tmp, "header.csv", "a,b,y\n")], "header.csv: has a header row but no data rows"),
    (lambda tmp: ["--data", write(tmp, "ragged.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,7,1\n")],
     "ragged.csv: line 4 has 4 fields but the header has 3"),
    (lambda tmp: ["--data", write(tmp, "short.csv", "a,b,y\n1,2,0\n3,1\n")], "short.csv: line 3 has 2 fields but the header has 3"),
    (lambda tmp: ["--data", write(tmp, "text.csv", "a,b,y\n1,2,0\n3,x7,1\n5,6,0\n7,8,1\n")],
     "text.csv: line 3, column 'b': 'x7' is not a number"),
    # (missing cells are imputed by default since the second pass over real tables; --missing refuse refuses them)
    (lambda tmp: ["--data", write(tmp, "hole.csv", "a,b,y\n1,2,0\n3,,1\n"), "--missing", "refuse"],
     r"hole.csv: 1 missing cell in 1 of 2 rows: 'b' 1 \(line 3\)"),
    (lambda tmp: ["--data", write(tmp, "nan.csv", "a,b,y\n1,NaN,0\n3,4,1\n"), "--missing", "refuse"],
     r"nan.csv: 1 missing cell in 1 of 2 rows: 'b' 1 \(line 2\)"),
    (lambda tmp: ["--data", write(tmp, "t.csv", "a,b,y\n1,2,0\n3,4,1\n"), "--target", "label"],
     "t.csv: no target column 'label'; columns are: 'a', 'b', 'y'"),
    (lambda tmp: ["--data", write(tmp, "one.csv", "a,b,y\n1,2,cat\n3,4,cat\n5,6,cat\n")],
     "target column 'y' has a single class 'cat'"),
    (lambda tmp: ["--data", npz(tmp, "objects.npz", X=np.array([[1, "a"]], dtype=object), y=np.array([1]))],
     "objects.npz: holds object arrays"),
    (lambda tmp: ["--data", npz(tmp, "noy.npz", X=np.ones((3, 2)))], "noy.npz: missing array 'y'"),
    (lambda tmp: ["--data", npz(tmp, "nox.npz", features=np.ones((3, 2)), y=np.ones(3))], "nox.npz: missing array 'X'"),
    (lambda tmp: ["--out", write(tmp, "taken", "a file")], "--out .*taken: exists and is a file"),
    (lambda tmp: ["--layers", "12,x"], "--layers must be comma-separated integers"),
    (lambda tmp: ["--epochs", "0"], "--epochs must be at least 1"),
    (lambda tmp: ["--data", "no_such_dataset"], "unknown dataset 'no_such_dataset'"),
    (lambda tmp: ["--activation", "swish"], "argument --activation: invalid choice: 'swish'"),
    (lambda tmp: ["--loss", "mse"], "--loss mse does not fit a classification task"),
    (lambda tmp: ["--data", "sine", "--loss", "cross_entropy"], "--loss cross_entropy does not fit a regression task"),
    (lambda tmp: ["--optimizer", "adamax"], "argument --optimizer: invalid choice: 'adamax'"),
    (lambda tmp: ["--config", write(tmp, "c.toml", "[train]\nepochz = 3\n")], "unknown setting\\(s\\) epochz"),
]


@pytest.mark.parametrize("arguments, message", BAD_TRAIN_INPUT)
def test_bad_training_input_is_one_line_and_exit_code_2(arguments, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)   # the default --out, runs/…, would appear here
    given = arguments(tmp_path)
    code = main(["train", "--quiet", *given] if "--epochs" in given else ["train", "--quiet", "--epochs", "1", *given])
    captured = capsys.readouterr()
    assert code == 2, captured
    assert captured.err.count("\n") == 1 and captured.err.startswith("deltaprop: error: ")
    assert re.search(message, captured.err), captured.err
    assert "Traceback" not in captured.err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("csv, message", [
    ("weight,size\n3.0,1\n", "missing column\\(s\\) 'colour' \\(the model expects"),   # (size: not used, a note)
    ("weight,colour\nheavy,black\n2.0,white\n3.0,black\n", "line 2, column 'weight': 'heavy' is not a number"),
])
def test_bad_prediction_input(csv, message, saved_model, tmp_path, capsys):
    path, before = saved_model
    data = write(tmp_path, "new.csv", csv)
    code = main(["predict", str(path), "--data", data, "--out", str(tmp_path / "p.csv")])
    captured = capsys.readouterr()
    assert code == 2 and captured.err.count("\n") == 1
    assert re.search(message, captured.err), captured.err
    assert path.read_bytes() == before and not (tmp_path / "p.csv").exists()


def test_a_malformed_model_file_is_exit_code_2(tmp_path, capsys):
    bad = write(tmp_path, "bad.safetensors", b"\x00" * 3)
    assert main(["summary", bad]) == 2
    assert "bad.safetensors: only 3 bytes" in capsys.readouterr().err


def test_a_failed_run_leaves_an_existing_model_in_place(saved_model, tmp_path, capsys):
    path, before = saved_model
    data = write(tmp_path, "ragged.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,7,1\n")
    assert main(["train", "--data", data, "--out", str(path.parent), "--quiet"]) == 2
    assert path.read_bytes() == before


def test_usage_errors_are_exit_code_2(capsys):
    assert main(["train", "--optimizer"]) == 2
    assert main(["train", "--task", "clustering"]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["--version"]) == 0
