"""The guardrails' statistics on their own: bounds, the look schedule, evidence that merges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from phase2_pipelines.evidence import Verdict
from phase2_pipelines.params import PARAMS_FILE, ParamsError
from phase2_pipelines.stats import clopper_pearson_lower_bound
from phase3_serving.guardrails import (
    BUSINESS_VIEW,
    GUARDRAILS_PER_LOOK,
    GuardrailPolicy,
    Observations,
    Stage,
    bin_psi,
)
from phase3_serving.tests.conftest import guardrail_params

POLICY = GuardrailPolicy(
    alpha=0.01,
    looks=(200, 500, 1_000),
    max_error_rate=0.02,
    max_p95_ms=50.0,
    max_score_shift=0.25,
    score_bins=10,
    min_latency_calls=20,
)


def _evidence(
    errors: int,
    latency_ms: float,
    shifted: bool,
    calls: int = 20,
    skewed: bool = False,
    probed: bool = True,
) -> Observations:
    """Challenger calls beside champion scores; ``shifted``: its scores sit far from the
    champion's; ``probed``: its offline rows were scored live, and ``skewed``: they landed
    elsewhere than offline."""
    rng = np.random.default_rng(1)
    evidence = Observations.empty(POLICY)
    evidence.record_champion(rng.beta(2, 5, 2_000))
    for n in range(calls):
        scores = np.full(10, 0.27) if shifted else rng.beta(2, 5, 10)
        failed = 10 if n < errors else 0
        evidence.record_challenger(POLICY, latency_ms, 10, scores[failed:])
    offline = rng.beta(2, 5, 1_000)
    if probed:
        evidence.record_probe(np.clip(offline * 2.2, 0.0, 1.0) if skewed else offline, offline)
    return evidence


def test_params_hold_the_limits_the_schedule_and_the_bins(tmp_path: Path) -> None:
    raw = yaml.safe_load(PARAMS_FILE.read_text())["serving"]["guardrails"]
    policy = GuardrailPolicy.load()
    assert policy.looks == tuple(raw["looks"])
    assert policy.alpha_per_test == pytest.approx(
        raw["alpha"] / (len(raw["looks"]) * 3)
    )  # Bonferroni over the three tested guardrails
    assert policy.max_error_rate == raw["max_error_rate"]
    assert policy.max_p95_ms == raw["max_p95_ms"]
    assert policy.max_score_shift == raw["max_score_shift"]
    assert policy.score_bins == raw["score_bins"]
    assert policy.min_latency_calls == raw["min_latency_calls"]
    changed = guardrail_params(tmp_path, max_score_shift=0.5)
    assert GuardrailPolicy.load(changed).max_score_shift == 0.5  # the file it is given


def test_a_bad_schedule_is_refused_naming_the_field(tmp_path: Path) -> None:
    path = guardrail_params(tmp_path, looks=[500, 200])
    with pytest.raises(ParamsError) as refused:
        GuardrailPolicy.load(path)
    line = str(refused.value)
    assert "serving.guardrails.looks" in line
    assert "increasing order" in line
    assert str(path) in line


def test_psi_is_zero_for_the_same_histogram_and_large_for_a_collapse() -> None:
    same = np.array([50, 100, 200, 150, 100, 50, 30, 10, 5, 5])
    assert bin_psi(same, same) == pytest.approx(0.0, abs=1e-12)
    assert bin_psi(same * 3, same) == pytest.approx(0.0, abs=1e-12)  # shares, not counts
    collapse = np.array([0, 0, 700, 0, 0, 0, 0, 0, 0, 0])
    assert bin_psi(collapse, same) > 1.0


def test_looks_follow_the_schedule_and_skipped_looks_are_not_taken_twice() -> None:
    assert POLICY.due_look(199, 0) is None
    assert POLICY.due_look(200, 0) == 0
    assert POLICY.due_look(200, 1) is None  # look 1 done
    assert POLICY.due_look(1_200, 1) == 2  # jumped past look 2: only the latest is taken
    assert POLICY.due_look(10_000, 3) is None  # after the last look the guardrails rest


def test_evidence_from_several_workers_adds_up() -> None:
    a, b = _evidence(0, 5.0, False, calls=10), _evidence(2, 80.0, False, calls=10)
    pooled = Observations.pooled([a, b], POLICY)
    assert pooled.requests == a.requests + b.requests == 200
    assert pooled.errors == 20  # rows, reported
    assert (pooled.calls, pooled.failed_calls) == (20, 2)  # what the error guardrail counts
    assert pooled.slow_calls == 10
    assert sum(pooled.champion_bins) == 4_000
    assert Observations.model_validate_json(pooled.model_dump_json()) == pooled  # shareable


@pytest.mark.parametrize("stage", [Stage.CANARY, Stage.SHADOW])
@pytest.mark.parametrize(
    ("errors", "latency", "skewed", "fired"),
    [
        (0, 5.0, False, None),
        (6, 5.0, False, "error_rate"),  # 6 of 20 calls failed: beyond 2% even at n=20
        (0, 80.0, False, "p95_latency_ms"),
        (0, 5.0, True, "score_skew_psi"),
    ],
)
def test_each_guardrail_fires_on_its_own_with_its_evidence(
    errors: int, latency: float, skewed: bool, fired: str | None, stage: Stage
) -> None:
    verdict = POLICY.check(_evidence(errors, latency, False, skewed=skewed), 0, stage)
    breach = verdict.breach
    assert (breach.check if breach else None) == fired
    assert verdict.look == 1
    assert verdict.of == 3
    assert verdict.requests == 200
    assert len(verdict.checks) == GUARDRAILS_PER_LOOK  # what Bonferroni splits alpha over
    for check in verdict.checks:  # every check reports estimate, bound, limit and n
        assert check.estimate is not None
        assert check.bound is not None
        assert check.estimate.threshold is not None
        assert check.bound.threshold is not None
        assert check.bound.n > 0
        assert check.verdict is (Verdict.ALERT if check is breach else Verdict.OK)
        assert check.bound.exceeded is (check is breach)
        assert check.alpha == pytest.approx(POLICY.alpha_per_test)
        assert str(check.bound.n) in check.reason
    if breach:
        assert breach.bound is not None
        assert breach.bound.threshold is not None
        assert breach.bound.value > breach.bound.threshold
        assert "lower bound" in breach.reason


def test_one_failed_call_in_twenty_is_not_enough_to_roll_back() -> None:
    """A point estimate of 5% is above the 2% limit; the evidence is not (n=20 calls)."""
    evidence = _evidence(1, 5.0, False)
    verdict = POLICY.check(evidence, look=0)
    error = verdict.named("error_rate")
    assert error is not None
    assert error.estimate is not None
    assert error.estimate.value > POLICY.max_error_rate
    assert not error.breached


def test_errors_are_counted_per_call_not_per_row() -> None:
    """One call that fails its 100 rows is one failure among 25 calls, not 100 among 220 rows:
    the rows of a call fail together, so they are not 100 independent draws."""
    evidence = Observations.empty(POLICY)
    rng = np.random.default_rng(3)
    evidence.record_challenger(POLICY, 5.0, 100, np.empty(0))  # a whole call failed
    for _ in range(24):
        evidence.record_challenger(POLICY, 5.0, 5, rng.beta(2, 5, 5))
    check = POLICY.check(evidence, 0).named("error_rate")
    assert check is not None
    assert check.estimate is not None
    assert (check.estimate.n, check.estimate.value) == (25, pytest.approx(1 / 25))
    assert not check.breached  # per row it would be 100 of 220, a sure "breach"
    assert clopper_pearson_lower_bound(100, 220, POLICY.alpha_per_test) > POLICY.max_error_rate


def test_a_latency_verdict_on_four_calls_is_insufficient_never_a_breach() -> None:
    """Four slow calls (warm-up, say) are no verdict; twenty slow calls are a breach."""
    few = _evidence(0, 400.0, False, calls=4)
    check = POLICY.check(few, 0).named("p95_latency_ms")
    assert check is not None
    assert check.verdict is Verdict.INSUFFICIENT
    assert not check.breached
    assert check.bound is None  # no bound is taken on four calls
    assert "insufficient" in check.reason
    assert "4 calls" in check.reason
    assert clopper_pearson_lower_bound(4, 4, POLICY.alpha_per_test) > 0.05  # what it used to judge
    enough = _evidence(0, 400.0, False, calls=POLICY.min_latency_calls)
    verdict = POLICY.check(enough, 0)
    assert verdict.verdict_of("p95_latency_ms") is Verdict.ALERT


def test_five_slow_warm_up_calls_among_twenty_do_not_roll_back() -> None:
    evidence = _evidence(0, 5.0, False, calls=15)
    for _ in range(5):
        evidence.record_challenger(POLICY, 400.0, 10, np.full(10, 0.3))
    assert POLICY.check(evidence, 0).verdict_of("p95_latency_ms") is Verdict.OK


def _probed(live: np.ndarray, offline: np.ndarray) -> Observations:
    evidence = _evidence(0, 5.0, True, probed=False)  # its scores are far from the champion's
    evidence.record_probe(live, offline)
    return evidence


@pytest.mark.parametrize("stage", [Stage.SHADOW, Stage.CANARY])
def test_a_challenger_that_scores_as_it_did_offline_passes_however_far_it_moved(
    stage: Stage,
) -> None:
    """Skew, not change: the challenger's live scores equal its offline ones on the same rows,
    so it passes in either stage, though its scores are far from the champion's."""
    offline = np.random.default_rng(4).beta(2, 5, 2_000)
    evidence = _probed(offline + 1e-12, offline)
    verdict = POLICY.check(evidence, 0, stage)
    assert verdict.breach is None
    skew = verdict.named("score_skew_psi")
    assert skew is not None
    assert skew.verdict is Verdict.OK
    assert skew.estimate is not None
    assert skew.estimate.value == pytest.approx(0.0, abs=1e-9)
    assert "0 of 2000 rows differ" in skew.reason
    assert "score_shift_psi" not in {c.check for c in verdict.checks}  # never a tested check
    assert bin_psi(evidence.challenger_bins, evidence.champion_bins) > 1.0  # far indeed


