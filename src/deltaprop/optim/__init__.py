"""Optimizers (PyTorch's update rules and names), gradient clipping and learning-rate schedules."""
from .adam import Adam, AdamW
from .base import Optimizer
from .clipping import clip_grad_norm, clip_grad_value, global_grad_norm
from .rmsprop import Adagrad, RMSprop
from .schedules import (
    CosineAnnealing, ExponentialDecay, LinearWarmup, ReduceLROnPlateau, Schedule, StepDecay,
)
from .sgd import SGD

OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(optimizer, lr: float | None = None) -> Optimizer:
    """An Optimizer from a name (``"adam"``) with its default (or the given) lr, or an instance."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        cls = OPTIMIZERS[optimizer.lower()]
        return cls() if lr is None else cls(lr=lr)
    if isinstance(optimizer, str):
        raise ValueError(f"unknown optimizer {optimizer!r}; known optimizers: {', '.join(OPTIMIZERS)}")
    raise TypeError(f"optimizer must be a name or an Optimizer, got {optimizer!r}")


__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "clip_grad_norm", "clip_grad_value",
    "global_grad_norm", "Schedule", "StepDecay", "ExponentialDecay", "CosineAnnealing", "LinearWarmup",
    "ReduceLROnPlateau", "get",
]
