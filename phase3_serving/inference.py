"""Model calls that fail row by row, never batch by batch.

Rows from many requests are scored in one call, so one row the model cannot score (an exception
inside ``predict_proba``, or a NaN it returns) must not fail the others. ``score_isolated`` calls
the model on all rows; if the call raises, it bisects: each half is scored on its own, and so on
down to single rows, so only the rows that raise are marked failed. With ``k`` bad rows among
``n`` that costs about ``2 k log2(n)`` extra calls, and nothing when every row scores.

These functions are plain and synchronous: the batcher runs them on the event loop for a verified
fast path (microseconds) and on an inference thread for anything else.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from phase3_serving.model import LoadedModel

logger = logging.getLogger("phase3_serving")
CHAMPION, CHALLENGER = "champion", "challenger"


@dataclass(frozen=True)
class RowScores:
    scores: np.ndarray  # NaN where the row failed
    failed: np.ndarray  # bool per row
    error: str | None  # the first failure, for the server log


def score_isolated(model: LoadedModel, rows: Sequence[dict[str, Any]]) -> RowScores:
    """Scores for ``rows``; a row that makes the model raise, or gets a score outside [0, 1],
    is marked failed and the others are still scored."""
    n = len(rows)
    scores = np.full(n, np.nan)
    first_error: str | None = None
    spans = [(0, n)] if n else []
    while spans:
        low, high = spans.pop()
        try:
            part = np.asarray(model.score_records(rows[low:high]), dtype=np.float64)
            if part.shape != (high - low,):
                raise ValueError(f"returned {part.shape} scores for {high - low} rows")
        except Exception as error:
            first_error = first_error or f"{type(error).__name__}: {error}"
            if high - low > 1:
                middle = (low + high) // 2
                spans += [(low, middle), (middle, high)]
            continue
        scores[low:high] = part
    with np.errstate(invalid="ignore"):
        failed = ~((scores >= 0.0) & (scores <= 1.0))  # NaN (raised or returned) and out of range
    if failed.any() and first_error is None:
        first_error = f"{int(failed.sum())} score(s) not in [0, 1]"
    return RowScores(scores, failed, first_error)


@dataclass(frozen=True)
class ChallengerCall:
    """One challenger call, as the guardrails see it."""

    latency_ms: float
    rows: int
    scores: np.ndarray  # the rows it scored


@dataclass(frozen=True)
class BatchScores:
    scores: np.ndarray
    decisions: np.ndarray
    versions: list[str]
    routes: list[str]
    failed: np.ndarray  # rows no model could score: their requests fail
    champion: LoadedModel
    challenger: LoadedModel | None
    canary: ChallengerCall | None  # the challenger's part of a canary batch
    champion_ms: float  # the champion's call (0 if it had no rows)

    @property
    def champion_scores(self) -> np.ndarray:
        served = np.array(self.routes) == CHAMPION
        scores: np.ndarray = self.scores[served & ~self.failed]
        return scores


def timed(model: LoadedModel, rows: Sequence[dict[str, Any]]) -> tuple[RowScores, float]:
    started = time.perf_counter()
    result = score_isolated(model, rows)
    return result, (time.perf_counter() - started) * 1000


def score_batch(
    champion: LoadedModel,
    challenger: LoadedModel | None,
    rows: Sequence[dict[str, Any]],
    to_challenger: np.ndarray,
) -> BatchScores:
    """Score each row with the model its route names. A row the challenger fails on is
    answered by the champion; a row the champion fails on is failed."""
    n = len(rows)
    scores = np.full(n, np.nan)
    versions = np.full(n, champion.version, dtype=object)
    routes = np.full(n, CHAMPION, dtype=object)
    failed = np.zeros(n, dtype=bool)
    canary = None
    if challenger is not None and to_challenger.any():
        chosen = np.flatnonzero(to_challenger)
        result, elapsed_ms = timed(challenger, [rows[i] for i in chosen.tolist()])
        if result.error:
            logger.warning("challenger v%s failed: %s", challenger.version, result.error)
        answered = chosen[~result.failed]
        scores[answered] = result.scores[~result.failed]
        versions[answered] = challenger.version
        routes[answered] = CHALLENGER
        canary = ChallengerCall(elapsed_ms, len(chosen), result.scores[~result.failed])
    main = np.flatnonzero(routes == CHAMPION)
    champion_ms = 0.0
    if len(main):
        result, champion_ms = timed(
            champion, rows if len(main) == n else [rows[i] for i in main.tolist()]
        )
        if result.error:
            logger.error(
                "champion v%s failed on %d row(s): %s",
                champion.version,
                int(result.failed.sum()),
                result.error,
            )
        scores[main] = result.scores
        failed[main] = result.failed
    challenger_threshold = challenger.threshold if challenger is not None else np.nan
    thresholds = np.where(routes == CHALLENGER, challenger_threshold, champion.threshold)
    decisions = ~failed & (np.nan_to_num(scores, nan=-1.0) >= thresholds)
    return BatchScores(
        scores,
        decisions,
        versions.tolist(),
        routes.tolist(),
        failed,
        champion,
        challenger,
        canary,
        champion_ms,
    )
