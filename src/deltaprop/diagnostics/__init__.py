"""Gradient-flow diagnostics: ``diagnose`` with advice, and the HTML report (the monitor is a training callback)."""
from .findings import (
    DEAD_FRACTION, EXPLODING_GRADIENT, EXPLODING_RATIO, KINDS, SATURATED_FRACTION, VANISHING_RATIO, Finding,
    diagnose,
)

__all__ = ["diagnose", "Finding", "KINDS", "VANISHING_RATIO", "EXPLODING_RATIO", "EXPLODING_GRADIENT",
           "DEAD_FRACTION", "SATURATED_FRACTION"]
