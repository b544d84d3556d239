"""What every CLI command shares: error handling at the edge, JSON output, the console."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from talentop.errors import InvalidInput, TalentopError

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

#: Exit codes: 0 ok, 1 a domain error (protocol violation, convergence...), 2 bad input.
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
        except TalentopError as exc:
            err_console.print(f"[bold red]{type(exc).__name__}[/]: ", end="")
            err_console.print(str(exc), markup=False, highlight=False)
            raise typer.Exit(EXIT_ERROR) from None

    return wrapper  # type: ignore[return-value]


def print_json(payload: Any) -> None:
    """Write JSON for scripts to stdout (plain, no Rich markup)."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
