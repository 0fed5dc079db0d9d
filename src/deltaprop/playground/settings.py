"""What a learner sets in the playground, checked field by field: one ``ValueError`` naming the field otherwise.

Everything that changes the numbers of a run is here (data, inputs, network, training, seed); the speed and
play/pause are not, so a run is reproduced by its settings and its number of epochs alone.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from ..datasets.toys import NAMES as TOYS

TABLES = {"iris": "classification", "wine": "classification", "breast_cancer": "classification",
          "diabetes": "regression"}
DATASETS = TOYS + tuple(TABLES)
#: the derived inputs, computed from the two coordinates x₁, x₂ (see data.features)
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "sigmoid", "identity")
INITS = ("auto", "he_uniform", "he_normal", "glorot_uniform", "glorot_normal", "lecun_normal")
OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop")
#: the stated limits: a network the page can draw and train at several updates a second
MAX_LAYERS, MAX_UNITS, MAX_POINTS = 16, 32, 2000


def _number(value, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not low <= value <= high:
        raise ValueError(f"{name} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _integer(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return value


def _choice(value, name: str, options) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(options)}, got {value!r}")
    return value


@dataclass
class Settings:
    """One playground run. ``columns`` picks two table columns to show (None: the first two principal
    components of the standardized table); ``noise`` (0–0.5) and ``points`` apply to the toys."""

    dataset: str = "circle"
    noise: float = 0.0
    points: int = 500
    train_fraction: float = 0.5
    columns: list | None = None
    features: list = field(default_factory=lambda: ["x1", "x2"])
    hidden: list = field(default_factory=lambda: [8, 8])
    activation: str = "tanh"
    init: str = "auto"
    batchnorm: bool = False
    dropout: float = 0.0
    l1: float = 0.0
    l2: float = 0.0
    optimizer: str = "adam"
    lr: float = 0.01
    batch_size: int = 16
    seed: int = 0

    @property
    def task(self) -> str:
        return TABLES.get(self.dataset, "classification")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values) -> Settings:
        """Settings from a JSON object: unknown fields and wrong values raise ``ValueError`` naming the field."""
        if not isinstance(values, dict):
            raise TypeError(f"settings must be a JSON object, got {type(values).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        _choice(self.dataset, "dataset", DATASETS)
        self.noise = _number(self.noise, "noise", 0, 0.5)
        self.points = _integer(self.points, "points", 20, MAX_POINTS)
        self.train_fraction = _number(self.train_fraction, "train_fraction", 0.1, 0.9)
        if self.columns is not None:
            if not isinstance(self.columns, list) or len(self.columns) != 2 or self.columns[0] == self.columns[1]:
                raise ValueError(f"columns must be two different column numbers or null, got {self.columns!r}")
            for column in self.columns:
                _integer(column, "columns", 0, 29)
        if not isinstance(self.features, list) or not self.features:
            raise ValueError(f"features must be a non-empty list of {', '.join(FEATURES)}, got {self.features!r}")
        for name in self.features:
            _choice(name, "features", FEATURES)
        if len(set(self.features)) != len(self.features):
            raise ValueError(f"features must not repeat, got {self.features!r}")
        self.features = [name for name in FEATURES if name in self.features]   # one order: the page's
        if not isinstance(self.hidden, list) or len(self.hidden) > MAX_LAYERS:
            raise ValueError(f"hidden must list at most {MAX_LAYERS} layer sizes, got {self.hidden!r}")
        for units in self.hidden:
            _integer(units, "hidden", 1, MAX_UNITS)
        _choice(self.activation, "activation", ACTIVATIONS)
        _choice(self.init, "init", INITS)
        if not isinstance(self.batchnorm, bool):
            raise TypeError(f"batchnorm must be true or false, got {self.batchnorm!r}")
        self.dropout = _number(self.dropout, "dropout", 0, 0.9)
        self.l1 = _number(self.l1, "l1", 0, 1)
        self.l2 = _number(self.l2, "l2", 0, 1)
        _choice(self.optimizer, "optimizer", OPTIMIZERS)
        self.lr = _number(self.lr, "lr", 1e-6, 10)
        self.batch_size = _integer(self.batch_size, "batch_size", 1, MAX_POINTS)
        self.seed = _integer(self.seed, "seed", 0, 2**31 - 1)
