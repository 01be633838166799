"""Metrics, the business value and slices, checked against numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from phase2_pipelines.evaluate import compute_metrics, evaluate_scores, net_value, slice_columns
from phase2_pipelines.params import BusinessParams
from phase2_pipelines.tests.conftest import evaluate_params

BUSINESS = BusinessParams(contact_cost=10.0, retained_value=300.0, save_rate=0.3)


def test_net_value_by_hand() -> None:
    labels = np.array([1, 1, 0, 0, 1])
    contacted = np.array([True, True, True, False, False])
    # 2 contacted churners * 0.3 * 300 = 180 kept; 3 contacts * 10 = 30 spent.
    assert net_value(labels, contacted, BUSINESS) == pytest.approx(150.0)


def test_metrics_at_the_threshold() -> None:
    labels = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.6, 0.4, 0.9])
    metrics = compute_metrics(labels, scores, threshold=0.5, business=BUSINESS)
    assert metrics.roc_auc == pytest.approx(0.75)  # 3 of 4 pairs ranked right
    assert metrics.precision == pytest.approx(0.5)  # contacted: 0.6 (stays), 0.9 (churns)
    assert metrics.recall == pytest.approx(0.5)
    assert metrics.contacted_share == pytest.approx(0.5)
    assert metrics.brier == pytest.approx(np.mean((scores - labels) ** 2))
    assert metrics.net_value == pytest.approx(90.0 - 20.0)


def test_one_class_slice_has_no_ranking_metrics() -> None:
    metrics = compute_metrics(np.array([0, 0, 0]), np.array([0.2, 0.3, 0.1]), 0.5, BUSINESS)
    assert math.isnan(metrics.roc_auc)  # undefined, not 0.5 or an error
    assert math.isnan(metrics.recall)
    assert metrics.net_value == 0.0  # nobody contacted


def test_tenure_bands_follow_the_configured_edges() -> None:
    frame = pd.DataFrame({"tenure": [0, 11, 12, 47, 48, 72]})
    bands = slice_columns(frame, evaluate_params(slices=("tenure_band",)))["tenure_band"]
    assert bands.astype(str).tolist() == [
        "000-011m", "000-011m", "012-023m", "024-047m", "048-120m", "048-120m",
    ]  # fmt: skip


def test_every_slice_value_is_reported(telco_like: pd.DataFrame) -> None:
    labels = telco_like["churn"].to_numpy()
    scores = np.linspace(0.01, 0.99, len(labels))
    report = evaluate_scores(telco_like, labels, scores, evaluate_params(contact_rule="fixed"))
    assert set(report.slices) == {
        "contract",
        "tenure_band",
        "internetservice",
        "gender",
        "seniorcitizen",
    }
    assert set(report.slices["seniorcitizen"]) == {"0", "1"}  # a protected attribute, measured
    assert set(report.slices["contract"]) == set(telco_like["contract"].astype(str))
    assert sum(m.n for m in report.slices["contract"].values()) == len(telco_like)
    assert "slice.contract.Two year.roc_auc" in report.flat_metrics()


@pytest.fixture
def telco_like() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 200
    return pd.DataFrame(
        {
            "contract": rng.choice(["Month-to-month", "One year", "Two year"], n),
            "internetservice": rng.choice(["DSL", "Fiber optic", "No"], n),
            "tenure": rng.integers(0, 73, n),
            "gender": rng.choice(["Female", "Male"], n),
            "seniorcitizen": rng.integers(0, 2, n),
            "churn": rng.integers(0, 2, n),
        }
    )
