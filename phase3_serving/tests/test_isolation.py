"""One row the model cannot score fails only its own request, with a JSON body.

The champion here is a real registered pipeline that raises for some valid customers (``np.log``
of a zero tenure, see ``testing/champions.py``). A poisoned request and a poisoned batch are sent
at the same moment as good ones, so the poisoned row shares a micro-batched model call with them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN
from phase1_foundations.settings import Settings
from phase1_foundations.telco import load_telco
from phase2_pipelines.params import PipelineParams, load_params
from phase3_serving.tests.conftest import oracle_scores, registered_pipeline
from testing.champions import log_pipeline, make_champion, register
from testing.server import metric, running_server
from testing.store import isolated_mlflow

pytestmark = pytest.mark.slow
GOOD_SINGLES = 15
BATCH_WAIT_MS = "1000"  # long enough that every concurrent single lands in one call


@pytest.fixture(scope="module")
def poisoned(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Settings, PipelineParams, str]]:
    with (
        pytest.MonkeyPatch.context() as patch,
        isolated_mlflow(patch, tmp_path_factory.mktemp("poisoned") / "var") as settings,
    ):
        params, splits = load_params(), load_telco(settings)
        window = (splits.train[splits.train["tenure"] > 0], splits.test[splits.test["tenure"] > 0])
        version = register(settings, params, "log", log_pipeline, window)
        make_champion(params, version)
        yield settings, params, version


def _json_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = frame.drop(columns=[LABEL_COLUMN]).astype(object).to_dict("records")
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in rows]


def test_a_poisoned_row_fails_only_its_own_request(
    poisoned: tuple[Settings, PipelineParams, str], tmp_path: Path
) -> None:
    settings, params, version = poisoned
    test = load_telco(settings).test
    good = test[test["tenure"] > 0].iloc[: GOOD_SINGLES + 10]
    poison = {**_json_rows(good.iloc[[0]])[0], "tenure": 0, ID_COLUMN: "POISON-1"}
    singles = _json_rows(good.iloc[:GOOD_SINGLES])
    good_batch = _json_rows(good.iloc[GOOD_SINGLES:])
    bad_batch = [*good_batch[:3], {**poison, ID_COLUMN: "POISON-2"}, *good_batch[3:]]

    async def send_all(url: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            return await asyncio.gather(
                *(client.post("/v1/predict", json=row) for row in singles),
                client.post("/v1/predict", json=poison),
                client.post("/v1/predict/batch", json={"rows": good_batch}),
                client.post("/v1/predict/batch", json={"rows": bad_batch}),
            )

    with running_server(
        settings, tmp_path / "server.log", MLOPS_SERVING_BATCH_WAIT_MS=BATCH_WAIT_MS
    ) as server:
        answers = asyncio.run(send_all(server.url))
        calls = metric(server.url, "churn_api_microbatch_rows_count")
        rows_in_calls = metric(server.url, "churn_api_microbatch_rows_sum")
        model_errors = metric(server.url, "churn_api_model_errors_total")
    *good_answers, poisoned_answer, good_batch_answer, bad_batch_answer = answers

    # The poisoned row shared one model call with every good single row.
    assert (calls, rows_in_calls) == (1, GOOD_SINGLES + 1)
    # Only the poisoned requests failed, each with a JSON body naming what failed.
    assert poisoned_answer.status_code == 500
    body = poisoned_answer.json()
    assert body["detail"][0]["field"] == "body"
    assert body["detail"][0]["problem"] == "model error"
    assert body["request_id"] in body["detail"][0]["message"]
    assert "Traceback" not in poisoned_answer.text
    assert "infinity" not in poisoned_answer.text  # the model's error stays in the log
    assert bad_batch_answer.status_code == 500
    assert [d["field"] for d in bad_batch_answer.json()["detail"]] == ["rows.3"]
    assert model_errors == 2
    assert "Input X contains infinity" in server.log()  # the detail, for whoever runs it
    # Everyone else got 200 and the registered model's own scores.
    assert [a.status_code for a in (*good_answers, good_batch_answer)] == [200] * (GOOD_SINGLES + 1)
    oracle = oracle_scores(registered_pipeline(settings, params.registry.model_name, version), good)
    served = [a.json()["churn_probability"] for a in good_answers]
    served += [p["churn_probability"] for p in good_batch_answer.json()["predictions"]]
    assert np.max(np.abs(np.array(served) - oracle)) < 1e-9
