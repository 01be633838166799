"""Rollout logic on its own: sticky canary buckets, the PSI, and when guardrails fire."""

from __future__ import annotations

import numpy as np
import pytest

from phase3_serving.rollout import (
    GuardrailLimits,
    GuardrailMonitor,
    Rollout,
    RolloutMode,
    canary_bucket,
    population_stability_index,
)

LIMITS = GuardrailLimits(min_requests=100, max_error_rate=0.02, max_p95_ms=50, max_score_shift=0.25)


def test_canary_is_sticky_and_close_to_its_share() -> None:
    ids = [f"cust-{i}" for i in range(20_000)]
    rollout = Rollout(LIMITS)
    rollout.configure(RolloutMode.CANARY, 10)
    chosen = [rollout.routes_to_challenger(i) for i in ids]
    assert chosen == [rollout.routes_to_challenger(i) for i in ids]  # sticky
    assert 0.09 < np.mean(chosen) < 0.11  # about 10%
    assert canary_bucket("cust-1") == canary_bucket("cust-1")
    assert not rollout.routes_to_challenger(None)  # no id, no canary


def test_psi_is_zero_for_the_same_scores_and_large_for_a_collapse() -> None:
    rng = np.random.default_rng(0)
    champion = rng.beta(2, 5, 5_000)
    assert population_stability_index(champion, champion) == pytest.approx(0.0, abs=1e-9)
    assert population_stability_index(champion, rng.beta(2, 5, 5_000)) < 0.05
    assert population_stability_index(champion, np.full(5_000, 0.27)) > 1.0


def _monitor(errors: int, latency_ms: float, shift: bool) -> GuardrailMonitor:
    rng = np.random.default_rng(1)
    monitor = GuardrailMonitor(LIMITS)
    monitor.record_champion(rng.beta(2, 5, 2_000))
    for n in range(20):
        challenger = np.full(10, 0.27) if shift else rng.beta(2, 5, 10)
        monitor.record_challenger(latency_ms, 10, None if n < errors else challenger)
    return monitor


def test_guardrails_wait_for_evidence() -> None:
    monitor = GuardrailMonitor(LIMITS)
    monitor.record_challenger(999.0, 99, None)  # terrible, but only 99 requests
    assert monitor.check() is None


@pytest.mark.parametrize(
    ("errors", "latency", "shift", "fired"),
    [
        (0, 5.0, False, None),
        (1, 5.0, False, "error_rate"),  # 10 of 200 failed
        (0, 80.0, False, "p95_latency_ms"),
        (0, 5.0, True, "score_shift_psi"),
    ],
)
def test_each_guardrail_fires_on_its_own(
    errors: int, latency: float, shift: bool, fired: str | None
) -> None:
    breach = _monitor(errors, latency, shift).check()
    assert (breach.guardrail if breach else None) == fired
    if breach:
        assert fired in breach.reason


def test_stopping_ends_the_canary() -> None:
    rollout = Rollout(LIMITS)
    rollout.configure(RolloutMode.CANARY, 50)
    breach = _monitor(1, 5.0, False).check()
    assert breach is not None
    rollout.stop(breach)
    assert rollout.mode is RolloutMode.OFF
    assert not rollout.routes_to_challenger("cust-1")
    assert rollout.describe()["last_breach"] == breach.reason
