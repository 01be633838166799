"""Admin API, behind a bearer token: reload the aliases now, run a rollout, see the detail.

A rollout plan set here is written to the shared plan file, so every worker follows it within
``MLOPS_SERVING_ROLLOUT_POLL_SECONDS``; ``GET /admin/rollout`` reads the same file, so every
worker gives the same answer. ``GET /admin/status`` is where the detail that unauthenticated
callers never see (why a model failed to load, with its paths) can be read.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from phase3_serving.rollout import RolloutMode
from phase3_serving.service import ServiceDep, ServiceState, SettingsDep, refresh_models


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
router = APIRouter(prefix="/admin", responses={401: {"description": "Admin token required"}})


class RolloutRequest(BaseModel):
    mode: RolloutMode
    canary_percent: float = Field(0.0, ge=0, le=100)


@router.post("/reload", summary="Check the aliases now and swap if they moved")
async def reload(_: AdminDep, service: ServiceDep) -> dict[str, str | None]:
    return await refresh_models(service)


@router.get("/rollout", summary="The shared rollout plan and the pooled guardrail evidence")
async def get_rollout(_: AdminDep, service: ServiceDep) -> dict[str, object]:
    return await asyncio.to_thread(_describe, service)


@router.post("/rollout", summary="Start shadow or canary, or stop, on every worker")
async def set_rollout(plan: RolloutRequest, _: AdminDep, service: ServiceDep) -> dict[str, object]:
    await asyncio.to_thread(service.rollout.configure, plan.mode, plan.canary_percent, "admin")
    return await asyncio.to_thread(_describe, service)


@router.get("/status", summary="Models, load errors in full, and the rollout")
async def status(_: AdminDep, service: ServiceDep) -> dict[str, object]:
    slots = service.slots
    return {
        "worker": os.getpid(),
        "champion": None if slots.champion is None else slots.champion.describe(),
        "challenger": None if slots.challenger is None else slots.challenger.describe(),
        "load_errors": dict(service.errors),
        "rollout": await asyncio.to_thread(_describe, service),
    }


def _describe(service: ServiceState) -> dict[str, object]:
    return {"worker": os.getpid(), **service.rollout.describe()}
