"""The real service under uvicorn on 127.0.0.1: answers, rejections, metrics, the prediction log."""

from __future__ import annotations

import math
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from phase1_foundations.contract import FEATURE_NAMES, ID_COLUMN
from phase1_foundations.telco import load_telco
from phase2_pipelines.registry import CHECKSUM_TAG, Registry
from phase3_serving.predlog import read_prediction_log
from phase3_serving.schemas import BatchResponse, ErrorResponse, PredictResponse
from phase3_serving.tests.conftest import (
    Trained,
    guardrail_params,
    oracle_scores,
    registered_pipeline,
)
from testing.payloads import request_rows
from testing.server import (
    Server,
    admin_headers,
    running_server,
    server_env,
    uvicorn_command,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    with running_server(
        trained.settings,
        log,
        MLOPS_SERVING_MAX_BATCH_ROWS="50",
        MLOPS_SERVING_MAX_BODY_BYTES="200000",
    ) as running:
        yield running


def test_health(server: Server, trained: Trained) -> None:
    assert httpx.get(f"{server.url}/health/live").json() == {"status": "alive"}
    ready = httpx.get(f"{server.url}/health/ready").json()
    assert ready == {"status": "ready", "model_version": trained.champion.version}


def test_single_prediction_matches_the_registered_pipeline(
    server: Server, trained: Trained
) -> None:
    rows = request_rows(20)
    bodies = [httpx.post(f"{server.url}/v1/predict", json=row).json() for row in rows]
    assert set(bodies[0]) == {
        "request_id",
        "customerid",
        "churn_probability",
        "churn_decision",
        "model_version",
        "routed_to",
    }
    # The oracle: the registered version loaded here, on its own, and its predict_proba.
    pipeline = registered_pipeline(
        trained.settings, trained.params.registry.model_name, trained.champion.version
    )
    expected = oracle_scores(pipeline, load_telco().test.iloc[:20])
    served = np.array([body["churn_probability"] for body in bodies])
    assert np.max(np.abs(served - expected)) < 1e-9
    threshold = trained.threshold  # the run's threshold, as its evaluation chose it
    assert [b["churn_decision"] for b in bodies] == (expected >= threshold).tolist()
    assert {b["model_version"] for b in bodies} == {trained.champion.version}
    assert [b["customerid"] for b in bodies] == [r[ID_COLUMN] for r in rows]
    assert {b["routed_to"] for b in bodies} == {"champion"}


def test_batch_prediction_matches_the_registered_pipeline(server: Server, trained: Trained) -> None:
    rows = request_rows(40, offset=100)
    body = httpx.post(f"{server.url}/v1/predict/batch", json={"rows": rows}).json()
    assert [p["customerid"] for p in body["predictions"]] == [r[ID_COLUMN] for r in rows]
    pipeline = registered_pipeline(
        trained.settings, trained.params.registry.model_name, trained.champion.version
    )
    expected = oracle_scores(pipeline, load_telco().test.iloc[100:140])
    served = np.array([p["churn_probability"] for p in body["predictions"]])
    assert np.max(np.abs(served - expected)) < 1e-9


def _problems(response: httpx.Response) -> set[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return {(d["field"], d["problem"]) for d in response.json()["detail"]}


def test_every_answer_has_exactly_the_documented_fields(server: Server) -> None:
    """The fast path writes its answers as dicts; clients read the OpenAPI document, generated
    from ``schemas.py``. Each answer, success or error, holds exactly the fields documented for
    it, and validates against them: the two shapes cannot drift apart unseen."""
    documented = httpx.get(f"{server.url}/openapi.json").json()["components"]["schemas"]

    def fields(name: str) -> set[str]:
        return set(documented[name]["properties"])

    row = request_rows(1)[0]
    single = httpx.post(f"{server.url}/v1/predict", json=row).json()
    batch = httpx.post(f"{server.url}/v1/predict/batch", json={"rows": request_rows(3)}).json()
    refused = httpx.post(f"{server.url}/v1/predict", json={**row, "tenure": "x"})
    assert refused.status_code == 422
    error = refused.json()
    assert set(single) == fields("PredictResponse")
    assert set(batch) == fields("BatchResponse")
    assert [set(p) for p in batch["predictions"]] == [fields("Prediction")] * 3
    assert set(error) == fields("ErrorResponse")
    assert {frozenset(d) for d in error["detail"]} == {frozenset(fields("FieldError"))}
    PredictResponse.model_validate(single)
    BatchResponse.model_validate(batch)
    ErrorResponse.model_validate(error)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"tenure": None}, ("tenure", "wrong type")),
        ({"tenure": "12"}, ("tenure", "wrong type")),  # text posing as a number
        ({"monthlycharges": 9_999.0}, ("monthlycharges", "out of range")),
        ({"tenure": -1}, ("tenure", "out of range")),
        ({"contract": "Lifetime"}, ("contract", "unknown category")),
        ({"surprise": 1}, ("surprise", "unexpected field")),
        ({"customerid": "has spaces"}, ("customerid", "malformed id")),
    ],
)
def test_bad_field_is_named(
    server: Server, change: dict[str, Any], expected: tuple[str, str]
) -> None:
    row = {**request_rows(1)[0], **change}
    assert expected in _problems(httpx.post(f"{server.url}/v1/predict", json=row))


