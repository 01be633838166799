"""Canary guardrails that account for sample size and for being checked again and again.

A rollout collects evidence about the challenger (its errors, call latencies and scores, and the
champion's scores beside it) and tests it at a fixed schedule of looks: after 200, 500, 1,000...
challenger requests. Each guardrail is a one-sided test of "the challenger is within its limit":

- **error rate**: an exact binomial test; the evidence is the Clopper-Pearson lower bound of the
  challenger's true error rate, compared with ``max_error_rate``.
- **p95 latency**: "p95 above the limit" is "more than 5% of calls slower than the limit"; the
  same binomial bound on that share, compared with 5%.
- **score shift**: the population stability index (PSI) between the challenger's and the
  champion's score histograms. In a canary the two serve *different* customers, so their
  histograms differ by sampling alone: ``n_eff * PSI`` (``n_eff = n1 n2 / (n1 + n2)``) is about
  chi-square with ``bins - 1`` degrees of freedom when nothing changed, and noncentral
  (``n_eff * true PSI``) otherwise. The test asks whether the true PSI exceeds the limit.

A rollout is rolled back only when a guardrail's lower confidence bound is beyond its limit. The
error budget ``alpha`` is split by Bonferroni over every (look, guardrail) pair, so a challenger
*exactly at* the limits is rolled back with probability at most ``alpha`` over the whole
schedule; a healthy one, well inside them, far less often. After the last look the guardrails
have passed and stop testing. The limits are effect sizes (how bad is too bad), ``alpha`` and the
schedule say how sure we must be: all of them are settings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Self

import numpy as np
from pydantic import BaseModel
from scipy import optimize, stats

from phase3_serving.config import ServingSettings

GUARDRAILS = ("error_rate", "p95_latency_ms", "score_shift_psi")
LATENCY_QUANTILE = 0.95  # the guardrail is on the p95: at most 5% of calls may exceed the limit
# Latency histogram edges (ms) for reporting the p95; the test itself counts calls over the limit.
LATENCY_EDGES_MS = tuple(float(x) for x in np.geomspace(0.1, 100_000.0, 91))
BIN_SMOOTHING = 0.5  # added to each score bin so an empty bin has a finite log ratio


@dataclass(frozen=True)
class GuardrailPolicy:
    """Effect-size limits, the error budget and the look schedule (from settings)."""

    alpha: float
    looks: tuple[int, ...]
    max_error_rate: float
    max_p95_ms: float
    max_score_shift: float
    score_bins: int

    @classmethod
    def from_settings(cls, settings: ServingSettings) -> GuardrailPolicy:
        return cls(
            alpha=settings.serving_guardrail_alpha,
            looks=settings.serving_guardrail_looks,
            max_error_rate=settings.serving_guardrail_max_error_rate,
            max_p95_ms=settings.serving_guardrail_max_p95_ms,
            max_score_shift=settings.serving_guardrail_max_score_shift,
            score_bins=settings.serving_guardrail_score_bins,
        )

    @property
    def alpha_per_test(self) -> float:
        """Bonferroni: the budget shared by every guardrail at every look."""
        return self.alpha / (len(self.looks) * len(GUARDRAILS))

    def due_look(self, requests: int, done: int) -> int | None:
        """The latest look (0-based, not before ``done``) that ``requests`` has reached."""
        reached = [k for k in range(done, len(self.looks)) if requests >= self.looks[k]]
        return reached[-1] if reached else None

    def check(self, evidence: Evidence, look: int) -> Verdict:
        alpha = self.alpha_per_test
        checks = (
            _error_check(evidence, self.max_error_rate, alpha),
            _latency_check(evidence, self.max_p95_ms, alpha),
            _shift_check(evidence, self.max_score_shift, alpha),
        )
        return Verdict(look=look + 1, of=len(self.looks), requests=evidence.requests, checks=checks)


class Evidence(BaseModel):
    """What one worker (or, summed, every worker) saw of the challenger; counts only, so the
    evidence of several workers merges by addition."""

    requests: int = 0  # challenger rows: served in a canary, or scored in the shadow
    errors: int = 0  # rows the challenger failed to score
    calls: int = 0  # challenger model calls
    slow_calls: int = 0  # calls slower than the latency limit
    latency_counts: list[int] = []
    challenger_bins: list[int] = []
    champion_bins: list[int] = []

    @classmethod
    def empty(cls, policy: GuardrailPolicy) -> Self:
        return cls(
            latency_counts=[0] * (len(LATENCY_EDGES_MS) + 1),
            challenger_bins=[0] * policy.score_bins,
            champion_bins=[0] * policy.score_bins,
        )

    def record_challenger(
        self, policy: GuardrailPolicy, latency_ms: float, rows: int, scores: np.ndarray
    ) -> None:
        """One challenger call over ``rows`` rows; ``scores`` holds those it could score."""
        self.requests += rows
        self.errors += rows - len(scores)
        self.calls += 1
        self.slow_calls += int(latency_ms > policy.max_p95_ms)
        self.latency_counts[int(np.searchsorted(LATENCY_EDGES_MS, latency_ms))] += 1
        _add(self.challenger_bins, scores)

    def record_champion(self, scores: np.ndarray) -> None:
        _add(self.champion_bins, scores)

    @classmethod
    def pooled(cls, parts: list[Evidence], policy: GuardrailPolicy) -> Self:
        total = cls.empty(policy)
        for part in parts:
            total.requests += part.requests
            total.errors += part.errors
            total.calls += part.calls
            total.slow_calls += part.slow_calls
            for mine, theirs in (
                (total.latency_counts, part.latency_counts),
                (total.challenger_bins, part.challenger_bins),
                (total.champion_bins, part.champion_bins),
            ):
                if len(mine) == len(theirs):
                    mine[:] = [a + b for a, b in zip(mine, theirs, strict=True)]
        return total

    def p95_ms(self) -> float | None:
        """The p95 call latency, to the histogram's resolution (its bucket's geometric middle)."""
        if self.calls == 0:
            return None
        bucket = int(np.searchsorted(np.cumsum(self.latency_counts), LATENCY_QUANTILE * self.calls))
        edges = LATENCY_EDGES_MS
        if bucket == 0 or bucket >= len(edges):
            return edges[min(bucket, len(edges) - 1)]
        return float(np.sqrt(edges[bucket - 1] * edges[bucket]))

    def psi(self) -> float:
        return population_stability_index(
            np.asarray(self.champion_bins), np.asarray(self.challenger_bins)
        )

    def summary(self) -> dict[str, float | int | None]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": self.errors / self.requests if self.requests else 0.0,
            "calls": self.calls,
            "p95_ms": self.p95_ms(),
            "score_shift_psi": self.psi() if sum(self.challenger_bins) else None,
            "champion_scores": sum(self.champion_bins),
        }


def _add(bins: list[int], scores: np.ndarray) -> None:
    last = len(bins) - 1
    if len(scores) < 64:  # a micro-batch: plain Python is cheaper than numpy's call overhead
        for score in scores.tolist():
            bins[min(max(int(score * len(bins)), 0), last)] += 1
        return
    index = np.minimum((np.clip(scores, 0.0, 1.0) * len(bins)).astype(np.int64), last)
    for position, count in enumerate(np.bincount(index, minlength=len(bins)).tolist()):
        bins[position] += count


def population_stability_index(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI between two histograms (counts over the same bins): 0 is identical; the smoothing
    keeps an empty bin finite."""
    e = (expected + BIN_SMOOTHING) / (expected.sum() + BIN_SMOOTHING * len(expected))
    a = (actual + BIN_SMOOTHING) / (actual.sum() + BIN_SMOOTHING * len(actual))
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class GuardrailCheck:
    """One guardrail at one look: the estimate, its one-sided lower bound, the limit, n."""

    guardrail: str
    observed: float | None
    limit: float
    n: int
    bound: float  # lower confidence bound (1 - alpha) of the tested quantity
    bound_limit: float  # what the bound is compared with
    alpha: float
    breached: bool
    reason: str


