"""Residual: y = x + f(x) — the skip connection that keeps δ from vanishing in deep networks.

Backward, with g = ∂L/∂y::

    ∂L/∂x = g + ∂L/∂x through f       (or P'ᵀ·g + … with a projection P on the skip path)

The first term reaches x unchanged, however small the Jacobian of f: through a stack of blocks δ
keeps an identity path to the first layer, which is why residual networks of many layers still train.
"""
from __future__ import annotations


from .base import LAYERS, Layer, backward_layers, fits, forward_layers, register_layer


def _build(spec):
    """A layer from a Layer or from its model-file description ``{"type": name, "config": {...}}``."""
    if isinstance(spec, Layer):
        return spec
    if isinstance(spec, dict) and set(spec) == {"type", "config"}:
        return LAYERS.lookup(spec["type"])(**spec["config"])
    raise TypeError(f"Residual takes Layer objects, got {spec!r}")


#: blocks inside blocks, at most: a model file nesting more is refused before it is built (Python's stack
#: would overflow first at about 250)
MAX_NESTING = 32


def _nested_shapes(spec, depth: int) -> dict | None:
    """The expected arrays of one inner layer's model-file description (see ``Layer.expected_shapes``)."""
    if not isinstance(spec, dict) or set(spec) != {"type", "config"} or not isinstance(spec["config"], dict):
        raise TypeError(f"Residual takes layer descriptions {{'type': ..., 'config': {{...}}}}, got {spec!r:.60}")
    cls = LAYERS.lookup(spec["type"])
    if cls is Residual:
        return Residual.shapes_at_depth(spec["config"], depth + 1)
    return cls.expected_shapes(spec["config"])


def _describe(layer) -> dict:
    name = type(layer).__name__
    if name not in LAYERS or LAYERS.lookup(name) is not type(layer):
        raise TypeError(f"{name} is not a registered layer type and cannot be saved: register it with "
                        "@deltaprop.register_layer")
    return {"type": name, "config": layer.config()}


