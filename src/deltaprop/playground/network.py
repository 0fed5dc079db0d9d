"""The network, loss and optimizer of a playground run, from its settings — written as the script writes them."""
from __future__ import annotations

from ..builders import mlp
from ..losses import MSE, CrossEntropy
from ..optim import SGD, Adam, RMSprop

MOMENTUM = 0.9


def build_model(settings, n_in: int, n_out: int):
    """``dp.mlp([n_in, *hidden, n_out], …)`` in float64, seeded with the run's seed; the last Dense gives logits
    (classification, with CrossEntropy) or the value (regression, with MSE)."""
    return mlp([n_in, *settings.hidden, n_out], activation=settings.activation,
               init=None if settings.init == "auto" else settings.init,
               normalization="batchnorm" if settings.batchnorm else None, dropout=settings.dropout,
               l1=settings.l1, l2=settings.l2, seed=settings.seed, dtype="float64")


def build_loss(settings):
    return CrossEntropy() if settings.task == "classification" else MSE()


def build_optimizer(settings):
    if settings.optimizer == "sgd":
        return SGD(lr=settings.lr)
    if settings.optimizer == "momentum":
        return SGD(lr=settings.lr, momentum=MOMENTUM)
    if settings.optimizer == "adam":
        return Adam(lr=settings.lr)
    return RMSprop(lr=settings.lr)


def metric(settings) -> str:
    """What the curves show beside the loss: accuracy, or R² for regression."""
    return "accuracy" if settings.task == "classification" else "r2"
