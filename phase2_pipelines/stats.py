"""Paired comparisons of two models scored on the same rows, with bootstrap intervals.

The gate asks "is the candidate better than the champion on these customers?". Both models score
the same holdout rows, so their errors are correlated, and the right uncertainty is that of the
*difference* on the same rows: a paired bootstrap. Each resample draws positives and negatives
separately (stratified by class), so every resample has the holdout's class counts and its AUC is
always defined. The same resample weights are applied to both models' scores.

A resample is a vector of multinomial counts (how often each row was drawn), and the AUC of a
weighted sample needs no re-sorting: negatives are sorted once, and a cumulative sum of their
weights says, for each positive, how much negative weight lies below it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
# Resamples are processed in blocks so memory stays bounded (block x negatives floats).
BLOCK = 256


@dataclass(frozen=True)
class ClassCounts:
    """How many rows, churners (positives) and stayers (negatives) a comparison rests on."""

    n: int
    positives: int
    negatives: int

    @classmethod
    def of(cls, labels: npt.ArrayLike) -> ClassCounts:
        values = np.asarray(labels, dtype=np.int64)
        positives = int(values.sum())
        return cls(n=len(values), positives=positives, negatives=len(values) - positives)

    def render(self) -> str:
        return f"n={self.n}: {self.positives} churners, {self.negatives} stayers"


@dataclass(frozen=True)
class PairedDifference:
    """Candidate minus champion ROC AUC on the same rows, with a percentile bootstrap interval."""

    candidate: float
    champion: float
    difference: float
    low: float
    high: float
    standard_error: float
    confidence: float
    resamples: int
    counts: ClassCounts
    metric: str = "AUC"  # "Brier gain": the champion's Brier score less the candidate's

    def render(self) -> str:
        """The difference, its interval and the class counts, in one line."""
        return (
            f"d{self.metric} {self.difference:+.4f} [{self.confidence:.0%} CI {self.low:+.4f},"
            f" {self.high:+.4f}] ({self.candidate:.4f} vs {self.champion:.4f};"
            f" {self.counts.positives} churners, {self.counts.negatives} stayers)"
        )

    def describe(self) -> str:
        """``render`` with the method spelled out, for the decision's headline."""
        how = (
            f"paired bootstrap, {self.resamples} resamples stratified by class"
            if self.resamples
            else "paired, normal interval of the per-row differences"
        )
        return (
            f"d{self.metric} {self.difference:+.4f} [{self.confidence:.0%} CI {self.low:+.4f},"
            f" {self.high:+.4f}], candidate {self.candidate:.4f} vs champion {self.champion:.4f}"
            f" on the same {self.counts.render()}; {how}"
        )


