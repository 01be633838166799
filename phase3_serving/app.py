"""The churn model service: FastAPI, real-time and batch, hot swap, rollout, metrics.

Run it with ``make serve`` (uvicorn on 127.0.0.1). The model is loaded by alias from the
registry at startup and verified; if that fails the service stays alive but not ready and keeps
trying. Aliases are polled (and ``POST /admin/reload`` checks at once): a moved alias is loaded
in the background and swapped in atomically.

The two prediction routes are the hot path and are kept lean: the body is validated straight
from JSON bytes by the contract-derived schema (pydantic-core), rows from concurrent requests
are scored in one model call, and responses are serialised with orjson.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from phase1_foundations.contract import ID_COLUMN
from phase2_pipelines.registry import Registry
from phase3_serving.config import ServingSettings, get_serving_settings
from phase3_serving.metrics import ServiceMetrics
from phase3_serving.model import LoadedModel, ModelLoadError, current_version, load_model
from phase3_serving.predlog import PredictionLog
from phase3_serving.rollout import Breach, GuardrailLimits, Rollout, RolloutMode
from phase3_serving.schemas import (
    BATCH_ADAPTER,
    ROW_ADAPTER,
    BatchResponse,
    CustomerRow,
    ErrorResponse,
    FieldError,
    PredictResponse,
    field_errors,
)
from phase3_serving.scoring import (
    CHALLENGER,
    CHAMPION,
    ModelSlots,
    NotReady,
    Scorer,
    new_request_id,
)

logger = logging.getLogger("phase3_serving")
ROUTES = (
    "/v1/predict", "/v1/predict/batch", "/v1/model", "/health/live", "/health/ready",
    "/metrics", "/admin/reload", "/admin/rollout",
)  # fmt: skip
JSON = "application/json"


@dataclass
class ServiceState:
    settings: ServingSettings
    metrics: ServiceMetrics
    slots: ModelSlots
    rollout: Rollout
    log: PredictionLog
    scorer: Scorer
    load_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_error: str | None = None
    poller: asyncio.Task[None] | None = None


def build_state(settings: ServingSettings) -> ServiceState:
    metrics = ServiceMetrics()
    limits = GuardrailLimits(
        min_requests=settings.serving_guardrail_min_requests,
        max_error_rate=settings.serving_guardrail_max_error_rate,
        max_p95_ms=settings.serving_guardrail_max_p95_ms,
        max_score_shift=settings.serving_guardrail_max_score_shift,
    )
    rollout = Rollout(limits)
    if settings.serving_canary_percent > 0:
        rollout.configure(RolloutMode.CANARY, settings.serving_canary_percent)
    elif settings.serving_shadow:
        rollout.configure(RolloutMode.SHADOW)
    log = PredictionLog(
        settings.state_dir / "predictions",
        flush_rows=settings.serving_log_flush_rows,
        flush_seconds=settings.serving_log_flush_seconds,
        max_pending_segments=settings.serving_log_max_pending_segments,
        on_drop=metrics.log_dropped.inc,
    )
    slots = ModelSlots()
    return ServiceState(
        settings=settings, metrics=metrics, slots=slots, rollout=rollout, log=log,
        scorer=Scorer(
            slots, rollout, log, metrics,
            batch_max_rows=settings.serving_batch_max_rows,
            batch_wait_s=settings.serving_batch_wait_ms / 1000,
        ),
    )  # fmt: skip


# ---- model loading and hot swap --------------------------------------------------------------


async def refresh_models(state: ServiceState) -> dict[str, str | None]:
    """Load whatever the aliases point at now, if it differs from what is served."""
    settings, slots = state.settings, state.slots
    async with state.load_lock:
        for alias, slot in (
            (settings.serving_model_alias, CHAMPION),
            (settings.serving_challenger_alias, CHALLENGER),
        ):
            loaded: LoadedModel | None = getattr(slots, slot)
            try:
                version = await asyncio.to_thread(
                    current_version, settings.serving_model_name, alias
                )
                if version is None:
                    if slot == CHALLENGER:
                        slots.challenger = None
                    continue
                if loaded is not None and loaded.version == version:
                    continue
                model = await asyncio.to_thread(load_model, settings.serving_model_name, alias)
            except (ModelLoadError, OSError, RuntimeError) as error:
                if state.last_error != str(error):  # one line per problem, not one per poll
                    logger.error("%s not loaded: %s", slot, error)
                state.last_error = str(error)
                continue
            setattr(slots, slot, model)  # the swap: one reference assignment
            state.metrics.swaps.labels(slot).inc()
            if loaded is not None:  # 0, not removed: removal is not shared across workers
                state.metrics.model_info.labels(slot, loaded.version).set(0)
            state.metrics.model_info.labels(slot, model.version).set(1)
            logger.info("serving %s v%s as %s", model.name, model.version, slot)
        if slots.champion is not None:
            state.last_error = None
    return {
        CHAMPION: slots.champion.version if slots.champion else None,
        CHALLENGER: slots.challenger.version if slots.challenger else None,
    }


async def poll_registry(state: ServiceState) -> None:
    while True:
        await asyncio.sleep(state.settings.serving_poll_seconds)
        try:
            await refresh_models(state)
        except Exception as error:
            logger.error("registry poll failed: %s", error)


async def retire_challenger(state: ServiceState, breach: Breach) -> None:
    """A guardrail fired: stop serving the challenger here and retire it in the registry."""
    state.slots.challenger = None
    registry = Registry(state.settings.serving_model_name)
    with contextlib.suppress(Exception):  # the rollout already stopped locally; log, don't crash
        await asyncio.to_thread(registry.retire_challenger, breach.reason)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    import mlflow

    # No progress bars in a server's log for every model download.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    settings = app.state.settings or get_serving_settings()
    state = build_state(settings)
    state.scorer.on_breach = lambda breach: retire_challenger(state, breach)
    app.state.service = state
    mlflow.set_tracking_uri(settings.tracking_uri)
    state.log.start()
    await refresh_models(state)
    if state.slots.champion is None:
        reason = state.last_error or "no champion alias in the registry (run `make phase2`)"
        logger.error("not ready: %s", reason)
    state.poller = asyncio.create_task(poll_registry(state))
    try:
        yield
    finally:
        state.poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await state.poller
        state.log.close()


# ---- dependencies ----------------------------------------------------------------------------


def get_service(request: Request) -> ServiceState:
    service: ServiceState = request.app.state.service
    return service


ServiceDep = Annotated[ServiceState, Depends(get_service)]


def get_settings_dep(service: ServiceDep) -> ServingSettings:
    return service.settings


SettingsDep = Annotated[ServingSettings, Depends(get_settings_dep)]


def require_champion(service: ServiceDep) -> LoadedModel:
    if service.slots.champion is None:
        raise HTTPException(503, detail=service.last_error or "no champion model is loaded")
    return service.slots.champion


ModelDep = Annotated[LoadedModel, Depends(require_champion)]


def require_admin(request: Request, settings: SettingsDep) -> None:
    """Bearer-token check; with admin disabled every admin call is refused."""
    token = settings.serving_admin_token.get_secret_value()
    given = request.headers.get("authorization", "")
    if not (settings.serving_admin_enabled and token) or not secrets.compare_digest(
        given.encode(), f"Bearer {token}".encode()
    ):
        raise HTTPException(
            401, detail="admin token required", headers={"WWW-Authenticate": "Bearer"}
        )


AdminDep = Annotated[None, Depends(require_admin)]


# ---- the hot path: plain functions from body bytes to (status, body bytes, model version) ----
#
# ``FastPath`` (below) serves the two prediction routes straight from ASGI, skipping Starlette's
# request objects and routing; the FastAPI routes call the same functions and exist for the
# OpenAPI document (and for any server that mounts the FastAPI app directly).

Outcome = tuple[int, bytes, str]
NO_MODEL = "none"


def _problem(state: ServiceState, status: int, errors: list[FieldError]) -> Outcome:
    for error in errors:
        state.metrics.rejected.labels(error.problem).inc()
    return status, orjson.dumps({"detail": [e.model_dump() for e in errors]}), NO_MODEL


def _too_large(state: ServiceState, message: str) -> Outcome:
    return _problem(state, 413, [FieldError(field="body", problem="too large", message=message)])


def _not_ready(message: str) -> Outcome:
    return 503, orjson.dumps({"detail": message}), NO_MODEL


async def predict_one(state: ServiceState, body: bytes) -> Outcome:
    try:
        row = ROW_ADAPTER.validate_json(body)
    except ValidationError as error:
        return _problem(state, 422, field_errors(error))
    request_id = new_request_id()
    features = row.__dict__
    try:
        score, decision, version, route = await state.scorer.score_one(features, request_id)
    except NotReady as error:
        return _not_ready(str(error))
    payload = {
        "request_id": request_id,
        "customerid": features[ID_COLUMN],
        "churn_probability": score,
        "churn_decision": decision,
        "model_version": version,
        "routed_to": route,
    }
    return 200, orjson.dumps(payload), version


async def predict_many(state: ServiceState, body: bytes) -> Outcome:
    try:
        batch = BATCH_ADAPTER.validate_json(body)
    except ValidationError as error:
        return _problem(state, 422, field_errors(error))
    limit = state.settings.serving_max_batch_rows
    if len(batch.rows) > limit:
        return _too_large(state, f"batch has {len(batch.rows)} rows; the maximum is {limit}")
    request_id = new_request_id()
    rows = [row.__dict__ for row in batch.rows]
    try:
        scored = state.scorer.score_records(rows, [request_id] * len(rows))
    except NotReady as error:
        return _not_ready(str(error))
    predictions = [
        {
            "customerid": row[ID_COLUMN],
            "churn_probability": float(scored.scores[i]),
            "churn_decision": bool(scored.decisions[i]),
            "model_version": scored.versions[i],
            "routed_to": scored.routes[i],
        }
        for i, row in enumerate(rows)
    ]
    version = state.slots.champion.version if state.slots.champion else NO_MODEL
    payload = {"request_id": request_id, "model_version": version, "predictions": predictions}
    return 200, orjson.dumps(payload), version


HANDLERS = {"/v1/predict": predict_one, "/v1/predict/batch": predict_many}


def _response(outcome: Outcome, scope: Scope) -> Response:
    status, body, version = outcome
    scope["model_version"] = version
    return Response(body, status_code=status, media_type=JSON)


async def _request_body(request: Request, limit: int) -> bytes | None:
    """The body, or None if it is over the limit (declared or actual)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


