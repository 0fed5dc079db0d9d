"""Optimizers (PyTorch's update rules and names), gradient clipping and learning-rate schedules."""
from .._registry import Registry
from .adam import Adam, AdamW
from .base import Optimizer
from .clipping import clip_grad_norm, clip_grad_value, global_grad_norm
from .rmsprop import Adagrad, RMSprop
from .schedules import (
    CosineAnnealing, ExponentialDecay, LinearWarmup, ReduceLROnPlateau, Schedule, StepDecay,
)
from .sgd import SGD

OPTIMIZERS = Registry("optimizer", Optimizer, "a name or an Optimizer")
OPTIMIZERS.register(SGD, "sgd")
OPTIMIZERS.register(Adam, "adam")
OPTIMIZERS.register(AdamW, "adamw")
OPTIMIZERS.register(RMSprop, "rmsprop")
OPTIMIZERS.register(Adagrad, "adagrad")


def get(optimizer, lr: float | None = None) -> Optimizer:
    """An Optimizer from a name (``"adam"``) with its default (or the given) lr, or an instance."""
    return OPTIMIZERS.get(optimizer) if lr is None else OPTIMIZERS.get(optimizer, lr=lr)


__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "clip_grad_norm", "clip_grad_value",
    "global_grad_norm", "Schedule", "StepDecay", "ExponentialDecay", "CosineAnnealing", "LinearWarmup",
    "ReduceLROnPlateau", "get",
]
