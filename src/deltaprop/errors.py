"""The one family of exceptions for bad input from outside the program.

``InputError`` (a ``ValueError``) means: what the user gave — a data file, a model file, a setting
— is wrong, and the message says where (file, line, column, option). The command line turns it
into one line and exit code 2; any other exception inside deltaprop is a bug (exit code 1, with
the traceback).
"""


import re

#: characters a terminal acts on rather than shows: C0 and C1 controls (an ESC starts a screen command), DEL,
#: and the bidirectional overrides that reorder what follows them
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """``text`` with every character a terminal would act on written as an escape (``\\x1b``): a class named
    ``\\x1b[2J`` read from a file is shown, not obeyed. Tabs and line ends stay."""
    return _UNPRINTABLE.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


class InputError(ValueError):
    """Bad input from outside the program; the message names the file, line, column or option."""


class DataError(InputError):
    """Bad user data: the message names the file, the line and the column where it can."""


class ModelFileError(InputError):
    """A model file that cannot be loaded; the message names the file and the problem."""


def shorten(items, limit: int = 5, quote: bool = True) -> str:
    """``'a', 'b', 'c' … and 170 more``: a list cut short so that a message stays one line."""
    items = list(items)
    shown = [repr(item) if quote else str(item) for item in items[:limit]]
    text = ", ".join(shown)
    if len(items) > limit:
        text += f" … and {len(items) - limit} more"
    return text


def plural(count: int, word: str) -> str:
    """``1 row``, ``3 rows``, ``1 class``, ``2 classes``, ``1 category``, ``4 categories``."""
    if count == 1:
        return f"1 {word}"
    if word.endswith("y"):
        return f"{count:,} {word[:-1]}ies"
    return f"{count:,} {word}{'es' if word.endswith(('s', 'x', 'ch', 'sh')) else 's'}"


def malformed_reason(exc: BaseException) -> str:
    """What a malformed file's field did wrong, from the exception reading it raised: ``missing field 'epoch'`` for
    a KeyError, else the message's first line (or the exception's type)."""
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}" if exc.args else "a missing field"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def one_line(exc: BaseException) -> str:
    """An exception as one line for a user: its message's first line; an OSError as ``file: reason``
    (``[Errno 2] …`` is for programmers)."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        message = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return message
