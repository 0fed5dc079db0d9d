"""The training loop, its history, metrics and callbacks."""
from .best_of import BestOf, fit_best_of
from .callbacks import Callback, EarlyStopping, LambdaCallback, StopAtTarget, TerminateOnNaN
from .history import History
from .metrics import Accuracy, MeanAbsoluteError, MeanSquaredError, Metric, R2
from .trainer import Trainer, evaluate, fit

__all__ = [
    "fit", "evaluate", "fit_best_of", "BestOf", "History", "Trainer", "Callback", "EarlyStopping",
    "StopAtTarget", "TerminateOnNaN", "LambdaCallback", "Metric", "Accuracy", "MeanSquaredError",
    "MeanAbsoluteError", "R2",
]
