"""The example runs (examples/NAME.py) the figure scripts draw from, loaded as modules, and how they save."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def example(name: str):
    """examples/NAME.py as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def save(figure, path) -> None:
    """Lay out ``figure``, write it as a PNG at ``path`` (100 dpi, as the docs' other pictures) and close it."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
