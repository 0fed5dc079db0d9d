"""deltaprop train --rnn: sequences from a .npy folder of shape (N, T, F) or from mnist1d; bad specs in one line."""
import numpy as np
import pytest
from conftest import run_cli

pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def sequences(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "sequences"
    folder.mkdir()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 12, 3)).astype(np.float32)
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", (X[:, -1, 0] > 0).astype(np.int64))     # the last step decides: easy to learn
    return folder


def test_train_a_gru_on_a_folder_of_sequences(sequences, tmp_path):
    import deltaprop as dp

    out = tmp_path / "run"
    code, stdout, err = run_cli("train", "--data", sequences, "--rnn", "gru:8,lstm:6:bi", "--layers", "none",
                                "--epochs", "25", "--lr", "0.01", "--out", out, "--quiet")
    assert code == 0, err
    assert "12×3 → rnn gru:8,lstm:6:bi → 2" in stdout
    accuracy = float(next(line.split()[-1] for line in stdout.splitlines() if line.startswith("test accuracy")))
    assert accuracy > 0.8
    model = dp.load(out / "model.safetensors")
    assert [type(layer).__name__ for layer in model.layers] == ["GRU", "LSTM", "Dense"]
    assert model.layers[0].return_sequences and model.layers[1].bidirectional
    assert 'rnn = "gru:8,lstm:6:bi"' in (out / "config.toml").read_text()


@pytest.mark.parametrize("args, message", [
    (["--rnn", "gru"], "must be KIND:H or KIND:H:bi"),
    (["--rnn", "gru:0"], "must be KIND:H or KIND:H:bi"),
    (["--rnn", "cnn:4"], "must be KIND:H or KIND:H:bi"),
    (["--rnn", "gru:4", "--conv", "4:3"], "give --conv or --rnn, not both"),
    (["--rnn", "gru:4", "--input-shape", "1,2,3"], "--input-shape for --rnn must be T,F"),
    (["--rnn", "gru:4", "--input-shape", "5,5"], "holds 25 values, but the data has 36 inputs"),
    (["--conv", "4:3"], "X.npy holds sequences"),
    (["--input-shape", "12,3"], "--input-shape applies to a CNN or an RNN; give --conv or --rnn"),
])
def test_bad_recurrent_options_are_one_line(sequences, tmp_path, args, message):
    code, _, err = run_cli("train", "--data", sequences, *args, "--out", tmp_path / "bad", "--epochs", "1")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "bad").exists()


def test_mnist1d_is_read_as_40_steps_and_the_run_exports_to_onnx(tmp_path):
    pytest.importorskip("mnist1d")
    ort = pytest.importorskip("onnxruntime")
    import deltaprop as dp

    out = tmp_path / "run"
    code, stdout, err = run_cli("train", "--data", "mnist1d", "--rnn", "gru:6:bi", "--layers", "none", "--epochs", "1",
                                "--out", out, "--quiet")
    assert code == 0, err
    assert "40×1 → rnn gru:6:bi → 10" in stdout
    code, _, err = run_cli("export", out / "model.safetensors", "--out", out / "model.onnx")
    assert code == 0, err
    code, _, err = run_cli("predict", out / "model.safetensors", "--data", "mnist1d", "--out", tmp_path / "p.csv")
    assert code == 0, err
    import pandas as pd

    expected = pd.read_csv(tmp_path / "p.csv")["prediction"].to_numpy()
    features = np.asarray(dp.datasets.load("mnist1d").features, dtype=np.float64)
    session = ort.InferenceSession(str(out / "model.onnx"))
    (label,) = session.run(["label"], {"numbers": features})
    assert (label == expected).mean() > 0.998           # a tie between two classes may round either way
