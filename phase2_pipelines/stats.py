"""The statistics every decision shares, each with one owner: paired model comparisons, binomial
bounds, the population stability index, an AUC's error (DeLong's from the scores, Hanley and
McNeil's from the class counts alone) and the inverse-variance mean of independent estimates.

Phase 2 is the lowest phase that needs them (the gate's paired bootstrap and Brier gain; the
Wilson interval of its false-superiority control), so they live here and phase 3's guardrails,
phase 4's monitor and phase 5's truth checks import them; none is computed twice.

The gate asks "is the candidate better than the champion on these customers?". Both models score
the same holdout rows, so their errors are correlated, and the right uncertainty is that of the
*difference* on the same rows: a paired bootstrap. Each resample draws positives and negatives
separately (stratified by class), so every resample has the holdout's class counts and its AUC is
always defined. The same resample weights are applied to both models' scores.

A resample is a vector of multinomial counts (how often each row was drawn), and the AUC of a
weighted sample needs no re-sorting: negatives are sorted once, and a cumulative sum of their
counts says, for each positive, how many drawn negatives lie below it. The counts are integers,
so every sum is exact (a tie counts half: twice the wins is an integer).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

from phase2_pipelines.evidence import Evidence

FloatArray = npt.NDArray[np.float64]
CountArray = npt.NDArray[np.int32]
# Resamples are drawn in blocks so memory stays bounded (block x rows counts), and scored in
# slices of a block small enough to stay in the processor's cache (slice x negatives counts).
BLOCK = 256
CACHED_RESAMPLES = 32


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


def signed(value: float, places: int = 4) -> str:
    """``value`` with its sign, rounded first: a difference that rounds to zero reads +0.0000,
    never -0.0000."""
    return f"{round(value, places) + 0.0:+.{places}f}"


SHOWN_AS = {"roc_auc_difference": "AUC", "brier_gain": "Brier gain"}  # rendered as "d" + this


class PairedDifference(Evidence):
    """Candidate minus champion on the same rows (``value``), with its interval: the gate's
    evidence. ``roc_auc_difference`` has a percentile bootstrap interval; ``brier_gain`` (the
    champion's Brier score less the candidate's) a normal interval of the per-row differences."""

    interval: tuple[float, float]
    candidate: float
    champion: float
    confidence: float
    resamples: int  # 0: a normal interval, not a bootstrap
    counts: ClassCounts

    @property
    def difference(self) -> float:
        return self.value

    @property
    def low(self) -> float:
        return self.interval[0]

    @property
    def high(self) -> float:
        return self.interval[1]

    @property
    def shown_as(self) -> str:
        return SHOWN_AS.get(self.metric, self.metric)

    def render(self) -> str:
        """The difference, its interval and the class counts, in one line."""
        return (
            f"d{self.shown_as} {signed(self.difference)} [{self.confidence:.0%} CI"
            f" {signed(self.low)}, {signed(self.high)}] ({self.candidate:.4f} vs"
            f" {self.champion:.4f};"
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
            f"d{self.shown_as} {signed(self.difference)} [{self.confidence:.0%} CI"
            f" {signed(self.low)}, {signed(self.high)}], candidate {self.candidate:.4f} vs"
            f" champion {self.champion:.4f}"
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

    def weighted_auc(self, positive_counts: CountArray, negative_counts: CountArray) -> FloatArray:
        """The AUC of each resample (one row of counts each)."""
        cumulative = np.zeros((len(negative_counts), negative_counts.shape[1] + 1), np.int32)
        np.cumsum(negative_counts[:, self.order], axis=1, out=cumulative[:, 1:])
        twice_wins_each = cumulative[:, self.below]  # below, plus below or tied: ties count half
        twice_wins_each += cumulative[:, self.at_or_below]
        twice_wins = np.einsum("ij,ij->i", positive_counts, twice_wins_each, dtype=np.int64)
        aucs: FloatArray = twice_wins / 2 / self.pairs
        return aucs


def _draw_counts(rng: np.random.Generator, rows: int, resamples: int) -> CountArray:
    """How often each of ``rows`` rows is drawn in each resample of ``rows`` draws.

    (Multinomial counts; drawing indices and counting them is several times faster than
    ``Generator.multinomial`` with ``rows`` equal probabilities.)
    """
    offsets = (np.arange(resamples) * rows)[:, None]
    draws = rng.integers(0, rows, size=(resamples, rows)) + offsets
    counts = np.bincount(draws.ravel(), minlength=resamples * rows)
    return counts.reshape(resamples, rows).astype(np.int32)


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
        for first in range(0, size, CACHED_RESAMPLES):
            cached = slice(first, first + CACHED_RESAMPLES)
            ours, theirs = (model.weighted_auc(pw[cached], nw[cached]) for model in models)
            differences[start + first : start + first + len(ours)] = ours - theirs
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
    counts = ClassCounts.of(y)
    return PairedDifference(
        metric="roc_auc_difference",
        value=ours - theirs,
        interval=(float(low), float(high)),
        standard_error=float(draws.std(ddof=1)),
        n=counts.n,
        candidate=ours,
        champion=theirs,
        confidence=confidence,
        resamples=resamples,
        counts=counts,
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
    y = np.asarray(labels, dtype=np.float64)
    ours = (np.asarray(candidate, dtype=np.float64) - y) ** 2
    theirs = (np.asarray(champion, dtype=np.float64) - y) ** 2
    gains = theirs - ours
    n = len(gains)
    se = float(gains.std(ddof=1)) / math.sqrt(n) if n > 1 else float("inf")
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    gain = float(gains.mean()) if n else float("nan")
    counts = ClassCounts.of(y.astype(np.int64))
    return PairedDifference(
        metric="brier_gain",
        value=gain,
        interval=(gain - z * se, gain + z * se),
        standard_error=se,
        n=counts.n,
        candidate=float(ours.mean()),
        champion=float(theirs.mean()),
        confidence=confidence,
        resamples=0,
        counts=counts,
    )


@dataclass(frozen=True)
class InverseVarianceMean:
    """Independent estimates of one quantity pooled, each weighted by one over its variance."""

    mean: float
    weight: float  # the sum of the weights: one over the pooled mean's variance

    @property
    def standard_error(self) -> float:
        return 1 / math.sqrt(self.weight)

    @classmethod
    def of(cls, estimates: Iterable[tuple[float, float]]) -> InverseVarianceMean | None:
        """Pool (value, standard error) pairs; None when no error is finite and positive."""
        weight, total = 0.0, 0.0
        for value, error in estimates:
            if not (math.isfinite(error) and error > 0):
                continue
            weight += 1 / error**2
            total += value / error**2
        return cls(mean=total / weight, weight=weight) if weight > 0 else None


@lru_cache(maxsize=256)
def two_sided_z(alpha: float) -> float:
    """The normal quantile a two-sided interval at confidence ``1 - alpha`` reaches out to.

    Cached: a monitored week asks for the same few quantiles hundreds of times, and scipy's
    ``ppf`` costs far more than the arithmetic around it."""
    return float(stats.norm.ppf(1 - alpha / 2))


def wilson_interval(successes: float, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval (confidence ``1 - alpha``) for a proportion; sound near 0, unlike
    the normal one.

    No trials is no evidence, not an error: the interval is then (0, 1), every proportion,
    which is also the formula's own limit as ``n`` goes to 0. A judge reading it sees "not
    enough evidence"; a monitor on an empty window reports that rather than crashing.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    z = two_sided_z(alpha)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def clopper_pearson_lower_bound(successes: int, n: int, alpha: float) -> float:
    """One-sided Clopper-Pearson (exact binomial) lower bound for a proportion, at confidence
    ``1 - alpha``; 0 with no successes or no trials."""
    if successes <= 0 or n <= 0:
        return 0.0
    return float(stats.beta.ppf(alpha, successes, n - successes + 1))


# The one smoothing rule of the PSI: a bin with no rows counts as this share (the log of 0 is
# undefined). It is Evidently's rule, so the fast checks and Evidently's reports agree, and a bin
# empty on both sides adds exactly 0. Part of the statistic's definition, not a threshold: the
# canary and the monitor must compute the same PSI from the same bins.
EMPTY_BIN_SHARE = 1e-4


def population_stability_index(window: FloatArray, reference: FloatArray) -> float:
    """PSI of two binned distributions (shares over the same bins): the sum of
    (w - r) * ln(w / r), 0 when they are identical; symmetric in its two arguments. Empty bins
    count as ``EMPTY_BIN_SHARE``."""
    w = np.maximum(window, EMPTY_BIN_SHARE)
    r = np.maximum(reference, EMPTY_BIN_SHARE)
    return float(np.sum((w - r) * np.log(w / r)))


def psi_lower_bound(statistic: float, n_eff: float, df: int, alpha: float) -> float:
    """The smallest true PSI not rejected at confidence ``1 - alpha``, from ``statistic`` =
    ``n_eff * PSI`` of two independent samples (``n_eff = n1 n2 / (n1 + n2)``): the delta at
    which ``statistic`` is the (1 - alpha) quantile of noncentral chi-square(df, n_eff * delta);
    0 when chance alone explains it."""

    def excess(delta: float) -> float:
        return float(stats.ncx2.sf(statistic, df, n_eff * delta)) - alpha

    if float(stats.chi2.sf(statistic, df)) >= alpha:
        return 0.0
    high = statistic / n_eff + 1.0
    while excess(high) < 0:
        high *= 2
    return float(optimize.brentq(excess, 0.0, high, xtol=1e-6))


def _delong_placements(
    labels: npt.NDArray[np.bool_], scores: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """DeLong's structural components: for each positive, the share of negatives ranked below
    it; for each negative, the share of positives ranked above it (ties count a half)."""
    positives, negatives = scores[labels], scores[~labels]
    m, n = len(positives), len(negatives)
    # Counted by binary search in each class's sorted scores: the same half-integer counts as
    # the midrank differences, without ranking the whole window three times.
    below, tied = _counts_below_and_tied(np.sort(negatives), positives)
    placement_pos = (below + tied / 2) / n
    below, tied = _counts_below_and_tied(np.sort(positives), negatives)
    placement_neg = 1 - (below + tied / 2) / m
    return np.asarray(placement_pos, dtype=np.float64), np.asarray(placement_neg, np.float64)


def _counts_below_and_tied(
    ordered: FloatArray, values: FloatArray
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """For each value, how many of ``ordered`` (sorted) are below it and how many equal it.

    The values are searched in sorted order (each search starts near the last one's answer;
    on a million rows, twice as fast as searching them as they come) and put back in place."""
    order = np.argsort(values, kind="stable")
    low = np.searchsorted(ordered, values[order], side="left")
    high = np.searchsorted(ordered, values[order], side="right")
    below, tied = np.empty_like(low), np.empty_like(low)
    below[order], tied[order] = low, high - low
    return below, tied


def auc_standard_error(auc: float, positives: float, negatives: float) -> float:
    """Hanley and McNeil's standard error of an AUC, from the AUC and the class counts alone:
    for an AUC whose scores are not at hand (a baseline, an estimate). With them, ``auc_delong``."""
    if positives < 1 or negatives < 1 or not math.isfinite(auc):
        return float("nan")
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)
    ) / (positives * negatives)
    return math.sqrt(max(variance, 0.0))


def auc_delong(labels: npt.ArrayLike, scores: npt.ArrayLike) -> tuple[float, float]:
    """ROC AUC and its DeLong standard error (midranks, so ties count a half); NaN, NaN with
    one class."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    m, n = int(y.sum()), int((~y).sum())
    if m == 0 or n == 0:
        return float("nan"), float("nan")
    placement_pos, placement_neg = _delong_placements(y, s)
    auc = float(placement_pos.mean())
    variance = placement_pos.var(ddof=1) / m if m > 1 else 0.0
    variance += placement_neg.var(ddof=1) / n if n > 1 else 0.0
    return auc, math.sqrt(max(float(variance), 0.0))


def paired_auc_delong(
    labels: npt.ArrayLike, first: npt.ArrayLike, second: npt.ArrayLike
) -> tuple[float, float]:
    """AUC(first) - AUC(second) on the same rows, and DeLong's standard error of the difference
    (which counts the correlation between two models' errors on the same customers)."""
    y = np.asarray(labels, dtype=bool)
    a = np.asarray(first, dtype=np.float64)
    b = np.asarray(second, dtype=np.float64)
    m, n = int(y.sum()), int((~y).sum())
    if m < 2 or n < 2:
        return float("nan"), float("nan")
    pos_a, neg_a = _delong_placements(y, a)
    pos_b, neg_b = _delong_placements(y, b)
    difference = float(pos_a.mean() - pos_b.mean())
    variance = float(np.var(pos_a - pos_b, ddof=1)) / m + float(np.var(neg_a - neg_b, ddof=1)) / n
    return difference, math.sqrt(max(float(variance), 0.0))
