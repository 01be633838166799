"""The data contract: the single declaration of the Telco columns.

Training, validation, the API schemas and monitoring all derive from ``FEATURES``. Validation
reports every problem with the column it concerns and never coerces a value silently: a frame
either passes as it is, or the report says which rows and columns fail and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

ID_COLUMN = "customerid"
LABEL_COLUMN = "churn"
LABEL_WORDS = {"Yes": 1, "No": 0}  # the label as the raw Telco files spell it
CUSTOMER_ID_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z_-]{0,63}$"

YES_NO = ("No", "Yes")
WITH_PHONE = ("No", "No phone service", "Yes")
WITH_INTERNET = ("No", "No internet service", "Yes")


@dataclass(frozen=True)
class CategoricalColumn:
    """A string column whose values must come from a closed set."""

    name: str
    categories: tuple[str, ...]
    description: str
    kind: Literal["categorical"] = "categorical"

    @cached_property
    def dtype(self) -> pd.CategoricalDtype:
        """Built once per column: every cast and every simulated week asks for it."""
        return pd.CategoricalDtype(list(self.categories))


@dataclass(frozen=True)
class NumericColumn:
    """A number within an inclusive range; ``integer`` columns allow no fractional part."""

    name: str
    minimum: float
    maximum: float
    description: str
    integer: bool = False
    kind: Literal["numeric"] = "numeric"

    @property
    def dtype(self) -> np.dtype[np.int64] | np.dtype[np.float64]:
        return np.dtype(np.int64) if self.integer else np.dtype(np.float64)


Column = CategoricalColumn | NumericColumn

FEATURES: tuple[Column, ...] = (
    CategoricalColumn("gender", ("Female", "Male"), "Customer gender."),
    NumericColumn("seniorcitizen", 0, 1, "1 if the customer is 65 or older.", integer=True),
    CategoricalColumn("partner", YES_NO, "Has a partner."),
    CategoricalColumn("dependents", YES_NO, "Has dependents."),
    NumericColumn("tenure", 0, 120, "Months with the company.", integer=True),
    CategoricalColumn("phoneservice", YES_NO, "Has phone service."),
    CategoricalColumn("multiplelines", WITH_PHONE, "Has several phone lines."),
    CategoricalColumn("internetservice", ("DSL", "Fiber optic", "No"), "Internet product."),
    CategoricalColumn("onlinesecurity", WITH_INTERNET, "Has the online security add-on."),
    CategoricalColumn("onlinebackup", WITH_INTERNET, "Has the online backup add-on."),
    CategoricalColumn("deviceprotection", WITH_INTERNET, "Has the device protection add-on."),
    CategoricalColumn("techsupport", WITH_INTERNET, "Has the tech support add-on."),
    CategoricalColumn("streamingtv", WITH_INTERNET, "Streams TV."),
    CategoricalColumn("streamingmovies", WITH_INTERNET, "Streams movies."),
    CategoricalColumn("contract", ("Month-to-month", "One year", "Two year"), "Contract term."),
    CategoricalColumn("paperlessbilling", YES_NO, "Uses paperless billing."),
    CategoricalColumn(
        "paymentmethod",
        (
            "Bank transfer (automatic)",
            "Credit card (automatic)",
            "Electronic check",
            "Mailed check",
        ),
        "How the customer pays.",
    ),
    NumericColumn("monthlycharges", 0.0, 250.0, "Current monthly bill in USD."),
    NumericColumn("totalcharges", 0.0, 20_000.0, "Billed to date in USD."),
)

FEATURE_NAMES: tuple[str, ...] = tuple(c.name for c in FEATURES)
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(
    c.name for c in FEATURES if isinstance(c, CategoricalColumn)
)
NUMERIC_FEATURES: tuple[str, ...] = tuple(c.name for c in FEATURES if isinstance(c, NumericColumn))
COLUMNS_BY_NAME: dict[str, Column] = {c.name: c for c in FEATURES}


class Problem(StrEnum):
    """Why a column fails the contract."""

    MISSING_COLUMN = "missing column"
    UNEXPECTED_COLUMN = "unexpected column"
    WRONG_TYPE = "wrong type"
    NULL = "null values"
    NOT_FINITE = "NaN or infinity"
    UNKNOWN_CATEGORY = "unknown category"
    OUT_OF_RANGE = "out of range"
    NOT_INTEGER = "not an integer"
    DUPLICATE_ID = "duplicate id"
    BAD_ID = "malformed id"


@dataclass(frozen=True)
class ColumnIssue:
    """One problem in one column, with how many rows it touches and a few example values."""

    column: str
    problem: Problem
    rows: int
    examples: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.rows} row(s)" if self.rows else "the whole batch"
        shown = f"; e.g. {', '.join(self.examples)}" if self.examples else ""
        return f"{self.column}: {self.problem.value} in {where}{shown}"


@dataclass
class ValidationReport:
    """The outcome of checking a frame: its issues and which rows are bad.

    Batch-level issues (a missing or unexpected column) make the whole frame unusable; row-level
    issues mark rows in ``bad_rows`` so callers can split a batch into accepted and rejected rows.
    """

    n_rows: int
    issues: list[ColumnIssue] = field(default_factory=list)
    bad_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    row_masks: list[tuple[str, np.ndarray]] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def schema_ok(self) -> bool:
        """False when a column is missing or unexpected, so no row can be trusted."""
        return not any(
            i.problem in (Problem.MISSING_COLUMN, Problem.UNEXPECTED_COLUMN) for i in self.issues
        )

    @property
    def columns(self) -> list[str]:
        return sorted({i.column for i in self.issues})

    def reasons_for(self, position: int) -> list[str]:
        """Every reason the row at this position was rejected."""
        return [reason for reason, mask in self.row_masks if mask[position]]

    def rejection_reasons(self) -> pd.Series:
        """One '; '-joined reason string per bad row, indexed by row position."""
        reasons = np.full(self.n_rows, "", dtype=object)
        for reason, mask in self.row_masks:
            reasons[mask] = reasons[mask] + np.where(reasons[mask] == "", "", "; ") + reason
        positions = np.flatnonzero(self.bad_rows)
        return pd.Series(reasons[positions], index=positions, name="reasons", dtype=object)

    def summary(self) -> str:
        if self.ok:
            return f"{self.n_rows} rows pass the contract"
        lines = [f"{len(self.issues)} contract violation(s) in {self.n_rows} rows:"]
        lines += [f"  - {issue}" for issue in self.issues]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "n_rows": self.n_rows,
            "n_bad_rows": int(self.bad_rows.sum()) if self.bad_rows.size else 0,
            "issues": [
                {
                    "column": i.column,
                    "problem": i.problem.value,
                    "rows": i.rows,
                    "examples": list(i.examples),
                }
                for i in self.issues
            ],
        }


class ContractViolation(ValueError):  # noqa: N818 - a violation, named as the domain does
    """Raised where bad data must stop the caller; carries the full report."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.summary())
        self.report = report


