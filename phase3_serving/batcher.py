"""The micro-batcher: scores concurrent requests together and keeps model calls off the loop.

Concurrent single-row requests are queued and scored together in one model call: the fitted
sklearn pipeline costs milliseconds per call whatever the batch size, so one call per request
would cap a worker at a few hundred requests per second. A queue is flushed when it reaches
``batch_max_rows`` or ``batch_wait_s`` after its first row; while a model call is running on
the inference thread, rows keep queueing and go in the next call as soon as it ends.

Where a model runs: a verified fast path (``compiled.py``) costs microseconds and is called on
the event loop (handing it to a thread would cost more than the call); any other model is called
on a dedicated inference thread, so the loop keeps answering health probes and parsing requests.
Everything that is not the answer runs after the answers are released (``after_response.py``).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from phase1_foundations.contract import ID_COLUMN
from phase3_serving.after_response import AfterResponse, spawn
from phase3_serving.inference import CHALLENGER, CHAMPION, BatchScores, score_batch
from phase3_serving.model import ModelSlots
from phase3_serving.predlog import PredictionLog
from phase3_serving.rollout import Rollout
from phase3_serving.service_metrics import ServiceMetrics

logger = logging.getLogger("phase3_serving")
__all__ = ["CHALLENGER", "CHAMPION", "Batcher", "NotReady", "RowFailed"]


class NotReady(RuntimeError):  # noqa: N818 - the state, not a failure of the caller
    """No champion is loaded yet."""


class RowFailed(RuntimeError):  # noqa: N818 - the row's outcome
    """The model could not score this row (the detail is in the server log)."""


Answer = tuple[float, bool, str, str]  # probability, decision, model version, route


@dataclass
class _Pending:
    row: dict[str, Any]
    request_id: str
    future: asyncio.Future[Answer]


@dataclass
class Batcher:
    """Queues single rows into shared model calls, and scores a batch request's rows at once."""

    slots: ModelSlots
    rollout: Rollout
    log: PredictionLog
    metrics: ServiceMetrics
    batch_max_rows: int = 256
    batch_wait_s: float = 0.002
    inline_max_rows: int = 512
    inference_threads: int = 1
    model_threads: int = 1
    after: AfterResponse = field(init=False)
    _inference: ThreadPoolExecutor | None = None
    _background: ThreadPoolExecutor | None = None
    _pending: list[_Pending] = field(default_factory=list)
    _timer: asyncio.TimerHandle | None = None
    _in_flight: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.after = AfterResponse(self.rollout, self.log, self.metrics)

    def start(self) -> None:
        limit = (self.model_threads,)
        self._inference = ThreadPoolExecutor(
            self.inference_threads, "inference", initializer=limit_native_threads, initargs=limit
        )
        self._background = ThreadPoolExecutor(
            1, "after-response", initializer=limit_native_threads, initargs=limit
        )
        self.after.background = self._background

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
        spawn(self._tasks, self._run(pending))

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

    def after_response(
        self, rows: list[dict[str, Any]], request_ids: list[str], result: BatchScores
    ) -> None:
        """Queue the bookkeeping behind the responses (it runs after them)."""
        self.after.schedule(rows, request_ids, result)


def limit_native_threads(threads: int) -> None:
    """Cap the OpenMP and BLAS threads of model calls made on this thread. Uncapped, each of a
    gradient-boosting model's hundreds of parallel regions waits for threads the other workers
    hold: measured here, 100 rows took 170 ms a call instead of 22 ms."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    threadpool_limits(limits=threads)
