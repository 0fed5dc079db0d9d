"""Recurrent layers — RNN, GRU, LSTM — and backpropagation through time.

The forward pass runs the cell once per time step with the same weights; the backward pass runs time in
reverse. At step t the error term for hₜ gathers two contributions, the one from the layer's output at t and
the one coming back from step t + 1 through W_hh::

    δhₜ = ∂L/∂outputₜ + (δpreₜ₊₁ · W_hhᵀ) + (direct path, GRU: zₜ₊₁ ⊙ δhₜ₊₁; LSTM: through cₜ)

and the gradients of the shared weights are sums over time: ∂L/∂W_hh = Σₜ hₜ₋₁ᵀ·δpreₜ, ∂L/∂W_ih = Σₜ xₜᵀ·δpreₜ
(one GEMM over all N·T rows for the input side, one per step for the hidden side).
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np

from .._checks import check_allocation, check_positive_int
from .._math import flush_subnormals
from ..parameter import Parameter
from .base import Layer, register_layer
from . import recurrent_kernels as kernels
from .recurrent_cells import CELLS


def parameter_layout(n_in: int, hidden: int, num_layers: int, directions: int, gates: int):
    """(shape, name) of every parameter, in order: per layer, per direction, W_ih, W_hh, b_ih, b_hh."""
    width = gates * hidden
    for layer in range(num_layers):
        inputs = n_in if layer == 0 else hidden * directions
        for suffix in ("", "_reverse")[:directions]:
            yield (inputs, width), f"W_ih_l{layer}{suffix}"
            yield (hidden, width), f"W_hh_l{layer}{suffix}"
            yield (width,), f"b_ih_l{layer}{suffix}"
            yield (width,), f"b_hh_l{layer}{suffix}"


@dataclass
class StepTrace:
    """One direction of one layer of a recurrent layer, through time: ``h`` (N, T, hidden) every state,
    ``gates`` each gate's activation by name (GRU r, z, n; LSTM i, f, g, o), ``delta`` every δₜ = ∂L/∂hₜ
    (None before a backward pass)."""

    layer: int
    direction: int
    h: np.ndarray
    gates: dict
    delta: np.ndarray | None


class _Recurrent(Layer):
    """Shared by RNN, GRU and LSTM: ``num_layers`` stacked layers, each one or two directions.

    Parameters (per layer l and direction, PyTorch's names with W transposed as in Dense, so that
    ``W_ih_l0 = weight_ih_l0.T``): ``W_ih_l{l}`` (inputs, G·H), ``W_hh_l{l}`` (H, G·H), ``b_ih_l{l}``,
    ``b_hh_l{l}`` (G·H); the reverse direction's end in ``_reverse``. G is 1 (RNN), 3 (GRU: r|z|n) or 4
    (LSTM: i|f|g|o). Initialised U(−1/√H, 1/√H), as PyTorch.
    """

    kind = "recurrent"
    cell_name = "rnn"
    #: True for cells whose gates carry δ across many steps (GRU, LSTM): what diagnose's advice needs to know
    gated = False

    def __init__(self, n_in: int, hidden: int, *, num_layers: int = 1, bidirectional: bool = False,
                 return_sequences: bool = False, mask_value: float | None = None, nonlinearity: str = "tanh",
                 bptt_steps: int | None = None, recurrent_init: str = "uniform"):
        super().__init__()
        if recurrent_init not in ("uniform", "orthogonal"):
            raise ValueError(f"recurrent_init must be 'uniform' or 'orthogonal', got {recurrent_init!r}")
        self.recurrent_init = recurrent_init
        #: truncated backpropagation through time: δ crosses no boundary between chunks of this many steps
        #: (None: the whole sequence); see `backward`. ``fit(..., tbptt=k)`` sets it while it trains.
        self.bptt_steps = None if bptt_steps is None else check_positive_int(bptt_steps, "bptt_steps")
        self.n_in = check_positive_int(n_in, "n_in")
        self.hidden = check_positive_int(hidden, "hidden")
        self.num_layers = check_positive_int(num_layers, "num_layers")
        self.bidirectional = bool(bidirectional)
        self.return_sequences = bool(return_sequences)
        if mask_value is not None and not (isinstance(mask_value, (int, float)) and math.isfinite(mask_value)):
            raise ValueError(f"mask_value must be a finite number or None, got {mask_value!r}")
        self.mask_value = None if mask_value is None else float(mask_value)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.cell = CELLS[self.cell_name](nonlinearity) if self.cell_name == "rnn" else CELLS[self.cell_name]()
        self.directions = 2 if self.bidirectional else 1
        width = self.cell.gates * self.hidden
        self._params = []
        for shape_in, name in self._parameter_layout():
            check_allocation(shape_in, np.float32, f"{type(self).__name__}({self.n_in}, {self.hidden})")
            self._params.append(Parameter(name, np.empty(shape_in, dtype=np.float32)))
        assert all(p.shape[-1] == width for p in self._params)
        #: the initial state for the next forward pass: h₀ (and c₀ for the LSTM), each of shape
        #: (num_layers·directions, N, hidden); None for zeros. After backward, ``grad_initial_state`` holds ∂L/∂h₀ …
        self.initial_state = None
        self.grad_initial_state = None
        self.final_state = None
        self.records = None
        self.reset_parameters(np.random.default_rng())

    # --------------------------------------------------------------- structure
    def _parameter_layout(self):
        return parameter_layout(self.n_in, self.hidden, self.num_layers, self.directions, self.cell.gates)

    @classmethod
    def expected_shapes(cls, config: dict) -> dict:
        layout = parameter_layout(check_positive_int(config["n_in"], "n_in"),
                                  check_positive_int(config["hidden"], "hidden"),
                                  check_positive_int(config.get("num_layers", 1), "num_layers"),
                                  2 if config.get("bidirectional", False) else 1, CELLS[cls.cell_name].gates)
        return {name: shape for shape, name in layout}

    def parameters(self) -> list:
        return list(self._params)

    @property
    def unit_axes(self) -> dict:
        """Column j of every W_ih and W_hh holds the incoming weights of gate unit j (for filter normalisation)."""
        return {name: 1 for name in self.parameter_names() if name.startswith("W_")}

    def reset_parameters(self, rng: np.random.Generator) -> None:
        """U(−1/√H, 1/√H) for every weight and bias, as PyTorch; with ``recurrent_init="orthogonal"`` each gate's
        H × H block of W_hh is then a random orthogonal matrix (all its singular values 1: δ keeps its norm
        through the linear part of each step)."""
        bound = 1.0 / math.sqrt(self.hidden)
        for param in self._params:
            param.value[...] = rng.uniform(-bound, bound, param.shape).astype(param.value.dtype)
        if self.recurrent_init == "orthogonal":
            H = self.hidden
            for param in self._params:
                if "_hh_" in param.name and param.name.split(".")[-1].startswith("W_"):
                    for gate in range(self.cell.gates):
                        q, r = np.linalg.qr(rng.standard_normal((H, H)))
                        param.value[:, gate * H:(gate + 1) * H] = q * np.sign(np.diag(r))

    @property
    def input_shape(self) -> tuple:
        return (None, self.n_in)

    def output_shape(self, input_shape: tuple) -> tuple:
        width = self.hidden * self.directions
        return (input_shape[0], width) if self.return_sequences else (width,)

    def config(self) -> dict:
        config = {"n_in": self.n_in, "hidden": self.hidden, "num_layers": self.num_layers,
                  "bidirectional": self.bidirectional, "return_sequences": self.return_sequences,
                  "mask_value": self.mask_value}
        if self.cell_name == "rnn":
            config["nonlinearity"] = self.nonlinearity
        if self.bptt_steps is not None:
            config["bptt_steps"] = self.bptt_steps
        if self.recurrent_init != "uniform":
            config["recurrent_init"] = self.recurrent_init
        return config

    def describe(self) -> str:
        extra = "".join([f", num_layers={self.num_layers}" if self.num_layers > 1 else "",
                         ", bidirectional" if self.bidirectional else "",
                         ", return_sequences" if self.return_sequences else ""])
        return f"{type(self).__name__}({self.n_in}, {self.hidden}{extra})"

    def _weights(self, layer: int, direction: int):
        start = 4 * (layer * self.directions + direction)
        return self._params[start:start + 4]        # W_ih, W_hh, b_ih, b_hh

    # ------------------------------------------------------------- forward pass
    def _mask(self, x) -> np.ndarray | None:
        """(N, T, 1) of 1 for real steps and 0 for padding (every feature equal to ``mask_value``), or None."""
        if self.mask_value is None:
            return None
        return (~np.all(x == self.mask_value, axis=2, keepdims=True)).astype(x.dtype)

    def _initial(self, N: int, dtype):
        count = self.num_layers * self.directions
        zeros = np.zeros((count, N, self.hidden), dtype=dtype)
        if self.initial_state is None:
            return zeros, (zeros.copy() if self.cell.has_cell else None)
        state = self.initial_state if isinstance(self.initial_state, (tuple, list)) else (self.initial_state,)
        expected = 2 if self.cell.has_cell else 1
        if len(state) != expected:
            raise ValueError(f"{self.label}: initial_state must be {'(h0, c0)' if expected == 2 else 'h0'}")
        arrays = [np.asarray(s, dtype=dtype) for s in state]
        for array in arrays:
            if array.shape != zeros.shape:
                raise ValueError(f"{self.label}: initial_state arrays must have shape {zeros.shape}, got {array.shape}")
        return arrays[0], (arrays[1] if self.cell.has_cell else None)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if x.ndim != 3 or x.shape[2] != self.n_in:
            raise ValueError(f"{self.label} expects input of shape (n_samples, time steps, {self.n_in}), got shape "
                             f"{x.shape}")
        if x.shape[1] == 0:
            raise ValueError(f"{self.label}: sequences need at least one time step")
        dtype = self._params[0].value.dtype
        x = np.asarray(x, dtype=dtype)
        mask = self._mask(x)
        h0, c0 = self._initial(x.shape[0], dtype)
        records, finals_h, finals_c = [], [], []
        inputs = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.directions):
                index = layer * self.directions + direction
                record = self._run(inputs, mask, layer, direction, h0[index], None if c0 is None else c0[index])
                records.append(record)
                outputs.append(record["h"])
                finals_h.append(record["h_last"])
                finals_c.append(record.get("c_last"))
            inputs = outputs[0] if self.directions == 1 else np.concatenate(outputs, axis=2)
        self.records = {"x": x, "mask": mask, "runs": records, "sequence": inputs}
        self.final_state = (np.stack(finals_h), np.stack(finals_c)) if self.cell.has_cell else np.stack(finals_h)
        if self.return_sequences:
            return inputs if mask is None else inputs * mask
        top = finals_h[-self.directions:]
        return top[0] if self.directions == 1 else np.concatenate(top, axis=1)

    def _run(self, inputs, mask, layer: int, direction: int, h, c) -> dict:
        """One direction of one layer over all steps: every hₜ, and what the backward pass needs."""
        W_ih, W_hh, b_ih, b_hh = (p.value for p in self._weights(layer, direction))
        N, T, _ = inputs.shape
        xw = (inputs.reshape(N * T, -1) @ W_ih + b_ih).reshape(N, T, -1)     # all steps' input projections
        if kernels.available(self.hidden):        # the whole loop compiled (small layers: Python overhead rules)
            ones = np.ones((N, T), dtype=inputs.dtype) if mask is None else np.ascontiguousarray(mask[:, :, 0])
            record = kernels.forward(self.cell_name, self.nonlinearity == "relu", xw, W_hh, b_hh, h,
                                     c if c is not None else np.zeros_like(h), ones, direction == 1)
            record.update(inputs=inputs, layer=layer, direction=direction, mask_rows=ones)
            return record
        steps = range(T - 1, -1, -1) if direction == 1 else range(T)
        hs = np.empty((N, T, self.hidden), dtype=inputs.dtype)
        previous_h = np.empty_like(hs)
        previous_c = np.empty_like(hs) if c is not None else None
        saved = [None] * T
        for t in steps:
            previous_h[:, t] = h
            if c is not None:
                previous_c[:, t] = c
            new_h, new_c, saved[t] = self.cell.forward(xw[:, t], h @ W_hh + b_hh, h, c)
            if mask is not None:                  # a padded step keeps the state
                m = mask[:, t]
                new_h = m * new_h + (1 - m) * h
                if new_c is not None:
                    new_c = m * new_c + (1 - m) * c
            h, c = new_h, new_c
            hs[:, t] = h
        record = {"inputs": inputs, "h": hs, "h_last": h, "previous_h": previous_h, "previous_c": previous_c,
                  "saved": saved, "layer": layer, "direction": direction}
        if c is not None:
            record["c_last"] = c
        return record

    # ------------------------------------------------------------------ export
    #: ONNX's gate blocks, as positions of ours: GRU z|r|h from r|z|n, LSTM i|o|f|c from i|f|g|o
    ONNX_GATES = {"rnn": [0], "gru": [1, 0, 2], "lstm": [0, 3, 1, 2]}

    def _onnx_blocks(self, matrix: np.ndarray) -> np.ndarray:
        """Rows of a (G·H, …) weight in ONNX's gate order."""
        H = self.hidden
        return np.concatenate([matrix[g * H:(g + 1) * H] for g in self.ONNX_GATES[self.cell_name]], axis=0)

    def to_onnx(self, graph, x):
        """ONNX's RNN / GRU (``linear_before_reset=1``: PyTorch's formula) / LSTM operator per layer, gate blocks
        reordered, time-major inside; with ``mask_value``, each row's length (its steps up to the last real one)
        as ``sequence_lens`` — padding must come after a sequence's real steps. The exported graph starts from a
        zero state (``initial_state`` is not exported). float32 only: onnxruntime's recurrent kernels are."""
        if graph.dtype != np.float32:
            raise ValueError(f"{self.label}: recurrent layers export in float32 only (onnxruntime's RNN, GRU and LSTM "
                             "kernels are float32): convert the model with model.astype('float32') first")
        H, D = self.hidden, self.directions
        op_type = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}[self.cell_name]
        attributes = {"hidden_size": H, "direction": "bidirectional" if D == 2 else "forward"}
        if self.cell_name == "gru":
            attributes["linear_before_reset"] = 1
        if self.cell_name == "rnn":
            attributes["activations"] = ["Tanh" if self.nonlinearity == "tanh" else "Relu"] * D
        lengths = ""
        if self.mask_value is not None:
            padded = graph.op("Cast", graph.op("Equal", x, graph.scalar(self.mask_value)), to=1)   # 1: FLOAT
            real = graph.op("Sub", graph.scalar(1.0), graph.reduce("ReduceMin", padded, [2], keepdims=0))
            lengths = graph.op("Cast", graph.reduce("ReduceSum", real, [1], keepdims=0), to=6)       # 6: INT32
        sequence = graph.op("Transpose", x, perm=[1, 0, 2])                                        # (T, N, F)
        final = None
        for layer in range(self.num_layers):
            weights = [self._weights(layer, d) for d in range(D)]
            W = np.stack([self._onnx_blocks(w[0].value.T) for w in weights])
            R = np.stack([self._onnx_blocks(w[1].value.T) for w in weights])
            B = np.stack([np.concatenate([self._onnx_blocks(w[2].value), self._onnx_blocks(w[3].value)])
                          for w in weights])
            inputs = [sequence, graph.constant(W, "W"), graph.constant(R, "R"), graph.constant(B, "B"), lengths]
            Y, final = graph.op_outputs(op_type, inputs, 2, **attributes)[:2]      # (T, D, N, H), (D, N, H)
            sequence = graph.op("Reshape", graph.op("Transpose", Y, perm=[0, 2, 1, 3]),
                                graph.constant(np.array([0, 0, -1], dtype=np.int64), "shape", np.int64))
        if self.return_sequences:
            return graph.op("Transpose", sequence, perm=[1, 0, 2])
        return graph.op("Reshape", graph.op("Transpose", final, perm=[1, 0, 2]),
                        graph.constant(np.array([0, -1], dtype=np.int64), "shape", np.int64))

    # -------------------------------------------------------------- glass box
    def steps(self) -> list:
        """Per layer and direction, the last pass through time: a `StepTrace` with every hₜ, every gate's
        activation and (after a backward pass) every δₜ = ∂L/∂hₜ, each of shape (N, T, hidden)."""
        if self.records is None:
            raise RuntimeError(f"{self.label}: steps() needs a forward pass first")
        traces = []
        names = {"rnn": ("h",), "gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o")}[self.cell_name]
        for run in self.records["runs"]:
            gates = {}
            if self.cell_name != "rnn":
                T, H = run["h"].shape[1], self.hidden
                for position, name in enumerate(names):
                    if isinstance(run["saved"], np.ndarray):      # the compiled loop's (N, T, S·H) record
                        gates[name] = run["saved"][:, :, position * H:(position + 1) * H]
                    else:
                        gates[name] = np.stack([run["saved"][t][position] for t in range(T)], axis=1)
            traces.append(StepTrace(run["layer"], run["direction"], run["h"], gates, run.get("delta")))
        return traces

    def delta_norms_through_time(self) -> np.ndarray | None:
        """‖δₜ‖ (over the batch and units) at each step of the first layer's forward run, in time order, from
        the last backward pass — how much of the error reaches each step; None before a backward pass."""
        if self.records is None or "delta" not in self.records["runs"][0]:
            return None
        delta = self.records["runs"][0]["delta"]
        return np.sqrt(np.einsum("ntk,ntk->t", delta, delta, dtype=np.float64))

    # ------------------------------------------------------------ backward pass
    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """BPTT, every layer and direction, top layer first. With ``bptt_steps = k`` the sequence is cut into
        chunks of k steps (counted from each direction's first step) and δ stops at each chunk's first step,
        as if the state entering a chunk were a constant — PyTorch's ``h = h.detach()`` every k steps. Records
        ∂L/∂hₜ of every step in ``records["runs"][i]["delta"]``."""
        if self.records is None:
            raise RuntimeError(f"{self.label}: backward called before forward")
        x, mask, runs = self.records["x"], self.records["mask"], self.records["runs"]
        N, T, _ = x.shape
        D, H = self.directions, self.hidden
        if self.return_sequences:
            d_sequence = grad_y if mask is None else grad_y * mask
            d_last = [None] * D
        else:
            d_sequence = np.zeros((N, T, H * D), dtype=grad_y.dtype)
            d_last = [grad_y[:, d * H:(d + 1) * H] for d in range(D)]
        count = self.num_layers * D
        grad_h0 = np.zeros((count, N, H), dtype=grad_y.dtype)
        grad_c0 = np.zeros_like(grad_h0) if self.cell.has_cell else None
        for layer in range(self.num_layers - 1, -1, -1):
            d_inputs = None
            for direction in range(D):
                index = layer * D + direction
                d_out = d_sequence[:, :, direction * H:(direction + 1) * H]
                d_in, dh0, dc0 = self._backward_run(runs[index], mask, d_out, d_last[direction])
                d_inputs = d_in if d_inputs is None else d_inputs + d_in
                grad_h0[index] = dh0
                if dc0 is not None:
                    grad_c0[index] = dc0
            d_sequence, d_last = d_inputs, [None] * D
        self.grad_initial_state = (grad_h0, grad_c0) if self.cell.has_cell else grad_h0
        return d_sequence

    def _backward_run(self, record, mask, d_out, d_last):
        """BPTT through one direction of one layer: ∂L/∂inputs, ∂L/∂h₀ (and ∂L/∂c₀); the weights' gradients
        written into their Parameters."""
        W_ih, W_hh, b_ih, b_hh = self._weights(record["layer"], record["direction"])
        inputs, saved = record["inputs"], record["saved"]
        N, T, _ = inputs.shape
        if "mask_rows" in record:                 # the forward loop ran compiled: so does this one
            d_xw, d_hw, deltas, dh, dc = kernels.backward(
                self.cell_name, self.nonlinearity == "relu", record, d_out, d_last, W_hh.value, record["mask_rows"],
                record["direction"] == 1, self.bptt_steps or 0)
            return self._weight_gradients(record, d_xw, d_hw, deltas, dh, dc)
        dh = np.zeros((N, self.hidden), dtype=d_out.dtype) if d_last is None else np.array(d_last)
        dc = np.zeros_like(dh) if self.cell.has_cell else None
        d_xw = np.zeros((N, T, W_ih.shape[1]), dtype=d_out.dtype)
        d_hw = np.empty_like(d_xw)                   # ∂L/∂(hₜ₋₁·W_hh + b_hh) of every step, for one GEMM after
        reverse = record["direction"] == 1
        steps = range(T) if reverse else range(T - 1, -1, -1)
        W_hh_T = W_hh.value.T
        k = self.bptt_steps
        deltas = np.empty((N, T, self.hidden), dtype=d_out.dtype)
        for t in steps:
            dh = dh + d_out[:, t]
            deltas[:, t] = dh
            h_prev = record["previous_h"][:, t]
            c_prev = None if record["previous_c"] is None else record["previous_c"][:, t]
            if mask is not None:
                m = mask[:, t]
                carry_h, dh = (1 - m) * dh, m * dh
                if dc is not None:
                    carry_c, dc = (1 - m) * dc, m * dc
            d_x, d_h, direct_h, dc_prev = self.cell.backward(dh, dc, saved[t], h_prev, c_prev)
            for array in (d_x, d_h) if d_x is not d_h else (d_x,):
                flush_subnormals(array)   # a δ fading through time would reach subnormal numbers, ~100× slower
            d_xw[:, t] = d_x
            d_hw[:, t] = d_h
            dh = d_h @ W_hh_T + direct_h
            dc = dc_prev
            flush_subnormals(dh)
            if dc is not None:
                flush_subnormals(dc)
            if mask is not None:
                dh = dh + carry_h
                if dc is not None:
                    dc = dc + carry_c
            position = T - 1 - t if reverse else t           # the step's place in its direction's order
            if k is not None and position > 0 and position % k == 0:
                dh = np.zeros_like(dh)                       # a chunk boundary: δ goes no further back
                dc = None if dc is None else np.zeros_like(dc)
        return self._weight_gradients(record, d_xw, d_hw, deltas, dh, dc)

    def _weight_gradients(self, record, d_xw, d_hw, deltas, dh, dc):
        """After the loop back through time: ∂L/∂W_hh, ∂L/∂b_hh, ∂L/∂W_ih, ∂L/∂b_ih, one GEMM or sum each over all
        N·T rows; returns (∂L/∂inputs, ∂L/∂h₀, ∂L/∂c₀)."""
        W_ih, W_hh, b_ih, b_hh = self._weights(record["layer"], record["direction"])
        inputs = record["inputs"]
        N, T, _ = inputs.shape
        record["delta"] = deltas
        previous = record["previous_h"].reshape(N * T, -1)          # hₜ₋₁ of every step
        flat_h = d_hw.reshape(N * T, -1)
        np.matmul(previous.T, flat_h, out=W_hh.grad)      # ∂L/∂W_hh = Σₜ hₜ₋₁ᵀ·δpreₜ, one GEMM over N·T rows
        np.sum(flat_h, axis=0, out=b_hh.grad)
        flat = d_xw.reshape(N * T, -1)
        np.matmul(inputs.reshape(N * T, -1).T, flat, out=W_ih.grad)
        np.sum(flat, axis=0, out=b_ih.grad)
        return (flat @ W_ih.value.T).reshape(N, T, -1), dh, dc


