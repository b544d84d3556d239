"""What every CLI command shares: error handling at the edge, JSON output, the console."""

from __future__ import annotations

import errno
import functools
import json
import math
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich import box
from rich.console import Console, Group
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from talentop.errors import DatabaseUnavailable, InvalidInput, TalentopError

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

#: Exit codes: 0 ok, 1 a domain error (protocol violation, convergence...), 2 bad input
#: (including a database URL that cannot be used).
EXIT_ERROR = 1
EXIT_INVALID_INPUT = 2


def edge(func: F) -> F:
    """Turn talentop errors into a message and an exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InvalidInput as exc:
            err_console.print(f"[bold red]invalid input[/]: {len(exc.problems)} problem(s)")
            for problem in exc.problems:
                err_console.print(f"  - {problem}", markup=False, highlight=False)
            raise typer.Exit(EXIT_INVALID_INPUT) from None
        except DatabaseUnavailable as exc:
            # A bad or unreachable URL is the caller's setting to fix, like bad input.
            err_console.print("[bold red]database unavailable[/]: ", end="")
            err_console.print(str(exc), markup=False, highlight=False)
            raise typer.Exit(EXIT_INVALID_INPUT) from None
        except TalentopError as exc:
            err_console.print(f"[bold red]{type(exc).__name__}[/]: ", end="")
            err_console.print(str(exc), markup=False, highlight=False)
            raise typer.Exit(EXIT_ERROR) from None
        except OSError as exc:
            if exc.errno not in _WRITE_ERRORS:
                raise
            # A full disk, a read-only or forbidden place: name the path, never a traceback.
            err_console.print("[bold red]cannot write[/]: ", end="")
            err_console.print(write_error(exc), markup=False, highlight=False)
            raise typer.Exit(EXIT_INVALID_INPUT) from None

    return wrapper  # type: ignore[return-value]


#: errno values of a write that cannot succeed where the user asked (named, exit code 2).
_WRITE_ERRORS = {
    errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR,
    errno.ENOTDIR, errno.EEXIST, errno.ENAMETOOLONG, errno.EFBIG, errno.ENOENT,
}  # fmt: skip


def write_error(exc: OSError) -> str:
    """'/mnt/full/report/index.html: No space left on device (disk full)'."""
    reason = exc.strerror or str(exc)
    advice = {
        errno.ENOSPC: "the disk is full: free space or choose another --out",
        errno.EDQUOT: "the disk quota is used up: free space or choose another --out",
        errno.EACCES: "no permission to write there: choose another --out",
        errno.EPERM: "no permission to write there: choose another --out",
        errno.EROFS: "read-only file system: choose another --out",
    }.get(exc.errno or 0)
    where = exc.filename if exc.filename is not None else "(output)"
    return f"{where}: {reason}" + (f" ({advice})" if advice else "")


def print_json(payload: Any) -> None:
    """Write JSON for scripts to stdout (plain, no Rich markup). JSON has no NaN or
    infinity: a value that could not be estimated is written as null, so strict parsers
    (jq, JavaScript) read every payload."""
    text = json.dumps(_finite(payload), indent=2, default=_plain, allow_nan=False)
    sys.stdout.write(text + "\n")


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (numpy's included) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    """What ``json`` cannot write itself: numpy and pandas values (only if the command has
    imported them: ``talentop recist`` must not pay for them), else the text."""
    if "numpy" in sys.modules:
        import numpy as np

        if isinstance(value, np.generic | np.ndarray):
            return _finite(value.tolist())
    if "pandas" in sys.modules:
        import pandas as pd

        if isinstance(value, pd.DataFrame | pd.Series):
            from talentop.stats.results import json_safe

            return json_safe(value)
    return str(value)


def number_cell(value: float | None, digits: int = 4) -> str:
    """A table cell: ``digits`` decimals, or "-" for a value that is missing or NaN."""
    return "-" if value is None or value != value else f"{value:.{digits}f}"


def number_table(title: str, headers: list[str], rows: list[list[str]]) -> Table:
    """A right-aligned table of formatted numbers that never truncates a value.

    Each column is at least as wide as its longest value and header word; headers wrap (an 80-column
    terminal or a CI log would otherwise print "121.…" for 121.5).
    """
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for index, header in enumerate(headers):
        widest = max((len(row[index]) for row in rows), default=1)
        widest = max(widest, *(len(word) for word in header.split()))
        table.add_column(header, justify="right", min_width=widest, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


#: A column narrower than this (or than its longest word) makes a table hard to read: its
#: cells wrap one or two words per line. Below that the table is printed as records.
READABLE_COLUMN = 24


def _columns_min(table: Table, measure_console: Console) -> list[int]:
    """Per column: the width below which it would no longer be readable."""
    options = measure_console.options.update_width(10_000)
    widths = []
    for column in table.columns:
        cells = [column.header, *column._cells]
        measured = [Measurement.get(measure_console, options, cell) for cell in cells]
        longest_word = max(m.minimum for m in measured)
        whole = max(m.maximum for m in measured)
        widths.append(max(longest_word, min(whole, READABLE_COLUMN)))
    return widths


def _records(table: Table) -> Group:
    """The table as records, one block per row ("header: value" lines, a blank line
    between rows): readable at any width, every value whole."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column(overflow="fold")
    rows = len(table.columns[0]._cells) if table.columns else 0
    for row in range(rows):
        if row:
            grid.add_row("", "")
        for column in table.columns:
            header = column.header if isinstance(column.header, str) else str(column.header)
            grid.add_row(header.replace("\n", " ") + ":", column._cells[row])
    title = Text(str(table.title), style="bold italic") if table.title else Text("")
    return Group(title, grid)


def print_table(table: Table) -> None:
    """Print a table so that it stays readable wherever it goes.

    - It fits the console: printed as is (cells wrap, no column narrower than
      READABLE_COLUMN or its longest word).
    - Output to a file or pipe with no width asked for (no COLUMNS): the whole table at the
      width it needs; lines run on (a file has no width to wrap at).
    - A terminal (or COLUMNS) too narrow for that: one record per row ("header: value").
    --json stays the format for scripts.
    """
    widths = _columns_min(table, console)
    padding = sum(table.padding[1] + table.padding[3] for _ in table.columns)
    edges = (len(table.columns) + 1) if table.show_edge or table.box else len(table.columns)
    least = sum(widths) + padding + edges
    if least <= console.width:
        for column, width in zip(table.columns, widths, strict=True):
            column.min_width = max(column.min_width or 0, width)
        console.print(table)
        return
    if not console.is_terminal and "COLUMNS" not in os.environ:
        needed = console.measure(table, options=console.options.update_width(10_000)).maximum
        Console(file=console.file, width=needed, force_terminal=False).print(table)
        return
    console.print(_records(table))
