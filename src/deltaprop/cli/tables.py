"""Plain-text tables for the terminal."""
from __future__ import annotations

from ..errors import terminal_safe


def format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"
    return str(value)


def format_table(header, rows) -> str:
    cells = [list(map(str, header))] + [[format_value(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def print_table(header, rows) -> None:
    print(terminal_safe(format_table(header, rows)))
