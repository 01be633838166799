"""A model's identity includes its structure: two pipelines that score alike but run differently
(an extra step) are different models, and the same pipeline reads the same in every process and
fits the same whatever the machine's threads."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_limits

from phase1_foundations.contract import LABEL_COLUMN, to_model_frame
from phase2_pipelines.params import load_params
from phase2_pipelines.train import build_model, fit_model, model_structure, predict_scores

IN_A_NEW_PROCESS = (
    "import json; from phase2_pipelines.params import load_params; "
    "from phase2_pipelines.train import build_model; "
    "from phase2_pipelines.train import model_structure; "
    "print(json.dumps(model_structure(build_model(load_params().train))))"
)


def test_an_extra_step_is_a_different_structure() -> None:
    model = build_model(load_params().train)
    extra = Pipeline([("passthrough", FunctionTransformer()), *model.steps])
    assert model_structure(extra) != model_structure(model)
    assert "passthrough" in set(model_structure(extra)) - set(model_structure(model))


def test_a_hyperparameter_is_part_of_the_structure() -> None:
    default = load_params().train
    other = default.model_copy(
        update={"logreg": default.logreg.model_copy(update={"C": default.logreg.C * 2})}
    )
    assert model_structure(build_model(other)) != model_structure(build_model(default))


def test_the_structure_is_the_same_in_another_process() -> None:
    done = subprocess.run(
        [sys.executable, "-c", IN_A_NEW_PROCESS], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == model_structure(build_model(load_params().train))


@pytest.mark.parametrize("family", ["logreg", "hgb"])
def test_a_fit_on_one_thread_is_the_fit_on_two(telco_sample: pd.DataFrame, family: str) -> None:
    """``fit_model`` and ``predict_scores`` keep native code to one thread (for speed); the model
    must be the one two threads fit, to the bit, or a model's identity (its holdout scores' hash)
    would depend on the machine."""
    params = load_params().train.model_copy(update={"family": family})
    features, labels = to_model_frame(telco_sample), telco_sample[LABEL_COLUMN].to_numpy()
    with threadpool_limits(limits=2):  # BLAS and OpenMP alike
        two = build_model(params).fit(features, labels)
        two_scores = two.predict_proba(features)[:, 1]
    one = fit_model(telco_sample, params)
    assert model_structure(one) == model_structure(two)
    assert np.array_equal(predict_scores(one, telco_sample), two_scores)


def test_same_scores_from_another_pipeline_are_not_the_champion() -> None:
    """A slower pipeline with the champion's scores is a new version that is not better; only
    the same pipeline with the same scores is 'the champion'."""
    from phase2_pipelines.evaluate import evaluate_scores
    from phase2_pipelines.gate import HoldoutComparison, decide_promotion
    from phase2_pipelines.tests.conftest import evaluate_params

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 2000)
    scores = np.clip(labels * 0.3 + rng.random(2000) * 0.7, 0, 1)
    report = evaluate_scores(
        pd.DataFrame(index=range(2000)),
        labels,
        scores,
        evaluate_params(slices=[], contact_rule="fixed"),
    )
    for same, expected in [(True, True), (False, False)]:
        comparison = HoldoutComparison(
            labels=labels,
            candidate=scores,
            champion=scores.copy(),
            slices={},
            champion_version="1",
            same_structure=same,
        )
        decision = decide_promotion(report, comparison, load_params().gate)
        assert decision.same_as_champion is expected
        assert decision.promote is False
