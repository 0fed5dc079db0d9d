"""``diagnose``: a few forward/backward passes on a sample, and findings with the remedy for each cause.

Thresholds (module constants, documented in the README):

* ``vanishing`` — a weight layer (Dense, or any layer of kind "weights") whose δ (RMS of ∂L/∂Z) is
  below VANISHING_RATIO = 1e-2 times the last weight layer's: its weights barely move while the top
  layers learn.
* ``exploding`` — a weight layer whose δ is above EXPLODING_RATIO = 1e2 times the last one's, or
  whose ‖∂L/∂W‖ exceeds EXPLODING_GRADIENT = 1e4.
  (Healthy networks stay well inside: a 10-layer He-initialized ReLU MLP has ratios ≈ 0.45, a
  6-layer one with BatchNorm 0.75–1.1.)
* ``dead_units`` — more than DEAD_FRACTION = 50% of a ReLU-family layer's units have z ≤ 0 on
  every sample.
* ``saturation`` — on average more than SATURATED_FRACTION = 50% of a squashing layer's (sigmoid,
  tanh) units have f'(z) < 1e-3 on a sample.

Every layer says what it is (``kind``, ``family``) and keeps the record of its last pass; nothing here
knows a layer type by name, so a user's own layers are judged like the built-in ones.
* ``nonfinite`` — NaN or infinity in a layer's output, the loss, or a gradient.
* ``vanishing_through_time`` / ``exploding_through_time`` — a recurrent layer whose ‖δ‖ at the first time step
  is below VANISHING_RATIO (above EXPLODING_RATIO) times its ‖δ‖ at the last step (geometric mean over the
  batches): the error fades (grows) as it is sent back through W_hh once per step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..losses import get as get_loss
from ..training import measures
from ..training.step import train_step

VANISHING_RATIO = 1e-2
EXPLODING_RATIO = 1e2
EXPLODING_GRADIENT = 1e4
DEAD_FRACTION = 0.5
SATURATED_FRACTION = 0.5
KINDS = ("vanishing", "exploding", "dead_units", "saturation", "nonfinite", "vanishing_through_time",
         "exploding_through_time")


@dataclass
class Finding:
    """One diagnosed problem: what (``kind``), where (``layer``, ``layer_name``), how much (``value``)
    and what to do (``advice``)."""

    kind: str
    layer: int
    layer_name: str
    value: float
    advice: str

    def __str__(self) -> str:
        return f"{self.kind} at {self.layer_name}: {self.value:.3g} — {self.advice}"


def _init_scale(layer) -> tuple[float, str]:
    """std(W)·√fan_in against He's √2 (ReLU family) or Glorot's ≈ 1."""
    weights = layer.parameters()[0].value
    # a Dense W is (n_in, n_out); a convolution's (out_channels, in_channels, *kernel)
    fan_in = weights.shape[0] if weights.ndim == 2 else weights[0].size
    std = float(np.std(weights)) * math.sqrt(fan_in)
    return std, f"std(W)·√fan_in = {std:.3g}"


def _following_activation(model, index: int):
    """The first ReLU-family or squashing activation after weight layer ``index``, before the next weight layer."""
    for layer in model.layers[index + 1:]:
        if layer.family is not None:
            return layer
        if layer.kind == "weights":
            return None
    return None


def _has_normalization(model) -> bool:
    return any(layer.kind == "normalization" for layer in model.layers)


def _vanishing_advice(model, index: int) -> str:
    activation = _following_activation(model, index)
    scale, described = _init_scale(model.layers[index])
    tips = []
    family = getattr(activation, "family", None)
    if family == "squashing":
        tips.append(f"{type(activation).__name__}'s derivative is at most "
                    f"{'1/4' if type(activation).__name__ == 'Sigmoid' else '1'} and shrinks δ at every layer: "
                    "use ReLU with He init (dp.mlp(..., activation='relu'))")
    recommended = math.sqrt(2) if family == "relu" else 1.0
    if scale < recommended / 3:
        tips.append(f"the weights are initialized too small ({described}, He/Glorot give ≈ {recommended:.2g}): "
                    "use init='he_normal' for ReLU or 'glorot_uniform' for sigmoid/tanh")
    if not _has_normalization(model):
        tips.append("add BatchNorm after each Dense or convolution (dp.mlp(..., normalization='batchnorm'))")
    depth = sum(layer.kind == "weights" for layer in model.layers)
    if depth > 6 and not any(layer.kind == "block" for layer in model.layers):
        tips.append(f"with {depth} weight layers, add skip connections: wrap pairs of layers in dp.Residual blocks, "
                    "so that δ has an identity path back to the first layers")
    return "; ".join(tips) or "use fewer layers or a higher learning rate for the first layers"


def _exploding_advice(model, index: int) -> str:
    scale, described = _init_scale(model.layers[index])
    activation = _following_activation(model, index)
    recommended = math.sqrt(2) if getattr(activation, "family", None) == "relu" else 1.0
    tips = []
    if scale > recommended * 1.5:
        tips.append(f"the weights are initialized too large ({described}, He/Glorot give ≈ {recommended:.2g}): "
                    "use init='he_normal' for ReLU or 'glorot_uniform' for sigmoid/tanh")
    tips.append("clip gradients (fit(..., clip_norm=1.0))")
    tips.append("lower the learning rate")
    if not _has_normalization(model):
        tips.append("add BatchNorm after each Dense")
    return "; ".join(tips)


def _dead_advice(model, index: int) -> str:
    dense = next((i for i in range(index - 1, -1, -1) if model.layers[i].kind == "weights"), None)
    tips = []
    parameters = model.layers[dense].parameters() if dense is not None else []
    if len(parameters) > 1:      # a bias after the weights
        bias = float(np.mean(parameters[1].value))
        if bias < -1:
            tips.append(f"the bias of layer {dense} is very negative (mean {bias:.3g}): reset it "
                        f"(model.layers[{dense}].b.value[...] = 0)")
    tips.append("lower the learning rate (a large step can push units below zero for good)")
    tips.append("use LeakyReLU or ELU, whose gradient is never exactly 0")
    tips.append("use He init")
    return "; ".join(tips)


def _saturation_advice(model, index: int) -> str:
    tips = ["standardize the inputs (mean 0, std 1)", "use Glorot init for sigmoid/tanh"]
    if not _has_normalization(model):
        tips.append("add BatchNorm before the activation")
    tips.append("or use ReLU, which does not saturate for z > 0")
    return "; ".join(tips)


def _through_time_advice(layer, exploding: bool) -> str:
    if exploding:
        return ("δ grows on its way back through time, step after step through W_hh: clip the gradient's global "
                "norm (fit(clip_norm=1.0), deltaprop train --clip-norm 1.0), lower the learning rate, or train on "
                "shorter chunks (fit(tbptt=k))")
    return ("δ fades on its way back through time, so the first steps barely learn: "
            + ("use an LSTM or GRU, whose gates carry δ across many steps; " if not getattr(layer, "gated", False)
               else "")
            + "initialise W_hh orthogonally (recurrent_init='orthogonal'), or shorten the sequences")


def _snapshot(model) -> list:
    """Layer state (running statistics) and the states of the layers' Generators, to put back after the passes."""
    return [({key: value.copy() for key, value in layer.state().items()},
             layer.rng.bit_generator.state if layer.draws_random else None) for layer in model.layers]


