"""The churn model service: FastAPI, real-time and batch, hot swap, rollout, metrics.

Run it with ``make serve`` (uvicorn on 127.0.0.1). Where things are:

- ``service.py``: settings, the lifespan, model loading and hot swap, the shared rollout;
- ``handlers.py``: the two prediction routes as plain functions from body bytes to an answer;
- ``asgi.py``: the lean ASGI front door that serves them, and the request metrics;
- ``scoring.py``: micro-batching, model calls off the event loop, the after-response work;
- ``admin.py``: the token-guarded admin API.

This module wires them into one FastAPI app, whose OpenAPI document describes every route.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from phase3_serving import admin
from phase3_serving.asgi import FastPath, MetricsMiddleware, Scope
from phase3_serving.config import ServingSettings
from phase3_serving.handlers import HANDLERS, Outcome, body_too_large, internal_error
from phase3_serving.model import LoadedModel
from phase3_serving.schemas import BatchResponse, CustomerRow, ErrorResponse, PredictResponse
from phase3_serving.scoring import new_request_id
from phase3_serving.service import NOT_LOADED, ServiceDep, ServiceState, lifespan

JSON = "application/json"
ROW_SCHEMA = CustomerRow.model_json_schema()
BATCH_SCHEMA = {
    "type": "object",
    "properties": {"rows": {"type": "array", "items": ROW_SCHEMA}},
    "required": ["rows"],
    "additionalProperties": False,
}
ERRORS_DOC: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "Body or batch too large (the limit is stated)"},
    422: {"model": ErrorResponse, "description": "A field failed the data contract"},
    500: {"model": ErrorResponse, "description": "The model could not score a row"},
    503: {"description": "No model loaded yet"},
}


def _body_doc(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {JSON: {"schema": schema}}}}


def _response(outcome: Outcome, scope: Scope) -> Response:
    status, body, version = outcome
    scope["model_version"] = version
    return Response(body, status_code=status, media_type=JSON)


async def _request_body(request: Request, limit: int) -> tuple[bytes | None, int | None]:
    """The body, or (None, size if known) if it is over the limit (declared or actual)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None, int(declared)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None, None
        chunks.append(chunk)
    return b"".join(chunks), size


async def _json_500(request: Request, error: Exception) -> Response:
    """FastAPI routes answer an unexpected error in JSON too (uvicorn logs the traceback)."""
    status, body, _ = internal_error(new_request_id())
    return Response(body, status_code=status, media_type=JSON)


def create_app(settings: ServingSettings | None = None) -> FastAPI:
    """The service; settings (``ServingSettings``) default to the environment, read at startup."""
    app = FastAPI(
        title="MLOps Path churn service",
        version="1.0",
        lifespan=lifespan,
        description="Churn probability for Telco customers, from the registry's champion.",
    )
    app.state.settings = settings
    app.add_exception_handler(Exception, _json_500)

    async def documented(request: Request) -> Response:
        state: ServiceState = request.app.state.service
        body, size = await _request_body(request, state.settings.serving_max_body_bytes)
        if body is None:
            return _response(body_too_large(state, size), request.scope)
        return _response(await HANDLERS[request.url.path](state, body), request.scope)

    app.add_api_route(
        "/v1/predict",
        documented,
        methods=["POST"],
        response_model=PredictResponse,
        responses=ERRORS_DOC,
        openapi_extra=_body_doc(ROW_SCHEMA),
        summary="Score one customer",
    )
    app.add_api_route(
        "/v1/predict/batch",
        documented,
        methods=["POST"],
        response_model=BatchResponse,
        responses=ERRORS_DOC,
        openapi_extra=_body_doc(BATCH_SCHEMA),
        summary="Score up to MLOPS_SERVING_MAX_BATCH_ROWS customers",
    )

    @app.get("/health/live", summary="The process is up")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/health/ready", summary="A verified champion is loaded", responses={503: {}})
    async def ready(service: ServiceDep) -> JSONResponse:
        champion = service.slots.champion
        if champion is None:
            reason = service.public_error or NOT_LOADED
            return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)
        return JSONResponse({"status": "ready", "model_version": champion.version})

    @app.get("/v1/model", summary="The served model and where it came from", responses={503: {}})
    async def model_info(service: ServiceDep) -> JSONResponse:
        champion: LoadedModel | None = service.slots.champion
        if champion is None:
            reason = service.public_error or NOT_LOADED
            return JSONResponse({"detail": f"not ready: {reason}"}, status_code=503)
        challenger = service.slots.challenger
        rollout = service.rollout
        return JSONResponse(
            {
                **champion.describe(),
                "challenger": None if challenger is None else challenger.describe(),
                "rollout": {"mode": rollout.mode.value, "canary_percent": rollout.canary_percent},
            }
        )

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics(service: ServiceDep) -> Response:
        return Response(service.metrics.exposition(), media_type="text/plain; version=0.0.4")

    app.include_router(admin.router)
    app.add_middleware(MetricsMiddleware, service_app=app)
    return app


app = FastPath(create_app())
