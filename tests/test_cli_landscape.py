"""``deltaprop landscape RUN`` and what ``deltaprop report`` shows of it."""
import json

import numpy as np
import pytest
from conftest import run_cli

pytest.importorskip("matplotlib")
pytest.importorskip("scipy")
SMALL = ["--samples", "80", "--grid", "5", "--points", "9", "--lanczos-steps", "10", "--trace-vectors", "6",
         "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "iris"
    code, _, err = run_cli("train", "--data", "iris", "--out", folder, "--epochs", "20", "--optimizer", "sgd",
                           "--lr", "0.05", "--quiet")
    assert code == 0, err
    return folder


def test_landscape_writes_its_pictures_and_measures_and_the_report_shows_them(run_dir):
    from PIL import Image

    code, out, err = run_cli("landscape", run_dir, *SMALL)
    assert code == 0, err
    assert "λ_max" in out and "B_simple" in out and "wrote landscape-1d.png" in out
    for name in ("landscape-1d.png", "landscape-2d.png"):
        with Image.open(run_dir / name) as image:
            assert image.size[0] > 400
    measures = json.loads((run_dir / "curvature.json").read_text())
    eigenvalues = measures["eigenvalues"]
    assert len(eigenvalues) == 3 and eigenvalues == sorted(eigenvalues, reverse=True) and eigenvalues[0] > 0
    assert measures["stability"] == pytest.approx(0.05 * eigenvalues[0] / 2)
    assert measures["trace"]["standard_error"] > 0 and measures["noise_scale"]["b_simple"] > 0
    line = measures["line"]
    assert len(line["alphas"]) == 9 and np.argmin(line["loss"]) == 4          # a trained model: the valley's bottom
    assert np.array(measures["plane"]["loss"]).shape == (5, 5)
    assert measures["samples"] == 80
    code, _, err = run_cli("report", run_dir)
    assert code == 0, err
    page = (run_dir / "report.html").read_text()
    assert "<h2>Curvature</h2>" in page and "<h2>Loss landscape</h2>" in page and page.count("data:image/png") >= 3
    leftovers = [p.name for p in run_dir.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_ctrl_c_during_the_measures_writes_nothing(run_dir, tmp_path, monkeypatch, capsys):
    import shutil

    import deltaprop as dp
    from deltaprop.cli import main

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    for name in ("landscape-1d.png", "landscape-2d.png", "curvature.json"):
        (copy / name).unlink(missing_ok=True)
    before = sorted(p.name for p in copy.iterdir())

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(dp.curvature.Hessian, "trace", interrupted)
    assert main(["landscape", str(copy), *SMALL]) == 130
    assert sorted(p.name for p in copy.iterdir()) == before
    assert "interrupted" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["no/such/run"], "no such run folder"),
    (["RUN", "--grid", "1"], "--grid and --points must be at least 2"),
    (["RUN", "--samples", "0"], "--samples must be at least 1"),
])
def test_bad_arguments_are_one_line_with_exit_2(run_dir, args, message):
    code, _, err = run_cli("landscape", *[str(run_dir) if a == "RUN" else a for a in args])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_damaged_curvature_file_is_named_by_the_report(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "curvature.json").write_text('{"eigenvalues": "many"}')
    code, _, err = run_cli("report", copy)
    assert code == 2 and "curvature.json: damaged" in err


def test_train_with_sharpness_records_it_every_n_epochs_and_the_report_plots_it(tmp_path):
    import csv

    out = tmp_path / "run"
    code, _, err = run_cli("train", "--data", "iris", "--out", out, "--epochs", "5", "--optimizer", "sgd",
                                "--lr", "0.1", "--sharpness", "2")
    assert code == 0, err
    with open(out / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    measured = [row["sharpness"] != "" for row in rows]
    assert measured == [True, True, False, True, False]                   # epochs 1, 2, 4
    for row in rows:
        if row["sharpness"]:
            assert float(row["stability"]) == pytest.approx(0.1 * float(row["sharpness"]) / 2)
    assert "sharpness = 2" in (out / "config.toml").read_text()
    code, _, err = run_cli("report", out)
    assert code == 0, err
    assert "<h2>Sharpness</h2>" in (out / "report.html").read_text()
    code, _, err = run_cli("train", "--data", "iris", "--out", tmp_path / "bad", "--sharpness", "-1")
    assert code == 2 and "--sharpness must be 0 (off) or a number of epochs" in err


def test_a_run_on_a_folder_of_npy_arrays_is_refused_in_one_line_by_landscape_and_evaluate(tmp_path):
    import numpy as np

    folder = tmp_path / "arrays"
    folder.mkdir()
    rng = np.random.default_rng(0)
    np.save(folder / "X.npy", rng.normal(size=(200, 3)).astype(np.float32))
    np.save(folder / "y.npy", rng.integers(0, 2, size=200))
    code, _, err = run_cli("train", "--data", folder, "--out", tmp_path / "run", "--epochs", "2", "--quiet")
    assert code == 0, err
    for args in (["landscape", tmp_path / "run"],
                 ["evaluate", tmp_path / "run" / "model.safetensors", "--data", folder, "--split", "test"]):
        code, _, err = run_cli(*args)
        assert code == 2 and "read by deltaprop train only" in err and len(err.strip().splitlines()) == 1
