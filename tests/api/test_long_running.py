"""Long requests run on threads of their own (talentop.api.long_running): an export holding
a thread for seconds must not take one of the few request threads (app.THREADS)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, FastAPI, Query
from fastapi.testclient import TestClient

from talentop.api.long_running import long_running


async def _caller() -> str:  # (a synchronous dependency would take a request thread)
    return "statistician"


def _app(entered: threading.Event, release: threading.Event) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One request thread, as if every one of them were busy.
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/short")
    def short() -> dict[str, int]:
        entered.set()
        release.wait(30)
        return {"thread": threading.get_ident()}

    @app.get("/long")
    @long_running
    def long(
        who: Annotated[str, Depends(_caller)], days: Annotated[int, Query(ge=0)] = 1
    ) -> dict[str, object]:
        return {"who": who, "days": days, "thread": threading.get_ident()}

    return app


def test_a_long_request_runs_while_every_request_thread_is_busy():
    entered, release = threading.Event(), threading.Event()
    with TestClient(_app(entered, release)) as client:
        blocked: dict[str, object] = {}
        t = threading.Thread(target=lambda: blocked.update(r=client.get("/short")))
        t.start()
        assert entered.wait(30)  # the only request thread is now held
        answer = client.get("/long", params={"days": 3})
        assert not release.is_set() and t.is_alive()  # answered while /short still held it
        release.set()
        t.join(30)
    assert answer.status_code == 200
    assert answer.json()["who"] == "statistician" and answer.json()["days"] == 3
    assert answer.json()["thread"] != blocked["r"].json()["thread"]  # type: ignore[union-attr]


def test_a_long_route_keeps_its_parameters_and_their_validation():
    with TestClient(_app(threading.Event(), threading.Event())) as client:
        bad = client.get("/long", params={"days": "-2"})
        schema = client.get("/openapi.json").json()
    assert bad.status_code == 422
    params = {p["name"] for p in schema["paths"]["/long"]["get"]["parameters"]}
    assert params == {"days"}
