"""Run settings: defaults, a config.toml from an earlier run, and the command-line options, in that order.

Every setting has a type; a value of the wrong type in a config file is an [`InputError`][deltaprop.InputError]
naming the key and the file. ``out`` is never read from or written to a run's config.toml: a
re-run with ``--config`` gets a new run folder unless ``--out`` is given.
"""
from __future__ import annotations

import json
import math
import os
import sys

from .._files import atomic_path
from ..errors import InputError

AUTO = "auto"

#: name → (accepted types, default). "auto" defaults are resolved from the data (see train.adapt).
SETTINGS = {
    "data": ((str,), "digits"),
    "target": ((str, type(None)), None),
    "task": ((str,), AUTO),
    "layers": ((str, list), "128,64"),
    "activation": ((str,), "relu"),
    "normalization": ((str,), "none"),
    "dropout": ((float, int), AUTO),
    "loss": ((str,), AUTO),
    "optimizer": ((str,), "adam"),
    "lr": ((float, int), 1e-3),
    "epochs": ((int,), AUTO),
    "batch_size": ((int,), AUTO),
    "val_split": ((float, int), AUTO),
    "test_split": ((float, int, type(None)), None),
    "patience": ((int,), AUTO),
    "clip_norm": ((float, int, type(None)), None),
    "seed": ((int,), 0),
    "dtype": ((str,), "float32"),
    "drop": ((list,), []),
    "keep": ((list,), []),
    "no_header": ((bool,), False),
    "header": ((bool,), False),
    "decimal": ((str,), "auto"),
    "missing": ((str,), "auto"),
    "diagnose": ((bool,), False),
    "sharpness": ((int,), 0),
    "conv": ((str, type(None)), None),
    "rnn": ((str, type(None)), None),
    "input_shape": ((str, type(None)), None),
    "pool": ((str,), "none"),
}
#: settings that describe where a run goes or how it is launched, not what it computes: never saved
NOT_SAVED = {"out", "overwrite", "config", "quiet", "resume", "distributed", "threads"}
CHOICES = {
    "task": ("auto", "classification", "regression"),
    "normalization": ("none", "batchnorm", "layernorm"),
    "dtype": ("float32", "float64"),
    "pool": ("none", "max", "avg"),
    "decimal": ("auto", "point", "comma"),
    "missing": ("auto", "impute", "drop", "refuse"),
}
DEFAULTS = {name: default for name, (_, default) in SETTINGS.items()}
TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", list: "a list", bool: "true or false",
              type(None): "absent"}


def _check_type(key: str, value, where: str) -> None:
    """A config value must have the setting's type ("auto" where the default is "auto"), be finite, and be
    one of the setting's choices if it has any."""
    types, default = SETTINGS[key]
    if default == AUTO and value == AUTO:
        return
    if isinstance(value, bool) != (bool in types) or not isinstance(value, types):
        names = dict.fromkeys(TYPE_NAMES[float if t is int and float in types else t] for t in types
                              if t is not type(None))
        expected = " or ".join(names) + (' or "auto"' if default == AUTO and str not in types else "")
        raise InputError(f"{where}: {key} must be {expected}, got {json.dumps(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{where}: {key} must be a finite number, got {value!r}")
    if key in ("drop", "keep") and not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}: {key} must be a list of column names, got {value!r}")
    if key in CHOICES and value not in CHOICES[key]:
        raise InputError(f"{where}: {key} must be one of {', '.join(CHOICES[key])}, got {value!r}")


def read_toml(path: str) -> dict:
    """The ``[train]`` table of a config.toml, each value checked for its type."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    where = f"--config {path}"
    if not os.path.isfile(path):
        raise InputError(f"{where}: no such file")
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: not valid TOML ({exc})") from None
    except RecursionError:
        raise InputError(f"{where}: nested too deeply to be a deltaprop config") from None
    except UnicodeDecodeError:
        raise InputError(f"{where}: not UTF-8 text") from None
    settings = data.get("train", data)
    if not isinstance(settings, dict):
        raise InputError(f"{where}: [train] must be a table of settings")
    unknown = sorted(set(settings) - set(SETTINGS) - NOT_SAVED)
    if unknown:
        raise InputError(f"{where}: unknown setting(s) {', '.join(unknown)}")
    for key in NOT_SAVED & set(settings):  # an older run's folder or flags: where it went, not what it computed
        del settings[key]
    for key, value in settings.items():
        _check_type(key, value, where)
    if "data" in settings:
        settings["data"] = data_from_config(settings["data"], path)
    return settings


def data_from_config(data: str, config_path: str) -> str:
    """A data path read from a config.toml, relative to the config's folder (where a run's config.toml keeps it;
    an older one kept it relative to the folder training ran in, which is tried second)."""
    from ..datasets import BUILTIN

    if data in BUILTIN or os.path.isabs(data):
        return data
    beside = os.path.join(os.path.dirname(config_path), data)
    if os.path.exists(beside) or not os.path.exists(data):
        return os.path.relpath(beside)
    return data


def data_for_config(data: str, config_path: str) -> str:
    """A data path as a config.toml keeps it: relative to the config's folder, so that the run can be repeated
    from anywhere (``deltaprop train --config runs/pets/config.toml``)."""
    from ..datasets import BUILTIN

    if data in BUILTIN or os.path.isabs(data) or not os.path.exists(data):
        return data
    return os.path.relpath(os.path.abspath(data), os.path.dirname(os.path.abspath(config_path)))


def resolve(args) -> dict:
    """Defaults, overridden by --config's file, overridden by options given on the command line."""
    settings = dict(DEFAULTS)
    if getattr(args, "config", None):
        settings.update(read_toml(args.config))
    for key in SETTINGS:
        value = getattr(args, key, None)
        if value is not None and value is not False and value != []:
            settings[key] = value
    return settings


def write_toml(settings: dict, path: str) -> None:
    """The resolved settings as ``[train]`` in TOML (None values are left out), written atomically."""
    import tomli_w

    table = {key: value for key, value in settings.items() if value is not None and key not in NOT_SAVED}
    if "data" in table:
        table["data"] = data_for_config(table["data"], path)
    with atomic_path(path) as temporary, open(temporary, "wb") as file:
        tomli_w.dump({"train": table}, file)
