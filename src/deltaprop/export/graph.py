"""OnnxGraph: what a layer's ``to_onnx`` builds its part of an ONNX graph with.

Layers describe their eval-mode forward pass as ONNX operators through this small interface — they
never import ``onnx``. Nodes are made with the ``onnx`` package's helper API. Operators whose float64
kernels onnxruntime lacks are never emitted for float64 graphs: the layers use the primitives
`expm1()` and `log1p()`, written to stay accurate (no cancellation near 0).
"""
from __future__ import annotations

import numpy as np


class OnnxGraph:
    """Nodes, initializers and a name counter for one graph of dtype ``dtype`` at ``opset``."""

    def __init__(self, dtype, opset: int):
        from onnx import helper, numpy_helper

        self._helper, self._numpy_helper = helper, numpy_helper
        self.dtype = np.dtype(dtype)
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0
        self._taken: set = set()

    def name(self, hint: str) -> str:
        """A new tensor name from ``hint`` that no other tensor has, and none the graph's inputs and outputs take."""
        while True:
            self._count += 1
            name = f"{hint}_{self._count}"
            if name not in self._taken:
                self._taken.add(name)
                return name

    def reserve(self, name: str) -> str:
        """Keep ``name`` (a graph input's or output's, chosen outside) from being given to another tensor; a name
        already taken gets a suffix (``label`` → ``label_input``, then ``label_input_2`` …). Returns the name kept."""
        candidate, number = name, 1
        while candidate in self._taken:
            number += 1
            candidate = f"{name}_input" if number == 2 else f"{name}_input_{number - 1}"
        self._taken.add(candidate)
        return candidate

    def constant(self, value, hint: str = "const", dtype=None) -> str:
        """An initializer holding ``value`` (floating values in the graph's dtype unless ``dtype`` says)."""
        array = np.asarray(value)
        if dtype is not None:
            array = array.astype(dtype)
        elif array.dtype.kind == "f":
            array = array.astype(self.dtype)
        name = self.name(hint)
        self.initializers.append(self._numpy_helper.from_array(array, name))
        return name

    def scalar(self, value: float) -> str:
        """A 0-d constant of the graph's dtype (broadcasts against any tensor)."""
        return self.constant(np.array(value, dtype=self.dtype), "scalar")

    def op(self, op_type: str, *inputs: str, **attributes) -> str:
        """A node ``op_type(inputs)`` with one output; returns the output's name."""
        output = self.name(op_type.lower())
        self.nodes.append(self._helper.make_node(op_type, list(inputs), [output], **attributes))
        return output

    def op_outputs(self, op_type: str, inputs: list, n_outputs: int, **attributes) -> list:
        """A node with ``n_outputs`` outputs (an RNN's sequence and final state); ``""`` in ``inputs`` leaves an
        optional input out. Returns the outputs' names."""
        outputs = [self.name(f"{op_type.lower()}_out") for _ in range(n_outputs)]
        self.nodes.append(self._helper.make_node(op_type, list(inputs), outputs, **attributes))
        return outputs

    def reduce(self, op_type: str, x: str, axes, keepdims: int = 1) -> str:
        """ReduceMin/ReduceMax/ReduceSum over ``axes`` (an attribute or an input, as the opset wants)."""
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, x, self.constant(np.array(axes, dtype=np.int64), "axes", np.int64),
                           keepdims=keepdims)
        return self.op(op_type, x, axes=list(axes), keepdims=keepdims)

    # ----------------------------------------------------- operators that need care
    def reduce_mean(self, x: str, axes) -> str:
        """ReduceMean over ``axes`` keeping them (an attribute before opset 18, an input since)."""
        if self.opset >= 18:
            return self.op("ReduceMean", x, self.constant(np.array(axes, dtype=np.int64), "axes", np.int64),
                           keepdims=1)
        return self.op("ReduceMean", x, axes=list(axes), keepdims=1)

    def expm1(self, z: str) -> str:
        """e^z − 1 = 2t / (1 − t) with t = tanh(z/2): exact near 0, where Exp(z) − 1 cancels."""
        t = self.op("Tanh", self.op("Mul", z, self.scalar(0.5)))
        return self.op("Div", self.op("Mul", t, self.scalar(2.0)), self.op("Sub", self.scalar(1.0), t))

    def log1p(self, u: str) -> str:
        """ln(1 + u) for u ≥ 0, as ln(w)·u/(w − 1) with w = 1 + u (u where w rounds to 1): exact for tiny u."""
        w = self.op("Add", self.scalar(1.0), u)
        d = self.op("Sub", w, self.scalar(1.0))
        is_one = self.op("Equal", d, self.scalar(0.0))
        safe = self.op("Where", is_one, self.scalar(1.0), d)
        return self.op("Where", is_one, u, self.op("Div", self.op("Mul", self.op("Log", w), u), safe))