@dataclass(frozen=True)
class Verdict:
    look: int  # 1-based
    of: int
    requests: int
    checks: tuple[GuardrailCheck, ...] = field(default_factory=tuple)

    @property
    def breach(self) -> GuardrailCheck | None:
        return next((check for check in self.checks if check.breached), None)

    def to_dict(self) -> dict[str, object]:
        return {
            "look": self.look,
            "of": self.of,
            "requests": self.requests,
            "checks": [asdict(check) for check in self.checks],
        }


def binomial_lower_bound(successes: int, n: int, alpha: float) -> float:
    """One-sided Clopper-Pearson lower bound for a proportion, at confidence 1 - alpha."""
    if successes <= 0 or n <= 0:
        return 0.0
    return float(stats.beta.ppf(alpha, successes, n - successes + 1))


def _error_check(evidence: Evidence, limit: float, alpha: float) -> GuardrailCheck:
    n, x = evidence.requests, evidence.errors
    rate = x / n if n else 0.0
    bound = binomial_lower_bound(x, n, alpha)
    breached = bound > limit
    return GuardrailCheck(
        "error_rate",
        rate,
        limit,
        n,
        bound,
        limit,
        alpha,
        breached,
        f"error_rate {rate:.4f} ({x} of {n} requests failed); lower bound {bound:.4f}"
        f" {'>' if breached else '<='} limit {limit:.4g}",
    )


