"""Submitting a form: typed text becomes a service call, and every way the call can be
refused becomes what the form shows again, with everything typed kept:

=============================  ======  =======================================================
refusal                        status  shown
=============================  ======  =======================================================
a required input left empty    422     next to the input ("This field is required.")
``InvalidInput``               422     each problem next to its input in plain words
``EditCheckWarnings``          409     the protocol's edit-check findings and a comment box:
                                       saved again with a comment, the values are kept
``ProtocolViolation``          409     the rule (a lock names the lock)
``AllocationError``            409     the rule
=============================  ======  =======================================================

Passwords are never sent back (the signature forms ask for them again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from talentop.errors import AllocationError, InvalidInput, ProtocolViolation
from talentop.services.data.checks import EditCheckWarnings
from talentop.web.forms import Input, Problem, errors_by_field, parse, required_problems

#: The comment a user gives to save despite the edit checks' warnings.
CHECK_COMMENT = Input(
    "check_comment",
    "Comment: why the values are right as typed",
    "textarea",
    hint="Saving again with a comment keeps the values; the warnings are recorded with it.",
)


def violation_of(error: Exception) -> dict[str, str]:
    """What a form shows of a ``ProtocolViolation`` (or a refused allocation)."""
    rule = getattr(error, "rule", None) or "one allocation per patient"
    return {"rule": rule, "message": str(error)}


@dataclass
class Refused:
    """A refused submission as the form shows it again."""

    status: int
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    other: list[Problem] = field(default_factory=list)
    violation: dict[str, str] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def shown(self) -> dict[str, Any]:
        """The template values of the form shown again."""
        return {
            "status": self.status,
            "values": self.values,
            "errors": self.errors,
            "other": self.other,
            "violation": self.violation,
            "warnings": self.warnings,
        }


def form_state(
    refused: Refused | None, values: dict[str, str] | None = None, violation: Any = None
) -> dict[str, Any]:
    """What ``form.html`` shows: ``refused`` again, else a fresh form with ``values`` (and
    ``violation``, e.g. why the step cannot be taken now)."""
    if refused is not None:
        return refused.shown()
    return {
        "status": 200,
        "values": values or {},
        "errors": {},
        "other": [],
        "violation": violation,
    }


def typed(values: dict[str, str], inputs: tuple[Input, ...] | list[Input]) -> dict[str, str]:
    """What is shown again: everything typed but passwords."""
    secret = {i.name for i in inputs if i.kind == "password"}
    return {k: v for k, v in values.items() if k not in secret}


def attempt(
    values: dict[str, str],
    inputs: tuple[Input, ...] | list[Input],
    call: Callable[[dict[str, Any]], Any],
    *,
    aliases: dict[str, str] | None = None,
) -> tuple[Any, Refused | None]:
    """Parse ``values`` for ``inputs``, refuse empty required inputs, run ``call(args)``:
    (its result, None) or (None, how it was refused). ``aliases`` maps a field the service
    names to the input it was typed in (e.g. a corrected column -> the "new value" input)."""
    args = parse(inputs, values)
    try:
        problems = required_problems(inputs, args)
        if problems:
            raise InvalidInput(problems)
        return call(dict(args)), None
    except InvalidInput as error:
        known = {i.name for i in inputs}
        errors, other = errors_by_field(error, known, aliases)
        return None, Refused(422, typed(values, inputs), errors, other)
    except EditCheckWarnings as error:
        found = [f.to_dict() for f in error.findings]
        return None, Refused(409, typed(values, inputs), warnings=found)
    except (ProtocolViolation, AllocationError) as error:
        return None, Refused(409, typed(values, inputs), violation=violation_of(error))