@register_layer(name="rnn")
class RNN(_Recurrent):
    """Elman RNN, as ``torch.nn.RNN(batch_first=True)``: hₜ = f(xₜ·W_ih + b_ih + hₜ₋₁·W_hh + b_hh), f = tanh
    (default) or ReLU.

    Parameters
    ----------
    n_in, hidden : int
        Features per time step, and units of the state h.
    num_layers : int, default 1
        Stacked layers, each reading the sequence of the one below.
    bidirectional : bool, default False
        A second run from the last step to the first; outputs concatenated (2·hidden).
    return_sequences : bool, default False
        True: every hₜ, shape (N, T, hidden·directions); False: the final states of the top layer, (N,
        hidden·directions) — the last step's forward state and the reverse direction's state after step 0,
        PyTorch's ``h_n``.
    mask_value : float, optional
        Steps whose every feature equals it are padding: the state passes them unchanged, their outputs are 0
        and no gradient flows through them — sequences of different lengths in one batch.
    nonlinearity : "tanh" or "relu"
    bptt_steps : int, optional
        Truncated backpropagation through time: δ is sent back at most to the start of its chunk of this many
        steps. ``fit(..., tbptt=k)`` sets it for the run.
    recurrent_init : "uniform" or "orthogonal"
        PyTorch's U(−1/√H, 1/√H) everywhere, or with each gate's block of W_hh orthogonal.

    Shape
    -----
    input (N, T, n_in) → (N, hidden·directions), or (N, T, hidden·directions) with ``return_sequences``.
    """

    cell_name = "rnn"


