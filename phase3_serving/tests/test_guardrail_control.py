"""How often the canary guardrails roll back a healthy challenger, and how fast a bad one.

A healthy control: hundreds of simulated canaries on real customers (``canary_replay.py``)
whose challenger equals the champion in distribution, and as many shadows of the same
challengers. At the default settings the guardrails must roll back at most 1% of them (the
upper bound of the rate's 95% Wilson interval is printed with it); a challenger that is bad in
any of the three ways must still be rolled back, every time, within the schedule of looks. The
figures are printed (run with ``-s``) and reported in the phase-3 lesson.
"""

from __future__ import annotations

import numpy as np
import pytest

from phase2_pipelines.stats import wilson_interval
from phase3_serving.guardrails import GuardrailPolicy, Stage
from phase3_serving.lesson.canary_replay import (
    BAD_CHALLENGERS,
    BadChallenger,
    Behaviour,
    Replay,
    Tally,
    build_replay,
    run_canaries,
)

pytestmark = pytest.mark.slow

HEALTHY_CANARIES = 300
BAD_CANARIES = 40
MAX_FALSE_ROLLBACK_RATE = 0.01


@pytest.fixture(scope="module")
def replay() -> Replay:
    return build_replay(seed=0)


@pytest.fixture(scope="module")
def policy() -> GuardrailPolicy:
    return GuardrailPolicy.load()  # params.yaml's, whatever MLOPS_SERVING_PARAMS_FILE says


def _requests(tally: Tally) -> str:
    needed = tally.requests_to_rollback()
    return f"median {int(np.median(needed))}, max {max(needed)} challenger requests"


@pytest.mark.parametrize("stage", [Stage.CANARY, Stage.SHADOW])
def test_healthy_challengers_are_rarely_rolled_back(
    replay: Replay, policy: GuardrailPolicy, stage: Stage
) -> None:
    tally = run_canaries(
        policy, replay, HEALTHY_CANARIES, Behaviour(), replay.healthy, seed=1, stage=stage
    )
    low, high = wilson_interval(tally.rollbacks, HEALTHY_CANARIES)
    print(
        f"\nhealthy control, {stage}: {tally.rollbacks} of {HEALTHY_CANARIES} rolled back"
        f" ({tally.rate:.2%}, 95% Wilson interval [{low:.2%}, {high:.2%}]); each ran to its"
        f" last look ({policy.looks[-1]} challenger requests)"
    )
    assert tally.rate <= MAX_FALSE_ROLLBACK_RATE, [o.reason for o in tally.outcomes]
    assert all(
        o.challenger_requests >= policy.looks[-1] for o in tally.outcomes if not o.rolled_back
    )


# The look by which every bad canary must have been stopped. Failed calls, not rows, are the
# trials: ~4 canary rows a call here, so 200 rows are ~50 calls, and 8% of calls failing takes
# a few looks to prove at alpha 0.01/15.
BY_LOOK = {"score_skew_psi": 1, "p95_latency_ms": 2, "error_rate": 4}


@pytest.mark.parametrize("bad", BAD_CHALLENGERS, ids=lambda bad: bad.kind)
def test_a_bad_challenger_is_still_rolled_back(
    replay: Replay, policy: GuardrailPolicy, bad: BadChallenger
) -> None:
    tally = bad.run(policy, replay, BAD_CANARIES, seed=2)
    print(
        f"\n{bad.kind}: {tally.rollbacks} of {BAD_CANARIES} rolled back, after {_requests(tally)}"
    )
    assert tally.rollbacks == BAD_CANARIES
    assert {o.guardrail for o in tally.outcomes} == {bad.guardrail}
    assert max(tally.requests_to_rollback()) <= policy.looks[BY_LOOK[bad.guardrail] - 1] + 50


def test_a_challenger_bad_only_on_labels_is_reported_not_rolled_back(
    replay: Replay, policy: GuardrailPolicy
) -> None:
    """Shuffled labels: far from the champion (the business view says so at every look), but it
    serves exactly as it was evaluated, so no guardrail fires; stopping it is the gate's job."""
    tally = run_canaries(policy, replay, BAD_CANARIES, Behaviour(), [replay.shuffled], seed=2)
    shifts = [o.verdict.reported[0].value for o in tally.outcomes if o.verdict is not None]
    print(
        f"\nshuffled labels: {tally.rollbacks} of {BAD_CANARIES} rolled back; business view"
        f" PSI vs champion median {np.median(shifts):.2f} (limit {policy.max_score_shift})"
    )
    assert tally.rollbacks == 0
    assert len(shifts) == BAD_CANARIES
    assert min(shifts) > policy.max_score_shift  # reported, far beyond what a test would allow


def test_a_small_error_excess_needs_more_evidence_than_a_large_one(
    replay: Replay, policy: GuardrailPolicy
) -> None:
    """Sample size at work: 4% of calls failing (twice the limit) takes longer to prove than
    8%, and within the schedule (~1,250 calls) is not always proven."""
    mild = run_canaries(policy, replay, BAD_CANARIES, Behaviour(error_rate=0.04), replay.healthy, 3)
    gross = run_canaries(
        policy, replay, BAD_CANARIES, Behaviour(error_rate=0.08), replay.healthy, 3
    )
    print(
        f"\n4% of calls failing: {mild.rollbacks} of {BAD_CANARIES} rolled back, after"
        f" {_requests(mild)}"
    )
    assert mild.rollbacks >= 0.75 * BAD_CANARIES
    assert np.median(mild.requests_to_rollback()) > np.median(gross.requests_to_rollback())
