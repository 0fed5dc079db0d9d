import numpy as np
import pytest

import deltaprop as dp


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def away_from_kink(x: np.ndarray, margin: float = 0.05) -> np.ndarray:
    """Push values out of (−margin, margin) so finite differences never straddle a ReLU kink."""
    return np.where(np.abs(x) < margin, np.sign(x + 1e-12) * (margin + np.abs(x)), x)


# The 2-2-1 sigmoid network of the README's worked example, and its backpropagation step by hand.
WORKED_W1, WORKED_b1 = np.array([[0.15, 0.25], [0.20, 0.30]]), np.array([0.35, 0.35])
WORKED_W2, WORKED_b2 = np.array([[0.40], [0.45]]), np.array([0.60])


def worked_step_by_hand(x: np.ndarray, y: np.ndarray) -> dict:
    """Z, A, MSE loss and δ of the worked 2-2-1 example, from the formulas written out here."""
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    Z1 = x @ WORKED_W1 + WORKED_b1
    A1 = sigmoid(Z1)
    Z2 = A1 @ WORKED_W2 + WORKED_b2
    A2 = sigmoid(Z2)
    delta2 = 2 * (A2 - y) / A2.size * A2 * (1 - A2)   # ∂L/∂A · f'(Z) at the output (MSE: mean over N·1)
    delta1 = (delta2 @ WORKED_W2.T) * A1 * (1 - A1)    # (δ·Wᵀ) ⊙ f'(Z) one layer back
    return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2, "L": np.mean((A2 - y) ** 2), "delta2": delta2, "delta1": delta1}


def run_cli(*args, cwd=None, env=None, timeout=600, **options):
    """Run the installed ``deltaprop`` command (as a user would): (exit code, stdout, stderr)."""
    import os
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(sys.executable), "deltaprop")
    launcher = [script] if os.path.exists(script) else [sys.executable, "-m", "deltaprop"]
    result = subprocess.run([*launcher, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                            env=env, **options)
    return result.returncode, result.stdout, result.stderr


def packaged_file(package: str, *parts: str) -> str:
    """A data file shipped inside an installed package (skips the test if the package is absent)."""
    import importlib.util
    import os

    spec = importlib.util.find_spec(package)
    if spec is None:
        pytest.skip(f"{package} is not installed")
    return os.path.join(os.path.dirname(spec.origin), *parts)


class FailAt(dp.Callback):
    """Raises ``error`` (default: RuntimeError("stop")) at the end of epoch ``epoch`` (0-based): a full disk, a
    MemoryError, a bug."""

    def __init__(self, epoch, error=None):
        self.epoch, self.error = epoch, error if error is not None else RuntimeError("stop")

    def on_epoch_end(self, epoch, logs):
        if epoch == self.epoch:
            raise self.error


def load_example(name: str):
    """examples/NAME.py as a module (the runs the docs and slow tests share)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
