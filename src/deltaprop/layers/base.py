"""The Layer protocol every building block of a network follows, and the registry of layer types.

A layer is one class: its forward pass and its backward pass, what it is (``kind``, ``family``),
whether it draws random numbers, and how it is saved (``config``, ``parameters``, ``state``).
Nothing else in the package needs to know about a layer type, so a user's own layer works
everywhere — gradcheck, fit, the monitor, ``inspect``, ``diagnose``, model files — once it is
registered with [`register_layer()`][deltaprop.register_layer].
"""
from __future__ import annotations

import re

import numpy as np

from .._registry import Registry


class Layer:
    """One step of the forward pass and its mirror in the backward pass.

    ``forward(x, training=False) -> y`` computes the output and keeps on ``self`` only what
    ``backward`` needs. ``backward(grad_y) -> grad_x`` receives ∂L/∂y, writes ∂L/∂θ into every
    ``Parameter.grad`` and returns ∂L/∂x for the layer below.

    **The pass record.** The model running the layer ([`deltaprop.Sequential`][deltaprop.Sequential]) writes what
    the last pass gave and produced on the layer, publicly: ``input`` (its x), ``output`` (its y)
    and ``grad_output`` (∂L/∂y from the last backward pass; for a Dense layer this is its δ =
    ∂L/∂Z). ``inspect``, the training monitor and ``diagnose`` read these, and nothing else.

    **What the layer is** (class attributes, read by the monitor, ``inspect``, ``diagnose``,
    ``dp.mlp`` and Sequential):

    * ``kind`` — ``"weights"`` (a learned map such as Z = A·W + b, whose δ is recorded and judged
      for vanishing/exploding gradients), ``"recurrent"`` (RNN, GRU, LSTM: the same through time),
      ``"activation"``, ``"normalization"``, ``"noise"`` (dropout), ``"shape"`` (flatten, pooling), ``"block"``
      (a Residual holding layers) or ``"other"``;
    * ``family`` — for activations: ``"relu"`` (units can die; He init suits them) or
      ``"squashing"`` (sigmoid, tanh: units saturate; Glorot init suits them), else None;
    * ``recommended_init`` — the weight initializer that keeps the variance of a Dense layer in
      front of this activation steady;
    * ``draws_random`` — True when the layer draws random numbers in training (Dropout) from its
      Generator ``self.rng``, which the model seeds;
    * ``min_training_batch`` — the smallest training batch it accepts (BatchNorm needs 2).

    Subclasses with weights override ``parameters`` and ``reset_parameters``; every layer describes
    its constructor arguments in ``config`` so that a model file can rebuild it.
    """

    kind = "other"
    family = None
    recommended_init = "glorot_uniform"
    draws_random = False
    min_training_batch = 1
    #: the per-sample shape the layer needs (None in a place: any size), or None for any input
    input_shape = None
    #: In data-parallel training, this process's rows of the global batch (a BatchShard, set by the
    #: model for each training step); None when the batch is all here. See deltaprop.shard.
    shard = None

    #: For each parameter with units (filters), the axis along which its units lie (Dense ``{"W": 1}``: column
    #: j holds unit j's incoming weights; Conv ``{"W": 0}``). The loss landscape's filter normalisation scales
    #: each unit's slice of a direction; parameters not named here are treated as biases.
    unit_axes: dict = {}

    #: True when, for a fixed input, the output is linear in all the layer's parameters together — Dense's
    #: Z = A·W + b: Z(θ₁ + c·θ₂) = Z(θ₁) + c·Z(θ₂). The loss landscape then computes the first such layer's
    #: output along a direction once, not at every point.
    linear_in_parameters = False

    #: The name shown in messages; a Sequential sets it to e.g. ``"layer 2 (Dense)"``.
    label: str

    def __init__(self):
        self.label = type(self).__name__
        self.input = None        # the pass record: see the class docstring
        self.output = None
        self.grad_output = None

    # ------------------------------------------------------------------ the pass
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward_parameters(self, grad_y: np.ndarray) -> None:
        """Write ∂L/∂param only (the input gradient is not needed: this is the first trainable layer)."""
        self.backward(grad_y)

    def per_sample_squared_norms(self) -> np.ndarray | None:
        """‖gᵢ‖² for each row i of the last pass, gᵢ being row i's share of this layer's parameter gradient
        (the gradient the backward pass wrote is Σᵢ gᵢ), computed from the pass record — or None when the
        layer cannot say (then per-sample gradients are measured by passes of one sample). Layers without
        parameters return zeros."""
        if not self.parameters():
            return np.zeros(len(self.input)) if self.input is not None else None
        return None

    def steps(self) -> list | None:
        """For a layer that runs through time (RNN, GRU, LSTM): every step's state, gates and δ of the last pass,
        one record per layer and direction; None for others."""
        return None

    def delta_norms_through_time(self) -> np.ndarray | None:
        """For a layer that runs through time (RNN, GRU, LSTM): ‖δₜ‖ at each time step of the last backward
        pass, which the monitor records and ``diagnose`` judges; None for others."""
        return None

    def derivative(self) -> np.ndarray | None:
        """f'(z) for each element of the last forward pass, for an elementwise activation (None otherwise)."""
        return None

    # ------------------------------------------------------------- parameters
    def parameters(self) -> list:
        """Trainable Parameters of this layer, in a fixed order (Dense: W then b)."""
        return []

    def parameter_names(self) -> list:
        """The parameters' names within the layer (``"W"``, ``"b"``); a model prefixes the layer's index."""
        return [p.name.split(".")[-1] for p in self.parameters()]

    def state(self) -> dict:
        """Non-trainable arrays saved with the model (BatchNorm's running statistics), by attribute name."""
        return {}

    def load_state(self, state: dict) -> None:
        for key, value in state.items():
            getattr(self, key)[...] = value

    def check_state(self, state: dict) -> None:
        """Raise ``ValueError`` when state arrays read from a file (``state()``'s keys, already checked for shape,
        dtype and finiteness) mean nothing valid — BatchNorm: a negative running variance. Nothing by default."""

    def penalty(self) -> float:
        """Weight penalty added to the loss (L1/L2 on Dense); 0 for most layers."""
        return 0.0

    def add_penalty_gradients(self) -> None:
        """Add ∂penalty/∂θ to each Parameter.grad (after backward)."""

    def reset_parameters(self, rng: np.random.Generator) -> None:
        """Draw fresh initial parameters from ``rng`` (no-op for layers without weights)."""

    def astype(self, dtype) -> None:
        """Convert every parameter and state array to ``dtype`` in place."""
        for param in self.parameters():
            param.astype(dtype)
        for key, value in self.state().items():
            setattr(self, key, np.ascontiguousarray(value, dtype=dtype))

    # ------------------------------------------------------------------ export
    #: ``to_onnx(graph, x) -> y``: the eval-mode forward pass as ONNX operators, built with the
    #: `deltaprop.export.graph.OnnxGraph` it is given (names of tensors in, name out). A layer
    #: without one cannot be exported; ``dp.export_onnx`` says which.
    to_onnx = None

    # ----------------------------------------------------------------- shapes
    def fits_input(self, shape: tuple) -> bool:
        """Does the layer accept samples of ``shape``? (``input_shape`` with None as any size, by default.)"""
        return fits(self.input_shape, shape)

    def describe_input(self) -> str:
        """What the layer takes, for messages: ``8 input features``, ``input of shape (3, any)``."""
        return describe_shape(self.input_shape) if self.input_shape is not None else "any input"

    def output_shape(self, input_shape: tuple) -> tuple:
        """The per-sample output shape for a per-sample ``input_shape`` (the same, for most layers)."""
        return tuple(input_shape)

    def config(self) -> dict:
        """Constructor arguments, JSON-serialisable, such that ``type(self)(**config)`` rebuilds it."""
        return {}

    @classmethod
    def expected_shapes(cls, config: dict) -> dict | None:
        """The shapes of the parameters and state arrays (by their names in the layer: ``"W"``, ``"running_var"``)
        that ``cls(**config)`` would hold — computed without building it, so that a model file is checked against
        the tensors it holds before any memory is taken (a header claiming ``Dense(30000, 30000)`` beside a
        (4, 8) tensor is refused, not built). None when not known: the layer is then built and checked after.
        A layer without parameters or state needs nothing here."""
        if cls.parameters is Layer.parameters and cls.state is Layer.state:
            return {}
        return None

    def describe(self) -> str:
        """A short description for tables, e.g. ``Dense(4, 8)``."""
        return repr(self)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