class _Gated(_Recurrent):
    """GRU and LSTM: their gates fix the nonlinearities, so they take no ``nonlinearity``."""

    gated = True

    def __init__(self, n_in: int, hidden: int, *, num_layers: int = 1, bidirectional: bool = False,
                 return_sequences: bool = False, mask_value: float | None = None, bptt_steps: int | None = None,
                 recurrent_init: str = "uniform"):
        super().__init__(n_in, hidden, num_layers=num_layers, bidirectional=bidirectional,
                         return_sequences=return_sequences, mask_value=mask_value, bptt_steps=bptt_steps,
                         recurrent_init=recurrent_init)


@register_layer(name="gru")
class GRU(_Gated):
    """Gated recurrent unit, as ``torch.nn.GRU(batch_first=True)``::

        r = σ(xₜW_ir + b_ir + hₜ₋₁W_hr + b_hr)       z = σ(xₜW_iz + b_iz + hₜ₋₁W_hz + b_hz)
        n = tanh(xₜW_in + b_in + r ⊙ (hₜ₋₁W_hn + b_hn))      hₜ = (1 − z) ⊙ n + z ⊙ hₜ₋₁

    Gate blocks r|z|n along the weights' last axis. Parameters and shapes as [`RNN`][deltaprop.RNN] (no
    ``nonlinearity``).
    """

    cell_name = "gru"


