"""Cross-cutting request handling: request ids, structured access logs, body size limit,
security headers. Pure ASGI middleware (no per-request thread hop)."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("talentop.api.access")

#: Largest request body accepted (bytes); larger bodies get 413 before any parsing.
MAX_BODY_BYTES = 2 * 1024 * 1024
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"same-origin",
    b"content-security-policy": (
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    b"cache-control": b"no-store",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per log line (structured logging with the standard module)."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "method", "path", "status", "duration_ms", "user", "client"):
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging() -> None:
    """One JSON line per record of the ``talentop`` loggers on stderr (``talentop serve``
    and each of its worker processes, which start with no logging set up)."""
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("talentop")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def _too_large(request_id: str) -> tuple[Message, Message]:
    body = json.dumps(
        {
            "type": "urn:talentop:problem:too-large",
            "title": "Request body too large",
            "status": 413,
            "detail": f"the request body is larger than {MAX_BODY_BYTES} bytes",
            "request_id": request_id,
        }
    ).encode()
    start = {
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class _BodyTooLarge(Exception):
    pass


class RequestContext:
    """Give every request an id (``X-Request-ID`` if the client sent a sane one), refuse
    bodies over ``MAX_BODY_BYTES`` with 413, add the security headers, log one line."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        sent = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = {"code": 500}
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            start, body = _too_large(request_id)
            await send(start)
            await send(body)
            self._log(scope, request_id, 413, started)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                existing = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS.items() if k not in existing]
                if b"x-request-id" not in existing:
                    extra.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _BodyTooLarge:
            start, body = _too_large(request_id)
            status["code"] = 413
            await send(start)
            await send(body)
        finally:
            self._log(scope, request_id, status["code"], started)

    def _log(self, scope: Scope, request_id: str, status: int, started: float) -> None:
        state = scope.get("state", {})
        log.info(
            "%s %s %s",
            scope.get("method"),
            scope.get("path"),
            status,
            extra={
                "request_id": request_id,
                "method": scope.get("method"),
                "path": scope.get("path"),  # never the query string (it may carry a token)
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user": state.get("username"),
                "client": (scope.get("client") or ("?",))[0],
            },
        )
