"""How often the canary guardrails roll back a healthy challenger, and how fast a bad one.

A healthy control: hundreds of simulated canaries on real customers (``canary_replay.py``)
whose challenger equals the champion in distribution. At the default settings the guardrails
must roll back at most 1% of them; a challenger that is bad in any of the three ways must still
be rolled back, every time, within the schedule of looks. The figures are printed (run with
``-s``) and reported in the phase-3 lesson.
"""

from __future__ import annotations

import numpy as np
import pytest

from phase3_serving.config import ServingSettings
from phase3_serving.guardrails import GuardrailPolicy
from phase3_serving.tests.canary_replay import Behaviour, Replay, Tally, build_replay, run_canaries

pytestmark = pytest.mark.slow

HEALTHY_CANARIES = 300
BAD_CANARIES = 40
MAX_FALSE_ROLLBACK_RATE = 0.01


@pytest.fixture(scope="module")
def replay() -> Replay:
    return build_replay(seed=0)


@pytest.fixture(scope="module")
def policy() -> GuardrailPolicy:
    return GuardrailPolicy.from_settings(ServingSettings())  # the defaults, not the environment's


def _requests(tally: Tally) -> str:
    needed = tally.requests_to_rollback()
    return f"median {int(np.median(needed))}, max {max(needed)} challenger requests"


def test_healthy_challengers_are_rarely_rolled_back(
    replay: Replay, policy: GuardrailPolicy
) -> None:
    tally = run_canaries(policy, replay, HEALTHY_CANARIES, Behaviour(), replay.healthy, seed=1)
    print(
        f"\nhealthy control: {tally.rollbacks} of {HEALTHY_CANARIES} canaries rolled back"
        f" ({tally.rate:.2%}); each ran to its last look ({policy.looks[-1]} challenger requests)"
    )
    assert tally.rate <= MAX_FALSE_ROLLBACK_RATE, [o.reason for o in tally.outcomes]
    assert all(
        o.challenger_requests >= policy.looks[-1] for o in tally.outcomes if not o.rolled_back
    )


@pytest.mark.parametrize(
    ("kind", "behaviour", "guardrail"),
    [
        ("shuffled labels", Behaviour(), "score_shift_psi"),
        ("errors on 8% of requests", Behaviour(error_rate=0.08), "error_rate"),
        (
            "slow: ~400 ms a call",
            Behaviour(latency_median_ms=400.0, latency_sigma=0.3),
            "p95_latency_ms",
        ),
    ],
)
def test_a_bad_challenger_is_still_rolled_back(
    replay: Replay, policy: GuardrailPolicy, kind: str, behaviour: Behaviour, guardrail: str
) -> None:
    challengers = [replay.shuffled] if kind == "shuffled labels" else replay.healthy
    tally = run_canaries(policy, replay, BAD_CANARIES, behaviour, challengers, seed=2)
    print(f"\n{kind}: {tally.rollbacks} of {BAD_CANARIES} rolled back, after {_requests(tally)}")
    assert tally.rollbacks == BAD_CANARIES
    assert {o.guardrail for o in tally.outcomes} == {guardrail}
    assert max(tally.requests_to_rollback()) <= policy.looks[1] + 50  # by the second look


def test_a_small_error_excess_needs_more_evidence_than_a_large_one(
    replay: Replay, policy: GuardrailPolicy
) -> None:
    """Sample size at work: 4% errors (twice the limit) takes longer to prove than 8%."""
    mild = run_canaries(policy, replay, BAD_CANARIES, Behaviour(error_rate=0.04), replay.healthy, 3)
    gross = run_canaries(
        policy, replay, BAD_CANARIES, Behaviour(error_rate=0.08), replay.healthy, 3
    )
    print(f"\n4% errors: {mild.rollbacks} of {BAD_CANARIES} rolled back, after {_requests(mild)}")
    assert mild.rollbacks >= 0.9 * BAD_CANARIES
    assert np.median(mild.requests_to_rollback()) > np.median(gross.requests_to_rollback())
