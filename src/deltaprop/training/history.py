"""History: per-epoch records of a training run, a dict of lists."""
from __future__ import annotations

from .._files import write_columns_csv

#: ``History.stop_reason`` while training runs: "completed" is said only once the last epoch has ended
RUNNING = "running"


class History(dict):
    """``{"epoch": [...], "loss": [...], "val_loss": [...], "accuracy": [...], "lr": [...], "seconds": [...]}``.

    One entry per finished epoch in every list. ``stop_reason`` says why training ended
    (``"completed"``, ``"early_stopping"``, ``"target_reached"``, ``"non_finite"``,
    ``"interrupted"``, or ``"failed"`` when an exception left the loop; ``"running"`` until it
    ends), and ``message`` gives the details when a callback stopped it.
    ``diagnostics`` holds the per-step gradient-flow records of ``fit(..., monitor=True)``
    (a [`deltaprop.Diagnostics`][deltaprop.Diagnostics]), else None.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stop_reason = RUNNING
        self.message = ""
        self.diagnostics = None

    def append(self, logs: dict) -> None:
        """Add one epoch's values; keys first seen now are padded with None for earlier epochs."""
        n_before = len(self.get("epoch", []))
        for key, value in logs.items():
            self.setdefault(key, [None] * n_before).append(value)
        for key, values in self.items():
            if len(values) == n_before:
                values.append(None)

    def record(self, key: str, value) -> None:
        """Set ``key`` for the last finished epoch — what a callback measured in ``on_epoch_end`` (the epoch's
        logs are already in); epochs without a measure read None."""
        if not self.epochs:
            raise RuntimeError("record() needs a finished epoch")
        values = self.setdefault(key, [])
        values += [None] * (self.epochs - len(values))
        values[-1] = value

    @property
    def epochs(self) -> int:
        return len(self.get("epoch", []))

    def to_csv(self, path) -> None:
        """Write one row per epoch, one column per key, atomically (temporary file, then rename)."""
        write_columns_csv(self, path)

    def __repr__(self) -> str:
        return f"History({dict(self)!r}, stop_reason={self.stop_reason!r})"
