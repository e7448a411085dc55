"""Plain-text tables for the terminal: `sources list`, `sources health` and the run summary
line up their columns the same way, from one formatter."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["format_table"]


def format_table(rows: Sequence[Sequence[object]], rule: bool = False) -> list[str]:
    """``rows`` (the header first) as lines of left-aligned columns two spaces apart, without
    trailing blanks; ``rule`` draws a line of dashes under the header."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    if rule:
        lines.insert(1, "  ".join("-" * width for width in widths))
    return lines
