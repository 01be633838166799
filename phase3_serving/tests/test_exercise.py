"""`make check-phase3`: would your guardrails catch a broken challenger, and spare a healthy one?

The exercise (phase3_serving/README.md) has you roll a challenger out by hand: shadow, then
canary, then watch the guardrails. This check replays real traffic (the Telco test customers)
through the guardrails configured in your environment (MLOPS_SERVING_GUARDRAIL_*): a challenger
trained on shuffled labels must be stopped, and the champion compared with itself must not be.
"""

from __future__ import annotations

import numpy as np

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.telco import load_telco
from phase2_pipelines.params import load_params
from phase2_pipelines.train import fit_model, predict_scores
from phase3_serving.config import ServingSettings
from phase3_serving.rollout import GuardrailLimits, GuardrailMonitor

BATCH = 20  # rows per model call, as micro-batching would group them


def _limits() -> GuardrailLimits:
    settings = ServingSettings()
    return GuardrailLimits(
        min_requests=settings.serving_guardrail_min_requests,
        max_error_rate=settings.serving_guardrail_max_error_rate,
        max_p95_ms=settings.serving_guardrail_max_p95_ms,
        max_score_shift=settings.serving_guardrail_max_score_shift,
    )


def _replay(champion: np.ndarray, challenger: np.ndarray, limits: GuardrailLimits) -> str | None:
    monitor = GuardrailMonitor(limits)
    for start in range(0, len(champion), BATCH):
        monitor.record_champion(champion[start : start + BATCH])
        monitor.record_challenger(
            5.0, len(challenger[start : start + BATCH]), challenger[start : start + BATCH]
        )
        if (breach := monitor.check()) is not None:
            return breach.reason
    return None


def test_your_guardrails() -> None:
    limits = _limits()
    splits, params = load_telco(), load_params()
    champion = predict_scores(fit_model(splits.train, params.train), splits.test)
    shuffled = splits.train.copy()
    shuffled[LABEL_COLUMN] = np.random.default_rng(0).permutation(shuffled[LABEL_COLUMN])
    broken = predict_scores(fit_model(shuffled, params.train), splits.test)

    caught = _replay(champion, broken, limits)
    spared = _replay(champion, champion, limits)
    print(f"\nYour guardrails: {limits}")
    print(f"  broken challenger: {'stopped, ' + caught if caught else 'NOT stopped'}")
    print(f"  healthy challenger: {'stopped, ' + spared if spared else 'kept serving'}")
    assert caught is not None, "your guardrails let a model trained on noise through"
    assert spared is None, "your guardrails stop a model identical to the champion"
