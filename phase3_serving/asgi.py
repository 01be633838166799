"""The ASGI front door: the two prediction routes served without Starlette, and request metrics.

``FastPath`` skips Starlette's request objects and routing for ``POST /v1/predict`` and
``/v1/predict/batch`` (about a third of FastAPI's per-request cost) and hands everything else to
FastAPI. Whatever happens inside a handler, the caller gets a JSON answer: an unexpected error is
logged with its traceback and answered 500 with a request id, never a bare 500 or a dropped
connection. It also turns a refusal to start (bad settings) into one log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI

from phase3_serving.handlers import HANDLERS, NO_MODEL, body_too_large, internal_error
from phase3_serving.scoring import new_request_id
from phase3_serving.service import ServiceState

logger = logging.getLogger("phase3_serving")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
ROUTES = frozenset(
    {
        "/v1/predict",
        "/v1/predict/batch",
        "/v1/model",
        "/health/live",
        "/health/ready",
        "/metrics",
        "/admin/reload",
        "/admin/rollout",
        "/admin/status",
    }
)
JSON_HEADER = (b"content-type", b"application/json")


class BodyTooLarge(Exception):  # noqa: N818 - an outcome
    def __init__(self, received: int | None) -> None:
        super().__init__(received)
        self.received = received


async def receive_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The request body; BodyTooLarge once it is known to be over ``limit`` bytes."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise BodyTooLarge(int(value))
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(None)
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


class FastPath:
    """Serves POST /v1/predict and /v1/predict/batch directly, the rest via FastAPI."""

    def __init__(self, api: FastAPI) -> None:
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.api(scope, receive, self._lifespan_send(send))
            return
        handler = HANDLERS.get(scope.get("path", "")) if scope["type"] == "http" else None
        state: ServiceState | None = getattr(self.api.state, "service", None)
        if handler is None or state is None or scope["method"] != "POST":
            await self.api(scope, receive, send)
            return
        metrics = state.metrics
        metrics.in_flight.inc()
        started = time.perf_counter()
        status, version = 500, NO_MODEL
        try:
            try:
                body = await receive_body(scope, receive, state.settings.serving_max_body_bytes)
                outcome = await handler(state, body)
            except BodyTooLarge as error:
                outcome = body_too_large(state, error.received)
            except Exception:
                request_id = new_request_id()
                logger.exception("request %s on %s failed", request_id, scope["path"])
                outcome = internal_error(request_id)
            status, payload, version = outcome
            headers = [JSON_HEADER, (b"content-length", str(len(payload)).encode())]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
        finally:
            metrics.in_flight.dec()
            metrics.requests.labels(scope["path"], str(status), version).inc()
            metrics.latency.labels(scope["path"], version).observe(time.perf_counter() - started)

    def _lifespan_send(self, send: Send) -> Send:
        """A startup refused by the settings is logged as its one-line reason, no traceback."""

        async def lifespan_send(message: Message) -> None:
            refusal = getattr(self.api.state, "startup_refusal", None)
            if message["type"] == "lifespan.startup.failed" and refusal:
                message = {**message, "message": refusal}
            await send(message)

        return lifespan_send


class MetricsMiddleware:
    """Requests, latency and in-flight for the routes FastAPI serves (FastPath counts its own)."""

    def __init__(self, app: ASGIApp, service_app: FastAPI) -> None:
        self.app = app
        self.service_app = service_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: ServiceState | None = getattr(self.service_app.state, "service", None)
        if scope["type"] != "http" or state is None:
            await self.app(scope, receive, send)
            return
        metrics = state.metrics
        route = scope["path"] if scope["path"] in ROUTES else "other"
        status = 500
        started = asyncio.get_running_loop().time()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            metrics.in_flight.dec()
            version = scope.get("model_version", NO_MODEL)
            metrics.requests.labels(route, str(status), version).inc()
            metrics.latency.labels(route, version).observe(
                asyncio.get_running_loop().time() - started
            )
