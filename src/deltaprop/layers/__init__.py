"""Layers: Dense, convolutions, pooling, residual blocks, recurrent layers, activations, normalization and
dropout, and the protocol and registry they share."""
from .activations import ELU, GELU, Activation, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .base import LAYERS, Layer, register_layer
from .conv import Conv1D, Conv2D
from .dense import Dense
from .dropout import Dropout
from .normalization import BatchNorm, LayerNorm
from .pooling import AvgPool1D, AvgPool2D, Flatten, GlobalAvgPool, MaxPool1D, MaxPool2D
from .recurrent import GRU, LSTM, RNN
from .residual import Residual

__all__ = ["Layer", "Activation", "register_layer", "LAYERS", "Dense", "Identity", "ReLU", "LeakyReLU", "ELU",
           "GELU", "Sigmoid", "Tanh", "Softplus", "Softmax", "BatchNorm", "LayerNorm", "Dropout", "Conv1D", "Conv2D",
           "MaxPool1D", "MaxPool2D", "AvgPool1D", "AvgPool2D", "GlobalAvgPool", "Flatten", "Residual", "RNN", "GRU",
           "LSTM"]
