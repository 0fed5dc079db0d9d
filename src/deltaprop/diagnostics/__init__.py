"""Gradient-flow diagnostics: a training monitor, ``diagnose`` with advice, an HTML report, ``explain``."""
from .findings import (
    DEAD_FRACTION, EXPLODING_GRADIENT, EXPLODING_RATIO, KINDS, SATURATED_FRACTION, VANISHING_RATIO, Finding,
    diagnose,
)
from .measures import SATURATION_DERIVATIVE
from .monitor import Diagnostics, TrainingMonitor

__all__ = ["diagnose", "Finding", "TrainingMonitor", "Diagnostics", "KINDS", "VANISHING_RATIO", "EXPLODING_RATIO",
           "EXPLODING_GRADIENT", "DEAD_FRACTION", "SATURATED_FRACTION", "SATURATION_DERIVATIVE"]
