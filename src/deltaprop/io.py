"""Model files: ``save`` and ``load`` in the safetensors format — the one place that reads them.

Layout of a file written by [`save()`][deltaprop.save]:

* tensors — each parameter under its name (``"0.W"``, ``"0.b"``), each layer state array under
  ``"<layer index>.<key>"`` (``"1.running_mean"``), and optionally the optimizer state under
  ``"optimizer/<parameter name>/<key>"``;
* header metadata, key ``"deltaprop"`` — a JSON object: format version, deltaprop version,
  dtype, the architecture (a list of ``{"type": layer class, "config": constructor arguments}``),
  the preprocessing (or null), a sample's shape where the layers leave sizes open (``input_shape``,
  e.g. [1, 28, 28] for a CNN), and optionally the optimizer's type, hyperparameters and step counts
  and the training step.

Loading never unpickles or evaluates anything: it reads the header with the safetensors
library, builds only layer types registered in `deltaprop.layers.LAYERS` (the built-in ones,
and a user's after ``@dp.register_layer``) from plain JSON arguments, and checks every tensor against
the architecture. Any problem raises [`ModelFileError`][deltaprop.ModelFileError].
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from . import tensorfile
from .errors import ModelFileError
from .layers import LAYERS
from .optim import OPTIMIZERS
from .preprocessing import Preprocessor

FORMAT = "deltaprop-model"
FORMAT_VERSION = 2          # 2: a checksum of every byte in the header (version 1 files, without one, still load)
LEGACY_VERSIONS = (1,)
OPTIMIZER_PREFIX = "optimizer/"
DTYPES = {"float32": np.float32, "float64": np.float64}


@dataclass
class Checkpoint:
    """What [`load_checkpoint()`][deltaprop.load_checkpoint] returns: the model, the optimizer (or None) and the training step."""

    model: object
    optimizer: object
    step: int
    info: dict  # free-form run information saved with the model (the CLI keeps its data and split here)


# ---------------------------------------------------------------------------------------- save
def architecture(model) -> list:
    """``[{"type": "Dense", "config": {...}}, ...]`` — the layers as plain JSON data."""
    entries = []
    for index, layer in enumerate(model.layers):
        name = type(layer).__name__
        if name not in LAYERS or LAYERS.lookup(name) is not type(layer):
            raise TypeError(f"layer {index} ({name}) is not a registered layer type and cannot be saved: register "
                            "its class with @deltaprop.register_layer")
        entries.append({"type": name, "config": layer.config()})
    return entries


def _tensors_and_header(model, optimizer, step, info=None) -> tuple[dict, dict]:
    from ._version import __version__

    tensors = model.named_arrays()
    header = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "deltaprop_version": __version__,
        "dtype": np.dtype(model.dtype).name, "architecture": architecture(model),
        "preprocessing": None if model.preprocessing is None else model.preprocessing.to_config(),
    }
    if model.input_shape is not None and None not in model.input_shape and model.declared_input_shape:
        header["input_shape"] = list(model.input_shape)     # a CNN's sample size, which its layers do not fix
    if optimizer is not None:
        state_dict = optimizer.state_dict()
        steps = {}
        for param_name, state in state_dict["state"].items():
            for key, value in state.items():
                if isinstance(value, np.ndarray):
                    tensors[f"{OPTIMIZER_PREFIX}{param_name}/{key}"] = value
                else:
                    steps.setdefault(param_name, {})[key] = value
        header["optimizer"] = {"type": state_dict["type"], "lr": state_dict["lr"],
                               "hyper": state_dict["hyper"], "scalars": steps}
    if step is not None:
        header["step"] = int(step)
    if info:
        header["info"] = info
    return tensors, header


def save(model, path, *, optimizer=None, step: int | None = None, info: dict | None = None) -> None:
    """Write ``model`` (and optionally its optimizer state and training step) to ``path``.

    ``info`` is any JSON-serialisable dict to keep with the model (where its data came from).

    The write is atomic: the bytes go to a temporary file in the same folder, which is flushed,
    fsynced and renamed over ``path``. An interrupted save leaves any earlier file at ``path``
    untouched and no partial file behind.
    """
    from .model import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a deltaprop Sequential, got {type(model).__name__}")
    tensorfile.write(path, *_tensors_and_header(model, optimizer, step, info))


def to_bytes(model, *, info: dict | None = None) -> bytes:
    """The bytes [`save()`][deltaprop.io.save] writes for ``model`` (no optimizer state), for sending rather than
    storing: ``load`` reads them back from a file."""
    from .model import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a deltaprop Sequential, got {type(model).__name__}")
    return tensorfile.encode(*_tensors_and_header(model, None, None, info))


# ---------------------------------------------------------------------------------------- load
def _read(path: str) -> tuple[dict, dict]:
    """The header (parsed and checked to describe a model) and the tensors of a model file."""
    header, tensors = tensorfile.read(path, ModelFileError, "model file", legacy_versions=LEGACY_VERSIONS)
    if header.get("format") != FORMAT:
        raise ModelFileError(f"{path}: the deltaprop metadata does not describe a model (format {FORMAT!r})")
    if header.get("format_version") not in (FORMAT_VERSION, *LEGACY_VERSIONS):
        raise ModelFileError(f"{path}: model format version {header.get('format_version')!r} is not supported "
                             f"(this deltaprop reads version {FORMAT_VERSION})")
    return header, tensors


def _check_shapes(index: int, cls, config: dict, tensors: dict, path: str) -> None:
    """The arrays layer ``index`` would hold, compared with the file's tensors before the layer is built: a
    header may not claim more than the file holds (a 112 KB file describing a 3.6 GB Dense)."""
    try:
        expected = cls.expected_shapes(config)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: layer {index} ({cls.__name__}): bad arguments: {exc}") from None
    for name, shape in (expected or {}).items():
        tensor = tensors.get(f"{index}.{name}")
        if tensor is None:
            raise ModelFileError(f"{path}: missing tensor(s) '{index}.{name}' of layer {index} ({cls.__name__})")
        if tuple(tensor.shape) != tuple(shape):
            raise ModelFileError(f"{path}: tensor '{index}.{name}' has shape {tuple(tensor.shape)}, the architecture "
                                 f"needs {tuple(shape)} (layer {index}, {cls.__name__})")


def _build(header: dict, tensors: dict, path: str):
    from .model import Sequential

    dtype_name = header.get("dtype")
    if not isinstance(dtype_name, str) or dtype_name not in DTYPES:
        raise ModelFileError(f"{path}: dtype {dtype_name!r} is not one of {', '.join(DTYPES)}")
    entries = header.get("architecture")
    if not isinstance(entries, list) or not entries:
        raise ModelFileError(f"{path}: the architecture must be a non-empty list of layers")
    layers = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("config", {}), dict):
            raise ModelFileError(f"{path}: layer {index}: expected {{\"type\": ..., \"config\": {{...}}}}")
        layer_type = entry.get("type")
        try:
            cls = LAYERS.lookup(layer_type)
        except ValueError:
            raise ModelFileError(f"{path}: layer {index}: unknown layer type {layer_type!r} (register it with "
                                 "@deltaprop.register_layer before loading)") from None
        _check_shapes(index, cls, entry.get("config", {}), tensors, path)
        try:
            layers.append(cls(**entry.get("config", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{path}: layer {index} ({layer_type}): bad arguments: {exc}") from None
    input_shape = header.get("input_shape")
    if input_shape is not None and (not isinstance(input_shape, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in input_shape)):
        raise ModelFileError(f"{path}: input_shape must be a list of positive integers, got {input_shape!r}")
    try:
        model = Sequential(layers, dtype=dtype_name, input_shape=input_shape)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the architecture is inconsistent: {exc}") from None
    if header.get("preprocessing") is not None:
        try:
            pre = model.preprocessing = Preprocessor.from_config(header["preprocessing"])
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"{path}: bad preprocessing: {exc}") from None
        if model.n_in is not None and pre.n_inputs != model.n_in:
            raise ModelFileError(f"{path}: preprocessing gives {pre.n_inputs} inputs but the network takes "
                                 f"{model.n_in}")
        if model.n_out is not None and pre.n_outputs != model.n_out:
            what = f"{pre.n_outputs} class names" if pre.task == "classification" else "a regression (one value)"
            raise ModelFileError(f"{path}: the preprocessing describes {what} but the network has {model.n_out} "
                                 "outputs")
    return model


def _fill(model, tensors: dict, path: str) -> None:
    own = {name: value for name, value in tensors.items() if not name.startswith(OPTIMIZER_PREFIX)}
    try:
        model.check_named_arrays(own)
    except ValueError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    for name, target in model.named_arrays().items():
        target[...] = own[name]


def _optimizer(header: dict, tensors: dict, model, path: str):
    spec = header.get("optimizer")
    if spec is None:
        return None
    if not isinstance(spec, dict) or not isinstance(spec.get("hyper"), dict) \
            or not isinstance(spec.get("scalars", {}), dict):
        raise ModelFileError(f"{path}: bad optimizer state: 'optimizer' must be an object with a 'hyper' object")
    try:
        cls = OPTIMIZERS.lookup(str(spec["type"]))
        optimizer = cls(lr=spec["lr"], **spec["hyper"])
        state = {}
        for name, value in tensors.items():
            if name.startswith(OPTIMIZER_PREFIX):
                param_name, _, key = name[len(OPTIMIZER_PREFIX):].rpartition("/")
                state.setdefault(param_name, {})[key] = value.copy()
        for param_name, scalars in spec.get("scalars", {}).items():
            if not isinstance(scalars, dict):
                raise ValueError(f"the scalars of {param_name!r} must be an object")
            state.setdefault(param_name, {}).update(scalars)
        state_dict = {"type": cls.__name__, "lr": spec["lr"], "hyper": spec["hyper"], "state": state}
        optimizer.check_state_dict(state_dict, model.parameters(), same_hyper=False)
        optimizer.load_state_dict(state_dict)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{path}: bad optimizer state: {exc}") from None
    return optimizer


def load_checkpoint(path) -> Checkpoint:
    """The model, optimizer (None if the file has none) and training step (0 if none) saved at ``path``."""
    path = os.fspath(path)
    header, tensors = _read(path)
    try:
        model = _build(header, tensors, path)
    except RecursionError:
        raise ModelFileError(f"{path}: the architecture nests blocks too deeply") from None
    _fill(model, tensors, path)
    optimizer = _optimizer(header, tensors, model, path)
    step = header.get("step", 0)
    if not isinstance(step, int) or step < 0:
        raise ModelFileError(f"{path}: step must be a non-negative integer, got {step!r}")
    info = header.get("info", {})
    if not isinstance(info, dict):
        raise ModelFileError(f"{path}: info must be a JSON object")
    return Checkpoint(model, optimizer, step, info)


def load(path):
    """The model saved at ``path`` by [`save()`][deltaprop.save] (a Sequential, with ``.preprocessing`` if it had one).

    Raises
    ------
    ModelFileError
        For any file that is not a complete, consistent deltaprop model; the message says why.
    """
    return load_checkpoint(path).model
