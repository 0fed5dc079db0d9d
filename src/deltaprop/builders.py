"""Shortcuts that build common networks."""
from __future__ import annotations

import re

from . import init as initializers
from .layers import activations
from .layers.conv import Conv1D, Conv2D
from .layers.dense import Dense
from .layers.dropout import Dropout
from .layers.normalization import BatchNorm, LayerNorm
from .layers.pooling import AvgPool1D, AvgPool2D, Flatten, GlobalAvgPool, MaxPool1D, MaxPool2D
from .layers.recurrent import GRU, LSTM, RNN
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
        Activation after every hidden Dense (see `deltaprop.layers.activations.get()`).
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
        Passed to [`Sequential`][deltaprop.Sequential].
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


POOLS = {("max", 1): MaxPool1D, ("max", 2): MaxPool2D, ("avg", 1): AvgPool1D, ("avg", 2): AvgPool2D}


def parse_conv(spec) -> list:
    """Convolution layers from ``"C:K[:S[:P]]"`` items separated by commas (out channels, kernel, stride — default
    1 — and padding — default (K − 1) // 2), or from a list of such strings or of (C, K[, S[, P]]) tuples."""
    if isinstance(spec, str):
        spec = [item for item in spec.split(",") if item.strip()]
    layers = []
    for item in spec:
        if isinstance(item, str):
            if not re.fullmatch(r"\s*\d+(:\d+){1,3}\s*", item):
                raise ValueError(f"conv layer {item!r} must be C:K, C:K:S or C:K:S:P (channels, kernel, stride, "
                                 "padding), e.g. 25:5:2:1")
            item = tuple(int(part) for part in item.split(":"))
        if not isinstance(item, (tuple, list)) or not 2 <= len(item) <= 4:
            raise ValueError(f"conv layer {item!r} must be (channels, kernel[, stride[, padding]])")
        channels, kernel, *rest = item
        stride = rest[0] if rest else 1
        padding = rest[1] if len(rest) > 1 else (kernel - 1) // 2
        layers.append((channels, kernel, stride, padding))
    if not layers:
        raise ValueError("conv needs at least one layer, e.g. '25:5:2:1'")
    return layers


