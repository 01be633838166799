"""Candidates whose truth is known, to measure the gate: equal skill, and genuinely better.

A gate is a statistical test, so it has error rates, and they can be measured. Two models of
*equal skill* are the same recipe fitted on two bootstrap resamples of the training rows (and two
seeds): neither is better in expectation, so every promotion among them is a false superiority. A
*genuinely better* candidate is the same recipe fitted on all the training rows, against a
champion fitted on a random fraction of them: less data, a worse model, for real.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN
from phase2_pipelines.evaluate import EvaluationReport, evaluate_scores, slice_values
from phase2_pipelines.gate import (
    SUPERIORITY,
    GateCheck,
    GateDecision,
    HoldoutComparison,
    decide_promotion,
)
from phase2_pipelines.params import EvaluateParams, PipelineParams, TrainParams
from phase2_pipelines.train import fit_model, predict_scores


@dataclass(frozen=True)
class Pair:
    """A champion's and a candidate's scores on the same holdout rows."""

    champion: np.ndarray
    candidate: np.ndarray


def bootstrap_rows(
    frame: pd.DataFrame, rng: np.random.Generator, fraction: float = 1.0
) -> pd.DataFrame:
    """Rows drawn with replacement; a customer drawn twice gets two ids (the contract wants it)."""
    rows = rng.integers(0, len(frame), size=round(len(frame) * fraction))
    drawn = frame.iloc[rows].reset_index(drop=True)
    drawn[ID_COLUMN] = [f"{customer}-{n}" for n, customer in enumerate(drawn[ID_COLUMN])]
    return drawn


def equal_skill_pair(
    train: pd.DataFrame, holdout: pd.DataFrame, params: TrainParams, trial: int
) -> Pair:
    """Champion and candidate: one recipe, two bootstrap resamples, two seeds."""
    scores = []
    for side in (0, 1):
        rng = np.random.default_rng([trial, side])
        seeded = params.model_copy(update={"seed": params.seed + 2 * trial + side})
        scores.append(predict_scores(fit_model(bootstrap_rows(train, rng), seeded), holdout))
    return Pair(champion=scores[0], candidate=scores[1])


def better_candidate_pair(
    train: pd.DataFrame, holdout: pd.DataFrame, params: TrainParams, trial: int, fraction: float
) -> Pair:
    """Champion fitted on ``fraction`` of the rows; candidate on all of them (both resampled)."""
    rng = np.random.default_rng([trial, 2])
    champion = fit_model(bootstrap_rows(train, rng, fraction), params)
    candidate = fit_model(bootstrap_rows(train, rng), params)
    return Pair(predict_scores(champion, holdout), predict_scores(candidate, holdout))


def comparison_of(
    pair: Pair, holdout: pd.DataFrame, slices: dict[str, np.ndarray], version: str = "1"
) -> HoldoutComparison:
    return HoldoutComparison(
        labels=holdout[LABEL_COLUMN].to_numpy(),
        candidate=pair.candidate,
        champion=pair.champion,
        slices=slices,
        champion_version=version,
    )


def candidate_report(pair: Pair, holdout: pd.DataFrame, params: EvaluateParams) -> EvaluationReport:
    """The candidate's evaluation on the holdout (what the floors and sanity check read)."""
    return evaluate_scores(holdout, holdout[LABEL_COLUMN].to_numpy(), pair.candidate, params)


@dataclass(frozen=True)
class Trial:
    """One candidate through the gate: what it decided, why, and how long it took."""

    decision: GateDecision
    gate_seconds: float

    @property
    def promote(self) -> bool:
        return self.decision.promote

    @property
    def superior(self) -> bool:
        """Passed the superiority check."""
        return self._superiority().passed

    @property
    def slice_blocked(self) -> bool:
        """Some gated slice failed its non-inferiority check."""
        return any(not check.passed for check in self.decision.slice_checks)

    @property
    def difference(self) -> float:
        """The point estimate of dAUC."""
        comparison = self._superiority().comparison
        assert comparison is not None
        return comparison.difference

    def _superiority(self) -> GateCheck:
        superiority = self.decision.named(SUPERIORITY)
        assert superiority is not None
        return superiority


def judge_pair(pair: Pair, holdout: pd.DataFrame, params: PipelineParams) -> Trial:
    """Run one pair through the gate exactly as the pipeline's gate stage does."""
    report = candidate_report(pair, holdout, params.evaluate)
    comparison = comparison_of(pair, holdout, slice_values(holdout, params.evaluate))
    started = time.perf_counter()
    decision = decide_promotion(report, comparison, params.gate)
    return Trial(decision, gate_seconds=time.perf_counter() - started)


def equal_skill_trials(
    train: pd.DataFrame, holdout: pd.DataFrame, params: PipelineParams, trials: int
) -> list[Trial]:
    """``trials`` equal-skill pairs through the gate: every promotion is a false superiority."""
    return [
        judge_pair(equal_skill_pair(train, holdout, params.train, trial), holdout, params)
        for trial in range(trials)
    ]


def better_candidate_trials(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    params: PipelineParams,
    trials: int,
    fraction: float,
) -> list[Trial]:
    """Candidates on all rows against champions on ``fraction`` of them: the gate's power."""
    return [
        judge_pair(
            better_candidate_pair(train, holdout, params.train, trial, fraction), holdout, params
        )
        for trial in range(trials)
    ]
