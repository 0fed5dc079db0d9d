"""Sequential: a stack of layers run forward, then backward in reverse order."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_float_matrix, check_positive_int, check_seed, resolve_dtype
from .layers.base import Layer
from .layers.dense import Dense


@dataclass
class DenseTrace:
    """The seed quantities of one Dense layer after a forward and backward pass.

    Attributes
    ----------
    layer : int
        Index of the Dense layer in ``model.layers``.
    A_in : ndarray (N, n_in)
        Its input: the activation A of the layer below (X for the first layer).
    Z : ndarray (N, n_out)
        Its weighted sum Z = A_in·W + b.
    A : ndarray (N, n_out)
        The activation f(Z) after the layers that follow it up to the next Dense
        (equal to Z when no activation follows).
    delta : ndarray (N, n_out) or None
        The error term δ = ∂L/∂Z (None before a backward pass).
    dW, db : ndarray or None
        ∂L/∂W = A_inᵀ·δ and ∂L/∂b = Σ δ.
    """

    layer: int
    A_in: np.ndarray
    Z: np.ndarray
    A: np.ndarray
    delta: np.ndarray | None
    dW: np.ndarray | None
    db: np.ndarray | None


class Sequential:
    """A network as a list of layers: forward runs them in order, backward in reverse.

    Parameters
    ----------
    layers : list of Layer
    seed : int or None
        Seed of the Generator that draws every initial weight (re-drawn here, in layer
        order); the same seed gives bit-identical weights. ``None`` draws fresh entropy.
    dtype : "float32" (default) or "float64"
        The dtype of every parameter and of all computation. Inputs are converted to it at
        the model's entrance; nothing inside changes dtype.

    Examples
    --------
    >>> model = Sequential([Dense(4, 8), Tanh(), Dense(8, 3)], seed=0, dtype="float64")
    >>> out = model.forward(X, training=True)
    >>> loss = CrossEntropy(); value = loss.forward(out, y)
    >>> dX = model.backward(loss.backward())
    """

    def __init__(self, layers, seed: int | None = None, dtype="float32"):
        layers = list(layers)
        if not layers:
            raise ValueError("layers must contain at least one layer, got an empty list")
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{index}] must be a deltaprop Layer, got {type(layer).__name__}")
        self.layers = layers
        self.seed = seed = check_seed(seed)
        self.dtype = resolve_dtype(dtype)
        self._check_widths()
        for index, layer in enumerate(self.layers):
            layer.label = f"layer {index} ({type(layer).__name__})"
            layer.astype(self.dtype)
        self.reset_parameters(seed)
        self._name_parameters()
        # the first layer with parameters: where fit's backward pass can stop
        self._first_trainable = next((i for i, layer in enumerate(layers) if layer.parameters()), 0)
        self.preprocessing = None  # a Preprocessor when trained from a table (saved with the model)
        self._input = None
        self._outputs: list = []
        self._grads: list = []

    # ----------------------------------------------------------------- structure
    def _check_widths(self) -> None:
        width = None
        for index, layer in enumerate(self.layers):
            n_in = getattr(layer, "n_in", None)
            if n_in is not None and width is not None and n_in != width:
                raise ValueError(
                    f"layer {index} ({type(layer).__name__}) expects {n_in} input features but the layer "
                    f"before it gives {width}"
                )
            if width is None and n_in is not None:
                width = n_in
            if width is not None:
                width = layer.output_features(width)

    def _name_parameters(self) -> None:
        for index, layer in enumerate(self.layers):
            for param in layer.parameters():
                param.name = f"{index}.{param.name.split('.')[-1]}"

    @property
    def n_in(self) -> int | None:
        """Number of input features (from the first layer that declares it)."""
        for layer in self.layers:
            if getattr(layer, "n_in", None) is not None:
                return layer.n_in
        return None

    @property
    def n_out(self) -> int | None:
        width = self.n_in
        if width is None:
            return None
        for layer in self.layers:
            width = layer.output_features(width)
        return width

    def reset_parameters(self, seed: int | None = None) -> None:
        """Re-draw every initial weight from a Generator seeded with ``seed``, then seed the
        layers' own Generators (dropout masks) from the same one."""
        rng = np.random.default_rng(seed)
        for layer in self.layers:
            layer.reset_parameters(rng)
        self.seed_generators(rng)

    def parameters(self) -> list:
        """All Parameters, in layer order (each Dense's W before its b)."""
        return [param for layer in self.layers for param in layer.parameters()]

    def astype(self, dtype) -> "Sequential":
        """Convert this model's parameters and state to ``dtype`` in place; returns self."""
        self.dtype = resolve_dtype(dtype)
        for layer in self.layers:
            layer.astype(self.dtype)
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
        """Validate ``X`` (2-D, non-empty, finite, right width) and convert it to the model dtype."""
        X = as_float_matrix(X, name, dtype=self.dtype)
        n_in = self.n_in
        if n_in is not None and X.shape[1] != n_in:
            first = next(i for i, layer in enumerate(self.layers) if getattr(layer, "n_in", None) is not None)
            raise ValueError(
                f"{name} has {X.shape[1]} features but layer {first} ({type(self.layers[first]).__name__}) "
                f"expects {n_in}"
            )
        return X

    def forward(self, X, training: bool = False) -> np.ndarray:
        """Forward pass: each layer maps its input A to its output (Z = A·W + b, then A' = f(Z)).

        ``training=True`` selects training behaviour (batch statistics, dropout).
        The output of every layer is kept for :meth:`inspect`.
        """
        return self.forward_unchecked(self.check_input(X), training=training)

    def forward_unchecked(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """:meth:`forward` for an ``X`` already checked and of the model's dtype (the fit loop's path)."""
        out = self._input = X
        outputs = self._outputs = []
        for layer in self.layers:
            out = layer.forward(out, training=training)
            outputs.append(out)
        self._grads = []
        return out

    def backward(self, grad_out, input_gradient: bool = True):
        """Backward pass: send ∂L/∂output back through the layers in reverse order.

        Each Dense receives its δ = ∂L/∂Z and writes ∂L/∂W, ∂L/∂b into its Parameters.
        Returns ∂L/∂X. With ``input_gradient=False`` (what ``fit`` uses) the pass stops once
        every parameter has its gradient: the first Dense computes ∂L/∂W and ∂L/∂b but not
        δ·Wᵀ, a matrix product nobody needs, and None is returned.
        """
        if not self._outputs:
            raise RuntimeError("backward called before forward")
        grad = np.asarray(grad_out)
        expected = self._outputs[-1].shape
        if grad.shape != expected:
            raise ValueError(f"grad_out must have the output's shape {expected}, got {grad.shape}")
        grad = np.asarray(grad, dtype=self.dtype)
        grads = [None] * len(self.layers)
        first = 0 if input_gradient else self._first_trainable
        for index in range(len(self.layers) - 1, first, -1):
            grads[index] = grad
            grad = self.layers[index].backward(grad)
        grads[first] = grad
        if input_gradient:
            grad = self.layers[0].backward(grad)
        else:
            self.layers[first].backward_parameters(grad)
            grad = None
        self._grads = grads
        return grad

    def penalty(self) -> float:
        """Sum of the layers' weight penalties (L1/L2), part of the reported loss."""
        return sum(layer.penalty() for layer in self.layers)

    def add_penalty_gradients(self) -> None:
        """Add each layer's ∂penalty/∂θ to its gradients (fit calls this after backward)."""
        for layer in self.layers:
            layer.add_penalty_gradients()

    def first_non_finite(self, loss_value: float) -> tuple | None:
        """Where the last pass first produced NaN or ±inf, in the order the algorithm ran.

        Forward pass (each layer's output), then the loss, then the backward pass from the top
        layer down (each layer's incoming gradient and its parameter gradients). Returns
        ``(layer index, description)`` — index −1 for the loss — or None when all is finite.
        """
        for index, output in enumerate(self._outputs):
            if not np.isfinite(output).all():
                return index, f"the output of {self.layers[index].label}"
        if not np.isfinite(loss_value):
            return -1, "the loss"
        for index in range(len(self._grads) - 1, -1, -1):
            arrays = [self._grads[index]] + [p.grad for p in self.layers[index].parameters()]
            if not all(np.isfinite(a).all() for a in arrays if a is not None):  # None: not computed
                return index, f"the gradient of {self.layers[index].label}"
        return None

    def needs_batch_statistics(self) -> bool:
        """True when a layer (BatchNorm) needs at least two samples per training batch."""
        return any(layer.min_training_batch > 1 for layer in self.layers)

    def seed_generators(self, rng: np.random.Generator) -> None:
        """Give every layer that draws random numbers (Dropout) its own Generator spawned from ``rng``."""
        for layer in self.layers:
            if hasattr(layer, "rng"):
                layer.rng = rng.spawn(1)[0]

    def fit(self, X, y, **options):
        """Train by mini-batch backpropagation: forward pass, loss, backward pass, update.

        Parameters
        ----------
        X : array (n_samples, n_features)
        y : array
            Integer labels or one-hot rows for CrossEntropy; targets for the others.
        loss : Loss or str
        optimizer : Optimizer or str
        epochs : int
        batch_size : int, default 32
            The last partial batch is used, not dropped.
        shuffle : bool, default True
        validation_split : float in [0, 1), default 0
            Fraction of rows held out at random (with the fit seed) for validation.
        validation_data : (X_val, y_val), optional
        metrics : list of str or Metric, optional
            "accuracy", "mse", "mae", "r2"; logged for training and validation.
        callbacks : list of Callback
        schedule : Schedule, optional
            Learning rate per epoch from the optimizer's initial lr.
        clip_norm, clip_value : float, optional
            Gradient clipping by global norm / by value before each update.
        seed : int, optional
            With the model seed, seeds shuffling, the validation split and dropout masks.
        verbose : int, default 1
            0 silent; 1 a progress bar on a terminal, one line per epoch otherwise.
        monitor : bool, int or TrainingMonitor, optional
            Record per-layer gradient-flow measurements every 10 (or N) steps into
            ``history.diagnostics`` (see :class:`deltaprop.TrainingMonitor`).

        Returns
        -------
        History
            Per-epoch ``loss``, ``val_loss``, metrics, ``lr`` and ``seconds``; ``diagnostics``
            when monitored.
        """
        from .training.trainer import fit

        return fit(self, X, y, **options)

    def evaluate(self, X, y, *, loss, metrics=None, batch_size: int = 1024) -> dict:
        """Loss (with weight penalties) and metrics in eval mode: ``{"loss": …, "accuracy": …}``."""
        from .training.trainer import evaluate

        return evaluate(self, X, y, loss=loss, metrics=metrics, batch_size=batch_size)

    def predict(self, X, batch_size: int = 1024) -> np.ndarray:
        """Inference (eval mode) in batches of ``batch_size`` rows; returns the network's output."""
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
        """Seed quantities of every Dense layer from the last forward/backward pass.

        Returns
        -------
        list of DenseTrace
            One per Dense layer, with A_in, Z, A, δ, ∂L/∂W and ∂L/∂b.
        """
        if not self._outputs:
            raise RuntimeError("inspect() needs a forward pass first")
        dense_indices = [i for i, layer in enumerate(self.layers) if isinstance(layer, Dense)]
        traces = []
        for position, index in enumerate(dense_indices):
            layer = self.layers[index]
            last = (dense_indices[position + 1] if position + 1 < len(dense_indices) else len(self.layers)) - 1
            has_grads = bool(self._grads)
            traces.append(DenseTrace(
                layer=index,
                A_in=self._input if index == 0 else self._outputs[index - 1],
                Z=self._outputs[index],
                A=self._outputs[last],
                delta=self._grads[index] if has_grads else None,
                dW=layer.W.grad if has_grads else None,
                db=(layer.b.grad if layer.b is not None else None) if has_grads else None,
            ))
        return traces

    def summary(self) -> str:
        """A table of layers with output shape and parameter count, and the total."""
        rows = [("#", "layer", "output shape", "params")]
        width = self.n_in
        total = 0
        for index, layer in enumerate(self.layers):
            width = layer.output_features(width) if width is not None else None
            count = sum(p.size for p in layer.parameters())
            total += count
            rows.append((str(index), layer.describe(), f"(None, {width})", f"{count:,}"))
        widths = [max(len(row[c]) for row in rows) for c in range(4)]
        line = "  ".join("-" * w for w in widths)
        text = [
            "  ".join(cell.ljust(widths[c]) if c < 3 else cell.rjust(widths[c]) for c, cell in enumerate(row))
            for row in rows
        ]
        text.insert(1, line)
        text += [line, f"Total parameters: {total:,}  (dtype {self.dtype.name})"]
        return "\n".join(text)