def cnn(input_shape, conv, n_out: int, *, hidden=(), activation="relu", init=None, normalization=None, pool=None,
        global_pool: bool = False, dropout: float = 0.0, seed=None, dtype="float32") -> Sequential:
    """A convolutional network: ``[Conv → (BatchNorm) → activation → (pool)] × len(conv)``, then ``Flatten`` (or
    ``GlobalAvgPool``), ``[Dense → activation → (Dropout)] × len(hidden)`` and ``Dense(n_out)``.

    Parameters
    ----------
    input_shape : (C, L) or (C, H, W)
        One sample's shape: Conv1D layers for sequences, Conv2D for images.
    conv : str or list
        The convolutions (see `parse_conv()`), e.g. ``"25:5:2:1,25:3:2:1,25:3:2:1"`` — MNIST-1D's paper CNN.
    n_out : int
    hidden : sequence of int
        Dense layers between the convolutions and the output.
    activation, init, dropout, seed, dtype
        As in [`mlp()`][deltaprop.mlp] (He init for the ReLU family; convolutions count fan-in as in_channels·kernel).
    normalization : None or "batchnorm"
        BatchNorm over channels after every convolution (which then has no bias).
    pool : None, "max" or "avg"
        A pooling of size 2 (stride 2) after every convolution block.
    global_pool : bool
        Average each channel over its positions (GlobalAvgPool) instead of flattening.

    Examples
    --------
    >>> model = cnn((1, 40), "25:5:2:1,25:3:2:1,25:3:2:1", 10, seed=0)   # MNIST-1D's CNN
    >>> model.output_shape, sum(p.size for p in model.parameters())
    ((10,), 5210)
    """
    input_shape = tuple(input_shape)
    if len(input_shape) not in (2, 3) or not all(isinstance(v, int) and v > 0 for v in input_shape):
        raise ValueError(f"input_shape must be (channels, length) or (channels, height, width), got {input_shape!r}")
    if normalization not in (None, "batchnorm"):
        raise ValueError(f"normalization must be None or 'batchnorm' for a CNN, got {normalization!r}")
    if pool not in (None, "max", "avg"):
        raise ValueError(f"pool must be None, 'max' or 'avg', got {pool!r}")
    dims = len(input_shape) - 1
    weight_init = init if init is not None else default_init(activation)
    initializers.get(weight_init)
    convolution = Conv1D if dims == 1 else Conv2D
    layers, channels = [], input_shape[0]
    for out_channels, kernel, stride, padding in parse_conv(conv):
        layers.append(convolution(channels, out_channels, kernel, stride=stride, padding=padding, init=weight_init,
                                  bias=normalization is None))
        if normalization == "batchnorm":
            layers.append(BatchNorm(out_channels))
        layers.append(activations.get(activation))
        if pool is not None:
            layers.append(POOLS[pool, dims](2))
        channels = out_channels
    layers.append(GlobalAvgPool() if global_pool else Flatten())
    shape = input_shape                                            # the features the Dense layers receive
    for layer in layers:
        shape = layer.output_shape(shape)
    if min(shape) < 1:
        raise ValueError(f"the convolutions {conv!r} leave no positions of an input of shape {input_shape}")
    sizes = [shape[0], *hidden]
    for n_in, units in zip(sizes[:-1], sizes[1:]):
        layers += [Dense(n_in, units, init=weight_init), activations.get(activation)]
        if dropout:
            layers.append(Dropout(dropout))
    layers.append(Dense(sizes[-1], n_out, init=weight_init))
    return Sequential(layers, seed=seed, dtype=dtype, input_shape=input_shape)


RECURRENT = {"rnn": RNN, "gru": GRU, "lstm": LSTM}


def parse_rnn(spec) -> list:
    """Recurrent layers from ``"KIND:H[:bi]"`` items separated by commas — KIND rnn, gru or lstm, H units, ``bi``
    for a bidirectional layer — e.g. ``"gru:64"`` or ``"lstm:32:bi,lstm:32"``: [(kind, H, bidirectional), …]."""
    items = [item.strip() for item in str(spec).split(",") if item.strip()]
    layers = []
    for item in items:
        match = re.fullmatch(r"(rnn|gru|lstm):(\d+)(:bi)?", item)
        if match is None or int(match.group(2)) < 1:
            raise ValueError(f"recurrent layer {item!r} must be KIND:H or KIND:H:bi with KIND rnn, gru or lstm and "
                             "H ≥ 1 units, e.g. gru:64")
        layers.append((match.group(1), int(match.group(2)), match.group(3) is not None))
    if not layers:
        raise ValueError("rnn needs at least one layer, e.g. 'gru:64'")
    return layers


def rnn(input_shape, spec, n_out: int, *, hidden=(), activation="relu", seed=None, dtype="float32") -> Sequential:
    """A recurrent network: the layers of ``spec`` (see `parse_rnn()`) over sequences of ``input_shape`` = (T, F)
    steps × features — each returning its whole sequence to the next, the last its final state — then
    ``[Dense → activation] × len(hidden)`` and ``Dense(n_out)``."""
    steps, features = (int(v) for v in input_shape)
    layers, n_in = [], features
    parsed = parse_rnn(spec)
    for position, (kind, units, bidirectional) in enumerate(parsed):
        layers.append(RECURRENT[kind](n_in, units, bidirectional=bidirectional,
                                      return_sequences=position < len(parsed) - 1))
        n_in = units * (2 if bidirectional else 1)
    init = default_init(activation)
    for size in hidden:
        layers += [Dense(n_in, size, init=init), activations.get(activation)]
        n_in = size
    layers.append(Dense(n_in, n_out))
    return Sequential(layers, seed=seed, dtype=dtype, input_shape=(steps, features))
