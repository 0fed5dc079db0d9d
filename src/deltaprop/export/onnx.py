"""``dp.export_onnx``: a trained model as an ONNX file that runs without deltaprop or Python.

The graph is the model's eval-mode forward pass (BatchNorm with its running statistics, Dropout as
the identity), with a dynamic batch dimension, built with the ``onnx`` package's helper API, in the
default ``ai.onnx`` domain only (no ZipMap, no ``ai.onnx.ml`` operators), and checked with
``onnx.checker`` (full check). Three kinds of model:

* a network (``dp.Sequential``): input ``X`` (N, features), output ``output`` — what ``predict`` returns;
* a network trained from a table (``deltaprop train``), with its preprocessing inside: inputs
  ``numbers`` (N, numeric columns) of float64 and one string input (N, 1) per text column, named as
  the column (a column named as an output or as ``numbers`` gets ``_input`` added: the metadata's
  ``text_inputs`` maps columns to input names), as ``deltaprop predict`` reads them; missing values
  (NaN numbers, empty strings) imputed as the model's preprocessing does; standardization and one-hot encoding (unseen categories → zeros)
  in the graph; outputs ``probabilities`` (N, K) and ``label`` (N,) of class names (integers when the
  classes are integers), or ``prediction`` (N,) in the target's units;
* a scikit-learn estimator of ``deltaprop.sklearn``: input ``X``; ``probabilities`` and ``label``
  (``classes_``), or ``prediction``.

Feature names, numeric and text columns, class names, the task and the deltaprop version are in the
model's metadata.
"""
from __future__ import annotations

import json
import os
import re

import numpy as np

from .._files import atomic_path
from ..errors import InputError
from .graph import OnnxGraph

DEFAULT_OPSET = 17
STRING_OPSET = 19   # Equal on strings (the one-hot encoding of text columns) needs opset 19


def _tensor_type(dtype):
    from onnx import TensorProto

    return {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE,
            np.dtype(np.int64): TensorProto.INT64, np.dtype(object): TensorProto.STRING}[np.dtype(dtype)]


def network(graph: OnnxGraph, model, x: str) -> str:
    """The network's layers, each exported by its own ``to_onnx``."""
    for index, layer in enumerate(model.layers):
        if layer.to_onnx is None:
            raise InputError(f"layer {index} ({type(layer).__name__}) has no ONNX export: give its class a "
                             "to_onnx(graph, x) method (see deltaprop.export.graph.OnnxGraph)")
        x = layer.to_onnx(graph, x)
    return x


def _class_output(graph: OnnxGraph, probabilities: str, classes) -> str:
    """``label``: the class with the highest probability, as a string or an integer."""
    classes = np.asarray(classes)
    names = classes.astype(str)
    if classes.dtype.kind in "iub" or all(re.fullmatch(r"[+-]?\d+", name) for name in names):
        values = names.astype(np.int64)          # integer classes, whether kept as numbers or as their names
    else:
        values = names.astype(object)
    index = graph.op("ArgMax", probabilities, axis=1, keepdims=0)
    return graph.op("Gather", graph.constant(values, "classes", values.dtype), index, axis=0), values.dtype


#: the names of the graph's outputs, never given to an input or another tensor
OUTPUT_NAMES = ("probabilities", "label", "prediction", "output")


