"""Layers: Dense, activations, and (later) normalization and dropout."""
from .activations import ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .base import Layer
from .dense import Dense
from .dropout import Dropout
from .normalization import BatchNorm, LayerNorm

__all__ = ["Layer", "Dense", "Identity", "ReLU", "LeakyReLU", "ELU", "GELU", "Sigmoid", "Tanh", "Softplus", "Softmax",
           "BatchNorm", "LayerNorm", "Dropout"]
