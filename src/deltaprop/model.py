"""Sequential: a stack of layers run forward, then backward in reverse order."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array, check_positive_int, check_seed, resolve_dtype
from .layers.base import Layer, backward_layers, describe_shape, fits, forward_layers
from .rows import LazyRows
from .parameter import ParameterList


@dataclass
class LayerTrace:
    """The seed quantities of one weight layer (Dense, and any layer of kind ``"weights"``) after a
    forward and backward pass, read from the layers' pass records.

    Attributes
    ----------
    layer : int
        Index of the layer in ``model.layers``.
    A_in : ndarray (N, n_in)
        Its input: the activation A of the layer below (X for the first layer).
    Z : ndarray (N, n_out)
        Its output, the weighted sum Z = A_in·W + b.
    A : ndarray (N, n_out)
        The activation f(Z) after the layers that follow it up to the next weight layer
        (equal to Z when no activation follows).
    delta : ndarray (N, n_out) or None
        The error term δ = ∂L/∂Z (None before a backward pass).
    grads : dict
        ∂L/∂θ of each of its parameters by name (``{"W": …, "b": …}``); empty before a backward pass.
    steps : list or None
        For a recurrent layer (RNN, GRU, LSTM), its pass through time: per layer and direction every state hₜ,
        gate activation and δₜ = ∂L/∂hₜ (see `deltaprop.layers.recurrent.StepTrace`); None for others.
    """

    layer: int
    A_in: np.ndarray
    Z: np.ndarray
    A: np.ndarray
    delta: np.ndarray | None
    grads: dict
    steps: list | None = None

    @property
    def dW(self):
        """∂L/∂W = A_inᵀ·δ (None before a backward pass)."""
        return self.grads.get("W")

    @property
    def db(self):
        """∂L/∂b = Σ δ (None before a backward pass, or without a bias)."""
        return self.grads.get("b")


class Sequential:
    """A network as a list of layers: forward runs them in order, backward in reverse.

    Each layer keeps the record of the last pass (``input``, ``output``, ``grad_output``: see
    [`deltaprop.Layer`][deltaprop.Layer]), which [`inspect()`][deltaprop.model.Sequential.inspect], the monitor and ``diagnose`` read.

    Parameters
    ----------
    layers : list of Layer
    seed : int or None
        Seed of the Generator that draws every initial weight (re-drawn here, in layer
        order); the same seed gives bit-identical weights. ``None`` draws fresh entropy.
    dtype : "float32" (default) or "float64"
        The dtype of every parameter and of all computation. Inputs are converted to it at
        the model's entrance; nothing inside changes dtype.
    input_shape : tuple, optional
        One sample's shape, where the layers leave sizes open: a CNN's (channels, height, width).
        Checked against every layer; saved with the model.

    Examples
    --------
    >>> import numpy as np
    >>> import deltaprop as dp
    >>> model = dp.Sequential([dp.Dense(4, 8), dp.Tanh(), dp.Dense(8, 3)], seed=0, dtype="float64")
    >>> X, y = np.ones((5, 4)), np.array([0, 1, 2, 1, 0])
    >>> loss = dp.CrossEntropy()
    >>> value = loss.forward(model.forward(X, training=True), y)
    >>> dX = model.backward(loss.backward())
    >>> dX.shape, model.layers[0].grad_output.shape      # ∂L/∂X, and δ of the first Dense
    ((5, 4), (5, 8))
    """

    def __init__(self, layers, seed: int | None = None, dtype="float32", input_shape=None):
        layers = list(layers)
        if not layers:
            raise ValueError("layers must contain at least one layer, got an empty list")
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{index}] must be a deltaprop Layer, got {type(layer).__name__}")
        self.layers = layers
        self.seed = seed = check_seed(seed)
        self.dtype = resolve_dtype(dtype)
        for index, layer in enumerate(self.layers):
            layer.label = f"layer {index} ({type(layer).__name__})"
        self.input_shape = next((layer.input_shape for layer in layers if layer.input_shape is not None), None)
        self.declared_input_shape = input_shape is not None
        if input_shape is not None:    # a sample's full shape, where the layers leave sizes open (a CNN's image size)
            input_shape = tuple(input_shape)
            if self.input_shape is not None and not fits(self.input_shape, input_shape):
                raise ValueError(f"input_shape {input_shape} does not fit the first layers, which take "
                                 f"{describe_shape(self.input_shape)}")
            self.input_shape = input_shape
        self.output_shape = self._infer_shapes()
        for layer in self.layers:
            layer.astype(self.dtype)
        self.reset_parameters(seed)
        self._name_parameters()
        self._parameters = ParameterList([p for layer in layers for p in layer.parameters()], self.dtype)
        # the first layer with parameters: where fit's backward pass can stop
        self._first_trainable = next((i for i, layer in enumerate(layers) if layer.parameters()), 0)
        self.preprocessing = None  # a Preprocessor when trained from a table (saved with the model)

    # ----------------------------------------------------------------- structure
    def _infer_shapes(self):
        """Pass the per-sample shape through every layer, each checking that it fits; the output shape."""
        shape = self.input_shape
        if shape is None:
            return None
        for layer in self.layers:
            if not layer.fits_input(shape):
                raise ValueError(f"{layer.label} expects {layer.describe_input()} but the layer before it "
                                 f"gives {describe_shape(shape)}")
            shape = layer.output_shape(shape)
        return tuple(shape)

    def _name_parameters(self) -> None:
        for index, layer in enumerate(self.layers):
            for param, name in zip(layer.parameters(), layer.parameter_names()):
                param.name = f"{index}.{name}"
        counts = Counter(param.name for layer in self.layers for param in layer.parameters())
        repeated = sorted(name for name, count in counts.items() if count > 1)
        if repeated:    # model files and optimizer state are keyed by these names: two alike would mix them up
            raise ValueError(f"parameters named alike: {', '.join(repeated)}; a layer's parameter_names() must "
                             "give each of its parameters its own name")

    @property
    def n_in(self) -> int | None:
        """Number of input features, for a model whose input is a vector (else None)."""
        return self.input_shape[0] if self.input_shape is not None and len(self.input_shape) == 1 else None

    @property
    def n_out(self) -> int | None:
        """Number of outputs, for a model whose output is a vector (else None)."""
        return self.output_shape[0] if self.output_shape is not None and len(self.output_shape) == 1 else None

    def reset_parameters(self, seed: int | None = None) -> None:
        """Re-draw every initial weight from a Generator seeded with ``seed``, then seed the
        layers' own Generators (dropout masks) from the same one."""
        rng = np.random.default_rng(seed)
        for layer in self.layers:
            layer.reset_parameters(rng)
        self.seed_generators(rng)

    def parameters(self) -> ParameterList:
        """All Parameters, in layer order (each Dense's W before its b), their values and gradients views
        into the two contiguous buffers ``values`` and ``grads`` of the returned `ParameterList`."""
        return self._parameters

    def named_arrays(self) -> dict:
        """Every parameter value (``"0.W"``) and layer state array (``"1.running_mean"``) by name — what a model
        file or a backup holds; the arrays themselves, so writing into them sets the model."""
        arrays = {}
        for index, layer in enumerate(self.layers):
            arrays.update((param.name, param.value) for param in layer.parameters())
            arrays.update((f"{index}.{key}", value) for key, value in layer.state().items())
        return arrays

    def check_named_arrays(self, arrays: dict) -> None:
        """Raise ``ValueError`` naming the first problem of ``arrays`` (read from a file) as the values of
        [`named_arrays()`][deltaprop.model.Sequential.named_arrays]: a missing or unexpected name, another shape or dtype (nothing is broadcast: a
        (1,) bias never fills 128), a non-finite value, or layer state without meaning (``Layer.check_state``)."""
        expected = self.named_arrays()
        missing = [name for name in expected if name not in arrays]
        if missing:
            raise ValueError(f"missing tensor(s) {', '.join(map(repr, missing[:5]))}")
        extra = [name for name in arrays if name not in expected]
        if extra:
            raise ValueError(f"unexpected tensor(s) {', '.join(map(repr, extra[:5]))} not in the architecture")
        for name, target in expected.items():
            value = arrays[name]
            if not isinstance(value, np.ndarray) or value.shape != target.shape:
                raise ValueError(f"tensor {name!r} has shape {getattr(value, 'shape', type(value).__name__)}, the "
                                 f"architecture needs {target.shape}")
            if value.dtype != target.dtype:
                raise ValueError(f"tensor {name!r} has dtype {value.dtype}, the model's dtype is {target.dtype}")
            if not np.isfinite(value).all():
                raise ValueError(f"tensor {name!r} holds non-finite values (NaN or infinity)")
        for index, layer in enumerate(self.layers):
            try:
                layer.check_state({key: arrays[f"{index}.{key}"] for key in layer.state()})
            except ValueError as exc:
                raise ValueError(f"{layer.label}: {exc}") from None

    def astype(self, dtype) -> "Sequential":
        """Convert this model's parameters and state to ``dtype`` in place; returns self."""
        self.dtype = resolve_dtype(dtype)
        for layer in self.layers:
            layer.astype(self.dtype)
        self._parameters = ParameterList([p for layer in self.layers for p in layer.parameters()], self.dtype)
        return self

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index):
        return self.layers[index]

    def __repr__(self) -> str:
        inner = ",\n".join(f"  {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner}\n], dtype={self.dtype.name!r})"

    # ------------------------------------------------------------- the algorithm
    def check_input(self, X, name: str = "X") -> np.ndarray:
        """Validate ``X`` (non-empty, finite, the shape the first layer accepts) and convert it to the model dtype
        (a `deltaprop.rows.LazyRows` stays unread, set to convert its rows when they are read)."""
        ndim = None if self.input_shape is None else 1 + len(self.input_shape)
        if isinstance(X, LazyRows):   # rows read batch by batch (finite values checked when the file was read)
            if len(X) == 0:
                raise ValueError(f"{name} is empty: shape {X.shape}, need at least one sample and one feature")
            if ndim is not None and X.ndim != ndim:
                raise ValueError(f"{name} must be {ndim}-D (samples first), got shape {X.shape}")
            X = X.astype(self.dtype)
        else:
            X = as_float_array(X, name, dtype=self.dtype, ndim=ndim)
        if not fits(self.input_shape, X.shape[1:]):
            first = next(i for i, layer in enumerate(self.layers) if layer.input_shape is not None)
            label = f"layer {first} ({type(self.layers[first]).__name__})"
            if len(self.input_shape) == 1:
                raise ValueError(f"{name} has {X.shape[1]} features but {label} expects {self.input_shape[0]}")
            raise ValueError(f"{name} has samples of shape {X.shape[1:]} but {label} expects "
                             f"{describe_shape(self.input_shape)}")
        return X

    def forward(self, X, training: bool = False) -> np.ndarray:
        """Forward pass: each layer maps its input A to its output (Z = A·W + b, then A' = f(Z)).

        ``training=True`` selects training behaviour (batch statistics, dropout). Each layer keeps
        its input and output as its pass record, for [`inspect()`][deltaprop.model.Sequential.inspect].
        """
        return self.forward_unchecked(self.check_input(X), training=training)

    def forward_unchecked(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """[`forward()`][deltaprop.model.Sequential.forward] for an ``X`` already checked and of the model's dtype (the fit loop's path)."""
        return forward_layers(self.layers, X, training)

    def backward(self, grad_out, input_gradient: bool = True):
        """Backward pass: send ∂L/∂output back through the layers in reverse order.

        Each layer receives ∂L/∂(its output) — a Dense its δ = ∂L/∂Z — keeps it as ``grad_output``
        and writes ∂L/∂W, ∂L/∂b into its Parameters. Returns ∂L/∂X. With ``input_gradient=False``
        (what ``fit`` uses) the pass stops once every parameter has its gradient: the first Dense
        computes ∂L/∂W and ∂L/∂b but not δ·Wᵀ, a matrix product nobody needs, and None is returned.
        """
        last = self.layers[-1].output
        if last is None:
            raise RuntimeError("backward called before forward")
        grad = np.asarray(grad_out)
        if grad.shape != last.shape:
            raise ValueError(f"grad_out must have the output's shape {last.shape}, got {grad.shape}")
        grad = np.asarray(grad, dtype=self.dtype)
        if input_gradient:
            return backward_layers(self.layers, grad)
        first = self._first_trainable
        grad = backward_layers(self.layers, grad, stop=first + 1)
        self.layers[first].grad_output = grad
        self.layers[first].backward_parameters(grad)
        return None

    def penalty(self) -> float:
        """Sum of the layers' weight penalties (L1/L2), part of the reported loss."""
        return sum(layer.penalty() for layer in self.layers)

    def add_penalty_gradients(self) -> None:
        """Add each layer's ∂penalty/∂θ to its gradients (after backward)."""
        for layer in self.layers:
            layer.add_penalty_gradients()

    def first_non_finite(self, loss_value: float) -> tuple | None:
        """Where the last pass first produced NaN or ±inf, in the order the algorithm ran.

        Forward pass (each layer's output), then the loss, then the backward pass from the top
        layer down (each layer's incoming gradient and its parameter gradients). Returns
        ``(layer index, description)`` — index −1 for the loss — or None when all is finite.
        """
        for index, layer in enumerate(self.layers):
            if layer.output is not None and not np.isfinite(layer.output).all():
                return index, f"the output of {layer.label}"
        if not np.isfinite(loss_value):
            return -1, "the loss"
        for index in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[index]
            if layer.grad_output is None:   # not computed: below the first layer with parameters
                continue
            if not all(np.isfinite(a).all() for a in [layer.grad_output] + [p.grad for p in layer.parameters()]):
                return index, f"the gradient of {layer.label}"
        return None

    def needs_batch_statistics(self) -> bool:
        """True when a layer (BatchNorm) needs at least two samples per training batch."""
        return any(layer.min_training_batch > 1 for layer in self.layers)

    def set_shard(self, shard) -> None:
        """Tell every layer which rows of the global batch this process holds (a `deltaprop.shard.BatchShard`),
        or None: the whole batch is here (the default)."""
        for layer in self.layers:
            layer.shard = shard

    def seed_generators(self, rng: np.random.Generator) -> None:
        """Give every layer that draws random numbers (Dropout) its own Generator ``rng`` spawned from ``rng``."""
        for layer in self.layers:
            if layer.draws_random:
                layer.rng = rng.spawn(1)[0]

    def predict(self, X, batch_size: int = 1024) -> np.ndarray:
        """Inference (eval mode) in batches of ``batch_size`` rows; returns the network's output.

        The layers' pass records are left as the last training pass wrote them.
        """
        batch_size = check_positive_int(batch_size, "batch_size")
        X = self.check_input(X)
        outputs = []
        for start in range(0, X.shape[0], batch_size):
            out = X[start:start + batch_size]
            for layer in self.layers:
                out = layer.forward(out, training=False)
            outputs.append(out)
        return np.concatenate(outputs, axis=0)

    # -------------------------------------------------------------- glass box
    def inspect(self) -> list:
        """Seed quantities of every weight layer (Dense …) and recurrent layer (with its ``steps`` through time)
        from the last forward/backward pass.

        Returns
        -------
        list of LayerTrace
            One per layer of kind ``"weights"`` or ``"recurrent"``, with A_in, Z, A, δ and ∂L/∂θ (``dW``, ``db``).
        """
        if self.layers[-1].output is None:
            raise RuntimeError("inspect() needs a forward pass first")
        weights = [index for index, layer in enumerate(self.layers) if layer.kind in ("weights", "recurrent")]
        traces = []
        for position, index in enumerate(weights):
            layer = self.layers[index]
            last = (weights[position + 1] if position + 1 < len(weights) else len(self.layers)) - 1
            grads = {p.name.split(".")[-1]: p.grad for p in layer.parameters()} if layer.grad_output is not None else {}
            traces.append(LayerTrace(layer=index, A_in=layer.input, Z=layer.output, A=self.layers[last].output,
                                     delta=layer.grad_output, grads=grads, steps=layer.steps()))
        return traces

    def summary(self) -> str:
        """A table of layers with output shape and parameter count, and the total."""
        rows = [("#", "layer", "output shape", "params")]
        shape = self.input_shape
        total = 0
        for index, layer in enumerate(self.layers):
            shape = layer.output_shape(shape) if shape is not None else None
            count = sum(p.size for p in layer.parameters())
            total += count
            shown = "(None, ?)" if shape is None else f"(None, {', '.join(map(str, shape))})"
            rows.append((str(index), layer.describe(), shown, f"{count:,}"))
        widths = [max(len(row[c]) for row in rows) for c in range(4)]
        line = "  ".join("-" * w for w in widths)
        text = [
            "  ".join(cell.ljust(widths[c]) if c < 3 else cell.rjust(widths[c]) for c, cell in enumerate(row))
            for row in rows
        ]
        text.insert(1, line)
        text += [line, f"Total parameters: {total:,}  (dtype {self.dtype.name})"]
        return "\n".join(text)
