"""Two uvicorn workers follow one rollout plan, pool their guardrail evidence, and start fresh
for a new challenger.

Each request below is sent on a new connection, so the kernel spreads them over both workers;
``GET /admin/rollout`` says which worker answered, and each prediction-log segment is named by
the process that wrote it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from phase2_pipelines.registry import Registry
from phase3_serving.predlog import read_prediction_log
from phase3_serving.rollout import canary_bucket
from phase3_serving.tests.conftest import Trained
from testing.champions import register
from testing.payloads import request_rows
from testing.server import Server, admin_headers, running_server

pytestmark = pytest.mark.slow
WORKERS = 2
CANARY_PERCENT = 30.0
CONNECTIONS = 40
WAIT_S = 30.0


@pytest.fixture(scope="module")
def challengers(trained: Trained) -> tuple[str, str]:
    """Two healthy challengers: the configured pipeline on two halves of the training rows."""
    from phase1_foundations.telco import load_telco

    splits = load_telco(trained.settings)
    first = splits.train.iloc[::2]
    second = splits.train.iloc[1::2]
    return (
        register(trained.settings, trained.params, "half-a", window=(first, splits.test)),
        register(trained.settings, trained.params, "half-b", window=(second, splits.test)),
    )


@pytest.fixture
def server(trained: Trained, challengers: tuple[str, str], tmp_path: Path) -> Iterator[Server]:
    Registry(trained.params.registry.model_name).stage_challenger(challengers[0], "workers test")
    prometheus = tmp_path / "prometheus"
    prometheus.mkdir()
    with running_server(
        trained.settings.model_copy(update={"state_dir": tmp_path / "state"}),
        tmp_path / "server.log",
        workers=WORKERS,
        MLFLOW_TRACKING_URI=trained.settings.tracking_uri,
        PROMETHEUS_MULTIPROC_DIR=str(prometheus),
    ) as running:
        yield running


@functools.cache
def closing_client() -> httpx.Client:
    """One client for the module (each new one costs a TLS context, about 20 ms of CPU); its
    requests still close their connections."""
    return httpx.Client(headers={"Connection": "close"}, timeout=30)


def fresh(url: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request on a connection of its own (so any worker may take it)."""
    return closing_client().request(method, url + path, **kwargs)


def every_worker(url: str, agree: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """``GET /admin/rollout`` over many connections until every worker has answered and agrees."""
    deadline = time.monotonic() + WAIT_S
    while True:
        answers = [
            fresh(url, "GET", "/admin/rollout", headers=admin_headers()).json()
            for _ in range(CONNECTIONS)
        ]
        workers = {a["worker"] for a in answers}
        if len(workers) == WORKERS and all(agree(a) for a in answers):
            return answers
        assert time.monotonic() < deadline, answers[-WORKERS:]
        time.sleep(0.5)


def test_a_plan_set_through_one_worker_is_in_force_on_all(
    server: Server, trained: Trained, challengers: tuple[str, str], tmp_path: Path
) -> None:
    first, second = challengers
    every_worker(server.url, lambda a: a["challenger_version"] == first)
    body = {"mode": "canary", "canary_percent": CANARY_PERCENT}
    plan = fresh(server.url, "POST", "/admin/rollout", json=body, headers=admin_headers()).json()
    assert plan["mode"] == "canary"

    answers = every_worker(server.url, lambda a: a["plan_id"] == plan["plan_id"])
    assert {(a["mode"], a["canary_percent"]) for a in answers} == {("canary", CANARY_PERCENT)}

    rows = request_rows(200)
    routes = [fresh(server.url, "POST", "/v1/predict", json=row).json() for row in rows]
    expected = [
        "challenger" if canary_bucket(r["customerid"]) < CANARY_PERCENT else "champion"
        for r in rows
    ]
    assert [r["routed_to"] for r in routes] == expected  # the same sticky split on every worker
    canary_rows = expected.count("challenger")
    assert canary_rows > 30

    # Guardrail evidence is pooled: every worker reports everyone's challenger requests.
    every_worker(server.url, lambda a: a["guardrails"]["requests"] == canary_rows)

    # A new challenger starts from nothing, on every worker.
    Registry(trained.params.registry.model_name).stage_challenger(
        second, "workers test: a new challenger"
    )
    fresh(server.url, "POST", "/admin/reload", headers=admin_headers())  # one worker; the
    answers = every_worker(  # other picks it up at its next poll
        server.url, lambda a: a["challenger_version"] == second and a["plan_id"] == plan["plan_id"]
    )
    assert {a["guardrails"]["requests"] for a in answers} == {0}

    server.stop()  # graceful: every worker flushes its log
    log = read_prediction_log(tmp_path / "state" / "predictions")
    files = sorted((tmp_path / "state" / "predictions").glob("date=*/part-*.parquet"))
    writers = {path.name.split("-")[2] for path in files}  # part-<time>-<pid>-<seq>
    assert len(writers) == WORKERS  # both workers served and logged
    by_writer = pd.concat(
        [pd.read_parquet(path).assign(pid=path.name.split("-")[2]) for path in files]
    )
    challenger_rows = by_writer[by_writer["routed_to"] == "challenger"]
    assert challenger_rows["pid"].nunique() == WORKERS  # each routed canary customers
    assert len(log) == len(rows)
