"""The training loop, its history, metrics, callbacks and monitor.

``Sequential.fit`` and ``Sequential.evaluate`` are the functions [`fit()`][deltaprop.fit] and [`evaluate()`][deltaprop.evaluate]
of this package, attached to the model class here: the model (core) never imports the level
above it, and ``model.fit(X, y, …)`` reads as users of Keras and scikit-learn expect.
"""
from ..model import Sequential
from .backup import BackupAndRestore, BackupError
from .best_of import BestOf, fit_best_of
from .callbacks import Callback, EarlyStopping, LambdaCallback, StopAtTarget, TerminateOnNaN
from .history import History
from .metrics import Accuracy, MeanAbsoluteError, MeanSquaredError, Metric, R2
from .monitor import Diagnostics, TrainingMonitor
from .sharpness import GradientNoise, Sharpness
from .step import train_step
from .trainer import TrainingRun, evaluate, fit

Sequential.fit = fit
Sequential.evaluate = evaluate

__all__ = [
    "fit", "evaluate", "train_step", "BackupAndRestore", "BackupError", "fit_best_of", "BestOf", "History",
    "TrainingRun", "Callback", "EarlyStopping",
    "StopAtTarget", "TerminateOnNaN", "LambdaCallback", "Metric", "Accuracy", "MeanSquaredError",
    "MeanAbsoluteError", "R2", "TrainingMonitor", "Diagnostics", "Sharpness", "GradientNoise",
]
