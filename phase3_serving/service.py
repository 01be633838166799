"""The service's state and life: settings, models loaded and hot-swapped, the shared rollout.

At startup the lifespan loads the champion (and any challenger) by alias and verifies it; if
that fails the service stays alive but not ready and keeps trying. Aliases are polled (and
``POST /admin/reload`` checks at once): a moved alias is loaded in the background and swapped in
by one reference assignment. The rollout plan is re-read whenever another worker changes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from phase1_foundations.settings import ConfigError
from phase2_pipelines.params import ParamsError
from phase2_pipelines.registry import Registry
from phase3_serving.batcher import CHALLENGER, CHAMPION, Batcher
from phase3_serving.config import ServingSettings, get_serving_settings
from phase3_serving.guardrails import GuardrailDecision, GuardrailPolicy
from phase3_serving.model import (
    LoadedModel,
    ModelLoadError,
    ModelSlots,
    current_version,
    load_model,
)
from phase3_serving.predlog import PredictionLog
from phase3_serving.rollout import Rollout, RolloutMode, RolloutPlan
from phase3_serving.service_metrics import ServiceMetrics
from phase3_serving.shared import EvidenceBoard, PlanStore

logger = logging.getLogger("phase3_serving")
NOT_LOADED = "no champion model is loaded yet"


class StartupRefused(RuntimeError):  # noqa: N818 - the outcome, said in one line
    """The settings forbid starting; the message is the one line a person needs."""


@dataclass
class ServiceState:
    settings: ServingSettings
    model_name: str  # the registered model served (its aliases are the settings')
    metrics: ServiceMetrics
    slots: ModelSlots
    rollout: Rollout
    log: PredictionLog
    batcher: Batcher
    load_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    errors: dict[str, str] = field(default_factory=dict)  # slot -> detail, for the log and admin
    public_error: str | None = None  # why not ready, without paths or URIs
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def build_state(
    settings: ServingSettings, policy: GuardrailPolicy, model_name: str
) -> ServiceState:
    metrics = ServiceMetrics()
    rollout = Rollout(policy, PlanStore(settings.rollout_dir), EvidenceBoard(settings.rollout_dir))
    log = PredictionLog(
        settings.state_dir / "predictions",
        flush_rows=settings.serving_log_flush_rows,
        flush_seconds=settings.serving_log_flush_seconds,
        max_pending_segments=settings.serving_log_max_pending_segments,
        on_drop=metrics.log_dropped.inc,
    )
    slots = ModelSlots()
    batcher = Batcher(
        slots,
        rollout,
        log,
        metrics,
        batch_max_rows=settings.serving_batch_max_rows,
        batch_wait_s=settings.serving_batch_wait_ms / 1000,
        inline_max_rows=settings.serving_inline_max_rows,
        inference_threads=settings.serving_inference_threads,
        model_threads=settings.serving_model_threads,
    )
    batcher.after.shadow_max_pending_rows = settings.serving_shadow_max_pending_rows
    batcher.after.check_every_s = settings.serving_guardrail_sync_seconds
    return ServiceState(settings, model_name, metrics, slots, rollout, log, batcher)


def seed_plan(settings: ServingSettings, rollout: Rollout) -> None:
    """Follow the shared plan; the settings start one if they ask for shadow or a canary."""
    if settings.serving_canary_percent > 0:
        mode, percent = RolloutMode.CANARY, settings.serving_canary_percent
    elif settings.serving_shadow:
        mode, percent = RolloutMode.SHADOW, 0.0
    else:
        rollout.adopt(rollout.store.read())
        return
    rollout.adopt(rollout.store.seed(RolloutPlan.new(mode, percent, "settings")))


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
                version = await asyncio.to_thread(current_version, state.model_name, alias)
                if version is None:
                    if slot == CHALLENGER:
                        slots.challenger = None
                        state.rollout.set_challenger(None)
                    else:
                        _failed(
                            state,
                            slot,
                            f"no {alias} alias on {state.model_name}"
                            " in the registry (run `make phase2`)",
                            "no champion is registered yet",
                        )
                    continue
                if loaded is not None and loaded.version == version:
                    continue
                model = await asyncio.to_thread(load_model, state.model_name, alias)
            except ModelLoadError as error:
                _failed(state, slot, str(error), error.public)
                continue
            except (OSError, RuntimeError) as error:
                _failed(state, slot, f"{alias}: {error}", "the model could not be loaded")
                continue
            setattr(slots, slot, model)  # the swap: one reference assignment
            if slot == CHALLENGER:
                state.rollout.set_challenger(model.version)
            state.errors.pop(slot, None)
            state.metrics.swaps.labels(slot).inc()
            if loaded is not None:  # 0, not removed: removal is not shared across workers
                state.metrics.model_info.labels(slot, loaded.version).set(0)
            state.metrics.model_info.labels(slot, model.version).set(1)
            logger.info("serving %s v%s as %s", model.name, model.version, slot)
        if slots.champion is not None:
            state.public_error = None
    return {
        CHAMPION: slots.champion.version if slots.champion else None,
        CHALLENGER: slots.challenger.version if slots.challenger else None,
    }


def _failed(state: ServiceState, slot: str, detail: str, public: str) -> None:
    if state.errors.get(slot) != detail:  # one line per problem, not one per poll
        logger.error("%s not loaded: %s", slot, detail)
    state.errors[slot] = detail
    if slot == CHAMPION and state.slots.champion is None:
        state.public_error = public


async def poll_registry(state: ServiceState) -> None:
    while True:
        await asyncio.sleep(state.settings.serving_poll_seconds)
        try:
            await refresh_models(state)
        except Exception:
            logger.exception("registry poll failed")


async def watch_rollout(state: ServiceState) -> None:
    """Follow plan changes made by other workers, and keep the guardrails' looks on time."""
    while True:
        await asyncio.sleep(state.settings.serving_rollout_poll_seconds)
        try:
            state.rollout.refresh()
            state.batcher.after.maybe_check()
        except Exception:
            logger.exception("rollout watch failed")


