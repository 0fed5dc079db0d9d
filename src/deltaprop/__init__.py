"""deltaprop: neural networks trained by backpropagation, on a CPU, every δ in view.

>>> import deltaprop as dp
>>> model = dp.Sequential([dp.Dense(4, 8), dp.Tanh(), dp.Dense(8, 3)], seed=0)
"""
from . import init
from .builders import cnn, mlp, rnn
from .gradcheck import GradcheckReport, gradcheck
from .errors import DataError, InputError, ModelFileError
from .layers import (
    ELU, GELU, Activation, AvgPool1D, AvgPool2D, BatchNorm, Conv1D, Conv2D, Dense, Dropout, Flatten, GlobalAvgPool,
    GRU, LSTM, RNN, Identity, Layer, LayerNorm, LeakyReLU, MaxPool1D, MaxPool2D, ReLU, Residual, Sigmoid, Softmax,
    Softplus, Tanh, register_layer,
)
from .losses import MAE, MSE, BinaryCrossEntropy, CrossEntropy, Huber, Loss
from .model import LayerTrace, Sequential
from .optim import (
    SGD, Adagrad, Adam, AdamW, CosineAnnealing, ExponentialDecay, LinearWarmup, Optimizer, ReduceLROnPlateau,
    RMSprop, Schedule, StepDecay, clip_grad_norm, clip_grad_value,
)
from .training import (
    BackupAndRestore, BackupError, BestOf, Callback, Diagnostics, EarlyStopping, GradientNoise, History, LambdaCallback,
    Sharpness, StopAtTarget, TerminateOnNaN,
    TrainingMonitor, TrainingRun, evaluate, fit, fit_best_of, train_step,
)
from .parameter import Parameter
from .io import Checkpoint, load, load_checkpoint, save
from .export import export_onnx
from .preprocessing import Preprocessor
from .diagnostics import Finding, diagnose
from .threads import num_threads, set_num_threads
from . import curvature, landscape

from ._version import __version__

__all__ = [
    "init", "mlp", "cnn", "rnn", "gradcheck", "GradcheckReport",
    "Layer", "Activation", "register_layer", "Dense", "Identity", "ReLU", "LeakyReLU", "ELU", "GELU", "Sigmoid",
    "Tanh", "Softplus", "Softmax", "BatchNorm", "LayerNorm", "Dropout", "Conv1D", "Conv2D", "MaxPool1D", "MaxPool2D",
    "AvgPool1D", "AvgPool2D", "GlobalAvgPool", "Flatten", "Residual", "RNN", "GRU", "LSTM",
    "Loss", "MSE", "MAE", "Huber", "BinaryCrossEntropy", "CrossEntropy",
    "Sequential", "LayerTrace", "Parameter", "__version__", "InputError", "DataError",
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "clip_grad_norm", "clip_grad_value",
    "Schedule", "StepDecay", "ExponentialDecay", "CosineAnnealing", "LinearWarmup", "ReduceLROnPlateau",
    "fit", "evaluate", "train_step", "fit_best_of", "BestOf", "History", "TrainingRun", "Callback", "EarlyStopping",
    "StopAtTarget", "TerminateOnNaN", "LambdaCallback", "Sharpness", "GradientNoise", "BackupAndRestore", "BackupError",
    "save", "load", "load_checkpoint", "Checkpoint", "export_onnx", "ModelFileError", "Preprocessor", "datasets",
    "diagnose", "Finding", "TrainingMonitor", "Diagnostics", "set_num_threads", "num_threads", "curvature",
    "landscape",
]


def __getattr__(name):
    # dp.datasets needs pandas (an extra): import it on first use, not with the core
    if name == "datasets":
        import importlib

        return importlib.import_module(".datasets", __name__)
    raise AttributeError(f"module 'deltaprop' has no attribute {name!r}")
