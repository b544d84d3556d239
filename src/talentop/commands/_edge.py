"""What every CLI command shares: error handling at the edge, JSON output, the console."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.table import Table

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

    return wrapper  # type: ignore[return-value]


def print_json(payload: Any) -> None:
    """Write JSON for scripts to stdout (plain, no Rich markup)."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


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


def print_table(table: Table) -> None:
    """Print a table whole: wider than the terminal, it runs on rather than being cropped."""
    needed = console.measure(table, options=console.options.update_width(10_000)).maximum
    if needed <= console.width:
        console.print(table)
        return
    # Console.print caps width= at the terminal's width; a console of the needed width does not.
    Console(file=console.file, width=needed, force_terminal=console.is_terminal).print(table)
