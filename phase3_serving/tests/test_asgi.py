"""The prediction routes, in process: the front door and FastAPI's own routing run the same route
function and give the same answers, every outcome is JSON (an unexpected error too), and each
request is counted once (the live service is tested under uvicorn elsewhere)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from phase3_serving import predict
from phase3_serving.app import create_app
from phase3_serving.asgi import FrontDoor
from phase3_serving.service_metrics import ServiceMetrics

Message = MutableMapping[str, Any]
CUSTOMER = (Path(__file__).resolve().parents[1] / "examples" / "customer.json").read_bytes()
BODY_LIMIT = 4_000
SECRET = "/a/secret/path"


class BrokenBatcher:
    """A batcher with a bug: every call raises."""

    async def score_one(self, row: dict[str, object], request_id: str) -> object:
        raise KeyError(f"a bug, with {SECRET} in it")


def _api(batcher: object) -> FastAPI:
    api = create_app()
    api.state.service = SimpleNamespace(
        metrics=ServiceMetrics(),
        settings=SimpleNamespace(serving_max_body_bytes=BODY_LIMIT, serving_max_batch_rows=10),
        batcher=batcher,
        public_error=None,
    )
    return api


def _call(app: Any, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    sent: list[Message] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert (b"content-type", b"application/json") in start["headers"]
    body_out = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(start["status"]), body_out


def _through(api: FastAPI, door: str) -> Any:
    return FrontDoor(api) if door == "front door" else api


@pytest.mark.parametrize("door", ["front door", "fastapi"])
def test_an_unexpected_error_is_a_json_500_with_a_request_id(door: str) -> None:
    status, body = _call(_through(_api(BrokenBatcher()), door), "POST", "/v1/predict", CUSTOMER)
    assert status == 500
    answer = json.loads(body)
    assert answer["detail"][0]["problem"] == "internal error"
    assert answer["request_id"] in answer["detail"][0]["message"]
    assert SECRET not in body.decode()  # the detail stays in the log


@pytest.mark.parametrize("door", ["front door", "fastapi"])
@pytest.mark.parametrize(
    ("path", "body", "status", "problem"),
    [
        ("/v1/predict", b'{"tenure": -1}', 422, "out of range"),  # a field breaks the contract
        ("/v1/predict/batch", b'{"rows": [1]}', 422, "wrong type"),
        ("/v1/predict", b"{" + b" " * BODY_LIMIT + b"}", 413, "too large"),  # over the limit
    ],
)
def test_both_doors_give_the_same_answer(
    door: str, path: str, body: bytes, status: int, problem: str
) -> None:
    got, answer = _call(_through(_api(BrokenBatcher()), door), "POST", path, body)
    assert got == status
    assert problem in {d["problem"] for d in json.loads(answer)["detail"]}


def test_the_front_door_calls_the_routes_fastapi_documents() -> None:
    api = create_app()
    documented = {
        path for path, operations in api.openapi()["paths"].items() if "post" in operations
    }
    assert {"/v1/predict", "/v1/predict/batch"} <= documented
    direct = FrontDoor(api).direct
    assert direct == {"/v1/predict": predict.predict, "/v1/predict/batch": predict.predict_batch}
    routed = {r.path: r.endpoint for r in predict.router.routes if isinstance(r, APIRoute)}
    assert direct == routed  # the functions FastAPI routes these paths to


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("POST", "/v1/predict", 500), ("GET", "/health/live", 200), ("GET", "/nowhere", 404)],
)
def test_each_request_is_counted_once(method: str, path: str, status: int) -> None:
    api = _api(BrokenBatcher())
    door = FrontDoor(api)
    for _ in range(3):
        got, _ = _call(door, method, path, CUSTOMER if method == "POST" else b"")
        assert got == status
    metrics: ServiceMetrics = api.state.service.metrics
    route = path if path != "/nowhere" else "other"
    labels = {"route": route, "status": str(status), "model_version": predict.NO_MODEL}
    assert metrics.registry.get_sample_value("churn_api_requests_total", labels) == 3
    latency = {"route": route, "model_version": predict.NO_MODEL}
    assert metrics.registry.get_sample_value("churn_api_request_seconds_count", latency) == 3
    assert metrics.registry.get_sample_value("churn_api_in_flight_requests", {}) == 0
