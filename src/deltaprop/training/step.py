"""One step of backpropagation on a mini-batch: the algorithm's first three phases, on one screen."""
from __future__ import annotations


def train_step(model, loss, X_batch, y_batch, *, input_gradient: bool = False) -> float:
    """Forward pass, loss, backward pass — everything but the update — and the loss value.

    1. forward pass in training mode: every layer's output, ``Z = A·W + b``, ``A' = f(Z)``;
    2. the loss, plus the layers' weight penalties (``l1·Σ|W| + l2·ΣW²``);
    3. the backward pass: δ from the output down, ∂L/∂θ into every ``Parameter.grad``, plus the
       penalties' gradients.

    The update (4.) is the optimizer's: ``optimizer.step(model.parameters())``. ``X_batch`` must
    already be checked and of the model's dtype. With ``input_gradient=False`` the backward pass
    stops at the first layer with parameters (see [`backward()`][deltaprop.Sequential.backward]).

    Returns
    -------
    float
        L + penalty for this batch; the prediction is ``model.layers[-1].output``.
    """
    prediction = model.forward_unchecked(X_batch, training=True)
    value = loss.forward(prediction, y_batch) + model.penalty()
    model.backward(loss.backward(), input_gradient=input_gradient)
    model.add_penalty_gradients()
    return value
