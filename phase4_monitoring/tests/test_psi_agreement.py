"""The canary (phase 3's score-skew guardrail and its reported business view) and the monitor
(phase 4's drift check) give the same PSI from the same bins, empty bins included.

They once smoothed empty bins differently (half a count added to every bin, against an empty
share read as 0.0001), so the same histograms gave two numbers. Each side is run down its own
path here: the guardrail from the counts its workers record to the evidence of its look, the
monitor from the shares of a window and its reference to its drift evidence. The oracle is the
definition written out, with Evidently's rule for an empty bin.
"""

from __future__ import annotations

import numpy as np
import pytest

from phase3_serving.guardrails import SHIFT, SKEW, GuardrailPolicy, Observations, Stage
from phase4_monitoring.drift import binned_evidence
from phase4_monitoring.params import MonitoringParams

CHAMPION = [40, 120, 260, 300, 180, 60, 25, 10, 4, 1]
CASES = {
    "no empty bin": [30, 110, 250, 310, 190, 70, 20, 12, 5, 3],
    "the top bin empty for the challenger": [44, 125, 270, 290, 170, 55, 30, 11, 5, 0],
    "two bins empty for the challenger": [0, 130, 280, 300, 180, 70, 25, 15, 0, 0],
    "everything in one bin": [0, 0, 0, 1_000, 0, 0, 0, 0, 0, 0],
}
POLICY = GuardrailPolicy(
    alpha=0.01,
    looks=(200, 500, 1_000),
    max_error_rate=0.02,
    max_p95_ms=250.0,
    max_score_shift=0.25,
    score_bins=len(CHAMPION),
    min_latency_calls=20,
)


def defined_psi(window: list[int], reference: list[int]) -> float:
    """sum (w - r) ln(w / r) over the bins' shares, an empty share read as 0.0001."""
    total = 0.0
    for w_count, r_count in zip(window, reference, strict=True):
        w = max(w_count / sum(window), 0.0001)
        r = max(r_count / sum(reference), 0.0001)
        total += (w - r) * np.log(w / r)
    return float(total)


def canary_psi(challenger: list[int], champion: list[int]) -> tuple[float, object]:
    """The business view a canary's look reports, and what ``/admin/rollout`` reports; the
    skew guardrail (the tested one, same formula) gives the same number from the same bins."""
    seen = Observations(
        challenger_bins=challenger, champion_bins=champion, live_bins=challenger,
        offline_bins=champion,
    )  # fmt: skip
    look = POLICY.check(seen, look=0, stage=Stage.CANARY)
    (shift,) = look.reported
    assert shift.metric == SHIFT
    skew = look.named(SKEW)
    assert skew is not None
    assert skew.estimate is not None
    assert skew.estimate.value == shift.value
    return shift.value, seen.summary()[SHIFT]


def monitor_psi(window: list[int], reference: list[int], params: MonitoringParams) -> float:
    """The drift check's PSI of a window against its reference, given as shares and sizes."""
    n, n_reference = sum(window), sum(reference)
    evidence = binned_evidence(
        np.asarray(window, dtype=np.float64) / n,
        np.asarray(reference, dtype=np.float64) / n_reference,
        n,
        n_reference,
        params.drift.psi,
        params.drift.jensen_shannon,
        params,
    )
    return next(e.value for e in evidence if e.metric == "psi")


@pytest.mark.parametrize("case", list(CASES))
def test_the_canary_and_the_monitor_measure_the_same_psi(
    case: str, monitoring_params: MonitoringParams
) -> None:
    challenger = CASES[case]
    canary, reported = canary_psi(challenger, CHAMPION)
    monitor = monitor_psi(challenger, CHAMPION, monitoring_params)
    assert canary == pytest.approx(monitor, rel=1e-12, abs=1e-15)
    assert reported == pytest.approx(canary, rel=1e-12, abs=1e-15)
    assert monitor == pytest.approx(defined_psi(challenger, CHAMPION), rel=1e-9)


def test_the_cases_reach_the_smoothing() -> None:
    """The empty-bin cases are where the two old rules parted: with half a count added to every
    bin the canary read the two-empty-bins case about a quarter lower (0.19 against 0.26, either
    side of the 0.25 limit)."""
    challenger, champion = np.array(CASES["two bins empty for the challenger"]), np.array(CHAMPION)
    added = (challenger + 0.5) / (challenger.sum() + 5), (champion + 0.5) / (champion.sum() + 5)
    old_canary = float(np.sum((added[0] - added[1]) * np.log(added[0] / added[1])))
    assert old_canary < 0.75 * defined_psi(list(challenger), CHAMPION)
