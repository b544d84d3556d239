"""Input validation of every service call: forms' strings become numbers and dates, anything
else is ``InvalidInput`` naming the field, the value and what was expected.

``@service`` wraps a service function with pydantic's ``validate_call`` (lax mode: "70" is a
valid ``float``, "2025-03-01" a valid ``date``; NaN and infinity are refused), and turns
what could still escape a service into the error tree: pydantic's ``ValidationError``,
a ``TypeError``/``KeyError``/``AttributeError`` raised by a malformed nested value (a lesion
without ``kind``), and driver errors (``talentop.store.errors``). So no service ever
raises a bare Python or driver error to its caller.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import pydantic
from pydantic import ConfigDict, Field

from talentop.errors import InvalidInput, TalentopError

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("talentop.services")

_CONFIG = ConfigDict(arbitrary_types_allowed=True, allow_inf_nan=False)
#: A row id: a positive integer that fits every database's INTEGER column.
RecordId = Annotated[int, Field(ge=1, le=2**31 - 1)]
#: Characters of a rejected value quoted back in a message (a 1 MB string is not echoed).
MAX_QUOTED = 80


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "input"


def _quoted(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_QUOTED else text[: MAX_QUOTED - 3] + "..."


def problems_from(error: pydantic.ValidationError, names: list[str] | None = None) -> list[str]:
    """One house-format problem per pydantic error: ``field=value: expected ...`` (positional
    arguments named after the function's parameters ``names``)."""
    out = []
    for item in error.errors(include_url=False):
        loc = tuple(item.get("loc", ()))
        if names and loc and isinstance(loc[0], int) and loc[0] < len(names):
            loc = (names[loc[0]], *loc[1:])
        # validate_call reports union members as extra loc parts ("date", "str"): drop them.
        loc = tuple(p for p in loc if p not in {"date", "str", "int", "float", "bool", "none"})
        message = item.get("msg", "a valid value")
        message = message[0].lower() + message[1:] if message else message
        if message.startswith("input should be "):
            message = message[len("input should be ") :]
        out.append(f"{_path(loc)}={_quoted(item.get('input'))}: expected {message}")
    # Unions report one error per member: keep one message per field.
    seen: dict[str, str] = {}
    for problem in out:
        seen.setdefault(problem.split("=", 1)[0], problem)
    return list(seen.values())


def service(func: F) -> F:
    """Validate ``func``'s arguments against its annotations; map escaping errors."""
    validated = pydantic.validate_call(config=_CONFIG)(func)
    names = list(inspect.signature(func).parameters)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return validated(*args, **kwargs)
        except TalentopError:
            raise
        except pydantic.ValidationError as error:
            raise InvalidInput(problems_from(error, names)) from None
        except (TypeError, KeyError, AttributeError, IndexError) as error:
            # A nested value of the wrong shape that the service's own checks missed.
            log.warning("%s: malformed input (%s: %s)", func.__name__, type(error).__name__, error)
            raise InvalidInput(
                f"input: the request to {func.__name__} has a value of the wrong shape "
                f"({type(error).__name__}: {_quoted(str(error))})"
            ) from None
        except Exception as error:
            translated = _database_error(error, args)
            if translated is None:
                raise
            raise translated from None

    wrapper.__talentop_service__ = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _database_error(error: Exception, args: tuple[Any, ...]) -> TalentopError | None:
    from talentop.store.errors import as_talentop_error

    ctx = args[0] if args else None
    store = getattr(ctx, "store", ctx)
    url = getattr(store, "display_url", "the database")
    return as_talentop_error(error, url)
