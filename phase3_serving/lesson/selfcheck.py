"""`make check-phase3`: would your guardrails catch a broken challenger, and spare healthy ones?

The exercise (phase3_serving/README.md) has you roll a challenger out by hand, then tune the
guardrails. This check replays canaries on real customers (the Telco test set, routed by the
service's sticky hash) through the guardrail settings in your environment
(``MLOPS_SERVING_GUARDRAIL_*``): a challenger trained on shuffled labels must be rolled back in
every canary, and challengers as good as the champion in at most 1% of them.
"""

from __future__ import annotations

from collections import Counter

from phase1_foundations.lesson.findings import Finding, report_findings
from phase3_serving.config import ServingSettings
from phase3_serving.guardrails import GuardrailPolicy
from phase3_serving.lesson.canary_replay import Behaviour, Tally, build_replay, run_canaries

BROKEN_CANARIES = 20
HEALTHY_CANARIES = 200
MAX_FALSE_ROLLBACK_RATE = 0.01
HEALTHY_POOL = 10
ADVICE = {
    "score_shift_psi": "MLOPS_SERVING_GUARDRAIL_MAX_SCORE_SHIFT",
    "error_rate": "MLOPS_SERVING_GUARDRAIL_MAX_ERROR_RATE",
    "p95_latency_ms": "MLOPS_SERVING_GUARDRAIL_MAX_P95_MS",
}


def _missed(tally: Tally, policy: GuardrailPolicy) -> str:
    """What to change when a broken challenger got through."""
    kept = next(o for o in tally.outcomes if not o.rolled_back)
    return (
        f"A challenger trained on shuffled labels kept serving in"
        f" {len(tally.outcomes) - tally.rollbacks} of {len(tally.outcomes)} canaries. At its"
        f" last look: {kept.evidence('score_shift_psi')}.\nIts scores are far from the"
        f" champion's, but your limit allows that much shift: lower"
        f" MLOPS_SERVING_GUARDRAIL_MAX_SCORE_SHIFT (now {policy.max_score_shift:g}; the default"
        " 0.25 is a large shift), or unset it."
    )


def _false_alarms(tally: Tally, policy: GuardrailPolicy) -> str:
    """What to change when healthy challengers were rolled back."""
    fired = Counter(g for o in tally.outcomes if o.rolled_back and (g := o.guardrail) is not None)
    guardrail, count = fired.most_common(1)[0]
    example = next(o.reason for o in tally.outcomes if o.guardrail == guardrail)
    return (
        f"Your guardrails rolled back {tally.rollbacks} of {len(tally.outcomes)} healthy"
        f" challengers ({tally.rate:.1%}; at most {MAX_FALSE_ROLLBACK_RATE:.0%} is allowed)."
        f" {guardrail} fired {count} times, e.g. {example}.\nA healthy challenger serves other"
        " customers than the champion, so its numbers differ by sampling alone: a limit that"
        f" close to zero is inside the noise. Raise {ADVICE[guardrail]} (or unset it for the"
        f" default), or lower MLOPS_SERVING_GUARDRAIL_ALPHA (now {policy.alpha:g})."
    )


def check_guardrails(policy: GuardrailPolicy) -> list[Finding]:
    """Broken canaries must all be rolled back; healthy ones at most 1% of the time."""
    replay = build_replay(seed=0, pool=HEALTHY_POOL)
    broken = run_canaries(policy, replay, BROKEN_CANARIES, Behaviour(), [replay.shuffled], 1)
    healthy = run_canaries(policy, replay, HEALTHY_CANARIES, Behaviour(), replay.healthy, 2)
    return [
        Finding(
            "a broken challenger is rolled back",
            broken.rollbacks == BROKEN_CANARIES,
            f"rolled back in {broken.rollbacks} of {BROKEN_CANARIES} canaries",
            _missed(broken, policy) if broken.rollbacks < BROKEN_CANARIES else "",
        ),
        Finding(
            "healthy challengers keep serving",
            healthy.rate <= MAX_FALSE_ROLLBACK_RATE,
            f"rolled back in {healthy.rollbacks} of {HEALTHY_CANARIES} canaries"
            f" ({healthy.rate:.1%}; at most {MAX_FALSE_ROLLBACK_RATE:.0%} allowed)",
            _false_alarms(healthy, policy) if healthy.rate > MAX_FALSE_ROLLBACK_RATE else "",
        ),
    ]


def run_selfcheck() -> int:
    """Print each finding; 0 when your guardrails pass, 1 with what to change."""
    policy = GuardrailPolicy.from_settings(ServingSettings())  # your environment's settings
    print(f"Your guardrails: {policy}")
    return report_findings(
        "check-phase3",
        check_guardrails(policy),
        "change the settings as advised above, then run `make check-phase3` again",
    )
