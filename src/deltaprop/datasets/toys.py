"""The four 2-D toy problems of the playground: circle, XOR, Gaussians and spiral, in the square [−R, R]².

Each returns ``(X, y)``: X of shape (n_samples, 2) in float64 and integer labels 0/1, balanced. The same
``seed`` gives the same points; ``noise`` (0 to 0.5) moves every point by N(0, (noise·R)²) after it is
labelled, so a larger noise blurs the boundary without changing what is learned.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_positive_int

RADIUS = 3.0     # R: the points lie in [−R, R]² (before noise)
NAMES = ("circle", "xor", "gaussians", "spiral")


def _labels(n_samples: int) -> np.ndarray:
    """n//2 points of class 1 first, then the rest of class 0 (the caller's split shuffles)."""
    return (np.arange(n_samples) < n_samples // 2).astype(np.int64)


def circle(n_samples: int = 500, noise: float = 0.0, seed: int = 0):
    """Class 1 inside the radius 0.5R, class 0 on the ring between 0.7R and R (uniform angle and radius)."""
    rng = np.random.default_rng(seed)
    y = _labels(n_samples)
    radius = np.where(y == 1, rng.uniform(0, 0.5, n_samples), rng.uniform(0.7, 1.0, n_samples)) * RADIUS
    angle = rng.uniform(0, 2 * np.pi, n_samples)
    X = np.c_[radius * np.cos(angle), radius * np.sin(angle)]
    return X + rng.normal(scale=noise * RADIUS, size=X.shape), y


def xor(n_samples: int = 500, noise: float = 0.0, seed: int = 0):
    """Uniform points in the square, away from the axes (|x| ≥ 0.1R); class 1 where x₁·x₂ > 0 (half of them)."""
    rng = np.random.default_rng(seed)
    y = _labels(n_samples)
    first = rng.choice([-1.0, 1.0], size=n_samples)
    signs = np.c_[first, np.where(y == 1, first, -first)]
    X = rng.uniform(0.1, 1.0, (n_samples, 2)) * RADIUS * signs
    return X + rng.normal(scale=noise * RADIUS, size=X.shape), y


def gaussians(n_samples: int = 500, noise: float = 0.0, seed: int = 0):
    """Two round clouds, class 1 around (0.5R, 0.5R) and class 0 around (−0.5R, −0.5R), std 0.2R·(1 + 4·noise)."""
    rng = np.random.default_rng(seed)
    y = _labels(n_samples)
    centres = np.where(y[:, None] == 1, 0.5, -0.5) * RADIUS
    return centres + rng.normal(scale=0.2 * RADIUS * (1 + 4 * noise), size=(n_samples, 2)), y


def spiral(n_samples: int = 500, noise: float = 0.0, seed: int = 0):
    """Two interleaved arms: at t ∈ [0, 1], radius R·t and angle 3.5π·t, the class-0 arm turned by π."""
    rng = np.random.default_rng(seed)
    y = _labels(n_samples)
    t = rng.uniform(0.02, 1.0, n_samples)
    angle = 3.5 * np.pi * t + np.pi * (1 - y)
    X = np.c_[RADIUS * t * np.cos(angle), RADIUS * t * np.sin(angle)]
    return X + rng.normal(scale=noise * RADIUS, size=X.shape), y


def toy(name: str, n_samples: int = 500, noise: float = 0.0, seed: int = 0):
    """One of the toys by name (``"circle"``, ``"xor"``, ``"gaussians"``, ``"spiral"``)."""
    if name not in NAMES:
        raise ValueError(f"toy name must be one of {', '.join(NAMES)}, got {name!r}")
    n_samples = check_positive_int(n_samples, "n_samples")
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2, got {n_samples}")
    if not isinstance(noise, (int, float)) or isinstance(noise, bool) or not 0 <= noise <= 0.5:
        raise ValueError(f"noise must be a number from 0 to 0.5, got {noise!r}")
    return globals()[name](n_samples, float(noise), seed)
