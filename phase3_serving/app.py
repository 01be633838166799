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
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import orjson
import pandas as pd
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from phase1_foundations.contract import FEATURE_NAMES, ID_COLUMN
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
        scorer=Scorer(slots, rollout, log, metrics),
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
                state.last_error = str(error)
                logger.error("%s not loaded: %s", slot, error)
                continue
            setattr(slots, slot, model)  # the swap: one reference assignment
            state.metrics.swaps.labels(slot).inc()
            if loaded is not None:
                state.metrics.model_info.remove(slot, loaded.version)
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
        await refresh_models(state)


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
        logger.error("not ready: %s", state.last_error or "no champion alias in the registry")
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


# ---- the hot path ----------------------------------------------------------------------------


class BodyTooLargeError(Exception):
    """The body (or batch) is over the configured limit: 413."""


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(f"body of {declared} bytes exceeds {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(payload: object, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=JSON)


def _reject(state: ServiceState, errors: list[FieldError]) -> Response:
    for error in errors:
        state.metrics.rejected.labels(error.problem).inc()
    return _json({"detail": [e.model_dump() for e in errors]}, 422)


def _too_large(state: ServiceState, message: str) -> Response:
    state.metrics.rejected.labels("too large").inc()
    return _json({"detail": [{"field": "body", "problem": "too large", "message": message}]}, 413)


def _not_ready(message: str) -> Response:
    return _json({"detail": message}, 503)


ROW_SCHEMA = CustomerRow.model_json_schema()


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

    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        responses=ERRORS_DOC,
        openapi_extra=_body_doc(ROW_SCHEMA),
        summary="Score one customer",
    )
    async def predict(request: Request) -> Response:
        state: ServiceState = request.app.state.service
        try:
            body = await _read_body(request, state.settings.serving_max_body_bytes)
            row = ROW_ADAPTER.validate_json(body)
        except BodyTooLargeError as error:
            return _too_large(state, str(error))
        except ValidationError as error:
            return _reject(state, field_errors(error))
        request_id = new_request_id()
        try:
            score, decision, version, route = await state.scorer.score_one(row.__dict__, request_id)
        except NotReady as error:
            return _not_ready(str(error))
        request.scope["model_version"] = version
        return _json(
            {
                "request_id": request_id,
                "customerid": row.__dict__[ID_COLUMN],
                "churn_probability": score,
                "churn_decision": decision,
                "model_version": version,
                "routed_to": route,
            }
        )

    batch_schema = {
        "type": "object",
        "properties": {"rows": {"type": "array", "items": ROW_SCHEMA}},
        "required": ["rows"],
        "additionalProperties": False,
    }

    @app.post(
        "/v1/predict/batch",
        response_model=BatchResponse,
        responses=ERRORS_DOC,
        openapi_extra=_body_doc(batch_schema),
        summary="Score up to MLOPS_SERVING_MAX_BATCH_ROWS customers",
    )
    async def predict_batch(request: Request) -> Response:
        state: ServiceState = request.app.state.service
        limit = state.settings.serving_max_batch_rows
        try:
            body = await _read_body(request, state.settings.serving_max_body_bytes)
            batch = BATCH_ADAPTER.validate_json(body)
        except BodyTooLargeError as error:
            return _too_large(state, str(error))
        except ValidationError as error:
            return _reject(state, field_errors(error))
        if len(batch.rows) > limit:
            return _too_large(state, f"batch has {len(batch.rows)} rows; the maximum is {limit}")
        request_id = new_request_id()
        rows = [row.__dict__ for row in batch.rows]
        frame = pd.DataFrame.from_records(rows, columns=[ID_COLUMN, *FEATURE_NAMES])
        try:
            scored = state.scorer.score_frame(frame, [request_id] * len(rows))
        except NotReady as error:
            return _not_ready(str(error))
        request.scope["model_version"] = scored.versions[0] if rows else "none"
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
        version = state.slots.champion.version if state.slots.champion else "none"
        return _json(
            {"request_id": request_id, "model_version": version, "predictions": predictions}
        )

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


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    return JSONResponse(
        {"detail": error.detail}, status_code=error.status_code, headers=error.headers
    )


# ---- request metrics: a plain ASGI middleware (cheaper than BaseHTTPMiddleware) -------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class MetricsMiddleware:
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


app = create_app()
