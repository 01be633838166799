"""The front door uvicorn serves: the prediction routes called directly, and every request counted.

``FrontDoor`` hands ``POST /v1/predict`` and ``/v1/predict/batch`` straight to their FastAPI
route functions (``predict.py``), skipping Starlette's routing and middleware (about a third of
FastAPI's per-request cost), and everything else to FastAPI. Requests, latency and requests in
flight are recorded here, once, for every route. It also turns a refusal to start (bad settings)
into one log line.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from phase3_serving import predict
from phase3_serving.service import ServiceState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Endpoint = Callable[[Request, ServiceState], Awaitable[Response]]
OTHER = "other"  # the route label of a path the service does not serve


class FrontDoor:
    """Serves the prediction routes directly, the rest via FastAPI, and records the metrics."""

    def __init__(self, api: FastAPI) -> None:
        self.api = api
        self.direct: dict[str, Endpoint] = {
            route.path: route.endpoint
            for route in predict.router.routes
            if isinstance(route, APIRoute) and route.methods == {"POST"}
        }
        self._routes: frozenset[str] | None = None

    @property
    def routes(self) -> frozenset[str]:
        """The paths of the OpenAPI document, each a route label of the metrics (any other path
        is counted as "other", so a scan of random paths cannot create labels without bound)."""
        if self._routes is None:
            self._routes = frozenset(self.api.openapi()["paths"])
        return self._routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            self._routes = frozenset(self.api.openapi()["paths"])  # before the first request
            await self.api(scope, receive, self._lifespan_send(send))
            return
        state: ServiceState | None = getattr(self.api.state, "service", None)
        if scope["type"] != "http" or state is None:
            await self.api(scope, receive, send)
            return
        endpoint = self.direct.get(scope["path"]) if scope["method"] == "POST" else None
        metrics = state.metrics
        status = 500
        metrics.in_flight.inc()
        started = time.perf_counter()
        try:
            if endpoint is not None:
                scope["app"] = self.api  # as Starlette sets it: request.app is the service
                response = await endpoint(Request(scope, receive), state)
                status = response.status_code
                await response(scope, receive, send)
            else:

                async def send_with_status(message: Message) -> None:
                    nonlocal status
                    if message["type"] == "http.response.start":
                        status = message["status"]
                    await send(message)

                await self.api(scope, receive, send_with_status)
        finally:
            metrics.in_flight.dec()
            route = scope["path"] if scope["path"] in self.routes else OTHER
            version = scope.get(predict.VERSION_KEY, predict.NO_MODEL)
            metrics.requests.labels(route, str(status), version).inc()
            metrics.latency.labels(route, version).observe(time.perf_counter() - started)

    def _lifespan_send(self, send: Send) -> Send:
        """A startup refused by the settings is logged as its one-line reason, no traceback."""

        async def lifespan_send(message: Message) -> None:
            refusal = getattr(self.api.state, "startup_refusal", None)
            if message["type"] == "lifespan.startup.failed" and refusal:
                message = {**message, "message": refusal}
            await send(message)

        return lifespan_send
