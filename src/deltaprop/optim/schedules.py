"""Learning-rate schedules, evaluated once per epoch (epochs count from 0).

A schedule maps the epoch number to a learning rate, given the optimizer's initial lr
``base_lr``. ``fit(..., schedule=...)`` sets ``optimizer.lr`` at the start of every epoch and
records it in ``history["lr"]``. ReduceLROnPlateau also looks at the epoch's logs.
"""
from __future__ import annotations

import math

from .._checks import check_number, check_positive_int


class Schedule:
    """Base class: ``lr(epoch, base_lr) -> float``; ``observe(epoch, logs)`` after each epoch."""

    def lr(self, epoch: int, base_lr: float) -> float:
        raise NotImplementedError

    def observe(self, epoch: int, logs: dict) -> None:
        """Called with the epoch's logs once it ends (only plateau detection uses it)."""

    def reset(self) -> None:
        """Forget what was observed (called when training begins)."""

    def state_dict(self) -> dict:
        """What the schedule has observed, for a backup of the run ({} for schedules of the epoch alone)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Take back what [`state_dict()`][deltaprop.optim.schedules.Schedule.state_dict] gave."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class StepDecay(Schedule):
    """lr = base_lr · γ^⌊epoch / step_size⌋ (``torch.optim.lr_scheduler.StepLR``)."""

    def __init__(self, step_size: int, gamma: float = 0.1):
        self.step_size = check_positive_int(step_size, "step_size")
        self.gamma = check_number(gamma, "gamma", low=0, low_open=True)

    def lr(self, epoch, base_lr):
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialDecay(Schedule):
    """lr = base_lr · γ^epoch (``ExponentialLR``)."""

    def __init__(self, gamma: float):
        self.gamma = check_number(gamma, "gamma", low=0, low_open=True)

    def lr(self, epoch, base_lr):
        return base_lr * self.gamma ** epoch


class CosineAnnealing(Schedule):
    """Cosine annealing from base_lr down to ``eta_min`` over ``T_max`` epochs::

        lr = η_min + (base_lr − η_min) · (1 + cos(π · t / T)) / 2

    Without restarts (``CosineAnnealingLR``), t = epoch is held at T after T_max epochs. With
    ``restarts=True`` (``CosineAnnealingWarmRestarts``), t restarts from 0 after each period;
    the first period is T_max epochs and each next one ``T_mult`` times longer.
    """

    def __init__(self, T_max: int, eta_min: float = 0.0, restarts: bool = False, T_mult: int = 1):
        self.T_max = check_positive_int(T_max, "T_max")
        self.eta_min = check_number(eta_min, "eta_min", low=0)
        self.restarts = bool(restarts)
        self.T_mult = check_positive_int(T_mult, "T_mult")

    def lr(self, epoch, base_lr):
        t, period = epoch, self.T_max
        if self.restarts:
            while t >= period:
                t -= period
                period *= self.T_mult
        else:
            t = min(t, period)
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t / period)) / 2


class LinearWarmup(Schedule):
    """Linear warmup for ``warmup_epochs`` epochs, then another schedule (or a constant lr)::

        lr = base_lr · (epoch + 1) / (warmup_epochs + 1)      for epoch < warmup_epochs
        lr = after.lr(epoch − warmup_epochs, base_lr)          afterwards

    so the warmup ramps up to base_lr and ``after`` starts its own epoch count at 0.
    """

    def __init__(self, warmup_epochs: int, after: Schedule | None = None):
        self.warmup_epochs = check_positive_int(warmup_epochs, "warmup_epochs")
        if after is not None and not isinstance(after, Schedule):
            raise TypeError(f"after must be a Schedule or None, got {after!r}")
        self.after = after

    def lr(self, epoch, base_lr):
        if epoch < self.warmup_epochs:
            return base_lr * (epoch + 1) / (self.warmup_epochs + 1)
        return base_lr if self.after is None else self.after.lr(epoch - self.warmup_epochs, base_lr)

    def observe(self, epoch, logs):
        if self.after is not None and epoch >= self.warmup_epochs:
            self.after.observe(epoch - self.warmup_epochs, logs)

    def reset(self):
        if self.after is not None:
            self.after.reset()

    def state_dict(self):
        return {"after": self.after.state_dict() if self.after is not None else {}}

    def load_state_dict(self, state):
        if not isinstance(state, dict) or set(state) != {"after"}:
            raise ValueError("LinearWarmup state must hold 'after'")
        if self.after is not None:
            self.after.load_state_dict(state["after"])


class ReduceLROnPlateau(Schedule):
    """Multiply the lr by ``factor`` when ``monitor`` has not improved for ``patience`` epochs.

    Improvement means ``value < best − min_delta`` (mode "min") or ``value > best + min_delta``
    (mode "max"). After a reduction, ``cooldown`` epochs pass before counting again; the lr
    never goes below ``min_lr``. As ``torch.optim.lr_scheduler.ReduceLROnPlateau`` with an
    absolute threshold.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, min_delta: float = 1e-4,
                 mode: str = "min", cooldown: int = 0, min_lr: float = 0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.monitor = monitor
        self.factor = check_number(factor, "factor", low=0, high=1, low_open=True, high_open=True)
        self.patience = int(check_number(patience, "patience", low=0))
        self.min_delta = check_number(min_delta, "min_delta", low=0)
        self.mode = mode
        self.cooldown = int(check_number(cooldown, "cooldown", low=0))
        self.min_lr = check_number(min_lr, "min_lr", low=0)
        self.reset()

    def reset(self):
        self._scale = 1.0
        self._best = math.inf if self.mode == "min" else -math.inf
        self._bad_epochs = 0
        self._cooldown_left = 0

    def state_dict(self):
        return {"scale": self._scale, "best": self._best, "bad_epochs": self._bad_epochs,
                "cooldown_left": self._cooldown_left}

    def load_state_dict(self, state):
        if not isinstance(state, dict) or set(state) != {"scale", "best", "bad_epochs", "cooldown_left"}:
            raise ValueError("ReduceLROnPlateau state must hold scale, best, bad_epochs and cooldown_left")
        numbers = (state["scale"], state["best"])
        counts = (state["bad_epochs"], state["cooldown_left"])
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers) or \
                not 0 < state["scale"] <= 1 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                       for v in counts):
            raise ValueError(f"ReduceLROnPlateau state has a wrong value: {state!r:.80}")
        self._scale, self._best = state["scale"], state["best"]
        self._bad_epochs, self._cooldown_left = state["bad_epochs"], state["cooldown_left"]

    def lr(self, epoch, base_lr):
        return max(base_lr * self._scale, self.min_lr)

    def observe(self, epoch, logs):
        if self.monitor not in logs:
            raise ValueError(
                f"ReduceLROnPlateau monitors {self.monitor!r}, which is not among the logged values "
                f"({', '.join(logs)})"
            )
        value = logs[self.monitor]
        improved = value < self._best - self.min_delta if self.mode == "min" else value > self._best + self.min_delta
        if improved:
            self._best = value
            self._bad_epochs = 0
        else:
            self._bad_epochs += 1
        if self._cooldown_left > 0:
            self._cooldown_left -= 1
            self._bad_epochs = 0
        if self._bad_epochs > self.patience:
            self._scale *= self.factor
            self._cooldown_left = self.cooldown
            self._bad_epochs = 0
