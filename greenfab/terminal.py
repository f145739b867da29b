"""Tables for the command line, drawn by rich: wide (Chinese) characters aligned, long text wrapped, never cut."""

from __future__ import annotations

import io
import shutil

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text


def table(rows: list[list[str]], headers: list[str], width: int | None = None, whole: tuple[str, ...] = ()) -> str:
    """``rows`` under ``headers`` as plain text ``width`` columns wide (default: the terminal's, else 120).

    Columns named in ``whole`` hold identifiers that are copied and searched for (a rulebook version):
    each stays on one line, and the other columns wrap around them.
    """
    grid = Table(*headers, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="")
    for column in grid.columns:
        column.overflow = "fold"  # a word longer than its column breaks onto the next line, it is never cut
        column.no_wrap = column.header in whole
    for row in rows:
        grid.add_row(*(Text(cell) for cell in row))  # Text: brackets in explanations are not rich markup
    out = io.StringIO()
    Console(file=out, width=width or shutil.get_terminal_size((120, 24)).columns, color_system=None).print(grid)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())
