"""Layers: Dense, activations, normalization and dropout, and the protocol and registry they share."""
from .activations import ELU, GELU, Activation, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .base import LAYERS, Layer, register_layer
from .dense import Dense
from .dropout import Dropout
from .normalization import BatchNorm, LayerNorm

__all__ = ["Layer", "Activation", "register_layer", "LAYERS", "Dense", "Identity", "ReLU", "LeakyReLU", "ELU",
           "GELU", "Sigmoid", "Tanh", "Softplus", "Softmax", "BatchNorm", "LayerNorm", "Dropout"]
