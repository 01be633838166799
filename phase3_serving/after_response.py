"""What happens after the answer: score metrics, the prediction log, guardrail evidence, shadow
scoring and guardrail looks.

None of it may delay a response. It is queued behind the responses it concerns, and the slow
parts run on a background thread: a shadow challenger scores each queued batch in one call, as
it would have answered it (so a slow one falls behind without holding anyone up; past
``shadow_max_pending_rows`` rows are logged without a shadow score, and counted), and a
guardrail look, which reads and writes the shared evidence files, runs at most every
``check_every_s``. Once per rollout plan (shadow or canary) the challenger also scores, live and
on the background thread, the rows it was evaluated on (the probe), for the skew check; the
thread runs jobs in order, so a look queued after the probe sees it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from phase3_serving.guardrails import GuardrailDecision
from phase3_serving.inference import CHALLENGER, CHAMPION, BatchScores, timed
from phase3_serving.model import LoadedModel
from phase3_serving.predlog import PredictionLog
from phase3_serving.rollout import Rollout
from phase3_serving.service_metrics import ServiceMetrics

logger = logging.getLogger("phase3_serving")


@dataclass
class _Shadowed:
    rows: list[dict[str, Any]]
    request_ids: list[str]
    result: BatchScores


@dataclass
class AfterResponse:
    rollout: Rollout
    log: PredictionLog
    metrics: ServiceMetrics
    background: ThreadPoolExecutor | None = None  # set when the batcher starts
    shadow_max_pending_rows: int = 20_000
    check_every_s: float = 0.5
    # set by the app
    on_breach: Callable[[GuardrailDecision], Coroutine[Any, Any, None]] | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _shadow_queue: list[_Shadowed] = field(default_factory=list)
    _shadow_rows: int = 0
    _shadowing: bool = False
    _checking: bool = False
    _next_check: float = 0.0

    def schedule(
        self, rows: list[dict[str, Any]], request_ids: list[str], result: BatchScores
    ) -> None:
        """Run ``_run`` after the responses: call_soon queues it behind the wake-ups of the
        requests just answered (and a handler calls this as it returns its response)."""
        asyncio.get_running_loop().call_soon(self._run, rows, request_ids, result)

    def _run(self, rows: list[dict[str, Any]], request_ids: list[str], result: BatchScores) -> None:
        self._observe_scores(result)
        challenger = result.challenger
        if self.rollout.active and challenger is not None:
            self._maybe_probe(challenger)
            if result.canary is not None:
                self.rollout.record_challenger(
                    result.canary.latency_ms, result.canary.rows, result.canary.scores
                )
                if len(result.canary.scores) < result.canary.rows:
                    self.metrics.challenger_errors.inc(
                        result.canary.rows - len(result.canary.scores)
                    )
            if self.rollout.canary_percent > 0:
                self.rollout.record_champion(result.champion_scores)
        if self.rollout.shadowing and challenger is not None:
            if self._shadow_rows + len(rows) <= self.shadow_max_pending_rows:
                self._shadow_queue.append(_Shadowed(rows, request_ids, result))
                self._shadow_rows += len(rows)
                if not self._shadowing:
                    self._shadowing = True
                    spawn(self._tasks, self._shadow_loop())
                return
            self.metrics.shadow_skipped.inc(len(rows))  # the shadow fell behind: log without it
        self._append_log(rows, request_ids, result, None, None)
        self.maybe_check()

    def _observe_scores(self, result: BatchScores) -> None:
        calls = self.metrics.model_calls
        if result.champion_ms:
            calls.labels(CHAMPION, result.champion.version).observe(result.champion_ms / 1000)
        if result.canary is not None and result.challenger is not None:
            calls.labels(CHALLENGER, result.challenger.version).observe(
                result.canary.latency_ms / 1000
            )
        routes = np.array(result.routes)
        for route, model in ((CHAMPION, result.champion), (CHALLENGER, result.challenger)):
            chosen = (routes == route) & ~result.failed
            if model is not None and chosen.any():
                histogram = self.metrics.scores.labels(model.version, route)
                for score in result.scores[chosen].tolist():
                    histogram.observe(score)

    def _append_log(
        self,
        rows: list[dict[str, Any]],
        request_ids: list[str],
        result: BatchScores,
        shadow: np.ndarray | None,
        shadow_version: str | None,
    ) -> None:
        keep = ~result.failed
        if not keep.all():
            rows = [row for row, ok in zip(rows, keep, strict=True) if ok]
            request_ids = [rid for rid, ok in zip(request_ids, keep, strict=True) if ok]
            shadow = None if shadow is None else shadow[keep]
        if not rows:
            return
        self.log.append(
            rows,
            {
                "churn_probability": result.scores[keep],
                "churn_decision": result.decisions[keep],
                "model_version": [v for v, ok in zip(result.versions, keep, strict=True) if ok],
                "routed_to": [r for r, ok in zip(result.routes, keep, strict=True) if ok],
                "request_id": request_ids,
                "timestamp": time.time(),
                "shadow_probability": np.nan if shadow is None else shadow,
                "shadow_version": shadow_version,
            },
        )

    async def _shadow_loop(self) -> None:
        """Score queued batches with the challenger on the background thread, one call per
        batch: the call the challenger would have made to answer it. Calls are the unit the
        guardrails count, so they must not depend on how far the shadow fell behind."""
        loop = asyncio.get_running_loop()
        try:
            while self._shadow_queue:
                item = self._shadow_queue.pop(0)
                self._shadow_rows -= len(item.rows)
                challenger = item.result.challenger
                if challenger is None or not self.rollout.shadowing:
                    self._append_log(item.rows, item.request_ids, item.result, None, None)
                    continue
                result, elapsed_ms = await loop.run_in_executor(
                    self.background, timed, challenger, item.rows
                )
                self.rollout.record_challenger(
                    elapsed_ms, len(item.rows), result.scores[~result.failed]
                )
                self.metrics.model_calls.labels("shadow", challenger.version).observe(
                    elapsed_ms / 1000
                )
                if result.error:
                    logger.warning("shadow v%s failed: %s", challenger.version, result.error)
                    self.metrics.challenger_errors.inc(int(result.failed.sum()))
                both = ~np.isnan(result.scores) & ~item.result.failed
                self.rollout.record_champion(item.result.scores[both])
                self._append_log(
                    item.rows, item.request_ids, item.result, result.scores, challenger.version
                )
                self.maybe_check()
        finally:
            self._shadowing = False

    def _maybe_probe(self, challenger: LoadedModel) -> None:
        """Queue the probe on the background thread (ahead of any look queued later), once per
        plan; a challenger without offline scores has none, and its skew stays insufficient."""
        if challenger.offline is None or not self.rollout.claim_probe(challenger.version):
            return
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self.background, self._probe, challenger)
        done.add_done_callback(_log_failure)

    def _probe(self, challenger: LoadedModel) -> None:
        offline = challenger.offline
        assert offline is not None  # checked before it was queued
        live, _ = timed(challenger, offline.rows)
        self.rollout.record_probe(challenger.version, live.scores, offline.scores)

    # ---- guardrails --------------------------------------------------------------------------

    def maybe_check(self) -> None:
        """Share evidence and test a due look, at most every ``check_every_s``, off the loop."""
        now = time.monotonic()
        if self._checking or now < self._next_check or not self.rollout.active:
            return
        self._next_check = now + self.check_every_s
        self._checking = True
        spawn(self._tasks, self._check())

    async def _check(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            verdict = await loop.run_in_executor(self.background, self.rollout.check)
            if verdict is None or verdict.breach is None:
                return
            stopped = await loop.run_in_executor(self.background, self.rollout.stop, verdict)
            if not stopped:
                return
            self.metrics.rollbacks.labels(verdict.breach.check).inc()
            logger.error("rollout stopped, challenger rolled back: %s", verdict.breach.reason)
            if self.on_breach is not None:
                await self.on_breach(verdict)
        except Exception:
            logger.exception("guardrail check failed")
        finally:
            self._checking = False


def _log_failure(done: asyncio.Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        logger.error("probe failed", exc_info=done.exception())


def spawn(tasks: set[asyncio.Task[None]], coroutine: Coroutine[Any, Any, None]) -> None:
    """A background task, referenced until it ends (the loop keeps only weak references)."""
    task = asyncio.get_running_loop().create_task(coroutine)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
