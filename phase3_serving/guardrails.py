"""Rollout guardrails that account for sample size, for being checked again and again, and
for what is independent.

A rollout collects evidence about the challenger and tests it at a fixed schedule of looks:
after 200, 500, 1,000... challenger requests (rows). Each guardrail is a one-sided test of "the
challenger is within its limit", and each counts the unit that fails independently, the *call*
(a failed call fails all its rows together; a slow call is slow for all of them):

- **error rate**: the share of challenger calls that failed (any row of it), by an exact
  binomial test; the evidence is the Clopper-Pearson lower bound, compared with
  ``max_error_rate``.
- **p95 latency**: "p95 above the limit" is "more than 5% of calls slower than the limit"; the
  same binomial bound on that share, compared with 5%. Fewer than ``min_latency_calls`` calls
  give no verdict at all ("insufficient", never "breach"): the first calls of a freshly loaded
  model are slow for reasons that are not independent draws (warm-up), and a p95 of fewer than
  20 calls is their maximum.
- **score skew** (``score_skew_psi``), the same in the shadow and in the canary: the
  challenger's live scores against its own offline scores on the same rows (the *probe*: the
  rows phase 2 evaluated it on, scored again through the live path, once per rollout plan, off
  the request path). Skew, not change: a challenger that scores as it did offline passes however
  far it moved from the champion, since moving is what a retrain is for, and the gate already
  judged that move on labels. A serving package that computes a feature differently from
  training does not pass. The test asks whether the true PSI exceeds the limit: ``n_eff * PSI``
  (``n_eff = n1 n2 / (n1 + n2)``) is about chi-square with ``bins - 1`` degrees of freedom when
  the two histograms come from one distribution, noncentral (``n_eff * true PSI``) otherwise;
  the test is conservative here (paired scores vary less than two samples). The PSI is phase
  2's, with its one rule for empty bins, so the canary and the monitor get the same number from
  the same bins.

The canary also computes the *business view*, ``score_shift_psi``: the challenger's scores
against the champion's, how differently the two treat customers. It is reported (in the status
and in every look, as evidence with no threshold), never a rollback reason: a recalibration of a
miscalibrated champion *must* move scores far from it, and a guardrail on that distance rolled
back every such fix the gate had passed on labels.

Each look is a ``GuardrailDecision`` of ``GuardrailCheck``s in phase 2's vocabulary: a verdict
(``ok``, ``alert`` for a breach, or ``insufficient``), the reason, and as evidence the estimate
and its lower bound, each with its limit and n.

A rollout is rolled back only when a guardrail's lower confidence bound is beyond its limit. The
error budget ``alpha`` is split by Bonferroni over every (look, tested guardrail) pair (the
business view is not tested, so it takes no share), so a challenger *exactly at* the limits is
rolled back with probability at most ``alpha`` over the whole schedule; a healthy one, well
inside them, far less often. After the last look the guardrails have passed and stop testing.
The limits are effect sizes (how bad is too bad), ``alpha`` and the schedule say how sure we
must be: all of them are decision numbers (``params.yaml``, ``serving.guardrails``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Self

import numpy as np
from pydantic import BaseModel

from phase2_pipelines.evidence import Check, Decision, Evidence, Verdict
from phase2_pipelines.params import PARAMS_FILE
from phase2_pipelines.stats import (
    FloatArray,
    clopper_pearson_lower_bound,
    population_stability_index,
    psi_lower_bound,
)
from phase3_serving.params import GuardrailParams, load_serving_params

ERROR_RATE, LATENCY = "error_rate", "p95_latency_ms"
SHIFT, SKEW = "score_shift_psi", "score_skew_psi"  # the business view (reported), the score test
GUARDRAILS_PER_LOOK = 3  # what is tested at each look, in either stage: errors, latency, skew
BUSINESS_VIEW = "business view, challenger vs champion: reported, not a rollback reason"
DIFFERS = 1e-6  # a live score this far from its offline score is a different score, not rounding
LATENCY_QUANTILE = 0.95  # the guardrail is on the p95: at most 5% of calls may exceed the limit
SLOW_CALLS = "slow_call_share"  # what the latency guardrail tests: calls slower than the limit
BOUND = "_lower_bound"  # a metric's one-sided lower confidence bound, as evidence of its own
# Latency histogram edges (ms) for reporting the p95; the test itself counts calls over the limit.
LATENCY_EDGES_MS = tuple(float(x) for x in np.geomspace(0.1, 100_000.0, 91))


class Stage(StrEnum):
    """Where the challenger's evidence comes from: it scores after the champion, or it serves."""

    SHADOW = "shadow"
    CANARY = "canary"