@register_layer(name="lstm")
class LSTM(_Gated):
    """Long short-term memory, as ``torch.nn.LSTM(batch_first=True)``::

        i, f, o = σ(xₜW_i* + b_i* + hₜ₋₁W_h* + b_h*),   g = tanh(…)
        cₜ = f ⊙ cₜ₋₁ + i ⊙ g                             hₜ = o ⊙ tanh(cₜ)

    Gate blocks i|f|g|o along the weights' last axis. ``initial_state`` is (h₀, c₀); ``final_state`` (h_n, c_n).
    Parameters and shapes as [`RNN`][deltaprop.RNN] (no ``nonlinearity``).
    """

    cell_name = "lstm"


@contextlib.contextmanager
def truncated_bptt(model, steps: int | None):
    """Within the block, every recurrent layer of ``model`` (in a Residual block too) sends δ back at most
    ``steps`` steps (its ``bptt_steps``); None changes nothing. Each layer's own setting is put back after."""
    if steps is None:
        yield
        return
    steps = check_positive_int(steps, "tbptt")
    found, stack = [], list(model.layers)
    while stack:
        layer = stack.pop()
        stack.extend(getattr(layer, "layers", []))
        if isinstance(layer, _Recurrent):
            found.append((layer, layer.bptt_steps))
    if not found:
        raise ValueError("tbptt applies to recurrent layers (RNN, GRU, LSTM), and the model has none")
    for layer, _ in found:
        layer.bptt_steps = steps
    try:
        yield
    finally:
        for layer, previous in found:
            layer.bptt_steps = previous
