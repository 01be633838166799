"""The scoring engine: batches concurrent requests, keeps model calls off the event loop, and
does everything that is not the answer after the answer has been sent.

Concurrent single-row requests are queued and scored together in one model call: the fitted
sklearn pipeline costs milliseconds per call whatever the batch size, so one call per request
would cap a worker at a few hundred requests per second. A queue is flushed when it reaches
``batch_max_rows`` or ``batch_wait_s`` after its first row; while a model call is running on
the inference thread, rows keep queueing and go in the next call as soon as it ends.

Where a model runs: a verified fast path (``compiled.py``) costs microseconds and is called on
the event loop (handing it to a thread would cost more than the call); any other model is called
on a dedicated inference thread, so the loop keeps answering health probes and parsing requests.
After the responses are released: score metrics, the prediction log, guardrail evidence and,
on a second thread, shadow scoring and guardrail looks. A slow challenger never delays the
champion's answers.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from phase1_foundations.contract import ID_COLUMN
from phase3_serving.guardrails import Verdict
from phase3_serving.inference import CHALLENGER, CHAMPION, BatchScores, score_batch, timed
from phase3_serving.metrics import ServiceMetrics
from phase3_serving.model import LoadedModel
from phase3_serving.predlog import PredictionLog
from phase3_serving.rollout import Rollout

logger = logging.getLogger("phase3_serving")
__all__ = ["CHALLENGER", "CHAMPION", "ModelSlots", "NotReady", "RowFailed", "Scorer"]


class NotReady(RuntimeError):  # noqa: N818 - the state, not a failure of the caller
    """No champion is loaded yet."""


class RowFailed(RuntimeError):  # noqa: N818 - the row's outcome
    """The model could not score this row (the detail is in the server log)."""


@dataclass
class ModelSlots:
    """The models being served. Swapping assigns a reference, so it is atomic: a batch holds the
    model it started with and finishes on it."""

    champion: LoadedModel | None = None
    challenger: LoadedModel | None = None


Answer = tuple[float, bool, str, str]  # probability, decision, model version, route


@dataclass
class _Pending:
    row: dict[str, Any]
    request_id: str
    future: asyncio.Future[Answer]


@dataclass
class _Shadowed:
    rows: list[dict[str, Any]]
    request_ids: list[str]
    result: BatchScores


@dataclass
class Scorer:
    slots: ModelSlots
    rollout: Rollout
    log: PredictionLog
    metrics: ServiceMetrics
    batch_max_rows: int = 256
    batch_wait_s: float = 0.002
    inline_max_rows: int = 512
    inference_threads: int = 1
    model_threads: int = 1
    shadow_max_pending_rows: int = 20_000
    check_every_s: float = 0.5
    on_breach: Callable[[Verdict], Coroutine[Any, Any, None]] | None = None  # set by the app
    _inference: ThreadPoolExecutor | None = None
    _background: ThreadPoolExecutor | None = None
    _pending: list[_Pending] = field(default_factory=list)
    _timer: asyncio.TimerHandle | None = None
    _in_flight: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _shadow_queue: list[_Shadowed] = field(default_factory=list)
    _shadow_rows: int = 0
    _shadowing: bool = False
    _checking: bool = False
    _next_check: float = 0.0

    def start(self) -> None:
        limit = (self.model_threads,)
        self._inference = ThreadPoolExecutor(
            self.inference_threads, "inference", initializer=limit_native_threads, initargs=limit
        )
        self._background = ThreadPoolExecutor(
            1, "after-response", initializer=limit_native_threads, initargs=limit
        )

    def close(self) -> None:
        for pool in (self._inference, self._background):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    # ---- single rows, batched across requests -----------------------------------------------

    async def score_one(self, row: dict[str, Any], request_id: str) -> Answer:
        """The answer for one validated row; RowFailed if the model cannot score it."""
        if self.slots.champion is None:
            raise NotReady("no champion model is loaded")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self._pending.append(_Pending(row, request_id, future))
        if len(self._pending) >= self.batch_max_rows:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.batch_wait_s, self._flush)
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending or self._in_flight >= self.inference_threads:
            return  # the running call flushes the queue when it ends
        pending = self._pending[: self.batch_max_rows]
        del self._pending[: self.batch_max_rows]
        self._in_flight += 1
        self._spawn(self._run(pending))

    async def _run(self, pending: list[_Pending]) -> None:
        rows, request_ids = [p.row for p in pending], [p.request_id for p in pending]
        self.metrics.microbatch_rows.observe(len(rows))
        try:
            result = await self._score(rows)
        except Exception as error:  # NotReady, or a bug: every waiting request gets an answer
            for p in pending:
                if not p.future.done():
                    p.future.set_exception(error)
            return
        finally:
            self._in_flight -= 1
            if self._pending:
                self._flush()
        for i, p in enumerate(pending):
            if p.future.done():
                continue  # the client went away
            if result.failed[i]:
                p.future.set_exception(RowFailed(p.request_id))
            else:
                p.future.set_result(
                    (
                        float(result.scores[i]),
                        bool(result.decisions[i]),
                        result.versions[i],
                        result.routes[i],
                    )
                )
        self.after_response(rows, request_ids, result)  # queued behind the requests' wake-ups

    # ---- a list of rows (the batch endpoint, and each flush) ---------------------------------

    async def score_records(self, rows: list[dict[str, Any]]) -> BatchScores:
        """Score rows with the model their route says. The caller hands the result to
        ``after_response`` once its response is on its way."""
        return await self._score(rows)

    async def _score(self, rows: list[dict[str, Any]]) -> BatchScores:
        champion, challenger = self.slots.champion, self.slots.challenger
        if champion is None:
            raise NotReady("no champion model is loaded")
        n = len(rows)
        to_challenger = np.zeros(n, dtype=bool)
        if challenger is not None and self.rollout.canary_percent > 0:
            route = self.rollout.routes_to_challenger
            to_challenger = np.fromiter((route(r[ID_COLUMN]) for r in rows), bool, n)
        uses_challenger = challenger is not None and bool(to_challenger.any())
        inline = n <= self.inline_max_rows and champion.fast is not None
        if uses_challenger and challenger is not None:
            inline = inline and challenger.fast is not None
        if inline or self._inference is None:
            return score_batch(champion, challenger, rows, to_challenger)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._inference, score_batch, champion, challenger, rows, to_challenger
        )

    # ---- after the response ------------------------------------------------------------------

    def after_response(
        self, rows: list[dict[str, Any]], request_ids: list[str], result: BatchScores
    ) -> None:
        """Queue the bookkeeping behind the responses (call_soon runs it after them)."""
        asyncio.get_running_loop().call_soon(self._after_response, rows, request_ids, result)

    def _after_response(
        self, rows: list[dict[str, Any]], request_ids: list[str], result: BatchScores
    ) -> None:
        self._observe_scores(result)
        challenger = result.challenger
        if self.rollout.active and challenger is not None:
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
                    self._spawn(self._shadow_loop())
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
        """Score queued batches with the challenger on the background thread, many per call."""
        loop = asyncio.get_running_loop()
        try:
            while self._shadow_queue:
                queued, self._shadow_queue, self._shadow_rows = self._shadow_queue, [], 0
                challenger = queued[0].result.challenger
                rows = [row for item in queued for row in item.rows]
                if challenger is None or not self.rollout.shadowing:
                    for item in queued:
                        self._append_log(item.rows, item.request_ids, item.result, None, None)
                    continue
                result, elapsed_ms = await loop.run_in_executor(
                    self._background, timed, challenger, rows
                )
                self.rollout.record_challenger(elapsed_ms, len(rows), result.scores[~result.failed])
                self.metrics.model_calls.labels("shadow", challenger.version).observe(
                    elapsed_ms / 1000
                )
                if result.error:
                    logger.warning("shadow v%s failed: %s", challenger.version, result.error)
                    self.metrics.challenger_errors.inc(int(result.failed.sum()))
                start = 0
                for item in queued:
                    shadow = result.scores[start : start + len(item.rows)]
                    start += len(item.rows)
                    both = ~np.isnan(shadow) & ~item.result.failed
                    self.rollout.record_champion(item.result.scores[both])
                    self._append_log(
                        item.rows, item.request_ids, item.result, shadow, challenger.version
                    )
                self.maybe_check()
        finally:
            self._shadowing = False

    # ---- guardrails --------------------------------------------------------------------------

    def maybe_check(self) -> None:
        """Share evidence and test a due look, at most every ``check_every_s``, off the loop."""
        now = time.monotonic()
        if self._checking or now < self._next_check or not self.rollout.active:
            return
        self._next_check = now + self.check_every_s
        self._checking = True
        self._spawn(self._check())

    async def _check(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            verdict = await loop.run_in_executor(self._background, self.rollout.check)
            if verdict is None or verdict.breach is None:
                return
            stopped = await loop.run_in_executor(self._background, self.rollout.stop, verdict)
            if not stopped:
                return
            self.metrics.rollbacks.labels(verdict.breach.guardrail).inc()
            logger.error("rollout stopped, challenger rolled back: %s", verdict.breach.reason)
            if self.on_breach is not None:
                await self.on_breach(verdict)
        except Exception:
            logger.exception("guardrail check failed")
        finally:
            self._checking = False

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def limit_native_threads(threads: int) -> None:
    """Cap the OpenMP and BLAS threads of model calls made on this thread. Uncapped, each of a
    gradient-boosting model's hundreds of parallel regions waits for threads the other workers
    hold: measured here, 100 rows took 170 ms a call instead of 22 ms."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    threadpool_limits(limits=threads)


def new_request_id() -> str:
    return uuid.uuid4().hex
