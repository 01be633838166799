"""The ASGI front door answers in JSON whatever happens inside a handler (its own logic, in
process: the live service is tested under uvicorn elsewhere)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI

from phase3_serving import asgi
from phase3_serving.metrics import ServiceMetrics

Message = MutableMapping[str, Any]


def _call(app: asgi.FastPath, body: bytes) -> list[Message]:
    sent: list[Message] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return chunks.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/predict", "headers": []}
    asyncio.run(app(scope, receive, send))
    return sent


def test_an_unexpected_error_is_a_json_500_with_a_request_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(state: object, body: bytes) -> tuple[int, bytes, str]:
        raise KeyError("a bug, with /a/secret/path in it")

    monkeypatch.setitem(asgi.HANDLERS, "/v1/predict", broken)
    api = FastAPI()
    api.state.service = SimpleNamespace(
        metrics=ServiceMetrics(), settings=SimpleNamespace(serving_max_body_bytes=1_000)
    )
    start, body = _call(asgi.FastPath(api), b"{}")
    assert start["status"] == 500
    assert (b"content-type", b"application/json") in start["headers"]
    answer = json.loads(body["body"])
    assert answer["detail"][0]["problem"] == "internal error"
    assert answer["request_id"] in answer["detail"][0]["message"]
    assert "secret" not in body["body"].decode()  # the detail stays in the log
