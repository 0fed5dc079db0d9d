"""Progress reporting for fit: a tqdm bar on a terminal, one plain line per epoch otherwise."""
from __future__ import annotations

import sys


def _format(logs: dict) -> str:
    parts = []
    for key, value in logs.items():
        if key in ("epoch", "seconds"):
            continue
        parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    return " - ".join(parts)


class Progress:
    """Shows training progress.

    ``verbose=0``: nothing. ``verbose=1``: on a terminal (and with tqdm installed), a bar per
    epoch with the running loss and metrics; otherwise one line per epoch, for clean logs.
    """

    def __init__(self, verbose: int, epochs: int, n_batches: int, stream=None):
        self.verbose = verbose
        self.epochs = epochs
        self.n_batches = n_batches
        self.stream = stream if stream is not None else sys.stderr
        self.bar = None
        self._tqdm = None
        if verbose and self.stream.isatty():
            try:
                from tqdm.auto import tqdm
                self._tqdm = tqdm
            except ImportError:  # tqdm is optional: plain lines without it
                self._tqdm = None

    @property
    def uses_bar(self) -> bool:
        return self._tqdm is not None

    def epoch_begin(self, epoch: int) -> None:
        if self.uses_bar:
            width = len(str(self.epochs))
            self.bar = self._tqdm(total=self.n_batches, desc=f"epoch {epoch + 1:>{width}}/{self.epochs}",
                                  unit="batch", leave=True, file=self.stream, dynamic_ncols=True)

    def batch_end(self, running: dict) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in running.items()}, refresh=False)

    def epoch_end(self, logs: dict) -> None:
        if not self.verbose:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(_format(logs), refresh=True)
            self.bar.close()
            self.bar = None
        else:
            width = len(str(self.epochs))
            print(f"epoch {logs['epoch'] + 1:>{width}}/{self.epochs} - {_format(logs)} - {logs['seconds']:.2f}s",
                  file=sys.stdout, flush=True)

    def message(self, text: str) -> None:
        if self.verbose and text:
            print(text, file=sys.stdout, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
