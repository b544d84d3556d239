"""The one error tree of talentop.

::

    TalentopError                 base of every error this package raises on purpose
    ├── InvalidInput (ValueError) bad data from a user, a file or a form: names every field,
    │                             value and what was expected (``.problems`` lists them all)
    ├── ProtocolError             a protocol file that does not validate (YAML path per problem)
    ├── ProtocolViolation         a workflow step the protocol forbids in the current state
    ├── ConvergenceError          a model that did not fit (separation, collinearity, no events)
    ├── AllocationError           randomisation could not allocate (list exhausted, lock lost)
    ├── IntegrityError            the audit trail or stored data failed verification
    ├── PermissionDenied          the acting user's role or site does not allow the action
    ├── NotAuthenticated          no valid credentials: wrong login, expired or revoked
    │                             session or token (the reason is never told to the caller)
    ├── DatabaseUnavailable       the database cannot be used: URL unparseable, driver missing,
    │                             server unreachable, SQLite folder missing, schema not
    │                             initialised (``.url`` password masked, ``.cause``, ``.hint``)
    └── NotFound (LookupError)    a record asked for by id does not exist

Each message says what is wrong and, where possible, how to fix it. Callers at the edge
(CLI, REST API) turn these into exit codes / HTTP statuses in exactly one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# "field=value: expected what" (``InvalidInput.field``), else "field: message".
_FIELD_VALUE = re.compile(
    r"^(?P<field>[\w.\[\]-]+)=(?P<value>.*?): expected (?P<expected>.*)$", re.S
)
_FIELD_ONLY = re.compile(r"^(?P<field>[\w.\[\]-]+): (?P<expected>.*)$", re.S)


class TalentopError(Exception):
    """Base class of every error talentop raises on purpose."""


class InvalidInput(TalentopError, ValueError):
    """Raised when input data are wrong; carries every problem found, not just the first.

    ``problems`` is a list of human-readable strings, each naming field, value and expectation.
    """

    def __init__(self, problems: str | Iterable[str]):
        if isinstance(problems, str):
            problems = [problems]
        self.problems: list[str] = list(problems)
        if not self.problems:
            self.problems = ["invalid input"]
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            message = f"{len(self.problems)} problems:\n" + "\n".join(
                f"  - {p}" for p in self.problems
            )
        super().__init__(message)

    @property
    def details(self) -> list[dict[str, Any]]:
        """The problems as ``{"field", "value", "expected"}`` (``field``/``value`` None where a
        problem names no field): what the REST API returns, one entry per problem."""
        out = []
        for problem in self.problems:
            match = _FIELD_VALUE.match(problem)
            if match:
                out.append(match.groupdict())
                continue
            match = _FIELD_ONLY.match(problem)
            if match:
                out.append({"field": match["field"], "value": None, "expected": match["expected"]})
            else:
                out.append({"field": None, "value": None, "expected": problem})
        return out

    @classmethod
    def field(cls, field: str, value: object, expected: str) -> InvalidInput:
        """One problem in the house format: ``field=value: expected ...``."""
        return cls(f"{field}={value!r}: expected {expected}")


class ProtocolError(InvalidInput):
    """Raised when a protocol file does not validate; one problem per YAML path."""


class ProtocolViolation(TalentopError):
    """Raised when a workflow step is not allowed: names the current state and the rule."""

    def __init__(self, message: str, *, state: str | None = None, rule: str | None = None):
        self.state = state
        self.rule = rule
        super().__init__(message)


class ConvergenceError(TalentopError, ValueError):
    """Raised when a statistical model does not converge; the message says what to try."""


class AllocationError(TalentopError):
    """Raised when a randomisation cannot be made (no slot left, lock not obtained...)."""


class IntegrityError(TalentopError):
    """Raised when stored data fail verification (e.g. a broken audit hash chain)."""


class PermissionDenied(TalentopError):
    """Raised when the acting user's role (or site) does not allow a service call."""


class NotAuthenticated(TalentopError):
    """Raised when a login or a credential (session, API token) is not valid. The message is
    the same whatever the reason (unknown user, wrong password, locked, disabled, expired,
    revoked), so a caller learns nothing about the account; the reason is in the audit."""

    def __init__(self, message: str = "not authenticated", *, reason: str = ""):
        self.reason = reason
        super().__init__(message)


class DatabaseUnavailable(TalentopError):
    """Raised when the database cannot be opened: names the URL (password masked), the cause
    and what to do. Raised by ``talentop.store`` on connect, never a driver traceback."""

    def __init__(self, url: str, cause: str, hint: str | None = None, *, message: str = ""):
        self.url = url
        self.cause = cause
        self.hint = hint
        if not message:
            message = f"cannot use database {url}: {cause}"
            if hint:
                message += f" ({hint})"
        super().__init__(message)


class NotFound(TalentopError, LookupError):
    """Raised when a record asked for by id does not exist."""


def check_problems(problems: list[str]) -> None:
    """Raise ``InvalidInput`` with every collected problem, if any."""
    if problems:
        raise InvalidInput(problems)
