"""The scoring engine: routes rows to a model, batches concurrent requests, logs every row.

Concurrent single-row requests are queued and scored together in one model call: the fitted
sklearn pipeline costs several milliseconds per call whatever the batch size, so one call per
request would cap a worker at a few hundred requests per second. A queue is flushed when it
reaches ``batch_max_rows`` or ``batch_wait_s`` after its first row, whichever comes first: a
lone request waits at most that long, and under load each call carries many rows.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from phase1_foundations.contract import FEATURE_NAMES, ID_COLUMN
from phase3_serving.metrics import ServiceMetrics
from phase3_serving.model import LoadedModel
from phase3_serving.predlog import PredictionLog
from phase3_serving.rollout import Breach, Rollout, RolloutMode

logger = logging.getLogger("phase3_serving")
CHAMPION, CHALLENGER = "champion", "challenger"


class NotReady(RuntimeError):  # noqa: N818 - the state, not a failure of the caller
    """No champion is loaded yet."""


@dataclass
class ModelSlots:
    """The models being served. Swapping assigns a reference, so it is atomic: a batch holds the
    model it started with and finishes on it."""

    champion: LoadedModel | None = None
    challenger: LoadedModel | None = None


@dataclass
class Scored:
    scores: np.ndarray
    decisions: np.ndarray
    versions: list[str]
    routes: list[str]


@dataclass
class _Pending:
    row: dict[str, Any]
    request_id: str
    future: asyncio.Future[tuple[float, bool, str, str]]


@dataclass
class Scorer:
    slots: ModelSlots
    rollout: Rollout
    log: PredictionLog
    metrics: ServiceMetrics
    batch_max_rows: int = 256
    batch_wait_s: float = 0.002
    on_breach: Callable[[Breach], Coroutine[Any, Any, None]] | None = None  # set by the app
    _pending: list[_Pending] = field(default_factory=list)
    _background: set[asyncio.Task[None]] = field(default_factory=set)
    _timer: asyncio.TimerHandle | None = None

    # ---- single rows, batched across requests -----------------------------------------------

    async def score_one(self, row: dict[str, Any], request_id: str) -> tuple[float, bool, str, str]:
        """(probability, decision, model version, route) for one validated row."""
        if self.slots.champion is None:
            raise NotReady("no champion model is loaded")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[float, bool, str, str]] = loop.create_future()
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
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            scored = self.score_records([p.row for p in pending], [p.request_id for p in pending])
        except Exception as error:
            for p in pending:
                if not p.future.done():
                    p.future.set_exception(error)
            return
        for i, p in enumerate(pending):
            if not p.future.done():
                p.future.set_result(
                    (float(scored.scores[i]), bool(scored.decisions[i]), scored.versions[i],
                     scored.routes[i])
                )  # fmt: skip

    # ---- a list of rows (the batch endpoint, and each flush) ---------------------------------

    def score_records(self, rows: list[dict[str, Any]], request_ids: list[str]) -> Scored:
        """Score rows with the model their route says; log them and feed the guardrails later."""
        champion, challenger = self.slots.champion, self.slots.challenger
        if champion is None:
            raise NotReady("no champion model is loaded")
        n = len(rows)
        scores = np.empty(n)
        versions = np.full(n, champion.version, dtype=object)
        routes = np.full(n, CHAMPION, dtype=object)
        to_challenger = np.zeros(n, dtype=bool)
        canary = challenger is not None and self.rollout.canary_percent > 0
        if canary:
            to_challenger = np.fromiter(
                (self.rollout.routes_to_challenger(r[ID_COLUMN]) for r in rows), bool, n
            )
        if challenger is not None and to_challenger.any():
            chosen = np.flatnonzero(to_challenger)
            canary_scores = self._challenger_scores(challenger, [rows[i] for i in chosen])
            if canary_scores is not None:
                scores[chosen] = canary_scores
                versions[chosen] = challenger.version
                routes[chosen] = CHALLENGER
            else:
                to_challenger[:] = False  # the champion answers for a failing challenger
        main = np.flatnonzero(~to_challenger)
        if len(main):
            main_rows = rows if len(main) == n else [rows[i] for i in main]
            champion_scores = champion.score_records(main_rows)
            scores[main] = champion_scores
            if canary:
                self.rollout.monitor.record_champion(champion_scores)
        thresholds = np.where(routes == CHALLENGER, _threshold(challenger), champion.threshold)
        result = Scored(scores, scores >= thresholds, versions.tolist(), routes.tolist())
        asyncio.get_running_loop().call_soon(
            self._after_response, rows, request_ids, result, challenger
        )
        return result

    def _challenger_scores(
        self, challenger: LoadedModel, rows: list[dict[str, Any]]
    ) -> np.ndarray | None:
        started = time.perf_counter()
        try:
            scores = challenger.score_records(rows)
        except Exception as error:
            logger.warning("challenger v%s failed: %s", challenger.version, error)
            self.metrics.challenger_errors.inc()
            scores = None
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.rollout.monitor.record_challenger(elapsed_ms, len(rows), scores)
        return scores

    def _after_response(
        self,
        rows: list[dict[str, Any]],
        request_ids: list[str],
        result: Scored,
        challenger: LoadedModel | None,
    ) -> None:
        """Shadow scores, score metrics, the prediction log, guardrails: off the response path."""
        shadow = None
        if self.rollout.shadowing and challenger is not None:
            shadow = self._challenger_scores(challenger, rows)
            if shadow is not None:
                self.rollout.monitor.record_champion(result.scores)
        versions, routes = np.array(result.versions), np.array(result.routes)
        for route in (CHAMPION, CHALLENGER):
            chosen = routes == route
            if chosen.any():
                histogram = self.metrics.scores.labels(str(versions[chosen][0]), route)
                for score in result.scores[chosen]:
                    histogram.observe(score)
        self.log.append(
            rows,
            {
                "churn_probability": result.scores,
                "churn_decision": result.decisions,
                "model_version": result.versions,
                "routed_to": result.routes,
                "request_id": request_ids,
                "timestamp": time.time(),
                "shadow_probability": np.nan if shadow is None else shadow,
                "shadow_version": challenger.version if shadow is not None and challenger else None,
            },
        )
        if challenger is None or self.rollout.mode is RolloutMode.OFF:
            return
        breach = self.rollout.monitor.check()
        if breach is not None:
            self._stop(breach)

    def _stop(self, breach: Breach) -> None:
        self.rollout.stop(breach)
        self.metrics.rollbacks.labels(breach.guardrail).inc()
        logger.error("rollout stopped, challenger rolled back: %s", breach.reason)
        if self.on_breach is not None:
            self._background.add(asyncio.get_running_loop().create_task(self.on_breach(breach)))


_COLUMNS = [ID_COLUMN, *FEATURE_NAMES]


def _threshold(model: LoadedModel | None) -> float:
    return model.threshold if model is not None else 0.5


def new_request_id() -> str:
    return uuid.uuid4().hex