def _latency_check(evidence: Evidence, limit_ms: float, alpha: float) -> GuardrailCheck:
    n, x = evidence.calls, evidence.slow_calls
    tail = 1 - LATENCY_QUANTILE
    bound = binomial_lower_bound(x, n, alpha)
    breached = bound > tail
    p95 = evidence.p95_ms()
    shown = "n/a" if p95 is None else f"~{p95:.4g} ms"
    return GuardrailCheck(
        "p95_latency_ms",
        p95,
        limit_ms,
        n,
        bound,
        tail,
        alpha,
        breached,
        f"p95_latency_ms {shown}: {x} of {n} calls slower than {limit_ms:.4g} ms; lower bound"
        f" of that share {bound:.3f} {'>' if breached else '<='} {tail:.2f}",
    )


def _shift_check(evidence: Evidence, limit: float, alpha: float) -> GuardrailCheck:
    champion = np.asarray(evidence.champion_bins, dtype=float)
    challenger = np.asarray(evidence.challenger_bins, dtype=float)
    n1, n2 = champion.sum(), challenger.sum()
    if n1 < len(champion) or n2 < len(challenger):
        return GuardrailCheck(
            "score_shift_psi",
            None,
            limit,
            int(n2),
            0.0,
            limit,
            alpha,
            False,
            f"score_shift_psi: too few scores to compare ({int(n1)} champion, {int(n2)}"
            " challenger)",
        )
    psi = population_stability_index(champion, challenger)
    n_eff = n1 * n2 / (n1 + n2)
    df = len(champion) - 1
    bound = psi_lower_bound(n_eff * psi, n_eff, df, alpha)
    breached = bound > limit
    return GuardrailCheck(
        "score_shift_psi",
        psi,
        limit,
        int(n2),
        bound,
        limit,
        alpha,
        breached,
        f"score_shift_psi {psi:.4f} ({int(n2)} challenger vs {int(n1)} champion scores);"
        f" lower bound {bound:.4f} {'>' if breached else '<='} limit {limit:.4g}",
    )


def psi_lower_bound(statistic: float, n_eff: float, df: int, alpha: float) -> float:
    """The smallest true PSI not rejected: the delta at which ``statistic`` is the (1 - alpha)
    quantile of noncentral chi-square(df, n_eff * delta); 0 when chance alone explains it."""

    def excess(delta: float) -> float:
        return float(stats.ncx2.sf(statistic, df, n_eff * delta)) - alpha

    if float(stats.chi2.sf(statistic, df)) >= alpha:
        return 0.0
    high = statistic / n_eff + 1.0
    while excess(high) < 0:
        high *= 2
    return float(optimize.brentq(excess, 0.0, high, xtol=1e-6))