def roc_auc(labels: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """ROC AUC with ties counted as half (the Mann-Whitney statistic); NaN with one class."""
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    positives, negatives = s[y == 1], np.sort(s[y == 0])
    if len(positives) == 0 or len(negatives) == 0:
        return float("nan")
    below = np.searchsorted(negatives, positives, side="left")
    at_or_below = np.searchsorted(negatives, positives, side="right")
    wins = below.sum() + 0.5 * (at_or_below - below).sum()
    return float(wins / (len(positives) * len(negatives)))


class _Placements:
    """One model's scores arranged for weighted AUCs: negatives sorted, positives placed."""

    def __init__(self, positives: FloatArray, negatives: FloatArray) -> None:
        self.order = np.argsort(negatives, kind="stable")
        ordered = negatives[self.order]
        self.below = np.searchsorted(ordered, positives, side="left")
        self.at_or_below = np.searchsorted(ordered, positives, side="right")
        self.pairs = float(len(positives) * len(negatives))

    def weighted_auc(
        self, positive_weights: FloatArray, negative_weights: FloatArray
    ) -> FloatArray:
        """The AUC of each resample (one row of weights each)."""
        cumulative = np.zeros((len(negative_weights), negative_weights.shape[1] + 1))
        np.cumsum(negative_weights[:, self.order], axis=1, out=cumulative[:, 1:])
        below = cumulative[:, self.below]
        ties = cumulative[:, self.at_or_below] - below
        wins: FloatArray = np.einsum("ij,ij->i", positive_weights, below + 0.5 * ties)
        return wins / self.pairs


def _draw_counts(rng: np.random.Generator, rows: int, resamples: int) -> FloatArray:
    """How often each of ``rows`` rows is drawn in each resample of ``rows`` draws.

    (Multinomial counts; drawing indices and counting them is several times faster than
    ``Generator.multinomial`` with ``rows`` equal probabilities.)
    """
    offsets = (np.arange(resamples) * rows)[:, None]
    draws = rng.integers(0, rows, size=(resamples, rows)) + offsets
    counts = np.bincount(draws.ravel(), minlength=resamples * rows)
    return counts.reshape(resamples, rows).astype(np.float64)


def bootstrap_auc_differences(
    labels: npt.ArrayLike,
    candidate: npt.ArrayLike,
    champion: npt.ArrayLike,
    *,
    resamples: int,
    rng: np.random.Generator,
) -> FloatArray:
    """Candidate minus champion AUC on ``resamples`` class-stratified resamples of the rows."""
    y = np.asarray(labels, dtype=np.int64)
    a, b = np.asarray(candidate, dtype=np.float64), np.asarray(champion, dtype=np.float64)
    is_positive = y == 1
    n_pos, n_neg = int(is_positive.sum()), int((~is_positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("a paired AUC comparison needs both churners and stayers")
    models = [_Placements(s[is_positive], s[~is_positive]) for s in (a, b)]
    differences = np.empty(resamples)
    for start in range(0, resamples, BLOCK):
        size = min(BLOCK, resamples - start)
        pw, nw = _draw_counts(rng, n_pos, size), _draw_counts(rng, n_neg, size)
        ours, theirs = (model.weighted_auc(pw, nw) for model in models)
        differences[start : start + size] = ours - theirs
    return differences


def paired_auc_difference(
    labels: npt.ArrayLike,
    candidate: npt.ArrayLike,
    champion: npt.ArrayLike,
    *,
    confidence: float,
    resamples: int,
    seed: int,
) -> PairedDifference:
    """The AUC difference on these rows and its two-sided percentile bootstrap interval."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    y = np.asarray(labels, dtype=np.int64)
    ours, theirs = roc_auc(y, candidate), roc_auc(y, champion)
    draws = bootstrap_auc_differences(
        y, candidate, champion, resamples=resamples, rng=np.random.default_rng(seed)
    )
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return PairedDifference(
        candidate=ours,
        champion=theirs,
        difference=ours - theirs,
        low=float(low),
        high=float(high),
        standard_error=float(draws.std(ddof=1)),
        confidence=confidence,
        resamples=resamples,
        counts=ClassCounts.of(y),
    )


def paired_brier_gain(
    labels: npt.ArrayLike,
    candidate: npt.ArrayLike,
    champion: npt.ArrayLike,
    *,
    confidence: float,
) -> PairedDifference:
    """How much lower the candidate's Brier score is than the champion's on the same rows, with a
    normal interval of the mean per-row difference (each row's errors are paired, so the
    interval is that of the difference, not of two separate scores)."""
    from scipy.stats import norm

    y = np.asarray(labels, dtype=np.float64)
    ours = (np.asarray(candidate, dtype=np.float64) - y) ** 2
    theirs = (np.asarray(champion, dtype=np.float64) - y) ** 2
    gains = theirs - ours
    n = len(gains)
    se = float(gains.std(ddof=1)) / math.sqrt(n) if n > 1 else float("inf")
    z = float(norm.ppf(0.5 + confidence / 2.0))
    gain = float(gains.mean()) if n else float("nan")
    return PairedDifference(
        candidate=float(ours.mean()),
        champion=float(theirs.mean()),
        difference=gain,
        low=gain - z * se,
        high=gain + z * se,
        standard_error=se,
        confidence=confidence,
        resamples=0,
        counts=ClassCounts.of(y.astype(np.int64)),
        metric="Brier gain",
    )


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (sound near 0, unlike the normal one)."""
    if trials <= 0:
        raise ValueError("trials must be positive")
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + confidence / 2.0))
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    half /= 1 + z * z / trials
    return max(0.0, centre - half), min(1.0, centre + half)
