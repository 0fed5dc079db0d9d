"""The ``deltaprop`` command: thin — it parses arguments and calls the library.

Exit codes:

* 0 — success;
* 1 — an internal error: a bug in deltaprop (the traceback is printed);
* 2 — bad usage or bad input, or a file that cannot be read or written: one line on stderr naming
  the option, file, line or column; nothing is written;
* 3 — training failed: it diverged (a NaN or infinite loss); one line says where and what to do;
  nothing is written;
* 130 — stopped by Ctrl-C; 143 — stopped by SIGTERM (during training: after the current step,
  with the run saved); 141 — the reader of the output went away (``deltaprop explain | head``).
"""
from __future__ import annotations

import os
import signal
import sys

from ..errors import InputError, one_line, terminal_safe
from . import extras
from .parser import build_parser
from .signals import Terminated, raise_terminated

EXIT_OK, EXIT_BUG, EXIT_INPUT, EXIT_TRAINING_FAILED = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_BROKEN_PIPE = 130, 143, 141


class TrainingFailed(Exception):
    """Training diverged; the message says where and what to change (exit code 3)."""


def _speaks(args) -> bool:
    """False in the ranks of a distributed run but rank 0: the same error is raised on every rank, said once."""
    from ..training.distributed import launcher_rank

    return not getattr(args, "distributed", False) or launcher_rank() == 0


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:          # --help (0) or argparse's own usage error (2)
        return int(exc.code or 0)
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        extras.check(getattr(args, "command", ""))
        return args.run(args) or EXIT_OK
    except BrokenPipeError:           # the reader went away (deltaprop explain | head): stop quietly
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except (InputError, OSError) as exc:
        if _speaks(args):
            print(f"deltaprop: error: {terminal_safe(one_line(exc))}", file=sys.stderr)
            _hint(exc)
        return EXIT_INPUT
    except TrainingFailed as exc:
        if _speaks(args):
            print(f"deltaprop: training failed: {terminal_safe(str(exc))}", file=sys.stderr)
        return EXIT_TRAINING_FAILED
    except KeyboardInterrupt as exc:
        print("\ndeltaprop: interrupted", file=sys.stderr)
        _hint(exc)
        return EXIT_INTERRUPTED
    except Terminated as exc:
        print("deltaprop: terminated", file=sys.stderr)
        _hint(exc)
        return EXIT_TERMINATED
    except Exception as exc:  # noqa: BLE001 - a bug: show it, and say so with exit code 1
        import traceback

        traceback.print_exc()
        print("deltaprop: internal error (a bug in deltaprop; please report it with the traceback above)",
              file=sys.stderr)
        _hint(exc)
        return EXIT_BUG
    finally:
        if signal.getsignal(signal.SIGTERM) is raise_terminated:   # (a stopped run leaves it ignored)
            signal.signal(signal.SIGTERM, previous)
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()


def _hint(exc: BaseException) -> None:
    """What the user can do now, where a failure left something to continue from (a run's backup)."""
    hint = getattr(exc, "deltaprop_hint", None)
    if hint:
        print(f"deltaprop: {terminal_safe(hint)}", file=sys.stderr)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's own flush at exit does not report the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


__all__ = ["main", "TrainingFailed", "EXIT_OK", "EXIT_BUG", "EXIT_INPUT", "EXIT_TRAINING_FAILED",
           "EXIT_INTERRUPTED", "EXIT_TERMINATED"]
