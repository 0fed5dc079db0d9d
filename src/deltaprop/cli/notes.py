"""One-line notes (what was inferred, on stdout) and warnings (what looks wrong, on stderr)."""
from __future__ import annotations

import sys

from ..errors import terminal_safe

MAX_SHOWN = 5
#: True in the ranks of a distributed run other than rank 0, which alone speaks
SILENT = False
#: True while standard output carries data (predict --out -): notes go to stderr
TO_STDERR = False


def say(text: str) -> None:
    """A line for the user on stdout, with anything a terminal would obey (names from files) escaped."""
    print(terminal_safe(text), flush=True, file=sys.stderr if TO_STDERR else sys.stdout)


def note(text: str) -> None:
    if not SILENT:
        say(f"note: {text}")


def warn(text: str) -> None:
    if not SILENT:
        print(f"deltaprop: warning: {terminal_safe(text)}", file=sys.stderr, flush=True)


def unseen_notice(pre, features, which: str = "") -> str | None:
    """``3 test rows have categories not seen in training, encoded as all zeros: colour 'purple' ×2, …``."""
    unseen = pre.unseen(features) if len(features) else {}
    if not unseen:
        return None
    items = [f"{column} {value!r} ×{count}" for column, values in unseen.items()
             for value, count in sorted(values.items(), key=lambda item: -item[1])]
    total = sum(count for values in unseen.values() for count in values.values())
    shown = ", ".join(items[:MAX_SHOWN]) + (f" … and {len(items) - MAX_SHOWN} more" if len(items) > MAX_SHOWN else "")
    rows = (f"{which} " if which else "") + ("row has a category" if total == 1 else "rows have categories")
    return f"{total} {rows} not seen in training, encoded as all zeros: {shown}"
