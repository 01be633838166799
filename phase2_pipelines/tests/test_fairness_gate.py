"""The shipped gate protects gender and senior citizens as it protects business segments.

A candidate trained on all the rows is better on average than a champion trained on a small
pilot; give it a feature bug that only senior citizens' rows go through (their tenure read from
another senior's record) and it is worse for them alone. The oracle is the bug itself: it
touches seniors only, so the seniors' check, and no other, must block the candidate. The same
candidate without the bug is promoted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.telco import load_telco
from phase2_pipelines.evaluate import evaluate_scores, slice_values
from phase2_pipelines.gate import GateDecision, HoldoutComparison, decide_promotion
from phase2_pipelines.params import PipelineParams, load_params
from phase2_pipelines.train import fit_model, predict_scores

SEED = 7
PILOT = 0.07  # the champion learns from ~200 customers: a candidate on all rows is better


def _decide(
    params: PipelineParams, holdout: pd.DataFrame, candidate: np.ndarray, champion: np.ndarray
) -> GateDecision:
    labels = holdout[LABEL_COLUMN].to_numpy()
    comparison = HoldoutComparison(
        labels=labels,
        candidate=candidate,
        champion=champion,
        slices=slice_values(holdout, params.evaluate),
        champion_version="1",
    )
    report = evaluate_scores(holdout, labels, candidate, params.evaluate)
    return decide_promotion(report, comparison, params.gate)


@pytest.fixture(scope="module")
def scored() -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """The holdout; the champion's scores; the candidate's, with and without the seniors' bug."""
    splits, recipe = load_telco(), load_params().train
    holdout = splits.test.reset_index(drop=True)
    champion = fit_model(splits.train.sample(frac=PILOT, random_state=SEED), recipe)
    candidate = fit_model(splits.train, recipe)
    bugged = holdout.copy()
    seniors = bugged["seniorcitizen"] == 1
    rng = np.random.default_rng(SEED)
    bugged.loc[seniors, "tenure"] = rng.permutation(bugged.loc[seniors, "tenure"].to_numpy())
    return (
        holdout,
        predict_scores(champion, holdout),
        predict_scores(candidate, holdout),
        predict_scores(candidate, bugged),
    )


def test_the_shipped_gate_protects_gender_and_senior_citizens() -> None:
    params = load_params()
    assert {"gender", "seniorcitizen"} <= set(params.gate.protected_attributes)
    assert {"gender", "seniorcitizen"} <= set(params.evaluate.slices)  # measured, then gated


def test_a_candidate_worse_for_senior_citizens_is_blocked_by_that_slice(
    scored: tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    holdout, champion, _, broken_for_seniors = scored
    decision = _decide(load_params(), holdout, broken_for_seniors, champion)
    assert not decision.promote
    assert [c.check for c in decision.failures] == ["non-inferior on seniorcitizen=1"]
    senior = decision.failures[0]
    assert senior.comparison is not None
    assert senior.comparison.high < 0  # worse for seniors, with the whole interval
    assert senior.comparison.counts.positives >= 50  # enough churners to be gated
    gated = {c.check for c in decision.slice_checks}
    assert {"non-inferior on gender=Female", "non-inferior on gender=Male"} <= gated
    assert "non-inferior on seniorcitizen=0" in gated


def test_the_same_candidate_without_the_bug_is_promoted(
    scored: tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    holdout, champion, candidate, _ = scored
    decision = _decide(load_params(), holdout, candidate, champion)
    assert decision.promote, decision.render()