def _table_inputs(graph: OnnxGraph, pre):
    """The preprocessing of a table model: graph inputs, and the standardized network input."""
    numeric = [c for c in pre.feature_columns if c not in pre.categories]
    inputs, pieces = [], []
    numbers_name = graph.reserve("numbers")
    if numeric:
        inputs.append((numbers_name, np.float64, ["N", len(numeric)]))
    text_inputs = {column: graph.reserve(column) for column in pre.categories}   # label → label_input: no clash
    for column in pre.feature_columns:
        if column in pre.categories:
            inputs.append((text_inputs[column], object, ["N", 1]))
            categories = np.array(pre.categories[column], dtype=object)
            equal = graph.op("Equal", text_inputs[column], graph.constant(categories, "categories", object))
            pieces.append(graph.op("Cast", equal, to=_tensor_type(np.float64)))     # unseen: all zeros
        else:
            position = numeric.index(column)
            value = graph.op("Slice", numbers_name, graph.constant(np.array([position]), "start", np.int64),
                             graph.constant(np.array([position + 1]), "end", np.int64),
                             graph.constant(np.array([1]), "axis", np.int64))
            if column in pre.medians:       # a missing value (NaN) takes the training median
                missing = graph.op("IsNaN", value)
                value = graph.op("Where", missing, graph.constant(np.array(pre.medians[column]), "median", np.float64),
                                 value)
            pieces.append(value)
            if column in pre.indicators:    # and the 0/1 "was missing" input follows
                pieces.append(graph.op("Cast", missing, to=_tensor_type(np.float64)))
    encoded = pieces[0] if len(pieces) == 1 else graph.op("Concat", *pieces, axis=1)
    standardized = graph.op("Div", graph.op("Sub", encoded, graph.constant(pre.mean, "mean", np.float64)),
                            graph.constant(pre.std, "std", np.float64))
    return inputs, graph.op("Cast", standardized, to=_tensor_type(graph.dtype)), numeric, text_inputs


def _build(obj, opset: int):
    """(graph, inputs, outputs, metadata) for a network, a table model or an estimator."""
    from .._version import __version__
    from ..model import Sequential

    estimator = getattr(obj, "model_", None) is not None and hasattr(obj, "out_activation_")
    model = obj.model_ if estimator else obj
    if not isinstance(model, Sequential):
        raise TypeError(f"export_onnx needs a deltaprop Sequential or a fitted deltaprop.sklearn estimator, got "
                        f"{type(obj).__name__}")
    graph = OnnxGraph(model.dtype, opset)
    metadata = {"deltaprop_version": __version__}
    pre = None if estimator else model.preprocessing
    for output in OUTPUT_NAMES:     # the outputs keep their names; an input named alike is renamed
        graph.reserve(output)
    if pre is not None:
        inputs, x, numeric, text_inputs = _table_inputs(graph, pre)
        if model.input_shape is not None and len(model.input_shape) > 1:   # a CNN: feature rows → (N, C, …)
            x = graph.op("Reshape", x, graph.constant(np.array([-1, *model.input_shape], dtype=np.int64), "shape",
                                                      dtype=np.int64))
        metadata.update(feature_columns=pre.feature_columns, numeric_columns=numeric,
                        text_columns=list(pre.categories), text_inputs=text_inputs, numbers_input=inputs[0][0] if numeric else None,
                        task=pre.task, target=pre.target_name)
    else:
        if model.input_shape is None:
            raise InputError("the model does not declare its input shape: its first layers are all shape-agnostic")
        inputs, x = [("X", model.dtype, ["N", *model.input_shape])], "X"
    logits = network(graph, model, x)
    outputs = []
    if estimator:
        activation = {"softmax": "Softmax", "logistic": "Sigmoid", "identity": None, "exp": "Exp"}[obj.out_activation_]
        a = graph.op(activation, logits, **({"axis": -1} if activation == "Softmax" else {})) if activation else logits
        if hasattr(obj, "classes_"):
            metadata.update(task="classification", class_names=[str(c) for c in obj.classes_])
            if obj.out_activation_ == "logistic" and obj.n_outputs_ == 1:      # binary: two columns, as predict_proba
                a = graph.op("Concat", graph.op("Sub", graph.scalar(1.0), a), a, axis=1)
            if obj.out_activation_ == "softmax" or obj.n_outputs_ == 1:
                label, label_dtype = _class_output(graph, a, obj.classes_)
                outputs += [("probabilities", a, model.dtype, ["N", len(obj.classes_)]),
                            ("label", label, label_dtype, ["N"])]
            else:                                                                   # multilabel: 0/1 per label
                label = graph.op("Cast", graph.op("Greater", a, graph.scalar(0.5)), to=_tensor_type(np.int64))
                outputs += [("probabilities", a, model.dtype, ["N", obj.n_outputs_]),
                            ("label", label, np.int64, ["N", obj.n_outputs_])]
        else:
            metadata.update(task="regression")
            shape = ["N"] if obj.n_outputs_ == 1 else ["N", obj.n_outputs_]
            if obj.n_outputs_ == 1:
                a = graph.op("Squeeze", a, graph.constant(np.array([1]), "axes", np.int64))
            outputs.append(("prediction", a, model.dtype, shape))
        metadata["feature_names"] = [str(name) for name in getattr(obj, "feature_names_in_", [])]
    elif pre is not None and pre.task == "classification":
        probabilities = graph.op("Softmax", logits, axis=-1)
        label, label_dtype = _class_output(graph, probabilities, pre.class_names)
        outputs += [("probabilities", probabilities, model.dtype, ["N", len(pre.class_names)]),
                    ("label", label, label_dtype, ["N"])]
        metadata["class_names"] = pre.class_names
    elif pre is not None:
        column = graph.op("Gather", graph.op("Cast", logits, to=_tensor_type(np.float64)),
                          graph.constant(np.array(0), "first", np.int64), axis=1)
        prediction = graph.op("Add", graph.op("Mul", column, graph.constant(pre.target_std, "target_std", np.float64)),
                              graph.constant(pre.target_mean, "target_mean", np.float64))
        outputs.append(("prediction", prediction, np.float64, ["N"]))
    else:
        outputs.append(("output", logits, model.dtype, ["N", *(model.output_shape or ())]))
    return graph, inputs, outputs, metadata


