"""Prediction drift: the champion's scores on a window against the scores in its profile.

Scores shift before quality does, and need no labels: a mean shift in the predicted churn
probability, PSI and Jensen-Shannon distance on the profile's score bins.
"""

from __future__ import annotations

import numpy as np

from phase2_pipelines.evidence import judge, verdict_from
from phase2_pipelines.profile import ScoreProfile
from phase2_pipelines.stats import FloatArray
from phase4_monitoring.drift import (
    MIN_STD,
    FeatureDrift,
    bin_shares,
    binned_evidence,
    empty_drift,
)
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.stats import mean_shift_noise_floor

SCORE_FEATURE = "churn_probability"


def score_drift(
    scores: FloatArray, profile: ScoreProfile, n_reference: int, params: MonitoringParams
) -> FeatureDrift:
    """Prediction drift: the champion's scores on the window against its reference scores."""
    scores = scores[~np.isnan(scores)]
    n = len(scores)
    if n == 0:
        return empty_drift(SCORE_FEATURE, "score")
    edges = np.asarray(profile.edges, dtype=np.float64)
    below = np.array([np.count_nonzero(scores < edge) for edge in edges[1:-1]], dtype=np.float64)
    reference = np.asarray(profile.shares, dtype=np.float64)
    limits = params.prediction
    evidence = binned_evidence(
        bin_shares(below, n), reference, n, n_reference, limits.psi, limits.jensen_shannon, params
    )
    # The reference spread, from its binned shares (bin midpoints); the window's, exactly.
    middles = (edges[1:] + edges[:-1]) / 2
    reference_var = float(np.sum(reference * (middles - profile.mean) ** 2))
    spread = np.sqrt(max(reference_var, float(scores.var()), MIN_STD**2))
    evidence.append(
        judge(
            "mean_shift",
            abs(float(scores.mean()) - profile.mean),
            params.prediction.mean_shift,
            float(spread * mean_shift_noise_floor(n, n_reference, params.noise_alpha)),
            n=n,
            n_reference=n_reference,
            max_floor_ratio=params.max_floor_ratio,
        )
    )
    verdict, reason = verdict_from(evidence)
    return FeatureDrift(
        column=SCORE_FEATURE,
        kind="score",
        n=n,
        verdict=verdict,
        reason=reason,
        evidence=tuple(evidence),
    )