ROW_SCHEMA = CustomerRow.model_json_schema()
BATCH_SCHEMA = {
    "type": "object",
    "properties": {"rows": {"type": "array", "items": ROW_SCHEMA}},
    "required": ["rows"],
    "additionalProperties": False,
}


def _body_doc(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {JSON: {"schema": schema}}}}


ERRORS_DOC: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "Body or batch too large"},
    422: {"model": ErrorResponse, "description": "A field failed the data contract"},
    503: {"description": "No model loaded yet"},
}


def create_app(settings: ServingSettings | None = None) -> FastAPI:
    """The service; settings default to the environment, read when the app starts."""
    app = FastAPI(
        title="MLOps Path churn service",
        version="1.0",
        lifespan=lifespan,
        description="Churn probability for Telco customers, from the registry's champion.",
    )
    app.state.settings = settings

    async def documented(request: Request) -> Response:
        state: ServiceState = request.app.state.service
        body = await _request_body(request, state.settings.serving_max_body_bytes)
        if body is None:
            return _response(_too_large(state, "body is over the size limit"), request.scope)
        return _response(await HANDLERS[request.url.path](state, body), request.scope)

    app.add_api_route(
        "/v1/predict", documented, methods=["POST"], response_model=PredictResponse,
        responses=ERRORS_DOC, openapi_extra=_body_doc(ROW_SCHEMA), summary="Score one customer",
    )  # fmt: skip
    app.add_api_route(
        "/v1/predict/batch", documented, methods=["POST"], response_model=BatchResponse,
        responses=ERRORS_DOC, openapi_extra=_body_doc(BATCH_SCHEMA),
        summary="Score up to MLOPS_SERVING_MAX_BATCH_ROWS customers",
    )  # fmt: skip

    # ---- health, model info, metrics ---------------------------------------------------------

    @app.get("/health/live", summary="The process is up")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/health/ready", summary="A verified champion is loaded", responses={503: {}})
    async def ready(service: ServiceDep) -> JSONResponse:
        champion = service.slots.champion
        if champion is None:
            reason = service.last_error or "no champion model loaded yet"
            return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)
        return JSONResponse({"status": "ready", "model_version": champion.version})

    @app.get("/v1/model", summary="The served model and where it came from", responses={503: {}})
    async def model_info(champion: ModelDep, service: ServiceDep) -> dict[str, object]:
        challenger = service.slots.challenger
        return {
            **champion.describe(),
            "challenger": None if challenger is None else challenger.describe(),
            "rollout": service.rollout.describe(),
        }

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics(service: ServiceDep) -> Response:
        return Response(service.metrics.exposition(), media_type="text/plain; version=0.0.4")

    # ---- admin -------------------------------------------------------------------------------

    @app.post("/admin/reload", summary="Check the aliases now and swap if they moved",
              responses={401: {}})  # fmt: skip
    async def reload(_: AdminDep, service: ServiceDep) -> dict[str, str | None]:
        return await refresh_models(service)

    @app.get("/admin/rollout", summary="The rollout plan and guardrail evidence",
             responses={401: {}})  # fmt: skip
    async def get_rollout(_: AdminDep, service: ServiceDep) -> dict[str, object]:
        return service.rollout.describe()

    @app.post("/admin/rollout", summary="Start shadow or canary, or stop", responses={401: {}})
    async def set_rollout(plan: RolloutPlan, _: AdminDep, service: ServiceDep) -> dict[str, object]:
        service.rollout.configure(plan.mode, plan.canary_percent)
        return service.rollout.describe()

    app.add_middleware(MetricsMiddleware, service_app=app)
    return app


class RolloutPlan(BaseModel):
    mode: RolloutMode
    canary_percent: float = Field(0.0, ge=0, le=100)


# ---- request metrics: a plain ASGI middleware (cheaper than BaseHTTPMiddleware) -------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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
            version = scope.get("model_version", "none")
            metrics.requests.labels(route, str(status), version).inc()
            metrics.latency.labels(route, version).observe(
                asyncio.get_running_loop().time() - started
            )


class FastPath:
    """ASGI front door: serves POST /v1/predict and /v1/predict/batch directly, the rest via
    FastAPI. Same handlers, same metrics; about a third of FastAPI's per-request cost."""

    def __init__(self, api: FastAPI) -> None:
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
            body = await _receive_body(scope, receive, state.settings.serving_max_body_bytes)
            if body is None:
                outcome = _too_large(state, "body is over the size limit")
            else:
                outcome = await handler(state, body)
            status, payload, version = outcome
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(payload)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": payload})
        finally:
            metrics.in_flight.dec()
            metrics.requests.labels(scope["path"], str(status), version).inc()
            metrics.latency.labels(scope["path"], version).observe(time.perf_counter() - started)


async def _receive_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The request body, or None once it is known to be over ``limit`` bytes."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            return None
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


app = FastPath(create_app())