def _examples(values: pd.Series, limit: int = 3) -> tuple[str, ...]:
    return tuple(repr(v) for v in pd.unique(values.to_numpy())[:limit])


class _Checker:
    """Accumulates issues and per-row reasons while the checks run."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.report = ValidationReport(n_rows=len(frame), bad_rows=np.zeros(len(frame), dtype=bool))

    def batch(self, column: str, problem: Problem) -> None:
        self.report.issues.append(ColumnIssue(column, problem, rows=0))

    def rows(self, column: str, problem: Problem, mask: np.ndarray, values: pd.Series) -> None:
        count = int(mask.sum())
        if count == 0:
            return
        self.report.issues.append(ColumnIssue(column, problem, count, _examples(values[mask])))
        self.report.bad_rows |= mask
        self.report.row_masks.append((f"{column}: {problem.value}", mask))


def _check_numeric(checker: _Checker, spec: NumericColumn, values: pd.Series) -> None:
    if pd.api.types.is_bool_dtype(values) or not (
        pd.api.types.is_numeric_dtype(values) or values.dtype == object
    ):
        checker.rows(spec.name, Problem.WRONG_TYPE, np.ones(len(values), dtype=bool), values)
        return
    null = values.isna().to_numpy()
    if values.dtype == object:
        # Detect (never keep) values that are not numbers, such as "abc" or "12".
        is_number = values.map(
            lambda v: (
                isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
            )
        ).to_numpy(dtype=bool)
        checker.rows(spec.name, Problem.WRONG_TYPE, ~is_number & ~null, values)
        numbers = pd.to_numeric(values.where(is_number), errors="coerce").to_numpy(dtype=float)
    else:
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
    nan_not_null = np.isnan(numbers) & ~null if values.dtype != object else np.zeros_like(null)
    infinite = np.isinf(numbers)
    checker.rows(spec.name, Problem.NULL, null & ~nan_not_null, values)
    checker.rows(spec.name, Problem.NOT_FINITE, infinite | nan_not_null, values)
    finite = np.isfinite(numbers)
    with np.errstate(invalid="ignore"):
        outside = finite & ((numbers < spec.minimum) | (numbers > spec.maximum))
        fractional = finite & (numbers != np.round(numbers)) if spec.integer else None
    checker.rows(spec.name, Problem.OUT_OF_RANGE, outside, values)
    if fractional is not None:
        checker.rows(spec.name, Problem.NOT_INTEGER, fractional & ~outside, values)


def _check_categorical(checker: _Checker, spec: CategoricalColumn, values: pd.Series) -> None:
    null = values.isna().to_numpy()
    checker.rows(spec.name, Problem.NULL, null, values)
    if isinstance(values.dtype, pd.CategoricalDtype):
        known = set(spec.categories)
        unknown_codes = [code for code, cat in enumerate(values.cat.categories) if cat not in known]
        unknown = np.isin(values.cat.codes.to_numpy(), unknown_codes) if unknown_codes else None
        if unknown is not None:
            checker.rows(spec.name, Problem.UNKNOWN_CATEGORY, unknown, values.astype(object))
        return
    is_text = values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    checker.rows(spec.name, Problem.WRONG_TYPE, ~is_text & ~null, values)
    unknown = is_text & ~values.isin(spec.categories).to_numpy()
    checker.rows(spec.name, Problem.UNKNOWN_CATEGORY, unknown, values)


def validate_frame(
    frame: pd.DataFrame,
    *,
    require_id: bool = True,
    require_label: bool = False,
    allow_extra: Iterable[str] = (),
) -> ValidationReport:
    """Check a frame against the contract and report every violation by column.

    Extra columns are violations (a renamed column shows up as one missing and one unexpected)
    unless listed in ``allow_extra``; the label is checked only when present or required.
    """
    checker = _Checker(frame.reset_index(drop=True))
    frame = checker.frame
    expected = set(FEATURE_NAMES)
    if require_id:
        expected.add(ID_COLUMN)
    if require_label:
        expected.add(LABEL_COLUMN)
    allowed = expected | set(allow_extra) | {ID_COLUMN, LABEL_COLUMN}
    for name in (*FEATURE_NAMES, ID_COLUMN, LABEL_COLUMN):
        if name in expected and name not in frame.columns:
            checker.batch(name, Problem.MISSING_COLUMN)
    for name in frame.columns:
        if name not in allowed:
            checker.batch(str(name), Problem.UNEXPECTED_COLUMN)
    for spec in FEATURES:
        if spec.name not in frame.columns:
            continue
        values = frame[spec.name]
        if isinstance(spec, NumericColumn):
            _check_numeric(checker, spec, values)
        else:
            _check_categorical(checker, spec, values)
    if ID_COLUMN in frame.columns:
        ids = frame[ID_COLUMN]
        null = ids.isna().to_numpy()
        checker.rows(ID_COLUMN, Problem.NULL, null, ids)
        text = ids.astype(str)
        # fullmatch: `$` alone lets a trailing newline through, which the service's schema
        # (the same pattern, with its end anchored) refuses
        malformed = ~null & ~text.str.fullmatch(CUSTOMER_ID_PATTERN).to_numpy(dtype=bool)
        checker.rows(ID_COLUMN, Problem.BAD_ID, malformed, ids)
        duplicated = ~null & ids.duplicated(keep="first").to_numpy()
        checker.rows(ID_COLUMN, Problem.DUPLICATE_ID, duplicated, ids)
    if LABEL_COLUMN in frame.columns:
        label = frame[LABEL_COLUMN]
        present = label.notna().to_numpy()
        valid = label.isin([0, 1]).to_numpy() & present
        checker.rows(LABEL_COLUMN, Problem.OUT_OF_RANGE, present & ~valid, label)
        if require_label:
            checker.rows(LABEL_COLUMN, Problem.NULL, ~present, label)
    return checker.report


def to_model_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The feature columns in contract order and dtypes, for a frame that passed validation.

    Raises ``ContractViolation`` instead of casting a value that does not fit.
    """
    report = validate_frame(frame, require_id=False, allow_extra=frame.columns)
    if not report.ok:
        raise ContractViolation(report)
    return cast_to_model_frame(frame)


def cast_to_model_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """``to_model_frame`` for rows the caller's ``validate_frame`` already passed: the cast
    without a second pass of the contract (a monitored window is checked once, then scored)."""
    return pd.DataFrame(
        {spec.name: rows[spec.name].astype(spec.dtype) for spec in FEATURES},
        index=rows.index,
    )


def empty_frame() -> pd.DataFrame:
    """A zero-row frame with every contract column and dtype."""
    data: dict[str, pd.Series] = {ID_COLUMN: pd.Series([], dtype="string")}
    for spec in FEATURES:
        data[spec.name] = pd.Series([], dtype=spec.dtype)
    data[LABEL_COLUMN] = pd.Series([], dtype=np.int64)
    return pd.DataFrame(data)