@dataclass(frozen=True)
class GuardrailPolicy:
    """Effect-size limits, the error budget, the look schedule, the score bins and the fewest
    calls a latency verdict needs: ``serving.guardrails`` of params.yaml."""

    alpha: float
    looks: tuple[int, ...]
    max_error_rate: float
    max_p95_ms: float
    max_score_shift: float
    score_bins: int
    min_latency_calls: int

    @classmethod
    def from_params(cls, params: GuardrailParams) -> GuardrailPolicy:
        return cls(**params.model_dump())

    @classmethod
    def load(cls, path: Path = PARAMS_FILE) -> GuardrailPolicy:
        """The policy of a params file (the service's is ``MLOPS_SERVING_PARAMS_FILE``)."""
        return cls.from_params(load_serving_params(path).guardrails)

    @property
    def alpha_per_test(self) -> float:
        """Bonferroni: the budget shared by every guardrail at every look."""
        return self.alpha / (len(self.looks) * GUARDRAILS_PER_LOOK)

    def due_look(self, requests: int, done: int) -> int | None:
        """The latest look (0-based, not before ``done``) that ``requests`` has reached."""
        reached = [k for k in range(done, len(self.looks)) if requests >= self.looks[k]]
        return reached[-1] if reached else None

    def check(
        self, seen: Observations, look: int, stage: Stage = Stage.CANARY
    ) -> GuardrailDecision:
        """Test every guardrail on what was ``seen``; a canary's look also reports how far the
        challenger's scores are from the champion's (never a breach)."""
        alpha = self.alpha_per_test
        checks = (
            _error_check(seen, self.max_error_rate, alpha),
            _latency_check(seen, self.max_p95_ms, self.min_latency_calls, alpha),
            _skew_check(seen, self.max_score_shift, alpha),
        )
        return GuardrailDecision(
            look=look + 1,
            of=len(self.looks),
            requests=seen.requests,
            checks=checks,
            reported=_business_view(seen) if stage is Stage.CANARY else (),
        )


