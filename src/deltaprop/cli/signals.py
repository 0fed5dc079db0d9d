"""Ctrl-C and SIGTERM: stop training after the current step, save a consistent run, exit 130 or 143.

Outside training a signal ends the command at once (`Terminated` for SIGTERM, Python's
``KeyboardInterrupt`` for Ctrl-C; nothing has been written then). While training runs,
`graceful()` turns both into a request: `StopOnSignal` ends ``fit`` after the step in
progress (EarlyStopping still restores the best weights), and the run is written as usual. A
signal that arrives while the run is being saved is only noted: saving finishes (no traceback,
no partial file), then the command exits with 128 + the signal number.
"""
from __future__ import annotations

import signal
from contextlib import contextmanager

from ..training.callbacks import Callback

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Terminated(BaseException):
    """SIGTERM outside training: end the command (exit 143), like KeyboardInterrupt for Ctrl-C."""


def raise_terminated(signum, frame):
    raise Terminated()


class StopRequest:
    """The first stop signal received during a run (None while there is none)."""

    def __init__(self):
        self.signum = None

    def __call__(self, signum, frame):
        # noted only: the command says in one line, once it has stopped, what it kept (the run so far, or nothing)
        if self.signum is None:
            self.signum = signum

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.signum, 128 + int(self.signum or 0))

    @property
    def name(self) -> str:
        """How the user knows the signal: "Ctrl-C" (SIGINT) or "SIGTERM"."""
        return "Ctrl-C" if self.signum == signal.SIGINT else "SIGTERM"


class StopOnSignal(Callback):
    """Ends training after the current step once a stop signal has been received."""

    def __init__(self, request: StopRequest):
        self.request = request

    def on_batch_end(self, batch, logs):
        if self.request.signum is not None and not self.run.stop:
            self.stop("interrupted", f"training stopped by {self.request.name} during epoch {logs['epoch'] + 1}")


@contextmanager
def graceful():
    """Within the block, SIGINT and SIGTERM are requests (a `StopRequest`) instead of exceptions."""
    request = StopRequest()
    previous = {signum: signal.signal(signum, request) for signum in EXIT_CODES}
    try:
        yield request
    finally:
        for signum, handler in previous.items():
            # after a stop request the command is on its way out: a further Ctrl-C must not kill it mid-exit
            signal.signal(signum, signal.SIG_IGN if request.signum is not None else handler)
