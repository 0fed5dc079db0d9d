"""What each command needs beyond the core (NumPy, safetensors), checked before it does anything."""
from __future__ import annotations

import importlib.util

from ..errors import InputError

#: import name → the package to install, for the 'cli' extra
CLI_PACKAGES = {"pandas": "pandas", "matplotlib": "matplotlib", "sklearn": "scikit-learn", "tomli_w": "tomli-w",
                "mnist1d": "mnist1d", "mlxtend": "mlxtend", "onnx": "onnx"}
NEEDS = {
    "train": ("pandas", "matplotlib", "sklearn", "tomli_w"),
    "evaluate": ("pandas", "sklearn"),
    "predict": ("pandas", "sklearn"),
    "datasets": ("pandas",),
    "report": ("matplotlib",),
    "landscape": ("pandas", "matplotlib", "sklearn"),
    "export": ("onnx",),
}
#: what 'deltaprop playground' needs, from the 'playground' extra
PLAYGROUND_PACKAGES = {"starlette": "starlette", "uvicorn": "uvicorn", "sklearn": "scikit-learn"}


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or blocked package counts as missing
        return False


def check(command: str) -> None:
    """Raise [`InputError`][deltaprop.InputError] naming the missing packages and the extra that brings them."""
    if command == "playground":
        missing = [package for module, package in PLAYGROUND_PACKAGES.items() if not installed(module)]
        if missing:
            raise InputError(f"'deltaprop playground' needs {', '.join(missing)}, not installed: "
                             "pip install 'deltaprop[playground]'")
        return
    missing = [CLI_PACKAGES[module] for module in NEEDS.get(command, ()) if not installed(module)]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise InputError(f"'deltaprop {command}' needs {', '.join(missing)}, which {verb} not installed: "
                         "pip install 'deltaprop[cli]'")
