"""API schemas derived from the phase-1 data contract: no second hand-written list of fields.

Each contract column becomes a strictly typed field (categories as literals, numbers with their
range, no NaN or infinity, no text posing as a number), so FastAPI's OpenAPI document and the
request validation both come from ``FEATURES``. Validation errors are translated into the
contract's vocabulary: the field and the problem.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model
from pydantic_core import ErrorDetails

from phase1_foundations.contract import (
    CUSTOMER_ID_PATTERN,
    FEATURES,
    ID_COLUMN,
    CategoricalColumn,
    NumericColumn,
)


def _numeric_field(spec: NumericColumn) -> tuple[Any, Any]:
    kind: type = int if spec.integer else float
    field = Field(
        ge=spec.minimum,
        le=spec.maximum,
        strict=True,
        allow_inf_nan=False,
        description=spec.description,
    )
    return Annotated[kind, field], ...


def _categorical_field(spec: CategoricalColumn) -> tuple[Any, Any]:
    return Annotated[Literal[spec.categories], Field(description=spec.description)], ...


def _feature_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {
        ID_COLUMN: (
            Annotated[
                str | None,
                Field(pattern=CUSTOMER_ID_PATTERN, description="Routes canaries stickily."),
            ],
            None,
        )
    }
    for spec in FEATURES:
        if isinstance(spec, NumericColumn):
            fields[spec.name] = _numeric_field(spec)
        else:
            fields[spec.name] = _categorical_field(spec)
    return fields


CustomerRow: type[BaseModel] = create_model(
    "CustomerRow",
    __config__=ConfigDict(extra="forbid", frozen=True),
    __doc__="One customer's features, exactly as the data contract declares them.",
    **_feature_fields(),
)


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: list[CustomerRow]


class Prediction(BaseModel):
    customerid: str | None
    churn_probability: float
    churn_decision: bool
    model_version: str
    routed_to: Literal["champion", "challenger"]


class PredictResponse(Prediction):
    request_id: str


class BatchResponse(BaseModel):
    request_id: str
    model_version: str
    predictions: list[Prediction]


class FieldError(BaseModel):
    field: str
    problem: str
    message: str


class ErrorResponse(BaseModel):
    detail: list[FieldError]


ROW_ADAPTER: TypeAdapter[Any] = TypeAdapter(CustomerRow)
BATCH_ADAPTER: TypeAdapter[BatchRequest] = TypeAdapter(BatchRequest)

# pydantic error types -> the data contract's problem names (phase1_foundations.contract.Problem).
PROBLEMS = {
    "missing": "missing",
    "extra_forbidden": "unexpected field",
    "finite_number": "NaN or infinity",
    "literal_error": "unknown category",
    "greater_than_equal": "out of range",
    "less_than_equal": "out of range",
    "int_from_float": "not an integer",
    "string_pattern_mismatch": "malformed id",
    "json_invalid": "invalid JSON",
}
WRONG_TYPE = "wrong type"


def field_errors(error: ValidationError) -> list[FieldError]:
    """One entry per problem, naming the field (``tenure``, ``rows.3.tenure``) and the problem."""
    return [_field_error(detail) for detail in error.errors(include_url=False)]


def _field_error(detail: ErrorDetails) -> FieldError:
    location = ".".join(str(part) for part in detail["loc"]) or "body"
    return FieldError(
        field=location,
        problem=PROBLEMS.get(detail["type"], WRONG_TYPE),
        message=detail["msg"],
    )
