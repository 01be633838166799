"""The churn model service: FastAPI, real-time and batch, hot swap, rollout, metrics.

Run it with ``make serve`` (uvicorn on 127.0.0.1). Where things are:

- ``predict.py``: the two prediction routes, from the request to the response;
- ``batcher.py``: micro-batching and model calls off the event loop (``after_response.py``: the
  work done after the answer);
- ``service.py``: settings, the lifespan, model loading and hot swap, the shared rollout;
- ``admin.py``: the token-guarded admin API;
- ``asgi.py``: the front door uvicorn serves, which records every request's metrics.

This module wires them into one FastAPI app, whose OpenAPI document describes every route.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from phase3_serving import admin, predict
from phase3_serving.asgi import FrontDoor
from phase3_serving.config import ServingSettings
from phase3_serving.model import LoadedModel
from phase3_serving.service import NOT_LOADED, ServiceDep, lifespan


async def _json_500(request: Request, error: Exception) -> Response:
    """FastAPI routes answer an unexpected error in JSON too (uvicorn logs the traceback)."""
    status, body, _ = predict.internal_error(predict.new_request_id())
    return Response(body, status_code=status, media_type=predict.JSON)


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
    app.include_router(predict.router)

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
    return app


def create_service(settings: ServingSettings | None = None) -> FrontDoor:
    """What uvicorn serves: the app behind its front door (``asgi.py``)."""
    return FrontDoor(create_app(settings))


app = create_service()
