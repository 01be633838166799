"""Stage ``gate``: score the champion on the candidate's holdout rows and decide promotion.

It reads the registry (who is champion now), so DVC always runs it (``always_changed``): a
decision restored from DVC's run cache would have been made against an older champion.
"""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd

from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN
from phase1_foundations.settings import Settings, get_settings
from phase2_pipelines.evaluate import EvaluationReport, slice_values
from phase2_pipelines.gate import GateDecision, HoldoutComparison, decide_promotion
from phase2_pipelines.params import PipelineParams
from phase2_pipelines.train import model_structure, predict_scores
from phase2_pipelines.workdir import SCORE_COLUMN, StageError, WorkDir, read_json, write_json

CHAMPION_SCORE_COLUMN = "champion_score"


class StaleScores(StageError):  # noqa: N818 - names the condition
    """evaluate's per-row scores are not for the holdout that ingest wrote."""


def score_champion(
    params: PipelineParams, holdout: pd.DataFrame, settings: Settings
) -> tuple[str, np.ndarray, dict[str, str]] | None:
    """The champion's version, its scores on ``holdout`` and its structure, or None if there is
    no champion."""
    import mlflow.sklearn

    from phase2_pipelines.registry import CHAMPION, Registry
    from phase2_pipelines.tracking import configure_mlflow

    configure_mlflow(settings)
    version = Registry(params.registry.model_name).version_for(CHAMPION)
    if version is None:
        return None
    champion = mlflow.sklearn.load_model(f"models:/{params.registry.model_name}/{version}")
    return version, predict_scores(champion, holdout), model_structure(champion)


def gate(params: PipelineParams, work: WorkDir, settings: Settings | None = None) -> GateDecision:
    """Decide promotion against the champion on the same holdout rows; record the evidence."""
    settings = settings or get_settings()
    candidate = EvaluationReport.from_dict(read_json(work.evaluate / "metrics.json"))
    holdout = pd.read_parquet(work.ingest / "holdout.parquet")
    scored = pd.read_parquet(work.evaluate / "scores.parquet")
    if not np.array_equal(scored[ID_COLUMN].to_numpy(), holdout[ID_COLUMN].to_numpy()):
        raise StaleScores("evaluate's scores are for other rows than the holdout: run evaluate")
    champion = score_champion(params, holdout, settings)
    comparison = None
    work.gate.mkdir(parents=True, exist_ok=True)
    (work.gate / "paired_scores.parquet").unlink(missing_ok=True)
    if champion is not None:
        version, champion_scores, champion_structure = champion
        candidate_structure = model_structure(joblib.load(work.train / "model.joblib"))
        comparison = HoldoutComparison(
            labels=holdout[LABEL_COLUMN].to_numpy(),
            candidate=scored[SCORE_COLUMN].to_numpy(),
            champion=champion_scores,
            slices=slice_values(holdout, params.evaluate),
            champion_version=version,
            same_structure=candidate_structure == champion_structure,
        )
        scored.assign(**{CHAMPION_SCORE_COLUMN: champion_scores}).to_parquet(
            work.gate / "paired_scores.parquet", index=False
        )
    decision = decide_promotion(candidate, comparison, params.gate)
    write_json(work.gate / "gate.json", decision.to_dict())
    return decision


def main(params: PipelineParams, work: WorkDir) -> str:
    return gate(params, work).render()
