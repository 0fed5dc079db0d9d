"""The command-line reference as Markdown, generated from the argument parser itself (so it cannot drift).

The docs site's hook (``docs/hooks.py``) puts it into ``docs/guides/cli.md``:

>>> text = markdown_reference()
>>> "## deltaprop train" in text and "`--lr LR`" in text
True
"""
from __future__ import annotations

import argparse


def _invocation(action: argparse.Action) -> str:
    """``--lr LR``, ``--overwrite``, ``-V, --version`` or a positional's name, as the usage line writes it."""
    if not action.option_strings:
        return action.metavar or action.dest
    if action.nargs == 0:
        return ", ".join(action.option_strings)
    metavar = action.metavar or (("{" + ",".join(map(str, action.choices)) + "}") if action.choices
                                 else action.dest.upper())
    return ", ".join(f"{option} {metavar}" for option in action.option_strings)


def _cell(text: str) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _options_table(parser: argparse.ArgumentParser) -> list:
    rows = ["| argument | what it does |", "|---|---|"]
    for action in parser._actions:          # argparse offers no public list of a parser's arguments
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) or action.help == argparse.SUPPRESS:
            continue
        choices = f" Choices: {', '.join(map(str, action.choices))}." if action.choices and action.metavar else ""
        rows.append(f"| `{_invocation(action)}` | {_cell(action.help)}{_cell(choices)} |")
    return rows


def _subcommands(parser: argparse.ArgumentParser) -> dict:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def markdown_reference(parser: argparse.ArgumentParser | None = None) -> str:
    """Every command of ``deltaprop`` with its usage line, description, arguments (help and defaults as
    ``--help`` prints them) and its epilog (examples, exit codes), as Markdown."""
    from .parser import build_parser

    parser = parser or build_parser()
    lines = ["```text", parser.format_usage().strip(), "```", "", _cell(parser.description), ""]
    lines += _options_table(parser) + [""]
    if parser.epilog:
        lines += ["```text", parser.epilog.strip(), "```", ""]
    for name, sub in _subcommands(parser).items():
        lines += [f"## deltaprop {name}", "", _cell(sub.description), "", "```text", sub.format_usage().strip(),
                  "```", ""]
        lines += _options_table(sub) + [""]
        if sub.epilog and sub.epilog != parser.epilog:
            lines += ["```text", sub.epilog.strip(), "```", ""]
    return "\n".join(lines)