class Observations(BaseModel):
    """What one worker (or, summed, every worker) observed of the challenger; counts only, so
    the observations of several workers merge by addition. The probe (the challenger's offline
    rows scored live) is the same for every worker: it merges by taking one copy."""

    requests: int = 0  # challenger rows: served in a canary, or scored in the shadow
    errors: int = 0  # rows the challenger failed to score (reported; the test counts calls)
    calls: int = 0  # challenger model calls
    failed_calls: int = 0  # calls that failed on at least one row
    slow_calls: int = 0  # calls slower than the latency limit
    latency_counts: list[int] = []
    challenger_bins: list[int] = []
    champion_bins: list[int] = []
    live_bins: list[int] = []  # the challenger's live scores on its offline rows
    offline_bins: list[int] = []  # its offline scores on the same rows
    probe_differing: int = 0  # offline rows whose live score differs from the offline one
    probe_max_difference: float = 0.0

    @classmethod
    def empty(cls, policy: GuardrailPolicy) -> Self:
        return cls(
            latency_counts=[0] * (len(LATENCY_EDGES_MS) + 1),
            challenger_bins=[0] * policy.score_bins,
            champion_bins=[0] * policy.score_bins,
            live_bins=[0] * policy.score_bins,
            offline_bins=[0] * policy.score_bins,
        )

    def record_challenger(
        self, policy: GuardrailPolicy, latency_ms: float, rows: int, scores: np.ndarray
    ) -> None:
        """One challenger call over ``rows`` rows; ``scores`` holds those it could score."""
        self.requests += rows
        self.errors += rows - len(scores)
        self.calls += 1
        self.failed_calls += int(len(scores) < rows)
        self.slow_calls += int(latency_ms > policy.max_p95_ms)
        # bisect_left is numpy's searchsorted (side left) without converting the edges per call
        self.latency_counts[bisect.bisect_left(LATENCY_EDGES_MS, latency_ms)] += 1
        _add(self.challenger_bins, scores)

    def record_champion(self, scores: np.ndarray) -> None:
        _add(self.champion_bins, scores)

    @property
    def probed(self) -> bool:
        return sum(self.offline_bins) > 0

    def record_probe(self, live: np.ndarray, offline: np.ndarray) -> None:
        """The challenger's live scores on the rows it was evaluated on, beside its offline
        scores of them (NaN live: the row failed live, and counts as differing)."""
        live, offline = np.asarray(live, dtype=np.float64), np.asarray(offline, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            difference = np.abs(live - offline)
        differs = ~(difference <= DIFFERS)
        self.probe_differing = int(differs.sum())
        finite = difference[np.isfinite(difference)]
        self.probe_max_difference = float(finite.max()) if len(finite) else 0.0
        _add(self.live_bins, live[np.isfinite(live)])
        _add(self.offline_bins, offline)

    @classmethod
    def pooled(cls, parts: list[Observations], policy: GuardrailPolicy) -> Self:
        total = cls.empty(policy)
        for part in parts:
            total.requests += part.requests
            total.errors += part.errors
            total.calls += part.calls
            total.failed_calls += part.failed_calls
            total.slow_calls += part.slow_calls
            for mine, theirs in (
                (total.latency_counts, part.latency_counts),
                (total.challenger_bins, part.challenger_bins),
                (total.champion_bins, part.champion_bins),
            ):
                if len(mine) == len(theirs):
                    mine[:] = [a + b for a, b in zip(mine, theirs, strict=True)]
            if part.probed and not total.probed and len(part.offline_bins) == policy.score_bins:
                total.live_bins, total.offline_bins = list(part.live_bins), list(part.offline_bins)
                total.probe_differing = part.probe_differing
                total.probe_max_difference = part.probe_max_difference
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
        """The business view: the challenger's scores against the champion's, on the bins."""
        return bin_psi(self.challenger_bins, self.champion_bins)

    def summary(self) -> dict[str, float | int | None]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "calls": self.calls,
            "failed_calls": self.failed_calls,
            "error_rate": self.failed_calls / self.calls if self.calls else 0.0,
            "slow_calls": self.slow_calls,
            "p95_ms": self.p95_ms(),
            "score_shift_psi": self.psi()
            if sum(self.challenger_bins) and sum(self.champion_bins)
            else None,
            "champion_scores": sum(self.champion_bins),
            "score_skew_psi": bin_psi(self.live_bins, self.offline_bins) if self.probed else None,
            "probe_rows": sum(self.offline_bins),
            "probe_differing": self.probe_differing,
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


def bin_psi(observed: list[int] | FloatArray, reference: list[int] | FloatArray) -> float:
    """PSI of two histograms (counts over the same bins), by the one rule every phase uses
    (``phase2_pipelines.stats.population_stability_index``, on the bins' shares)."""
    return population_stability_index(_shares(observed), _shares(reference))


def _shares(counts: list[int] | FloatArray) -> FloatArray:
    values = np.asarray(counts, dtype=np.float64)
    return values / max(float(values.sum()), 1.0)


class GuardrailCheck(Check):
    """One guardrail at one look: its estimate and the one-sided lower bound (at ``1 - alpha``)
    of the tested quantity, each an ``Evidence`` with its limit and n; ``view`` says, in words,
    what it compares. A rollback needs the bound beyond its limit (verdict ``alert``); too few
    calls or scores give ``insufficient``, never a breach."""

    alpha: float
    view: str = ""

    @property
    def breached(self) -> bool:
        return self.verdict is Verdict.ALERT

    @property
    def estimate(self) -> Evidence | None:
        return next((e for e in self.evidence if not e.metric.endswith(BOUND)), None)

    @property
    def bound(self) -> Evidence | None:
        return next((e for e in self.evidence if e.metric.endswith(BOUND)), None)


class GuardrailDecision(Decision[GuardrailCheck]):
    """One look: every guardrail, tested on the observations pooled from every worker, and
    (``reported``, in a canary) the business view, as evidence without a threshold."""

    look: int  # 1-based
    of: int
    requests: int
    reported: tuple[Evidence, ...] = ()  # BUSINESS_VIEW: never a rollback reason

    @property
    def breach(self) -> GuardrailCheck | None:
        return next((check for check in self.checks if check.breached), None)

    def to_dict(self) -> dict[str, object]:
        return self.model_dump(mode="json")


def _judged(breached: bool) -> Verdict:
    return Verdict.ALERT if breached else Verdict.OK


def _bound(metric: str, bound: float, limit: float, n: int, breached: bool) -> Evidence:
    """A one-sided lower bound as evidence: its value against the limit it must not exceed."""
    return Evidence(metric=metric + BOUND, value=bound, threshold=limit, n=n, exceeded=breached)


def _error_check(seen: Observations, limit: float, alpha: float) -> GuardrailCheck:
    n, x = seen.calls, seen.failed_calls
    rate = x / n if n else 0.0
    bound = clopper_pearson_lower_bound(x, n, alpha)
    breached = bound > limit
    return GuardrailCheck(
        check=ERROR_RATE,
        verdict=_judged(breached) if n else Verdict.INSUFFICIENT,
        reason=f"error_rate {rate:.4f} ({x} of {n} calls failed, {seen.errors} of"
        f" {seen.requests} rows); lower bound {bound:.4f} {'>' if breached else '<='} limit"
        f" {limit:.4g}",
        evidence=(
            Evidence(metric=ERROR_RATE, value=rate, threshold=limit, n=n),
            _bound(ERROR_RATE, bound, limit, n, breached),
        ),
        alpha=alpha,
        view="challenger calls that failed (a failed call fails all its rows together)",
    )


def _latency_check(
    seen: Observations, limit_ms: float, min_calls: int, alpha: float
) -> GuardrailCheck:
    n, x = seen.calls, seen.slow_calls
    tail = 1 - LATENCY_QUANTILE
    p95 = seen.p95_ms()
    shown = "n/a" if p95 is None else f"~{p95:.4g} ms"
    view = "challenger calls slower than the limit (per call)"
    estimate = (
        () if p95 is None else (Evidence(metric=LATENCY, value=p95, threshold=limit_ms, n=n),)
    )
    if n < min_calls:
        return GuardrailCheck(
            check=LATENCY,
            verdict=Verdict.INSUFFICIENT,
            reason=f"p95_latency_ms {shown}: insufficient, {n} calls < min_latency_calls"
            f" {min_calls} ({x} slower than {limit_ms:.4g} ms); no verdict yet",
            evidence=estimate,
            alpha=alpha,
            view=view,
        )
    bound = clopper_pearson_lower_bound(x, n, alpha)
    breached = bound > tail
    return GuardrailCheck(
        check=LATENCY,
        verdict=_judged(breached),
        reason=f"p95_latency_ms {shown}: {x} of {n} calls slower than {limit_ms:.4g} ms; lower"
        f" bound of that share {bound:.3f} {'>' if breached else '<='} {tail:.2f}",
        evidence=(*estimate, _bound(SLOW_CALLS, bound, tail, n, breached)),
        alpha=alpha,
        view=view,
    )


def _psi_check(
    name: str, view: str, reference: FloatArray, observed: FloatArray, limit: float, alpha: float
) -> GuardrailCheck:
    """PSI of ``observed`` against ``reference`` (counts over the same bins) and a lower bound
    on the true PSI."""
    n1, n2 = reference.sum(), observed.sum()
    if n1 < len(reference) or n2 < len(observed):
        return GuardrailCheck(
            check=name,
            verdict=Verdict.INSUFFICIENT,
            reason=f"{name}: insufficient, too few scores to compare ({int(n1)}"
            f" {view.split(' vs ')[-1]}, {int(n2)} challenger)",
            alpha=alpha,
            view=view,
        )
    psi = bin_psi(observed, reference)
    n_eff = n1 * n2 / (n1 + n2)
    df = len(reference) - 1
    bound = psi_lower_bound(n_eff * psi, n_eff, df, alpha)
    breached = bound > limit
    return GuardrailCheck(
        check=name,
        verdict=_judged(breached),
        reason=f"{name} {psi:.4f} ({view}: {int(n2)} vs {int(n1)} scores); lower bound"
        f" {bound:.4f} {'>' if breached else '<='} limit {limit:.4g}",
        evidence=(
            Evidence(metric=name, value=psi, threshold=limit, n=int(n2), n_reference=int(n1)),
            _bound(name, bound, limit, int(n2), breached),
        ),
        alpha=alpha,
        view=view,
    )


def _business_view(seen: Observations) -> tuple[Evidence, ...]:
    """How differently from the champion the canary scores its customers: reported, not judged
    (no threshold), so it can never roll a challenger back."""
    challenger, champion = sum(seen.challenger_bins), sum(seen.champion_bins)
    if not challenger or not champion:
        return ()
    return (Evidence(metric=SHIFT, value=seen.psi(), n=challenger, n_reference=champion),)


def _skew_check(seen: Observations, limit: float, alpha: float) -> GuardrailCheck:
    """The score test, in either stage: live against offline scores of the same rows."""
    check = _psi_check(
        SKEW,
        "skew, challenger live vs its own offline scores on the same rows",
        np.asarray(seen.offline_bins, dtype=float),
        np.asarray(seen.live_bins, dtype=float),
        limit,
        alpha,
    )
    if not seen.probed:
        return check.model_copy(
            update={
                "reason": f"{SKEW}: insufficient, no probe yet: the challenger's live scores on"
                " its offline rows are still being computed, or its run has no offline scores"
                " (registered before phase 2 logged them)"
            }
        )
    differing = (
        f"; {seen.probe_differing} of {sum(seen.offline_bins)} rows differ, by up to"
        f" {seen.probe_max_difference:.3g}"
    )
    return check.model_copy(update={"reason": check.reason + differing})
