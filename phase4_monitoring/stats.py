"""The monitor's own statistics: divergences and their noise floors.

The statistics other phases share (PSI, Wilson and Clopper-Pearson bounds, DeLong's AUC errors)
are phase 2's (``phase2_pipelines.stats``); these only the monitor needs.

A noise floor is the value an effect estimate stays below, with probability ``1 - alpha``,
when nothing changed and only sampling noise separates the window from the reference. It
shrinks with both sample sizes, ``1/n + 1/n_reference``: a million-row window is never more
precise than the reference it is compared with. The approximations are the usual large-sample
ones (a divergence of binned shares times the effective sample size is roughly chi-square).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import stats

from phase2_pipelines.stats import FloatArray, two_sided_z

BRIDGE_DRAWS = 4000  # simulated draws for a noise floor; its 99% quantile moves < 5% between seeds
BRIDGE_SEED = 0


def inverse_size(n: int, n_reference: int) -> float:
    """``1/n + 1/n_reference``: the variance scale of a difference between two samples."""
    return 1.0 / max(n, 1) + 1.0 / max(n_reference, 1)


def js_distance(window: FloatArray, reference: FloatArray) -> float:
    """Jensen-Shannon distance (natural log, as scipy and Evidently compute it); 0 to sqrt(ln 2)."""
    w = window / max(float(window.sum()), 1e-300)
    r = reference / max(float(reference.sum()), 1e-300)
    m = (w + r) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_w = np.where(w > 0, w * np.log(w / m), 0.0).sum()
        kl_r = np.where(r > 0, r * np.log(r / m), 0.0).sum()
    return math.sqrt(max(float(kl_w + kl_r) / 2, 0.0))


@lru_cache(maxsize=256)
def _chi2_quantile(bins: int, alpha: float) -> float:
    """Cached: every column of every window asks for one of a few (bins, alpha) pairs."""
    return float(stats.chi2.ppf(1 - alpha, max(bins - 1, 1)))


def psi_noise_floor(bins: int, n: int, n_reference: int, alpha: float) -> float:
    """PSI under no change is about chi-square(bins - 1) * (1/n + 1/n_ref)."""
    return _chi2_quantile(bins, alpha) * inverse_size(n, n_reference)


def js_noise_floor(bins: int, n: int, n_reference: int, alpha: float) -> float:
    """JS divergence under no change is about chi-square(bins - 1) * (1/n + 1/n_ref) / 8."""
    return math.sqrt(_chi2_quantile(bins, alpha) * inverse_size(n, n_reference) / 8)


def binned_p_value(divergence: float, bins: int, n: int, n_reference: int) -> float:
    """The chi-square p-value of a binned difference (PSI, or 8 x JS divergence), for reading
    beside the effect size: on large samples it is tiny for any difference at all."""
    statistic = divergence / inverse_size(n, n_reference)
    return float(stats.chi2.sf(statistic, max(bins - 1, 1)))


def mean_shift_noise_floor(n: int, n_reference: int, alpha: float) -> float:
    """A standardized mean difference under no change stays below this (in units of std)."""
    return two_sided_z(alpha) * math.sqrt(inverse_size(n, n_reference))


def cdf_l1(knots: FloatArray, window_cdf: FloatArray, reference_cdf: FloatArray) -> float:
    """The integral of |F_window - F_reference| over the knots, by the trapezoid rule."""
    gaps = np.abs(window_cdf - reference_cdf)
    return float(np.sum((gaps[1:] + gaps[:-1]) / 2 * np.diff(knots)))


def cdf_l1_noise_floor(
    knots: FloatArray,
    reference_cdf: FloatArray,
    n: int,
    n_reference: int,
    alpha: float,
    draws: int = BRIDGE_DRAWS,
) -> float:
    """The (1 - alpha) quantile of ``cdf_l1`` under no change, by simulating its limit.

    Scaled by ``sqrt(1/n + 1/n_ref)``, the gap between two empirical CDFs of the same
    distribution tends to a Brownian bridge at the reference CDF's values; the quantile of its
    trapezoid integral is simulated with a fixed seed, so the floor is deterministic.
    """
    quantile = _bridge_quantile(
        tuple(np.asarray(knots, dtype=np.float64).tolist()),
        tuple(np.asarray(reference_cdf, dtype=np.float64).tolist()),
        alpha,
        draws,
    )
    return float(quantile * math.sqrt(inverse_size(n, n_reference)))


@lru_cache(maxsize=256)
def _bridge_quantile(
    knots: tuple[float, ...], reference_cdf: tuple[float, ...], alpha: float, draws: int
) -> np.float64:
    """The unscaled quantile, simulated once per reference column: it depends on the profile
    alone, and every window checked against that profile needs it again."""
    rng = np.random.default_rng(BRIDGE_SEED)
    levels = np.clip(np.array(reference_cdf), 0.0, 1.0)
    steps = np.diff(np.concatenate([[0.0], levels, [1.0]]))
    walk = np.cumsum(rng.normal(size=(draws, len(steps))) * np.sqrt(steps), axis=1)
    bridge = walk[:, :-1] - levels * walk[:, -1:]
    gaps = np.abs(bridge)
    integrals = np.sum((gaps[:, 1:] + gaps[:, :-1]) / 2 * np.diff(np.array(knots)), axis=1)
    return np.float64(np.quantile(integrals, 1 - alpha))


def proportion_diff_noise_floor(rate: float, n: int, n_reference: int, alpha: float) -> float:
    """A difference of two proportions under no change stays below this."""
    rate = min(max(rate, 0.0), 1.0)
    return two_sided_z(alpha) * math.sqrt(rate * (1 - rate) * inverse_size(n, n_reference))
