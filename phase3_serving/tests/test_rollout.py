"""Rollout against the real service: a skewed challenger's canary (its package reads tenure in
years) is rolled back with its evidence; a slow challenger in shadow never delays the champion's
answers; both scores are logged."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.telco import load_telco
from phase2_pipelines.evidence import Verdict
from phase2_pipelines.registry import CHALLENGER, CHAMPION, Registry
from phase3_serving.guardrails import GuardrailDecision
from phase3_serving.predlog import read_prediction_log
from phase3_serving.tests.conftest import (
    Trained,
    guardrail_params,
    oracle_scores,
    registered_pipeline,
)
from testing.champions import SLOW_CALL_S, register, register_skewed, slow_pipeline
from testing.payloads import request_rows
from testing.server import Server, admin_headers, metric, running_server

pytestmark = pytest.mark.slow
LOOKS = [60, 150]  # a short schedule, so the test needs few requests


@pytest.fixture(scope="module")
def bad_challenger(trained: Trained) -> str:
    """A model trained on shuffled labels: it answers 200 OK, with scores that mean nothing."""
    splits = load_telco(trained.settings)
    shuffled = splits.train.copy()
    shuffled[LABEL_COLUMN] = np.random.default_rng(0).permutation(shuffled[LABEL_COLUMN])
    return register(trained.settings, trained.params, "bad", window=(shuffled, splits.test))


@pytest.fixture(scope="module")
def skewed_challenger(trained: Trained) -> str:
    """Trained (on 90% of the rows: another model than the champion) and evaluated as usual,
    served with tenure in years: it answers 200 OK, with scores elsewhere than evaluated."""
    splits = load_telco(trained.settings)
    window = (splits.train.sample(frac=0.9, random_state=0), splits.test)
    return register_skewed(trained.settings, trained.params, "skewed", window, "tenure", 1 / 12)


@pytest.fixture(scope="module")
def slow_challenger(trained: Trained) -> str:
    return register(trained.settings, trained.params, "slow", slow_pipeline)


@pytest.fixture
def canary_server(trained: Trained, skewed_challenger: str, tmp_path: Path) -> Iterator[Server]:
    Registry(trained.params.registry.model_name).stage_challenger(skewed_challenger, "canary")
    with running_server(
        trained.settings.model_copy(update={"state_dir": tmp_path / "state"}),
        tmp_path / "server.log",
        MLFLOW_TRACKING_URI=trained.settings.tracking_uri,
        MLOPS_SERVING_CANARY_PERCENT="50",
        MLOPS_SERVING_PARAMS_FILE=str(guardrail_params(tmp_path, looks=LOOKS)),
    ) as server:
        yield server


def test_a_skewed_challenger_is_rolled_back_by_the_guardrail_with_its_evidence(
    canary_server: Server, trained: Trained, skewed_challenger: str
) -> None:
    url, registry = canary_server.url, Registry(trained.params.registry.model_name)
    routes: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    rows = request_rows(400)
    with httpx.Client(base_url=url) as client:  # one client: each new one costs a TLS context
        for row in rows:  # bounded: 400 requests
            response = client.post("/v1/predict", json=row)
            statuses[response.status_code] += 1
            if response.status_code == 200:
                routes[response.json()["routed_to"]] += 1
    assert set(statuses) == {200}, statuses  # the canary never failed a request
    assert routes["challenger"] >= 60  # the canary really served customers: a look was due
    assert skewed_challenger != trained.champion.version
    deadline = time.monotonic() + 30
    while registry.version_for(CHALLENGER) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    plan = httpx.get(f"{url}/admin/rollout", headers=admin_headers()).json()
    assert plan["mode"] == "off", json.dumps(plan)
    assert plan["source"] == "guardrail"
    breach = plan["last_breach"]
    assert breach["challenger_version"] == skewed_challenger
    assert "score_skew_psi" in breach["reason"]
    assert "lower bound" in breach["reason"]  # the evidence: estimate, bound, limit, n
    verdict = GuardrailDecision.model_validate(breach["verdict"])
    skew = verdict.named("score_skew_psi")
    assert skew is not None
    assert skew.breached
    assert skew.bound is not None
    assert skew.bound.value > skew.bound.threshold == 0.25
    assert skew.bound.n == len(load_telco().test)  # the probe: the holdout phase 2 evaluated
    (business,) = verdict.reported  # the business view, reported beside the tests
    assert business.metric == "score_shift_psi"
    assert business.threshold is None
    assert business.n >= 60
    assert registry.version_for(CHALLENGER) is None  # retired in the registry
    assert registry.version_for(CHAMPION) == trained.champion.version  # champion untouched
    retired = [e for e in registry.history() if e.action == "retired"]
    assert retired[-1].version == skewed_challenger
    assert "score_skew_psi" in retired[-1].reason  # the reason is recorded
    with httpx.Client(base_url=url) as client:
        after = [client.post("/v1/predict", json=row).json()["routed_to"] for row in rows[:50]]
    assert set(after) == {"champion"}  # everyone is back on the champion
    rollbacks = metric(url, "churn_api_canary_rollbacks_total", reason="score_skew_psi")
    assert rollbacks == 1


def test_a_slow_shadow_never_delays_the_champions_answers(
    trained: Trained, slow_challenger: str, tmp_path: Path
) -> None:
    Registry(trained.params.registry.model_name).stage_challenger(slow_challenger, "shadow test")
    rows = request_rows(30)
    latencies: list[float] = []
    with running_server(
        trained.settings.model_copy(update={"state_dir": tmp_path / "state"}),
        tmp_path / "server.log",
        MLFLOW_TRACKING_URI=trained.settings.tracking_uri,
        MLOPS_SERVING_SHADOW="true",
    ) as server:
        with httpx.Client(base_url=server.url) as client:
            answers = []
            for row in rows:
                started = time.perf_counter()
                answers.append(client.post("/v1/predict", json=row).json())
                latencies.append(time.perf_counter() - started)
        deadline = time.monotonic() + 30  # the shadow catches up after the answers
        while (
            metric(server.url, "churn_api_model_call_seconds_count", role="shadow") == 0
            or len(read_prediction_log(tmp_path / "state" / "predictions")) < len(rows)
        ) and time.monotonic() < deadline:
            time.sleep(0.2)
        shadow_calls = metric(server.url, "churn_api_model_call_seconds_count", role="shadow")
        shadow_s = metric(server.url, "churn_api_model_call_seconds_sum", role="shadow")
    shadow_call_s = shadow_s / shadow_calls
    print(
        f"\nshadow calls: {shadow_calls:.0f} of {shadow_call_s * 1000:.0f} ms on average;"
        f" champion answers: worst {max(latencies) * 1000:.1f} ms"
    )
    assert shadow_call_s >= SLOW_CALL_S  # the shadow really is slow
    assert max(latencies) < shadow_call_s / 3  # no answer waited for it
    assert {a["routed_to"] for a in answers} == {"champion"}  # users only see the champion
    log = read_prediction_log(tmp_path / "state" / "predictions")
    assert len(log) == len(rows)
    assert set(log["shadow_version"]) == {slow_challenger}  # both scores logged for every row
    expected = oracle_scores(
        registered_pipeline(trained.settings, trained.params.registry.model_name, slow_challenger),
        load_telco().test.iloc[: len(rows)],
    )
    logged = log.set_index("customerid").loc[[r["customerid"] for r in rows]]
    assert np.max(np.abs(logged["shadow_probability"].to_numpy() - expected)) < 1e-9


def test_shadow_logs_both_scores_and_the_log_reads_as_one_data_set(
    trained: Trained, bad_challenger: str, tmp_path: Path
) -> None:
    """Segments from before shadow mode (no shadow score) and during it read together."""
    import pandas as pd

    registry = Registry(trained.params.registry.model_name)
    registry.stage_challenger(bad_challenger, "shadow test")
    state = trained.settings.model_copy(update={"state_dir": tmp_path / "state"})
    with (
        running_server(
            state,
            tmp_path / "server.log",
            MLFLOW_TRACKING_URI=trained.settings.tracking_uri,
            MLOPS_SERVING_PARAMS_FILE=str(guardrail_params(tmp_path, max_score_shift=1000)),
        ) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        before = [client.post("/v1/predict", json=r) for r in request_rows(20)]
        deadline = time.monotonic() + 30
        while len(read_prediction_log(tmp_path / "state" / "predictions")) < 20:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        body = {"mode": "shadow"}
        client.post("/admin/rollout", json=body, headers=admin_headers())
        during = [client.post("/v1/predict", json=r) for r in request_rows(20, 20)]
    assert {a.status_code for a in before + during} == {200}
    whole = pd.read_parquet(tmp_path / "state" / "predictions")  # as phase 4 reads it
    assert len(whole) == 40
    shadowed = whole[whole["shadow_version"].notna()]
    assert len(shadowed) == 20
    assert set(shadowed["shadow_version"]) == {bad_challenger}
    assert shadowed["shadow_probability"].notna().all()
    assert not np.allclose(shadowed["shadow_probability"], shadowed["churn_probability"])
    assert whole.loc[whole["shadow_version"].isna(), "shadow_probability"].isna().all()


def test_a_shadow_that_scores_as_it_did_offline_passes_however_far_it_moved(
    trained: Trained, bad_challenger: str, tmp_path: Path
) -> None:
    """The challenger trained on shuffled labels scores nothing like the champion (its canary
    is rolled back, above), yet it scores live exactly as phase 2 evaluated it: no skew, so its
    shadow passes. The shadow makes one challenger call per request, whatever the timing."""
    Registry(trained.params.registry.model_name).stage_challenger(bad_challenger, "shadow test")
    requests, per_request = 8, 25
    with running_server(
        trained.settings.model_copy(update={"state_dir": tmp_path / "state"}),
        tmp_path / "server.log",
        MLFLOW_TRACKING_URI=trained.settings.tracking_uri,
        MLOPS_SERVING_SHADOW="true",
        MLOPS_SERVING_PARAMS_FILE=str(guardrail_params(tmp_path, looks=LOOKS)),
    ) as server:
        for index in range(requests):
            rows = request_rows(per_request, index * per_request)
            answer = httpx.post(f"{server.url}/v1/predict/batch", json={"rows": rows})
            assert answer.status_code == 200
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            plan = httpx.get(f"{server.url}/admin/rollout", headers=admin_headers()).json()
            verdict = plan["looks"]["last_verdict"]
            if plan["guardrails"]["requests"] >= 150 and verdict and verdict["look"] == 2:
                break
            time.sleep(0.2)
    assert plan["mode"] == "shadow"  # not rolled back
    assert plan["guardrails"]["calls"] == requests  # one shadow call per request
    checks = {c.check: c for c in GuardrailDecision.model_validate(verdict).checks}
    assert set(checks) == {"error_rate", "p95_latency_ms", "score_skew_psi"}
    skew = checks["score_skew_psi"]
    assert skew.verdict is Verdict.OK
    assert skew.estimate is not None
    assert skew.estimate.value < 1e-6
    assert skew.estimate.n == len(load_telco().test)  # the holdout phase 2 evaluated it on
    assert checks["p95_latency_ms"].verdict is Verdict.INSUFFICIENT  # 8 calls < 20
    assert plan["guardrails"]["score_skew_psi"] < 1e-6
    assert plan["guardrails"]["probe_differing"] == 0
    assert plan["guardrails"]["score_shift_psi"] > 0.25  # far from the champion, reported
