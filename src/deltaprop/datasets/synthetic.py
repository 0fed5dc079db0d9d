"""Synthetic datasets generated with NumPy: moons, spirals, xor, sine (no download, no dependency)."""
from __future__ import annotations

import numpy as np


def moons(n_samples: int = 1000, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles: class 0 on (cos t, sin t), class 1 on (1 − cos t, ½ − sin t), t ∈ [0, π]."""
    rng = np.random.default_rng(seed)
    n_upper = n_samples // 2
    t_upper, t_lower = rng.uniform(0, np.pi, n_upper), rng.uniform(0, np.pi, n_samples - n_upper)
    X = np.concatenate([np.c_[np.cos(t_upper), np.sin(t_upper)], np.c_[1 - np.cos(t_lower), 0.5 - np.sin(t_lower)]])
    X += rng.normal(scale=noise, size=X.shape)
    y = np.r_[np.zeros(n_upper, dtype=np.int64), np.ones(n_samples - n_upper, dtype=np.int64)]
    return X, y


def spirals(n_samples: int = 1200, n_classes: int = 3, noise: float = 0.2, seed: int = 0):
    """``n_classes`` interleaved spiral arms: arm k at radius r ∈ [0, 1], angle 4r + 2πk/K, plus noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % n_classes
    r = rng.uniform(0.05, 1, n_samples)
    angle = 4 * r + 2 * np.pi * y / n_classes + rng.normal(scale=noise, size=n_samples)
    return np.c_[r * np.sin(angle), r * np.cos(angle)], y.astype(np.int64)


def xor(n_samples: int = 800, noise: float = 0.15, seed: int = 0):
    """Noisy points around the four corners (±1, ±1); the label is 1 where the signs differ."""
    rng = np.random.default_rng(seed)
    corners = rng.choice([-1.0, 1.0], size=(n_samples, 2))
    y = (corners[:, 0] != corners[:, 1]).astype(np.int64)
    return corners + rng.normal(scale=noise * 2, size=corners.shape), y


def sine(n_samples: int = 1000, noise: float = 0.05, seed: int = 0):
    """Regression: y = sin(x) + noise for x ∈ [−π, π]."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-np.pi, np.pi, n_samples)
    return x[:, None], np.sin(x) + rng.normal(scale=noise, size=n_samples)
