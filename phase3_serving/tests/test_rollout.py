"""Rollout against the real service: a bad challenger's canary is rolled back; shadow logs both."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.telco import load_telco
from phase2_pipelines.pipeline import run_pipeline
from phase2_pipelines.registry import CHALLENGER, CHAMPION, Registry
from phase2_pipelines.tests.conftest import workdir
from phase3_serving.predlog import read_prediction_log
from phase3_serving.tests.conftest import Trained
from phase3_serving.tests.server import Server, admin_headers, running_server
from phase3_serving.tests.test_service import request_rows

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bad_challenger(trained: Trained) -> str:
    """A model trained on shuffled labels: it answers 200 OK, with scores that mean nothing."""
    splits = load_telco(trained.settings)
    shuffled = splits.train.copy()
    shuffled[LABEL_COLUMN] = np.random.default_rng(0).permutation(shuffled[LABEL_COLUMN])
    bad = run_pipeline(
        trained.params,
        workdir(trained.settings, "bad"),
        trained.settings,
        (shuffled, splits.test),
    )
    assert not bad.decision.promote  # the gate already said no; the canary must catch it too
    return bad.version


@pytest.fixture
def canary_server(trained: Trained, bad_challenger: str, tmp_path: Path) -> Iterator[Server]:
    Registry(trained.params.registry.model_name).stage_challenger(bad_challenger, "canary test")
    with running_server(
        trained.settings,
        tmp_path / "server.log",
        MLOPS_SERVING_CANARY_PERCENT="50",
        MLOPS_SERVING_GUARDRAIL_MIN_REQUESTS="60",
    ) as server:
        yield server


def test_bad_challenger_is_rolled_back_by_the_guardrail(
    canary_server: Server, trained: Trained, bad_challenger: str
) -> None:
    url, registry = canary_server.url, Registry(trained.params.registry.model_name)
    routes: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    rows = request_rows(400)
    for row in rows:  # bounded: 400 requests
        response = httpx.post(f"{url}/v1/predict", json=row)
        statuses[response.status_code] += 1
        if response.status_code == 200:
            routes[response.json()["routed_to"]] += 1
    assert set(statuses) == {200}, statuses  # the canary never failed a request
    assert routes["challenger"] > 0  # the canary really served some customers
    plan = httpx.get(f"{url}/admin/rollout", headers=admin_headers()).json()
    assert plan["mode"] == "off"
    assert "guardrail score_shift_psi" in plan["last_breach"]
    deadline = time.monotonic() + 30
    while registry.version_for(CHALLENGER) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert registry.version_for(CHALLENGER) is None  # retired in the registry
    assert registry.version_for(CHAMPION) == trained.champion.version  # champion untouched
    retired = [e for e in registry.history() if e.action == "retired"]
    assert retired[-1].version == bad_challenger
    assert "score_shift_psi" in retired[-1].reason  # the reason is recorded
    after = [httpx.post(f"{url}/v1/predict", json=row).json()["routed_to"] for row in rows[:50]]
    assert set(after) == {"champion"}  # everyone is back on the champion
    metrics = httpx.get(f"{url}/metrics").text
    assert 'churn_api_canary_rollbacks_total{reason="score_shift_psi"} 1.0' in metrics


def test_shadow_scores_every_request_off_the_response_path(
    trained: Trained, bad_challenger: str, tmp_path: Path
) -> None:
    Registry(trained.params.registry.model_name).stage_challenger(bad_challenger, "shadow test")
    with running_server(
        trained.settings.model_copy(update={"state_dir": tmp_path / "state"}),
        tmp_path / "server.log",
        MLFLOW_TRACKING_URI=trained.settings.tracking_uri,
        MLOPS_SERVING_SHADOW="true",
        MLOPS_SERVING_GUARDRAIL_MAX_SCORE_SHIFT="1000",
    ) as server:
        answers = [httpx.post(f"{server.url}/v1/predict", json=r).json() for r in request_rows(40)]
    assert {a["routed_to"] for a in answers} == {"champion"}  # users only see the champion
    log = read_prediction_log(tmp_path / "state" / "predictions")
    assert len(log) == 40
    assert log["shadow_probability"].notna().all()  # both scores logged for every row
    assert set(log["shadow_version"]) == {bad_challenger}
    assert not np.allclose(log["shadow_probability"], log["churn_probability"])
