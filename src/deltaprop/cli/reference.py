"""The command-line reference as Markdown, generated from the argument parser itself (so it cannot drift).

Each command's section is exactly what ``deltaprop COMMAND --help`` prints (usage, every option with its help
and default, examples, exit codes), at a fixed width. The docs site's hook (``docs/hooks.py``) puts it into
``docs/guides/cli.md``:

>>> text = markdown_reference()
>>> "## deltaprop train" in text and "--lr LR" in text
True
"""
from __future__ import annotations

import os

WIDTH = 100


def _help_text(parser) -> str:
    """``parser.format_help()`` at WIDTH columns, whatever the terminal (argparse reads $COLUMNS)."""
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(WIDTH)
    try:
        return parser.format_help().rstrip()
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous


def markdown_reference(parser=None) -> str:
    """A Markdown section per command of ``deltaprop`` (``parser.commands``, set by ``build_parser``): its
    description and its full ``--help`` text, after the top-level ``deltaprop --help``."""
    from .parser import build_parser

    parser = parser or build_parser()
    lines = ["```text", _help_text(parser), "```", ""]
    for name, command in parser.commands.items():
        lines += [f"## deltaprop {name}", "", command.description or "", "", "```text", _help_text(command), "```", ""]
    return "\n".join(lines)
