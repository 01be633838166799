"""The hot path: plain functions from a request body to (status, JSON body, model version).

``FastPath`` (``asgi.py``) serves the two prediction routes straight from ASGI with them, and the
FastAPI routes call the same functions (they exist for the OpenAPI document). Every outcome is
JSON: 422 names the field and the problem, 413 states the limit, 503 says the service is not
ready, and 500 says which rows the model could not score, with the request id to find the
detail in the server log. No path, URI or traceback ever reaches the caller.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import orjson
from pydantic import ValidationError

from phase1_foundations.contract import ID_COLUMN
from phase3_serving.schemas import BATCH_ADAPTER, ROW_ADAPTER, FieldError, field_errors
from phase3_serving.scoring import NotReady, RowFailed, new_request_id
from phase3_serving.service import NOT_LOADED, ServiceState

logger = logging.getLogger("phase3_serving")
Outcome = tuple[int, bytes, str]
NO_MODEL = "none"
MODEL_ERROR = "model error"


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


async def predict_one(state: ServiceState, body: bytes) -> Outcome:
    try:
        row = ROW_ADAPTER.validate_json(body)
    except ValidationError as error:
        return problem(state, 422, field_errors(error))
    request_id = new_request_id()
    features = row.__dict__
    try:
        score, decision, version, route = await state.scorer.score_one(features, request_id)
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


async def predict_many(state: ServiceState, body: bytes) -> Outcome:
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
        scored = await state.scorer.score_records(rows)
    except NotReady:
        return not_ready(state)
    if scored.failed.any():
        # The request fails as a whole and none of its rows is logged as served.
        failed = dataclasses.replace(scored, failed=np.ones(len(rows), dtype=bool))
        state.scorer.after_response(rows, [request_id] * len(rows), failed)
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
    state.scorer.after_response(rows, [request_id] * len(rows), scored)  # runs after the send
    return 200, orjson.dumps(payload), version


HANDLERS = {"/v1/predict": predict_one, "/v1/predict/batch": predict_many}
