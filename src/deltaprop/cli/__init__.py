"""The ``deltaprop`` command: thin — it parses arguments and calls the library.

Exit codes: 0 success, 2 bad usage or bad input (one line on stderr naming the option, file,
line or column; no traceback), 1 an internal error.
"""
from __future__ import annotations

import sys

from .parser import build_parser


class UsageError(Exception):
    """Bad command-line usage; reported in one line with exit code 2."""


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:          # --help (0) or argparse's own usage error (2)
        return int(exc.code or 0)
    from ..datasets.table import DataError
    from ..io import ModelFileError

    try:
        return args.run(args) or 0
    except (UsageError, DataError, ModelFileError, ValueError, TypeError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in message:
            message = f"{exc.filename}: {exc.strerror or message}"
        print(f"deltaprop: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("deltaprop: interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - a bug: show it, and say so with exit code 1
        import traceback

        traceback.print_exc()
        print("deltaprop: internal error (a bug in deltaprop; please report it with the traceback above)",
              file=sys.stderr)
        return 1


def entry_point() -> None:
    sys.exit(main())


__all__ = ["main", "entry_point", "UsageError"]
