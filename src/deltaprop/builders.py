"""Shortcuts that build common networks."""
from __future__ import annotations

from . import init as initializers
from .layers import activations
from .layers.dense import Dense
from .layers.dropout import Dropout
from .layers.normalization import BatchNorm, LayerNorm
from .model import Sequential

NORMALIZATIONS = {"batchnorm": BatchNorm, "layernorm": LayerNorm}


def default_init(activation) -> str:
    """The activation's own recommendation: He for the ReLU family, Glorot for the others."""
    return activations.get(activation).recommended_init


def mlp(sizes, activation="relu", *, output_activation=None, init=None, normalization=None, dropout: float = 0.0,
        seed=None, dtype="float32", **layer_options) -> Sequential:
    """A multilayer perceptron ``Dense → activation → … → Dense``.

    Parameters
    ----------
    sizes : sequence of int
        ``[n_in, h1, …, n_out]``: at least an input and an output size.
    activation : str, default "relu"
        Activation after every hidden Dense (see :func:`deltaprop.layers.activations.get`).
    output_activation : str or None
        Activation after the last Dense; None leaves raw outputs (logits for
        ``CrossEntropy``/``BinaryCrossEntropy``, values for regression losses).
    init : str or None
        Weight initializer; None picks ``he_uniform`` for the ReLU family and
        ``glorot_uniform`` for sigmoid/tanh and the others.
    normalization : None, "batchnorm" or "layernorm"
        A normalization layer after every hidden Dense, before its activation.
        A Dense followed by BatchNorm gets no bias: BatchNorm subtracts the batch
        mean, which cancels any per-feature bias exactly (its gradient is zero),
        and BatchNorm's own ``beta`` plays that role.
    dropout : float, default 0
        A Dropout(p) after every hidden activation when > 0.
    seed, dtype
        Passed to :class:`Sequential`.
    **layer_options
        Extra keyword arguments for every Dense.

    Examples
    --------
    >>> model = mlp([64, 128, 10], activation="relu", seed=0)
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least the input and output sizes, got {sizes!r}")
    weight_init = init if init is not None else default_init(activation)  # unknown names fail here
    initializers.get(weight_init)
    if normalization is not None and normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be None, 'batchnorm' or 'layernorm', got {normalization!r}")
    layers = []
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        hidden = index < len(sizes) - 2
        options = dict(layer_options)
        if hidden and normalization == "batchnorm":
            options.setdefault("bias", False)
        layers.append(Dense(n_in, n_out, init=weight_init, **options))
        if hidden:
            if normalization is not None:
                layers.append(NORMALIZATIONS[normalization](n_out))
            layers.append(activations.get(activation))
            if dropout:
                layers.append(Dropout(dropout))
    if output_activation is not None:
        layers.append(activations.get(output_activation))
    return Sequential(layers, seed=seed, dtype=dtype)