def test_missing_field_is_named(server: Server) -> None:
    row = request_rows(1)[0]
    del row["paymentmethod"]
    assert _problems(httpx.post(f"{server.url}/v1/predict", json=row)) == {
        ("paymentmethod", "missing")
    }


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_rejected(server: Server, literal: str) -> None:
    row = request_rows(1)[0]
    row["totalcharges"] = 1.5
    raw = httpx.Request("POST", "/", json=row).content.replace(b"1.5", literal.encode())
    response = httpx.post(f"{server.url}/v1/predict", content=raw)
    assert ("totalcharges", "NaN or infinity") in _problems(response)


def test_invalid_json_and_batch_field_paths(server: Server) -> None:
    assert ("body", "invalid JSON") in _problems(
        httpx.post(f"{server.url}/v1/predict", content=b'{"tenure": ')
    )
    rows = request_rows(3)
    rows[2]["tenure"] = 500
    found = _problems(httpx.post(f"{server.url}/v1/predict/batch", json={"rows": rows}))
    assert found == {("rows.2.tenure", "out of range")}


def test_oversized_batch_and_body_get_413_stating_the_limit(server: Server) -> None:
    too_many = httpx.post(f"{server.url}/v1/predict/batch", json={"rows": request_rows(51)})
    assert too_many.status_code == 413
    message = too_many.json()["detail"][0]["message"]
    assert "51 rows" in message
    assert "limit is 50 rows" in message
    too_big = httpx.post(f"{server.url}/v1/predict", content=b" " * 200_001)
    assert too_big.status_code == 413
    message = too_big.json()["detail"][0]["message"]
    assert "200,001 bytes" in message
    assert "limit is 200,000 bytes" in message


def test_model_endpoint_describes_the_champion(server: Server, trained: Trained) -> None:
    info = httpx.get(f"{server.url}/v1/model").json()
    assert info["version"] == trained.champion.version
    assert info["run_id"] == trained.champion.run_id
    assert len(info["data_fingerprint"]) == 64
    assert info["trained_at"].startswith("20")


def test_admin_needs_the_token(server: Server) -> None:
    assert httpx.post(f"{server.url}/admin/reload").status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert httpx.post(f"{server.url}/admin/reload", headers=wrong).status_code == 401
    ok = httpx.post(f"{server.url}/admin/reload", headers=admin_headers())
    assert ok.status_code == 200
    assert ok.json()["champion"] is not None


def test_metrics_expose_service_and_model_health(server: Server, trained: Trained) -> None:
    for row in request_rows(5):
        httpx.post(f"{server.url}/v1/predict", json=row)
    httpx.post(f"{server.url}/v1/predict", json={"tenure": "x"})
    text = httpx.get(f"{server.url}/metrics").text
    version = trained.champion.version
    assert (
        f'churn_api_requests_total{{model_version="{version}",route="/v1/predict",status="200"}}'
        in text
    )
    assert (
        f'churn_api_request_seconds_bucket{{le="0.05",model_version="{version}",route="/v1/predict"}}'
        in text
    )
    assert "churn_api_in_flight_requests" in text
    assert (
        f'churn_api_prediction_score_count{{model_version="{version}",routed_to="champion"}}'
        in text
    )
    assert 'churn_api_rejected_inputs_total{reason="wrong type"}' in text
    assert 'churn_api_rejected_inputs_total{reason="missing"}' in text
    assert f'churn_api_model_info{{alias="champion",version="{version}"}} 1.0' in text


def test_prediction_log_keeps_every_row_after_a_graceful_stop(
    trained: Trained, tmp_path: Path
) -> None:
    state = trained.settings.model_copy(update={"state_dir": tmp_path / "state"})
    # A fresh state dir for the log, pointing at the trained registry.
    with running_server(
        state,
        tmp_path / "log.txt",
        MLFLOW_TRACKING_URI=trained.settings.tracking_uri,
        MLOPS_SERVING_LOG_FLUSH_SECONDS="60",
        MLOPS_SERVING_LOG_FLUSH_ROWS="100000",
    ) as server:
        rows = request_rows(30)
        single = [httpx.post(f"{server.url}/v1/predict", json=r).json() for r in rows[:10]]
        batch = httpx.post(f"{server.url}/v1/predict/batch", json={"rows": rows[10:]}).json()
    # Nothing was flushed while running (60 s, 100k rows); the stop must write everything.
    assert "Application shutdown complete" in server.log()  # graceful (uvicorn re-raises SIGTERM)
    log = read_prediction_log(tmp_path / "state" / "predictions")
    assert len(log) == 30
    assert set(log["request_id"]) == {r["request_id"] for r in single} | {batch["request_id"]}
    assert set(FEATURE_NAMES) <= set(log.columns)
    assert {"churn_probability", "model_version", "routed_to", "timestamp"} <= set(log.columns)
    by_id = log.set_index(ID_COLUMN)
    for response in single:
        logged = by_id.loc[response["customerid"]]
        assert math.isclose(logged["churn_probability"], response["churn_probability"])
    assert (log["routed_to"] == "champion").all()
    assert log["timestamp"].between(pd.Timestamp.now().timestamp() - 600, np.inf).all()
    whole = pd.read_parquet(tmp_path / "state" / "predictions")  # as phase 4 reads it
    assert len(whole) == 30