def to_onnx_model(obj, opset: int | None = None):
    """The ``onnx.ModelProto`` of a network, a table model or a fitted estimator (see the module docstring)."""
    import onnx
    from onnx import helper

    needs_strings = getattr(getattr(obj, "preprocessing", None), "categories", None)
    lowest = STRING_OPSET if needs_strings else 13
    if opset is None:
        opset = max(DEFAULT_OPSET, lowest)
    if not isinstance(opset, int) or isinstance(opset, bool):
        raise TypeError(f"opset must be an integer, got {opset!r}")
    if not lowest <= opset <= onnx.defs.onnx_opset_version():
        why = " (text columns are one-hot encoded with Equal on strings)" if needs_strings else ""
        raise ValueError(f"opset must be in [{lowest}, {onnx.defs.onnx_opset_version()}]{why}, got {opset}")
    graph, inputs, outputs, metadata = _build(obj, opset)
    for name, tensor, dtype, _ in outputs:   # name each output as promised
        graph.nodes.append(helper.make_node("Identity", [tensor], [name]))
    onnx_graph = helper.make_graph(
        graph.nodes, "deltaprop",
        [helper.make_tensor_value_info(name, _tensor_type(dtype), shape) for name, dtype, shape in inputs],
        [helper.make_tensor_value_info(name, _tensor_type(dtype), shape) for name, _, dtype, shape in outputs],
        initializer=graph.initializers)
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="deltaprop",
                              producer_version=metadata["deltaprop_version"])
    helper.set_model_props(model, {key: value if isinstance(value, str) else json.dumps(value)
                                   for key, value in metadata.items() if value is not None})
    onnx.checker.check_model(model, full_check=True)
    return model


def export_onnx(model, path, *, opset: int | None = None) -> None:
    """Write ``model`` — a ``dp.Sequential``, a model trained by ``deltaprop train`` (its preprocessing
    inside), or a fitted ``deltaprop.sklearn`` estimator — to ``path`` as ONNX, atomically.

    Parameters
    ----------
    model : Sequential or MLPClassifier/MLPRegressor
    path : str or path
    opset : int, optional
        The ONNX opset (default 17, or 19 when text columns need Equal on strings).

    Raises
    ------
    InputError
        A layer without an ONNX export (the message names it).
    """
    proto = to_onnx_model(model, opset)
    path = os.fspath(path)
    try:
        with atomic_path(path, suffix=".onnx") as temporary, open(temporary, "wb") as handle:
            handle.write(proto.SerializeToString())
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {path}: {exc.strerror}") from None
