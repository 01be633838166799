"""``POST /v1/predict`` and ``POST /v1/predict/batch``, from the request to the response.

Read it top to bottom: a route reads the body once (``read_body``, within the size limit),
validates it from raw bytes against the contract's schemas (``schemas.py``), scores it through
the micro-batcher (``batcher.py``) and answers in JSON: 200 with the scores, 422 naming each
field and its problem, 413 stating the limit, 503 when no model is loaded, and 500 naming the
rows the model could not score (or any unexpected error) with a request id to find the detail
in the server log. No path, URI or traceback ever reaches the caller.

These two functions are the FastAPI routes of the OpenAPI document and they serve the traffic:
the front door (``asgi.py``) calls them directly, skipping Starlette's routing and middleware
(about a third of FastAPI's cost per request), and records the metrics of every request.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from phase1_foundations.contract import ID_COLUMN
from phase3_serving.batcher import NotReady, RowFailed
from phase3_serving.schemas import (
    BATCH_ADAPTER,
    ROW_ADAPTER,
    BatchResponse,
    CustomerRow,
    ErrorResponse,
    FieldError,
    PredictResponse,
    field_errors,
)
from phase3_serving.service import NOT_LOADED, ServiceDep, ServiceState

logger = logging.getLogger("phase3_serving")
JSON = "application/json"
NO_MODEL = "none"  # the model version of an answer no model gave
MODEL_ERROR = "model error"
VERSION_KEY = "model_version"  # where a route leaves the answer's model version for the metrics
Outcome = tuple[int, bytes, str]  # status, JSON body, model version
Scoring = Callable[[ServiceState, bytes], Awaitable[Outcome]]

ROW_SCHEMA = CustomerRow.model_json_schema()
BATCH_SCHEMA = {
    "type": "object",
    "properties": {"rows": {"type": "array", "items": ROW_SCHEMA}},
    "required": ["rows"],
    "additionalProperties": False,
}
ERRORS_DOC: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorResponse, "description": "Body or batch too large (the limit is stated)"},
    422: {"model": ErrorResponse, "description": "A field failed the data contract"},
    500: {"model": ErrorResponse, "description": "The model could not score a row"},
    503: {"description": "No model loaded yet"},
}


def _body_doc(schema: dict[str, Any]) -> dict[str, Any]:
    """The body is read as bytes (validated by pydantic-core), so the document declares it."""
    return {"requestBody": {"required": True, "content": {JSON: {"schema": schema}}}}


router = APIRouter()


@router.post(
    "/v1/predict",
    response_model=PredictResponse,
    responses=ERRORS_DOC,
    openapi_extra=_body_doc(ROW_SCHEMA),
    summary="Score one customer",
)
async def predict(request: Request, service: ServiceDep) -> Response:
    return await answer(request, service, score_one)


@router.post(
    "/v1/predict/batch",
    response_model=BatchResponse,
    responses=ERRORS_DOC,
    openapi_extra=_body_doc(BATCH_SCHEMA),
    summary="Score up to MLOPS_SERVING_MAX_BATCH_ROWS customers",
)
async def predict_batch(request: Request, service: ServiceDep) -> Response:
    return await answer(request, service, score_many)


async def answer(request: Request, state: ServiceState, scoring: Scoring) -> Response:
    """Read the body, score it, and answer in JSON whatever happens."""
    try:
        body = await read_body(request, state.settings.serving_max_body_bytes)
        status, payload, version = await scoring(state, body)
    except BodyTooLarge as error:
        status, payload, version = body_too_large(state, error.received)
    except Exception:
        request_id = new_request_id()
        logger.exception("request %s on %s failed", request_id, request.scope["path"])
        status, payload, version = internal_error(request_id)
    request.scope[VERSION_KEY] = version
    return Response(payload, status, media_type=JSON)


class BodyTooLarge(Exception):  # noqa: N818 - an outcome
    def __init__(self, received: int | None) -> None:
        super().__init__(received)
        self.received = received


async def read_body(request: Request, limit: int) -> bytes:
    """The request body; BodyTooLarge as soon as it is known to be over ``limit`` bytes (from
    its declared length, or while it arrives)."""
    for name, value in request.scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise BodyTooLarge(int(value))
    chunks, size, more = [], 0, True
    while more:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(None)
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def score_one(state: ServiceState, body: bytes) -> Outcome:
    """One customer, scored together with the other single rows waiting (``batcher.py``)."""
    try:
        row = ROW_ADAPTER.validate_json(body)
    except ValidationError as error:
        return problem(state, 422, field_errors(error))
    request_id = new_request_id()
    features = row.__dict__
    try:
        score, decision, version, route = await state.batcher.score_one(features, request_id)
    except NotReady:
        return not_ready(state)
    except RowFailed:
        return model_failed(state, request_id, ["body"])
    payload = {
        "request_id": request_id,
        "customerid": features[ID_COLUMN],
        "churn_probability": score,
        "churn_decision": decision,
        "model_version": version,
        "routed_to": route,
    }
    return 200, orjson.dumps(payload), version


async def score_many(state: ServiceState, body: bytes) -> Outcome:
    """A batch, scored in one call; it fails whole if the model cannot score one of its rows."""
    try:
        batch = BATCH_ADAPTER.validate_json(body)
    except ValidationError as error:
        return problem(state, 422, field_errors(error))
    limit = state.settings.serving_max_batch_rows
    if len(batch.rows) > limit:
        return too_large(
            state,
            f"the batch has {len(batch.rows):,} rows; the limit is {limit:,} rows"
            " (MLOPS_SERVING_MAX_BATCH_ROWS)",
        )
    request_id = new_request_id()
    rows = [row.__dict__ for row in batch.rows]
    try:
        scored = await state.batcher.score_records(rows)
    except NotReady:
        return not_ready(state)
    if scored.failed.any():
        # The request fails as a whole and none of its rows is logged as served.
        failed = dataclasses.replace(scored, failed=np.ones(len(rows), dtype=bool))
        state.batcher.after_response(rows, [request_id] * len(rows), failed)
        return model_failed(state, request_id, [f"rows.{i}" for i in np.flatnonzero(scored.failed)])
    predictions = [
        {
            "customerid": row[ID_COLUMN],
            "churn_probability": float(scored.scores[i]),
            "churn_decision": bool(scored.decisions[i]),
            "model_version": scored.versions[i],
            "routed_to": scored.routes[i],
        }
        for i, row in enumerate(rows)
    ]
    version = scored.champion.version
    payload = {"request_id": request_id, "model_version": version, "predictions": predictions}
    state.batcher.after_response(rows, [request_id] * len(rows), scored)  # runs after the send
    return 200, orjson.dumps(payload), version


# ---- the answers that are not scores -----------------------------------------------------------


def problem(state: ServiceState, status: int, errors: list[FieldError]) -> Outcome:
    for error in errors:
        state.metrics.rejected.labels(error.problem).inc()
    return status, orjson.dumps({"detail": [e.model_dump() for e in errors]}), NO_MODEL


def too_large(state: ServiceState, message: str) -> Outcome:
    return problem(state, 413, [FieldError(field="body", problem="too large", message=message)])


def body_too_large(state: ServiceState, received: int | None) -> Outcome:
    limit = state.settings.serving_max_body_bytes
    seen = f"the body has {received:,} bytes" if received else "the body is too large"
    return too_large(state, f"{seen}; the limit is {limit:,} bytes (MLOPS_SERVING_MAX_BODY_BYTES)")


def not_ready(state: ServiceState) -> Outcome:
    reason = state.public_error or NOT_LOADED
    return 503, orjson.dumps({"detail": f"not ready: {reason}"}), NO_MODEL


def model_failed(state: ServiceState, request_id: str, fields: list[str]) -> Outcome:
    """The rows the model could not score; the why is in the server log under the request id."""
    state.metrics.model_errors.inc(len(fields))
    logger.error("request %s: the model could not score %s", request_id, ", ".join(fields))
    detail = [
        FieldError(
            field=name,
            problem=MODEL_ERROR,
            message=f"the model could not score this row (request id {request_id})",
        )
        for name in fields
    ]
    body = {"detail": [d.model_dump() for d in detail], "request_id": request_id}
    return 500, orjson.dumps(body), NO_MODEL


def internal_error(request_id: str) -> Outcome:
    body = {
        "detail": [
            {
                "field": "body",
                "problem": "internal error",
                "message": f"the request could not be served (request id {request_id})",
            }
        ],
        "request_id": request_id,
    }
    return 500, orjson.dumps(body), NO_MODEL


def new_request_id() -> str:
    return uuid.uuid4().hex
