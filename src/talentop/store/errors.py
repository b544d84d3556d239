"""Driver and SQLAlchemy errors as talentop errors, so no caller ever sees a driver error."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from talentop.errors import DatabaseUnavailable, InvalidInput, TalentopError


def as_talentop_error(error: BaseException, url: str) -> TalentopError | None:
    """The talentop error for a database error (None if ``error`` is not one).

    A constraint violation is a record that conflicts with a stored one (two requests
    racing to create the same thing); anything else from the driver means the database
    cannot be used right now (locked, connection lost, server shutting down).
    """
    if isinstance(error, sa_exc.IntegrityError):
        detail = str(error.orig).splitlines()[0] if error.orig is not None else "constraint"
        return InvalidInput(
            f"record: conflicts with a record already stored ({detail}); reload and try again"
        )
    if isinstance(error, sa_exc.DBAPIError | sa_exc.TimeoutError):
        cause = type(getattr(error, "orig", None) or error).__name__
        return DatabaseUnavailable(url, f"the database refused the request ({cause})", "try again")
    return None