@register_layer
class Residual(Layer):
    """A block ``y = skip(x) + f(x)``: ``f`` is ``layers`` run in order, ``skip`` is the identity or
    ``projection`` (a layer, e.g. a 1×1 Conv2D or a Dense, when f changes the shape).

    Every inner layer keeps its own pass record (``block.layers[i].grad_output`` is its δ); the block's
    own ``grad_output`` is δ at its output. Layers that draw random numbers (Dropout) go between
    blocks, not inside them.

    Parameters
    ----------
    layers : list of Layer
    projection : Layer, optional
    """

    kind = "block"

    def __init__(self, layers, projection=None):
        super().__init__()
        self.layers = [_build(layer) for layer in layers]
        if not self.layers:
            raise ValueError("Residual needs at least one layer")
        self.projection = None if projection is None else _build(projection)
        for layer in self.inner():
            if layer.draws_random:
                raise ValueError(f"Residual: {type(layer).__name__} draws random numbers; put it between blocks")
        self._shard = None
        self.label = "Residual"

    def inner(self) -> list:
        """The block's layers, the projection last."""
        return self.layers + ([self.projection] if self.projection is not None else [])

    def named_inner(self) -> list:
        """(name, layer) of the inner layers: their position, and ``"projection"`` — the prefix of their
        parameters' and state arrays' names in the block (``"0.W"``, ``"1.running_var"``, ``"projection.W"``)."""
        return [(str(index), layer) for index, layer in enumerate(self.layers)] + \
            ([("projection", self.projection)] if self.projection is not None else [])

    # ---------------------------------------------------------------- naming
    @property
    def label(self) -> str:
        return self._label

    @label.setter
    def label(self, text: str) -> None:
        self._label = text
        for index, layer in enumerate(getattr(self, "layers", [])):
            layer.label = f"{text} › {index} ({type(layer).__name__})"
        if getattr(self, "projection", None) is not None:
            self.projection.label = f"{text} › projection ({type(self.projection).__name__})"

    @property
    def shard(self):
        return self._shard

    @shard.setter
    def shard(self, value) -> None:
        self._shard = value
        for layer in self.inner():
            layer.shard = value

    # ------------------------------------------------------------------ pass
    def forward(self, x, training=False):
        """y = skip(x) + f(x)."""
        h = forward_layers(self.layers, x, training)
        skip = x
        if self.projection is not None:
            self.projection.input = x
            skip = self.projection.output = self.projection.forward(x, training=training)
        if skip.shape != h.shape:
            raise ValueError(f"{self.label}: the block's layers give shape {h.shape[1:]} but its input is "
                             f"{x.shape[1:]}; give a projection (e.g. a 1×1 convolution) for the skip path")
        return skip + h

    def backward(self, grad_y):
        """∂L/∂x = ∂L/∂x through f + g (through the projection, if any)."""
        through_block = backward_layers(self.layers, grad_y)
        if self.projection is None:
            return through_block + grad_y
        self.projection.grad_output = grad_y
        return through_block + self.projection.backward(grad_y)

    # ----------------------------------------------------------- parameters
    def parameters(self) -> list:
        return [p for layer in self.inner() for p in layer.parameters()]

    def parameter_names(self) -> list:
        """The inner parameters' names within the block: ``"0.W"``, ``"2.b"``, ``"projection.W"``."""
        # each layer names its own (a block inside a block: "1.0.W")
        return [f"{prefix}.{name}" for prefix, layer in self.named_inner() for name in layer.parameter_names()]

    def reset_parameters(self, rng):
        for layer in self.inner():
            layer.reset_parameters(rng)

    def state(self) -> dict:
        return {f"{index}.{key}": value for index, layer in self.named_inner()
                for key, value in layer.state().items()}

    def load_state(self, state: dict) -> None:
        for index, layer in self.named_inner():
            layer.load_state({key: state[f"{index}.{key}"] for key in layer.state()})

    @classmethod
    def expected_shapes(cls, config: dict) -> dict | None:
        return cls.shapes_at_depth(config, 1)

    @classmethod
    def shapes_at_depth(cls, config: dict, depth: int) -> dict | None:
        """Parameters named as [`parameter_names()`][deltaprop.layers.residual.Residual.parameter_names] does
        (``"0.W"``, ``"projection.W"``) and state as `state()` does (``"1.running_var"``): both by `named_inner()`."""
        if depth > MAX_NESTING:
            raise ValueError(f"Residual blocks nested more than {MAX_NESTING} deep")
        if not isinstance(config.get("layers"), list):
            raise TypeError("Residual's layers must be a list of layer descriptions")
        named = list(enumerate(config["layers"]))
        if config.get("projection") is not None:
            named.append(("projection", config["projection"]))
        shapes = {}
        for name, spec in named:
            nested = _nested_shapes(spec, depth)
            if nested is None:
                return None
            shapes.update({f"{name}.{key}": shape for key, shape in nested.items()})
        return shapes

    def check_state(self, state: dict) -> None:
        for index, layer in self.named_inner():
            layer.check_state({key: state[f"{index}.{key}"] for key in layer.state()})

    def astype(self, dtype) -> None:
        for layer in self.inner():
            layer.astype(dtype)

    def penalty(self) -> float:
        return sum(layer.penalty() for layer in self.inner())

    def add_penalty_gradients(self) -> None:
        for layer in self.inner():
            layer.add_penalty_gradients()

    @property
    def min_training_batch(self) -> int:
        return max(layer.min_training_batch for layer in self.inner())

    # ---------------------------------------------------------------- shapes
    @property
    def input_shape(self):
        return next((layer.input_shape for layer in self.layers if layer.input_shape is not None), None)

    def output_shape(self, input_shape: tuple) -> tuple:
        shape = tuple(input_shape)
        for layer in self.layers:
            if not layer.fits_input(shape):
                raise ValueError(f"{layer.label} does not fit the shape {shape} it is given")
            shape = tuple(layer.output_shape(shape))
        skip = tuple(input_shape) if self.projection is None else tuple(self.projection.output_shape(input_shape))
        if not fits(skip, shape) and not fits(shape, skip):
            raise ValueError(f"{self.label}: the block's layers give shape {shape} but the skip path gives {skip}; "
                             "give a projection (e.g. a 1×1 convolution) for the skip path")
        return shape

    def fits_input(self, shape) -> bool:
        return self.layers[0].fits_input(shape)

    # ---------------------------------------------------------------- export
    def to_onnx(self, graph, x):
        h = x
        for layer in self.layers:
            if layer.to_onnx is None:
                raise TypeError(f"{layer.label} has no ONNX form")
            h = layer.to_onnx(graph, h)
        skip = x if self.projection is None else self.projection.to_onnx(graph, x)
        return graph.op("Add", skip, h)

    def config(self):
        return {"layers": [_describe(layer) for layer in self.layers],
                "projection": None if self.projection is None else _describe(self.projection)}

    def describe(self) -> str:
        inner = ", ".join(layer.describe() for layer in self.layers)
        return f"Residual({inner}{', projection=' + self.projection.describe() if self.projection else ''})"

    def __repr__(self) -> str:
        return self.describe()
