"""``deltaprop explain``: one backpropagation step of a tiny network, printed with its real numbers."""
from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ..training.step import train_step

# the 2-2-1 sigmoid network of the README's worked example (and of many textbooks)
CLASSIC = {"x": [[0.05, 0.10]], "y": [[0.01]], "W1": [[0.15, 0.25], [0.20, 0.30]], "b1": [0.35, 0.35],
           "W2": [[0.40], [0.45]], "b2": [0.60]}


def fmt(array) -> str:
    """Numbers with 6 decimals, nested as the array is: [[0.150000, 0.250000], [0.200000, 0.300000]]."""
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 0:
        return f"{float(array):.6f}"
    return "[" + ", ".join(fmt(row) for row in array) + "]"


def build(args):
    import deltaprop as dp

    activation = dp.layers.activations.get(args.activation)
    model = dp.Sequential([dp.Dense(2, args.hidden), activation, dp.Dense(args.hidden, 1), dp.Sigmoid()],
                          seed=args.seed if args.seed is not None else 0, dtype="float64")
    if args.seed is None:
        if args.hidden != 2:
            raise InputError("--hidden other than 2 needs --seed (random weights): the classic example is 2-2-1")
        model.layers[0].W.value[...] = CLASSIC["W1"]
        model.layers[0].b.value[...] = CLASSIC["b1"]
        model.layers[2].W.value[...] = CLASSIC["W2"]
        model.layers[2].b.value[...] = CLASSIC["b2"]
    return model


def _floats(text: str, option: str, count: int) -> list:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"{option} must be {count} comma-separated numbers, got {text!r}") from None
    if len(values) != count:
        raise InputError(f"{option} must be {count} comma-separated numbers, got {len(values)}")
    if not all(math.isfinite(v) for v in values):
        raise InputError(f"{option} must be finite numbers, got {text!r}")
    return values


def run(args) -> int:
    import deltaprop as dp

    if not math.isfinite(args.lr) or args.lr <= 0:
        raise InputError(f"--lr must be a positive number, got {args.lr}")
    if args.hidden < 1:
        raise InputError(f"--hidden must be at least 1, got {args.hidden}")
    x = np.array([_floats(args.input, "--input", 2)])
    y = np.array([[_floats(args.target, "--target", 1)[0]]])
    if args.seed is not None and args.seed < 0:
        raise InputError(f"--seed must be 0 or more, got {args.seed}")
    model = build(args)
    hidden, output = model.layers[0], model.layers[2]
    act = type(model.layers[1]).__name__
    f = {"Sigmoid": "σ", "Tanh": "tanh", "ReLU": "relu"}.get(act, act.lower())
    print(f"One backpropagation step of a 2-{args.hidden}-1 network: {act} hidden units, sigmoid output, MSE loss, "
      f"learning rate α = {args.lr:g}.")
    print(f"input x = {fmt(x)}   target y = {fmt(y)}")
    print(f"weights  W1 = {fmt(hidden.W.value)}   b1 = {fmt(hidden.b.value)}")
    print(f"         W2 = {fmt(output.W.value)}   b2 = {fmt(output.b.value)}")
    print("")
    loss = dp.MSE()
    value = train_step(model, loss, model.check_input(x), y, input_gradient=True)
    grad_out = loss.backward()
    first, second = model.inspect()
    print("1. Forward pass")
    print(f"   Z1 = x·W1 + b1            = {fmt(first.Z)}")
    print(f"   A1 = {f}(Z1)".ljust(29) + f"= {fmt(first.A)}")
    print(f"   Z2 = A1·W2 + b2           = {fmt(second.Z)}")
    print(f"   A2 = σ(Z2)                = {fmt(second.A)}")
    print("2. Loss")
    print(f"   L = mean((A2 − y)²)       = {fmt(value)}")
    print("3. Output error")
    print(f"   ∂L/∂A2 = 2·(A2 − y)/N     = {fmt(grad_out)}")
    print(f"   δ2 = ∂L/∂A2 ⊙ σ'(Z2)      = {fmt(second.delta)}")
    print("4. Hidden error")
    print(f"   δ1 = (δ2·W2ᵀ) ⊙ {f}'(Z1)".ljust(29) + f"= {fmt(first.delta)}")
    print("5. Gradients")
    print(f"   ∂L/∂W2 = A1ᵀ·δ2           = {fmt(second.dW)}")
    print(f"   ∂L/∂b2 = Σ δ2             = {fmt(second.db)}")
    print(f"   ∂L/∂W1 = xᵀ·δ1            = {fmt(first.dW)}")
    print(f"   ∂L/∂b1 = Σ δ1             = {fmt(first.db)}")
    dp.SGD(lr=args.lr).step(model.parameters())
    print(f"6. Update: W ← W − α·∂L/∂W, b ← b − α·∂L/∂b (α = {args.lr:g})")
    print(f"   W2 = {fmt(output.W.value)}   b2 = {fmt(output.b.value)}")
    print(f"   W1 = {fmt(hidden.W.value)}   b1 = {fmt(hidden.b.value)}")
    new_value = loss.forward(model.forward(x), y)
    print(f"   loss after the step: {fmt(new_value)} (was {fmt(value)})")
    return 0
