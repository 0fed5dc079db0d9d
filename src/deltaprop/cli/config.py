"""Run settings: defaults, a config.toml from an earlier run, and the command-line options, in that order."""
from __future__ import annotations

import os
import sys

from .._files import atomic_path

DEFAULTS = {
    "data": "digits", "target": None, "task": "auto", "layers": "128,64", "activation": "relu",
    "normalization": "none", "dropout": 0.0, "loss": "auto", "optimizer": "adam", "lr": 1e-3, "epochs": 40,
    "batch_size": 32, "val_split": 0.1, "test_split": None, "patience": 10, "seed": 0, "dtype": "float32",
    "out": None, "diagnose": False,
}


def read_toml(path: str) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    if not os.path.isfile(path):
        raise ValueError(f"--config {path}: no such file")
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"--config {path}: not valid TOML ({exc})") from None
    settings = data.get("train", data)
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"--config {path}: unknown setting(s) {', '.join(unknown)}")
    return settings


def resolve(args) -> dict:
    """Defaults, overridden by --config's file, overridden by options given on the command line."""
    settings = dict(DEFAULTS)
    if getattr(args, "config", None):
        settings.update(read_toml(args.config))
    for key in DEFAULTS:
        value = getattr(args, key, None)
        if value is not None and value is not False:
            settings[key] = value
    return settings


def write_toml(settings: dict, path: str) -> None:
    """The resolved settings as ``[train]`` in TOML (None values are left out), written atomically."""
    import tomli_w

    table = {key: value for key, value in settings.items() if value is not None}
    with atomic_path(path) as temporary, open(temporary, "wb") as file:
        tomli_w.dump({"train": table}, file)
