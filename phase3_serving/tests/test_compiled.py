"""The compiled fast path equals the fitted pipeline, and refuses pipelines it cannot prove."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from phase1_foundations.contract import LABEL_COLUMN
from phase2_pipelines.params import load_params
from phase2_pipelines.train import fit_model
from phase3_serving.compiled import LinearScorer, probe_frame


@pytest.fixture(scope="module")
def fitted(telco_sample_raw: pd.DataFrame) -> tuple[object, pd.DataFrame]:
    from phase1_foundations.telco import clean_telco

    frame = clean_telco(telco_sample_raw)
    return fit_model(frame, load_params().train), frame


def test_fast_path_equals_the_pipeline(fitted: tuple[object, pd.DataFrame]) -> None:
    pipeline, frame = fitted
    scorer = LinearScorer.compile(pipeline)
    assert scorer is not None
    expected = pipeline.predict_proba(frame.drop(columns=[LABEL_COLUMN]))[:, 1]  # type: ignore[attr-defined]
    records = frame.drop(columns=[LABEL_COLUMN]).astype(object).to_dict("records")
    assert np.max(np.abs(scorer.score_records(records) - expected)) < 1e-12
    assert np.max(np.abs(scorer.score_frame(frame) - expected)) < 1e-12


def test_probe_covers_every_category() -> None:
    probe = probe_frame()
    assert probe["paymentmethod"].nunique() == 4
    assert probe["tenure"].between(0, 120).all()


def test_other_model_families_have_no_fast_path(telco_sample: pd.DataFrame) -> None:
    hgb = fit_model(telco_sample, load_params().train.model_copy(update={"family": "hgb"}))
    assert LinearScorer.compile(hgb) is None  # the service calls the pipeline itself


def test_a_tampered_scorer_fails_its_proof(
    fitted: tuple[object, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline, _ = fitted
    original = LinearScorer.score_records

    def off_by_a_little(self: LinearScorer, rows: list[dict[str, object]]) -> np.ndarray:
        return original(self, rows) + 1e-6  # type: ignore[arg-type]

    monkeypatch.setattr(LinearScorer, "score_records", off_by_a_little)
    assert LinearScorer.compile(pipeline) is None  # a wrong fast path is never used
