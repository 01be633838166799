"""`make check-phase3`: would your guardrails catch a broken challenger, and spare healthy ones?

The exercise (phase3_serving/README.md) has you roll a challenger out by hand, then tune the
guardrails. This check replays canaries on real customers (the Telco test set, routed by the
service's sticky hash) through the guardrails of the params file the service reads
(``serving.guardrails`` of ``MLOPS_SERVING_PARAMS_FILE``, by default ``params.yaml``): each
challenger a canary exists to catch (a serving package that reads tenure in years, slow calls,
failing calls) must be rolled back in every canary, and challengers as good as the champion in
at most 1% of them.
"""

from __future__ import annotations

from collections import Counter

from phase1_foundations.lesson.findings import Finding, report_findings
from phase1_foundations.settings import load_settings
from phase2_pipelines.params import PARAMS_FILE
from phase3_serving.config import ServingSettings
from phase3_serving.guardrails import ERROR_RATE, LATENCY, SKEW, GuardrailPolicy
from phase3_serving.lesson.canary_replay import (
    BAD_CHALLENGERS,
    BadChallenger,
    Behaviour,
    Replay,
    Tally,
    build_replay,
    run_canaries,
)

BROKEN_CANARIES = 20
HEALTHY_CANARIES = 200
MAX_FALSE_ROLLBACK_RATE = 0.01
HEALTHY_POOL = 10
LIMITS = {SKEW: "max_score_shift", ERROR_RATE: "max_error_rate", LATENCY: "max_p95_ms"}


def _limit(policy: GuardrailPolicy, guardrail: str) -> str:
    """A guardrail's limit in the learner's file and in params.yaml, in words."""
    name = LIMITS[guardrail]
    return (
        f"serving.guardrails.{name} (now {getattr(policy, name):g}; params.yaml has"
        f" {getattr(GuardrailPolicy.load(PARAMS_FILE), name):g})"
    )


def _missed(bad: BadChallenger, tally: Tally, policy: GuardrailPolicy) -> str:
    """What to change when a broken challenger got through."""
    kept = next(o for o in tally.outcomes if not o.rolled_back)
    return (
        f"A challenger with {bad.kind} kept serving in {len(tally.outcomes) - tally.rollbacks}"
        f" of {len(tally.outcomes)} canaries. At its last look: {kept.evidence(bad.guardrail)}."
        f"\nYour limit allows that much: lower {_limit(policy, bad.guardrail)}."
    )


def _false_alarms(tally: Tally, policy: GuardrailPolicy) -> str:
    """What to change when healthy challengers were rolled back."""
    fired = Counter(g for o in tally.outcomes if o.rolled_back and (g := o.guardrail) is not None)
    guardrail, count = fired.most_common(1)[0]
    example = next(o.reason for o in tally.outcomes if o.guardrail == guardrail)
    return (
        f"Your guardrails rolled back {tally.rollbacks} of {len(tally.outcomes)} healthy"
        f" challengers ({tally.rate:.1%}; at most {MAX_FALSE_ROLLBACK_RATE:.0%} is allowed)."
        f" {guardrail} fired {count} times, e.g. {example}.\nA healthy challenger's calls vary"
        " by chance alone (latency jitter, a rare failed call): a limit inside that noise rolls"
        f" healthy challengers back. Raise {_limit(policy, guardrail)}, or lower"
        f" serving.guardrails.alpha (now {policy.alpha:g})."
    )


def _stopped(bad: BadChallenger, policy: GuardrailPolicy, replay: Replay, seed: int) -> Finding:
    tally = bad.run(policy, replay, BROKEN_CANARIES, seed)
    return Finding(
        f"a challenger with {bad.kind} is rolled back",
        tally.rollbacks == BROKEN_CANARIES,
        f"rolled back in {tally.rollbacks} of {BROKEN_CANARIES} canaries",
        _missed(bad, tally, policy) if tally.rollbacks < BROKEN_CANARIES else "",
    )


def check_guardrails(policy: GuardrailPolicy) -> list[Finding]:
    """Broken canaries must all be rolled back; healthy ones at most 1% of the time."""
    replay = build_replay(seed=0, pool=HEALTHY_POOL)
    broken = [_stopped(bad, policy, replay, 1) for bad in BAD_CHALLENGERS]
    healthy = run_canaries(policy, replay, HEALTHY_CANARIES, Behaviour(), replay.healthy, 2)
    return [
        *broken,
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
    settings = load_settings(ServingSettings)
    policy = GuardrailPolicy.load(settings.serving_params_file)  # what the service reads
    print(f"Your guardrails ({settings.serving_params_file}): {policy}")
    return report_findings(
        "check-phase3",
        check_guardrails(policy),
        "change serving.guardrails as advised above, then run `make check-phase3` again",
    )
