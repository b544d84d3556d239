"""Long requests on threads of their own.

A worker process runs its requests on a few threads (``app.THREADS``): few, because the
short requests of the patient path (register, assess, randomise) are CPU work in one GIL,
and more threads only lengthen the queue inside it. A request that takes seconds (an
export of the whole trial, audit verification, the interim analysis, the report) would
hold one of those few threads for that long; these run instead on ``LONG_THREADS``
threads of their own, so a statistician's export never stalls a site's randomisation.
"""

from __future__ import annotations

import asyncio
import functools
import os
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import anyio
import anyio.to_thread

#: Long requests a worker process runs at once (``TALENTOP_API_LONG_THREADS``).
LONG_THREADS = 2

_P = ParamSpec("_P")
_R = TypeVar("_R")
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def _limiter() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = anyio.CapacityLimiter(
            int(os.environ.get("TALENTOP_API_LONG_THREADS", LONG_THREADS))
        )
        _limiters[loop] = limiter
    return limiter


def long_running(fn: Callable[_P, _R]) -> Callable[_P, Awaitable[_R]]:
    """A synchronous route run on the long requests' threads instead of the request
    threads. FastAPI reads the route's parameters through ``functools.wraps``."""

    @functools.wraps(fn)
    async def route(*args: Any, **kwargs: Any) -> _R:
        return await anyio.to_thread.run_sync(
            functools.partial(fn, *args, **kwargs), limiter=_limiter()
        )

    return route