#: every layer type a model file may build, by class name (and by short name: "relu", "dense" …)
LAYERS = Registry("layer type", Layer, "a name or a Layer")


def snake_case(name: str) -> str:
    """``LeakyReLU`` → ``leaky_relu``, ``BatchNorm`` → ``batch_norm``, ``ReLU`` → ``relu``, ``Conv1D`` → ``conv1d``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", name).lower()


def register_layer(cls=None, *, name: str | None = None, aliases=()):
    """Make a layer type known by name: model files can save and load it, ``activations.get`` finds
    an activation by its short name. Use as ``@dp.register_layer`` or ``@dp.register_layer(name="swish")``.

    The class is registered under its class name (what model files record) and a short name
    (default: the class name in snake_case). Loading a model builds only registered types, from the
    plain arguments of their ``config()``; nothing else is imported or run.
    """
    def register(layer_class):
        if not (isinstance(layer_class, type) and issubclass(layer_class, Layer)):
            raise TypeError(f"register_layer needs a Layer subclass, got {layer_class!r}")
        return LAYERS.register(layer_class, name or snake_case(layer_class.__name__), layer_class.__name__, *aliases)

    return register if cls is None else register(cls)


def fits(expected, shape) -> bool:
    """Does a per-sample ``shape`` match ``expected``? None entries — in either: a size not known before the
    data comes (a sequence's length) — match any size."""
    return expected is None or (len(expected) == len(shape)
                                and all(e is None or s is None or e == s for e, s in zip(expected, shape)))


def describe_shape(shape) -> str:
    """``8 input features`` for a vector, ``input of shape (3, None)`` otherwise."""
    if len(shape) == 1 and shape[0] is not None:
        return f"{shape[0]} input features"
    return f"input of shape ({', '.join('any' if s is None else str(s) for s in shape)})"


def forward_layers(layers, x, training: bool):
    """Run ``layers`` forward in order, writing each one's pass record (``input``, ``output``)."""
    for layer in layers:
        layer.input = x
        x = layer.output = layer.forward(x, training=training)
        layer.grad_output = None
    return x


def backward_layers(layers, grad, stop: int = 0):
    """Send ``grad`` = ∂L/∂(last output) back through ``layers[stop:]`` in reverse order, writing each
    one's ``grad_output``; returns ∂L/∂(input of ``layers[stop]``)."""
    for layer in reversed(layers[stop:]):
        layer.grad_output = grad
        grad = layer.backward(grad)
    return grad