async def retire_challenger(state: ServiceState, verdict: GuardrailDecision) -> None:
    """A guardrail fired: stop serving the challenger here and retire it in the registry."""
    state.slots.challenger = None
    state.rollout.set_challenger(None)
    reason = verdict.breach.reason if verdict.breach else "guardrail breach"
    registry = Registry(state.model_name)
    try:
        await asyncio.to_thread(registry.retire_challenger, reason)
    except Exception:  # the rollout already stopped everywhere; the alias can be retired by hand
        logger.exception("could not retire the challenger alias in the registry")


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    import mlflow

    from phase2_pipelines.tracking import ensure_store

    # No progress bars in a server's log for every model download.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        settings = app.state.settings or get_serving_settings()
    except ConfigError as error:  # one line naming each bad setting
        app.state.startup_refusal = str(error)
        raise StartupRefused(app.state.startup_refusal) from None
    try:
        policy = GuardrailPolicy.load(settings.serving_params_file)
        model_name = settings.model_name()
    except ParamsError as error:  # one line naming the file and each bad field
        app.state.startup_refusal = str(error)
        raise StartupRefused(app.state.startup_refusal) from None
    state = build_state(settings, policy, model_name)
    state.batcher.after.on_breach = lambda verdict: retire_challenger(state, verdict)
    app.state.service = state
    await asyncio.to_thread(ensure_store, settings)  # created whole, or not at all
    mlflow.set_tracking_uri(settings.tracking_uri)
    state.log.start()
    state.batcher.start()
    await asyncio.to_thread(seed_plan, settings, state.rollout)
    await refresh_models(state)
    if state.slots.champion is None:
        logger.error("not ready: %s", state.errors.get(CHAMPION, NOT_LOADED))
    # The event loop shares the GIL with the inference thread: let it have it back within
    # this long (Python's default is 5 ms, and a request needs the GIL several times).
    sys.setswitchinterval(settings.serving_switch_interval_ms / 1000)
    if settings.serving_gc_freeze:
        # The ~370,000 objects of the libraries and models loaded so far live as long as the
        # process. Left in the collector's oldest generation, every full collection walks them
        # all: a ~200 ms pause of the event loop every few seconds under load, which was the
        # p99 of the benchmark. Frozen, they are skipped (reference counting still frees them,
        # e.g. a champion swapped out later).
        gc.collect()
        gc.freeze()
    state.tasks = [
        asyncio.create_task(poll_registry(state)),
        asyncio.create_task(watch_rollout(state)),
    ]
    try:
        yield
    finally:
        for task in state.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        state.batcher.close()
        state.log.close()


# ---- dependencies ----------------------------------------------------------------------------


def get_service(request: Request) -> ServiceState:
    service: ServiceState = request.app.state.service
    return service


ServiceDep = Annotated[ServiceState, Depends(get_service)]


def get_settings_dep(service: ServiceDep) -> ServingSettings:
    return service.settings


SettingsDep = Annotated[ServingSettings, Depends(get_settings_dep)]
