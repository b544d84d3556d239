"""A CLI command that acts for a person logs that person in: ``--as USERNAME`` and the
password (prompt, or ``--password-stdin``), plus the TOTP code where they use one. The
services then check that user's role and sites, exactly as for the API."""

from __future__ import annotations

import getpass
import sys
from typing import Any

import typer

AS_USER = typer.Option(..., "--as", help="Your username: the command acts as you (password asked).")
PASSWORD_STDIN = typer.Option(
    False, "--password-stdin", help="Read the password from standard input."
)
TOTP = typer.Option(None, "--totp", help="Your current TOTP code, if you use one.")


def read_password(username: str, from_stdin: bool) -> str:
    from talentop.errors import InvalidInput

    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not sys.stdin.isatty():
        raise InvalidInput("password: no terminal to prompt on; pipe it with --password-stdin")
    return getpass.getpass(f"Password for {username}: ")


def acting(store: Any, username: str, password: str, totp: str | None) -> Any:
    """The authenticated ``Context`` of ``username`` (a login: audited, lock-out applies)."""
    from talentop.protocol import load_protocol
    from talentop.services import Context
    from talentop.services.identity import login, logout

    result = login(store, username, password, totp=totp, client="cli")
    logout(store, result.session_token)  # the CLI needs the principal, not a session
    return Context.authenticated(store, load_protocol("talentop"), result.principal)