def test_not_ready_without_a_model_stays_alive(tmp_path: Path, trained: Trained) -> None:
    empty = trained.settings.model_copy(update={"state_dir": tmp_path / "empty"})
    with running_server(empty, tmp_path / "log.txt", wait_ready=False) as server:
        assert httpx.get(f"{server.url}/health/live").status_code == 200
        ready = httpx.get(f"{server.url}/health/ready")
        assert ready.status_code == 503
        assert ready.json() == {"status": "not ready", "reason": "no champion is registered yet"}
        predict = httpx.post(f"{server.url}/v1/predict", json=request_rows(1)[0])
        assert predict.status_code == 503
        assert predict.json() == {"detail": "not ready: no champion is registered yet"}
    lines = [line for line in server.log().splitlines() if line.startswith("not ready")]
    assert len(lines) == 1  # one clear line


def _leaks(text: str, trained: Trained) -> list[str]:
    """Anything in a public answer that names a file, a store or a stack frame."""
    markers = [
        str(trained.settings.state_dir),
        "sqlite",
        "file:",
        "/tmp",
        "Traceback",
        "mlartifacts",
        "checksum",
        "Error",
    ]
    return [marker for marker in markers if marker in text]


def test_public_answers_never_echo_paths_or_stack_details(trained: Trained, tmp_path: Path) -> None:
    """A champion that fails verification: the public sees a reason, the log and admin the
    detail (the artifact's checksum, the store)."""
    registry = Registry(trained.params.registry.model_name)
    version = trained.champion.version
    good = registry.client.get_model_version(registry.name, version).tags[CHECKSUM_TAG]
    registry.client.set_model_version_tag(registry.name, version, CHECKSUM_TAG, "0" * 64)
    try:
        with running_server(trained.settings, tmp_path / "log.txt", wait_ready=False) as server:
            answers = [
                httpx.get(f"{server.url}/health/ready"),
                httpx.get(f"{server.url}/v1/model"),
                httpx.post(f"{server.url}/v1/predict", json=request_rows(1)[0]),
                httpx.post(f"{server.url}/v1/predict/batch", json={"rows": request_rows(2)}),
            ]
            status = httpx.get(f"{server.url}/admin/status", headers=admin_headers()).json()
    finally:
        registry.client.set_model_version_tag(registry.name, version, CHECKSUM_TAG, good)
    assert [a.status_code for a in answers] == [503, 503, 503, 503]
    assert answers[0].json()["reason"] == "the model failed verification"
    for answer in answers:
        assert _leaks(answer.text, trained) == [], answer.text
    assert "checksum" in status["load_errors"]["champion"]  # the detail, for the admin
    assert "artifact checksum" in server.log()  # and in the server log


def test_admin_with_a_short_token_refuses_to_start_in_one_line(
    trained: Trained, tmp_path: Path
) -> None:
    env = server_env(trained.settings, MLOPS_SERVING_ADMIN_TOKEN="changeme")
    done = subprocess.run(
        uvicorn_command(port=0), env=env, capture_output=True, text=True, timeout=120, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    named = [line for line in output.splitlines() if "MLOPS_SERVING_ADMIN_TOKEN" in line]
    assert len(named) == 1, output  # one line says what to set
    assert "shorter than 16 characters" in named[0]
    assert "Traceback" not in output, output
    assert "pydantic" not in output, output


def test_bad_guardrail_params_refuse_to_start_in_one_line(trained: Trained, tmp_path: Path) -> None:
    params = guardrail_params(tmp_path, looks=[500, 200])
    env = server_env(trained.settings, MLOPS_SERVING_PARAMS_FILE=str(params))
    done = subprocess.run(
        uvicorn_command(port=0), env=env, capture_output=True, text=True, timeout=120, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    named = [line for line in output.splitlines() if "serving.guardrails.looks" in line]
    assert len(named) == 1, output  # one line names the file and the field
    assert str(params) in named[0]
    assert "increasing order" in named[0]
    assert "Traceback" not in output, output
