"""The guardrails' statistics on their own: bounds, the look schedule, evidence that merges."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from phase3_serving.config import ServingSettings
from phase3_serving.guardrails import (
    Evidence,
    GuardrailPolicy,
    binomial_lower_bound,
    population_stability_index,
    psi_lower_bound,
)

POLICY = GuardrailPolicy(
    alpha=0.01,
    looks=(200, 500, 1_000),
    max_error_rate=0.02,
    max_p95_ms=50.0,
    max_score_shift=0.25,
    score_bins=10,
)


def _evidence(errors: int, latency_ms: float, shifted: bool, calls: int = 20) -> Evidence:
    rng = np.random.default_rng(1)
    evidence = Evidence.empty(POLICY)
    evidence.record_champion(rng.beta(2, 5, 2_000))
    for n in range(calls):
        scores = np.full(10, 0.27) if shifted else rng.beta(2, 5, 10)
        failed = 10 if n < errors else 0
        evidence.record_challenger(POLICY, latency_ms, 10, scores[failed:])
    return evidence


def test_settings_hold_the_limits_the_schedule_and_the_bins() -> None:
    policy = GuardrailPolicy.from_settings(ServingSettings())
    assert policy.looks == (200, 500, 1_000, 2_000, 5_000)
    assert policy.alpha_per_test == pytest.approx(0.01 / (5 * 3))  # Bonferroni
    assert policy.score_bins == 10
    with pytest.raises(ValueError, match="increasing order"):
        ServingSettings(serving_guardrail_looks=(500, 200))


def test_clopper_pearson_bound_covers_as_promised() -> None:
    rng = np.random.default_rng(0)
    p, n, alpha = 0.03, 400, 0.05
    covered = [binomial_lower_bound(int(x), n, alpha) <= p for x in rng.binomial(n, p, 4_000)]
    assert np.mean(covered) >= 1 - alpha  # exact: at least 95% of bounds are below the truth
    assert binomial_lower_bound(0, n, alpha) == 0.0


def test_psi_bound_is_zero_when_chance_explains_the_shift() -> None:
    df = 9
    chance = float(stats.chi2.ppf(0.5, df))  # a typical statistic with no shift at all
    assert psi_lower_bound(chance, n_eff=200, df=df, alpha=0.001) == 0.0
    shifted = psi_lower_bound(400.0, n_eff=200, df=df, alpha=0.001)
    assert 0.5 < shifted < 2.0  # a PSI near 2 observed: the bound is well above zero, below it


def test_psi_is_zero_for_the_same_histogram_and_large_for_a_collapse() -> None:
    same = np.array([50, 100, 200, 150, 100, 50, 30, 10, 5, 5])
    assert population_stability_index(same, same) == pytest.approx(0.0, abs=1e-12)
    collapse = np.array([0, 0, 700, 0, 0, 0, 0, 0, 0, 0])
    assert population_stability_index(same, collapse) > 1.0


def test_looks_follow_the_schedule_and_skipped_looks_are_not_taken_twice() -> None:
    assert POLICY.due_look(199, 0) is None
    assert POLICY.due_look(200, 0) == 0
    assert POLICY.due_look(200, 1) is None  # look 1 done
    assert POLICY.due_look(1_200, 1) == 2  # jumped past look 2: only the latest is taken
    assert POLICY.due_look(10_000, 3) is None  # after the last look the guardrails rest


def test_evidence_from_several_workers_adds_up() -> None:
    a, b = _evidence(0, 5.0, False, calls=10), _evidence(2, 80.0, False, calls=10)
    pooled = Evidence.pooled([a, b], POLICY)
    assert pooled.requests == a.requests + b.requests == 200
    assert pooled.errors == 20
    assert pooled.slow_calls == 10
    assert sum(pooled.champion_bins) == 4_000
    assert Evidence.model_validate_json(pooled.model_dump_json()) == pooled  # shareable as JSON


@pytest.mark.parametrize(
    ("errors", "latency", "shifted", "fired"),
    [
        (0, 5.0, False, None),
        (2, 5.0, False, "error_rate"),  # 20 of 200 failed: far beyond 2% even at n=200
        (0, 80.0, False, "p95_latency_ms"),
        (0, 5.0, True, "score_shift_psi"),
    ],
)
def test_each_guardrail_fires_on_its_own_with_its_evidence(
    errors: int, latency: float, shifted: bool, fired: str | None
) -> None:
    verdict = POLICY.check(_evidence(errors, latency, shifted), look=0)
    breach = verdict.breach
    assert (breach.guardrail if breach else None) == fired
    assert verdict.look == 1
    assert verdict.of == 3
    assert verdict.requests == 200
    for check in verdict.checks:  # every check reports estimate, bound, limit and n
        assert check.n > 0
        assert check.alpha == pytest.approx(POLICY.alpha_per_test)
        assert str(check.n) in check.reason
    if breach:
        assert breach.bound > breach.bound_limit
        assert "lower bound" in breach.reason


def test_one_error_in_two_hundred_is_not_enough_to_roll_back() -> None:
    """A point estimate of 2.5% is above the 2% limit; the evidence is not (n=200)."""
    evidence = _evidence(0, 5.0, False)
    evidence.errors = 5
    verdict = POLICY.check(evidence, look=0)
    error = next(c for c in verdict.checks if c.guardrail == "error_rate")
    assert error.observed is not None
    assert error.observed > POLICY.max_error_rate
    assert not error.breached