def _restore(model, saved) -> None:
    for layer, (state, rng_state) in zip(model.layers, saved):
        layer.load_state(state)
        if rng_state is not None:
            layer.rng.bit_generator.state = rng_state


def diagnose(model, X, y, loss, *, n_batches: int = 4, batch_size: int = 256, seed: int = 0, optimizer=None,
             train_batch_size: int | None = None, starts=()) -> list:
    """Findings about gradient flow from ``n_batches`` forward/backward passes in training mode.

    Nothing changes: no weight is updated, and BatchNorm running statistics and dropout
    generators are put back. Returns a list of [`Finding`][deltaprop.Finding] (empty when all is well),
    sorted by layer.

    Findings about the loss surface (see `deltaprop.diagnostics.curvature_findings`), on 1,000 rows:
    with ``optimizer`` (the one training uses), a learning rate past the stability limit 2/λ_max or at the edge
    of stability; with ``train_batch_size``, a batch far below or above the gradient noise scale; with
    ``starts`` (other models of the same architecture, e.g. ``fit_best_of``'s), a minimum much sharper than
    theirs. They cost 40 gradient evaluations per model (λ_max) and one pass per 256 rows (noise scale).
    """
    loss = get_loss(loss)
    X = model.check_input(X)
    y = np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    rng = np.random.default_rng(seed)
    weighted = [index for index, layer in enumerate(model.layers) if layer.kind == "weights"]
    delta = {i: [] for i in weighted}
    grad = {i: [] for i in weighted}
    units = {i: {} for i in range(len(model.layers))}
    through_time = {}                   # a recurrent layer's ‖δ‖ at its first step relative to its last
    saved = _snapshot(model)
    # non-finite values are findings here, not warnings
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            for _ in range(n_batches):
                rows = rng.choice(len(X), size=min(batch_size, len(X)), replace=False)
                if len(rows) < 2 and model.needs_batch_statistics():
                    raise ValueError("diagnose needs at least 2 samples for a model with BatchNorm")
                value = train_step(model, loss, X[rows], y[rows], input_gradient=True)
                problem = model.first_non_finite(value)
                if problem is not None:
                    index, what = problem
                    name = model.layers[index].label if index >= 0 else "the loss"
                    return [Finding("nonfinite", index, name, float("nan"),
                                    f"non-finite values first appear in {what}: lower the learning rate, "
                                    "clip gradients, check the inputs for NaN/inf")]
                for i in weighted:
                    delta[i].append(measures.rms(model.layers[i].grad_output))
                    grad[i].append(measures.norm(model.layers[i].parameters()[0].grad))
                for i, layer in enumerate(model.layers):
                    for name, value in measures.unit_measures(layer).items():
                        units[i].setdefault(name, []).append(value)
                    norms = layer.delta_norms_through_time()
                    if norms is not None and len(norms) > 1 and norms[-1] > 0:
                        through_time.setdefault(i, []).append(float(norms[0] / norms[-1]))
        finally:
            _restore(model, saved)

    findings = []
    if weighted:
        reference = float(np.mean(delta[weighted[-1]]))
        for i in weighted[:-1]:
            ratio = float(np.mean(delta[i])) / reference if reference > 0 else float("inf")
            name = model.layers[i].label
            if reference > 0 and ratio < VANISHING_RATIO:
                findings.append(Finding("vanishing", i, name, ratio, _vanishing_advice(model, i)))
            elif ratio > EXPLODING_RATIO or float(np.mean(grad[i])) > EXPLODING_GRADIENT:
                findings.append(Finding("exploding", i, name, ratio, _exploding_advice(model, i)))
    for i, ratios in through_time.items():
        ratio, layer = float(np.exp(np.mean(np.log(np.maximum(ratios, 1e-300))))), model.layers[i]
        if ratio < VANISHING_RATIO:
            findings.append(Finding("vanishing_through_time", i, layer.label, ratio, _through_time_advice(layer, False)))
        elif ratio > EXPLODING_RATIO:
            findings.append(Finding("exploding_through_time", i, layer.label, ratio, _through_time_advice(layer, True)))
    for i, measured in units.items():
        name = model.layers[i].label
        if measured.get("dead") and np.mean(measured["dead"]) > DEAD_FRACTION:
            findings.append(Finding("dead_units", i, name, float(np.mean(measured["dead"])), _dead_advice(model, i)))
        if measured.get("saturated") and np.mean(measured["saturated"]) > SATURATED_FRACTION:
            findings.append(Finding("saturation", i, name, float(np.mean(measured["saturated"])),
                                    _saturation_advice(model, i)))
    if optimizer is not None or train_batch_size is not None or starts:
        from .curvature_findings import curvature_findings

        findings += curvature_findings(model, X, y, loss, optimizer=optimizer, batch_size=train_batch_size,
                                       starts=starts, seed=seed)
    return sorted(findings, key=lambda finding: (finding.layer, finding.kind))


def findings_table(findings) -> list:
    """Rows (kind, layer, value, advice) for a text or HTML table."""
    return [(f.kind, f.layer_name, f"{f.value:.3g}", f.advice) for f in findings]
