"""deltaprop explain (checked against the step computed here by hand) and the HTML report."""
import base64
import io
import re

import numpy as np
import pytest

from conftest import WORKED_W1, WORKED_W2, WORKED_b1, WORKED_b2, worked_step_by_hand
from deltaprop.cli import main


def numbers(line: str) -> np.ndarray:
    """The numbers after the last '=' of a printed line."""
    return np.array([float(v) for v in re.findall(r"-?\d+\.\d+", line.rsplit("=", 1)[1])])


def numbers_in(text: str) -> np.ndarray:
    return np.array([float(v) for v in re.findall(r"-?\d+\.\d+", text)])


def line_starting(output: str, prefix: str, last: bool = False) -> str:
    lines = [line for line in output.splitlines() if line.strip().startswith(prefix)]
    return lines[-1] if last else lines[0]


def test_explain_prints_the_step_the_formulas_give(capsys):
    assert main(["explain", "--lr", "0.5"]) == 0
    out = capsys.readouterr().out
    # the same step, written out independently
    x, y = np.array([[0.05, 0.10]]), np.array([[0.01]])
    W1, b1, W2, b2 = WORKED_W1, WORKED_b1, WORKED_W2, WORKED_b2
    hand = worked_step_by_hand(x, y)
    Z1, A1, Z2, A2, L, d2, d1 = (hand[k] for k in ("Z1", "A1", "Z2", "A2", "L", "delta2", "delta1"))
    expected = {
        "Z1 =": Z1, "A1 =": A1, "Z2 =": Z2, "A2 =": A2, "L =": L, "δ2 =": d2, "δ1 =": d1,
        "∂L/∂W2 =": A1.T @ d2, "∂L/∂b2 =": d2.sum(0), "∂L/∂W1 =": x.T @ d1, "∂L/∂b1 =": d1.sum(0),
    }
    for prefix, value in expected.items():
        np.testing.assert_allclose(numbers(line_starting(out, prefix)), np.ravel(value), atol=1e-6, err_msg=prefix)
    assert numbers(line_starting(out, "L ="))[0] == pytest.approx(0.549622, abs=1e-6)   # the README example
    update = line_starting(out, "W2 = [", last=True)   # the updated weights, after the initial ones
    new_W2, new_b2 = numbers_in(update.split("b2")[0]), numbers(update)
    np.testing.assert_allclose(new_W2, np.ravel(W2 - 0.5 * A1.T @ d2), atol=1e-6)
    np.testing.assert_allclose(new_b2, b2 - 0.5 * d2.sum(0), atol=1e-6)
    update = line_starting(out, "W1 = [", last=True)
    np.testing.assert_allclose(numbers_in(update.split("b1")[0]), np.ravel(W1 - 0.5 * x.T @ d1), atol=1e-6)
    np.testing.assert_allclose(numbers(update), b1 - 0.5 * d1.sum(0), atol=1e-6)
    # the phases appear in the order the algorithm runs them
    order = [out.index(heading) for heading in ("1. Forward", "2. Loss", "3. Output error", "4. Hidden error",
                                                "5. Gradients", "6. Update")]
    assert order == sorted(order)


def test_explain_with_random_weights_and_bad_options(capsys):
    assert main(["explain", "--seed", "3", "--hidden", "3", "--activation", "tanh"]) == 0
    assert "2-3-1 network: Tanh" in capsys.readouterr().out
    assert main(["explain", "--input", "1,2,3"]) == 2
    assert "--input must be 2 comma-separated numbers" in capsys.readouterr().err


def test_report_after_train_with_diagnose(tmp_path, capsys):
    PIL = pytest.importorskip("PIL.Image")
    run = tmp_path / "run"
    assert main(["train", "--data", "digits", "--layers", "32,32", "--epochs", "3", "--diagnose", "--quiet",
                 "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "gradient-flow findings before training" in out and "findings after training (gradient flow, learning rate, batch)" in out
    for name in ("diagnostics.csv", "activations.npz", "findings.json", "report.html"):
        assert (run / name).stat().st_size > 0, name
    document = (run / "report.html").read_text()
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", document)
    assert len(images) == 3     # curves, gradient heatmap, activation histograms
    for encoded in images:
        image = PIL.open(io.BytesIO(base64.b64decode(encoded)))
        image.verify()
        assert image.format == "PNG" and image.size[0] > 300
    assert "<h2>Findings</h2>" in document and "Before training" in document
    assert "http" not in document.replace("http-equiv", "")   # nothing fetched from the network
    # 'deltaprop report' rewrites it from the run folder
    (run / "report.html").unlink()
    assert main(["report", str(run)]) == 0
    assert (run / "report.html").exists()


def test_report_on_a_bad_folder(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "no such run folder" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2
    assert "no history.csv" in capsys.readouterr().err