def test_the_canary_reports_the_business_view_and_never_rolls_back_on_it() -> None:
    """Challenger vs champion is evidence without a threshold, in a canary's look only."""
    evidence = _evidence(0, 5.0, True)
    canary = POLICY.check(evidence, 0, Stage.CANARY)
    assert canary.breach is None
    (shift,) = canary.reported
    assert shift.metric == "score_shift_psi"
    assert shift.value == pytest.approx(bin_psi(evidence.challenger_bins, evidence.champion_bins))
    assert shift.value > 10 * POLICY.max_score_shift
    assert shift.threshold is None  # reported, not judged
    assert not shift.exceeded
    assert (shift.n, shift.n_reference) == (200, 2_000)
    assert "reported, not a rollback reason" in BUSINESS_VIEW
    assert canary.to_dict()["reported"][0]["metric"] == "score_shift_psi"  # in the look's record
    assert POLICY.check(evidence, 0, Stage.SHADOW).reported == ()  # the shadow serves no one


@pytest.mark.parametrize("stage", [Stage.SHADOW, Stage.CANARY])
def test_a_challenger_whose_live_scores_differ_from_its_offline_ones_is_stopped(
    stage: Stage,
) -> None:
    """Training-serving skew: the same rows, scored live, land elsewhere."""
    offline = np.random.default_rng(5).beta(2, 5, 2_000)
    live = np.clip(offline * 2.2, 0.0, 1.0)
    verdict = POLICY.check(_probed(live, offline), 0, stage)
    assert verdict.breach is not None
    assert verdict.breach.check == "score_skew_psi"
    assert "own offline scores" in verdict.breach.reason


@pytest.mark.parametrize("stage", [Stage.SHADOW, Stage.CANARY])
def test_no_probe_is_insufficient_not_passed(stage: Stage) -> None:
    evidence = _evidence(0, 5.0, True, probed=False)  # no offline scores, or the probe runs
    verdict = POLICY.check(evidence, 0, stage)
    assert verdict.verdict_of("score_skew_psi") is Verdict.INSUFFICIENT
    assert "no probe yet" in str(verdict.named("score_skew_psi"))
    assert verdict.breach is None


def test_the_probe_is_one_copy_however_many_workers_report_it() -> None:
    offline = np.random.default_rng(6).beta(2, 5, 500)
    a, b = Observations.empty(POLICY), Observations.empty(POLICY)
    for part in (a, b):
        part.record_challenger(POLICY, 5.0, 10, offline[:10])
        part.record_probe(offline, offline)
    pooled = Observations.pooled([a, b], POLICY)
    assert sum(pooled.offline_bins) == 500
    assert pooled.calls == a.calls + b.calls
