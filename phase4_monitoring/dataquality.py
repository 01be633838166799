"""Data-quality checks: schema, contract, null rates and duplicates, each owning its problems.

The contract (phase 1's ``validate_frame``) is the single definition of a valid row; these
checks only sort its findings. Missing, unexpected and retyped columns belong to the schema
check; bad values (out of range, unknown category, not an integer) to the contract check;
nulls to the null-rate check, which compares with the reference's own null rate; repeated
customer ids to the duplicate check. So each world scenario lands on one check.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pydantic import Field

from phase1_foundations.contract import (
    FEATURE_NAMES,
    ID_COLUMN,
    LABEL_COLUMN,
    Problem,
    ValidationReport,
    validate_frame,
)
from phase2_pipelines.evidence import Check, Evidence, Verdict, judge, verdict_from
from phase2_pipelines.profile import ReferenceProfile
from phase2_pipelines.stats import wilson_interval
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.stats import proportion_diff_noise_floor

SCHEMA_PROBLEMS = (Problem.MISSING_COLUMN, Problem.UNEXPECTED_COLUMN)
OWNED_ELSEWHERE = (*SCHEMA_PROBLEMS, Problem.NULL, Problem.DUPLICATE_ID)


class ColumnFinding(Check):
    """A contract problem in one column: how many rows, and a few example values."""

    check: str = "contract"
    problem: str
    rows: int
    examples: tuple[str, ...] = ()


class SchemaCheck(Check):
    """Columns that are missing, unexpected, renamed (a guess) or retyped as a whole."""

    check: str = "schema"
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    renamed: dict[str, str] = Field(default_factory=dict)
    retyped: tuple[str, ...] = ()


class ContractCheck(Check):
    """Rows whose values break the contract, by column and problem."""

    check: str = "contract"
    findings: tuple[ColumnFinding, ...] = ()
    bad_rows: int = 0


class DataQualityReport(Check):
    check: str = "data_quality"
    schema_check: SchemaCheck
    contract: ContractCheck
    nulls: tuple[Check, ...]
    duplicates: Check


def _normalized(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def check_schema(frame: pd.DataFrame, report: ValidationReport) -> SchemaCheck:
    """Missing and unexpected columns from the contract, and what they most likely mean."""
    missing = [i.column for i in report.issues if i.problem is Problem.MISSING_COLUMN]
    unexpected = [i.column for i in report.issues if i.problem is Problem.UNEXPECTED_COLUMN]
    by_shape = {_normalized(name): name for name in unexpected}
    renamed = {
        name: by_shape[_normalized(name)] for name in missing if _normalized(name) in by_shape
    }
    # A column whose every present value has the wrong type was retyped upstream.
    retyped = [
        i.column
        for i in report.issues
        if i.problem is Problem.WRONG_TYPE and i.rows == int(frame[i.column].notna().sum())
    ]
    problems = [f"{old} renamed to {new}?" for old, new in renamed.items()]
    problems += [f"{c}: missing" for c in missing if c not in renamed]
    problems += [f"{c}: unexpected column" for c in unexpected if c not in renamed.values()]
    problems += [f"{c}: retyped (no value has the contract's type)" for c in retyped]
    return SchemaCheck(
        verdict=Verdict.FAIL if problems else Verdict.OK,
        reason="; ".join(problems) if problems else "every contract column, with its type",
        missing=tuple(missing),
        unexpected=tuple(unexpected),
        renamed=renamed,
        retyped=tuple(retyped),
    )


def check_contract(report: ValidationReport, params: MonitoringParams) -> ContractCheck:
    """Rows with bad values (other than nulls and repeated ids, which have their own checks)."""
    masks = [mask for reason, mask in report.row_masks if not _owned_elsewhere(reason)]
    bad = np.logical_or.reduce(masks) if masks else np.zeros(report.n_rows, dtype=bool)
    bad_rows = int(np.count_nonzero(bad))
    findings = tuple(
        ColumnFinding(
            column=i.column,
            verdict=Verdict.FAIL,
            reason=str(i),
            problem=i.problem.value,
            rows=i.rows,
            examples=i.examples,
        )
        for i in report.issues
        if i.problem not in OWNED_ELSEWHERE
    )
    share = bad_rows / max(report.n_rows, 1)
    limit = params.data_quality.contract_violation_share
    failed = bool(findings) and share > limit
    return ContractCheck(
        verdict=Verdict.FAIL if failed else Verdict.OK,
        reason="; ".join(f.reason for f in findings) if findings else "every value passes",
        evidence=(
            Evidence(
                metric="violation_share",
                value=share,
                threshold=limit,
                n=report.n_rows,
                exceeded=failed,
            ),
        ),
        findings=findings,
        bad_rows=bad_rows,
    )


def _owned_elsewhere(reason: str) -> bool:
    return any(reason.endswith(f": {problem.value}") for problem in OWNED_ELSEWHERE)


def check_nulls(
    frame: pd.DataFrame, profile: ReferenceProfile, params: MonitoringParams
) -> tuple[Check, ...]:
    """Each feature's null rate against the reference's, with a Wilson interval."""
    checks = []
    n = len(frame)
    for name in FEATURE_NAMES:
        if name not in frame.columns:
            continue
        nulls = int(frame[name].isna().sum())
        spec = profile.numeric.get(name) or profile.categorical[name]
        reference = spec.null_rate
        rate = nulls / max(n, 1)
        evidence = judge(
            "null_rate_increase",
            rate - reference,
            params.data_quality.null_rate_increase,
            # Under no change the window's rate is the reference's (at least one in its n).
            proportion_diff_noise_floor(
                max(reference, 1 / max(profile.n_rows, 1)), n, profile.n_rows, params.noise_alpha
            ),
            n=n,
            n_reference=profile.n_rows,
            max_floor_ratio=params.max_floor_ratio,
            interval=wilson_interval(nulls, n, params.noise_alpha),
        )
        verdict, reason = verdict_from([evidence])
        shown = Evidence(metric="null_rate", value=rate, n=n, interval=evidence.interval)
        checks.append(
            Check(
                check="nulls",
                column=name,
                verdict=verdict,
                reason=reason,
                evidence=(evidence, shown),
            )
        )
    return tuple(checks)


def check_duplicates(
    frame: pd.DataFrame, params: MonitoringParams, report: ValidationReport
) -> Check:
    """Rows repeating an earlier row's customer id (the reference has none: the contract).

    The contract's pass over the window (``report``) has counted them already: a million ids
    are not hashed twice."""
    n = len(frame)
    if ID_COLUMN not in frame.columns or n == 0:
        return Check(check="duplicates", verdict=Verdict.SKIPPED, reason="no customer ids")
    repeated = sum(
        i.rows for i in report.issues if i.column == ID_COLUMN and i.problem is Problem.DUPLICATE_ID
    )
    share = repeated / n
    evidence = judge(
        "duplicate_share",
        share,
        params.data_quality.duplicate_share,
        0.0,  # the reference has no repeated id, and a repeat is counted, not estimated
        n=n,
        n_reference=None,
        max_floor_ratio=params.max_floor_ratio,
        interval=wilson_interval(repeated, n, params.noise_alpha),
    )
    verdict, _ = verdict_from([evidence])
    return Check(
        check="duplicates",
        column=ID_COLUMN,
        verdict=verdict,
        reason=f"{repeated:,} of {n:,} rows repeat an earlier customer id ({share:.2%})",
        evidence=(evidence,),
    )


def validate_window(frame: pd.DataFrame) -> ValidationReport:
    """The contract's findings on a window (the prediction log's own columns are allowed)."""
    return validate_frame(
        frame, require_id=ID_COLUMN in frame.columns, allow_extra=_service_columns(frame)
    )


def check_data_quality(
    frame: pd.DataFrame,
    profile: ReferenceProfile,
    params: MonitoringParams,
    report: ValidationReport | None = None,
) -> DataQualityReport:
    """Schema, contract, nulls and duplicates of a window, from one pass of the contract."""
    report = report or validate_window(frame)
    schema = check_schema(frame, report)
    contract = check_contract(report, params)
    nulls = check_nulls(frame, profile, params)
    duplicates = check_duplicates(frame, params, report)
    checks = [schema, contract, *nulls, duplicates]
    failing = [c for c in checks if c.verdict in (Verdict.FAIL, Verdict.ALERT)]
    verdict = (
        Verdict.FAIL
        if schema.verdict is Verdict.FAIL or contract.verdict is Verdict.FAIL
        else (Verdict.ALERT if failing else Verdict.OK)
    )
    reason = "; ".join(_label(c) + c.reason for c in failing)
    return DataQualityReport(
        verdict=verdict,
        reason=reason or "schema, contract, nulls and duplicates are clean",
        schema_check=schema,
        contract=contract,
        nulls=nulls,
        duplicates=duplicates,
    )


LOG_COLUMNS = frozenset(
    {
        LABEL_COLUMN,
        "churn_probability",
        "churn_decision",
        "model_version",
        "routed_to",
        "request_id",
        "timestamp",
        "shadow_probability",
        "shadow_version",
    }
)


def _label(check: Check) -> str:
    return f"{check.check} {check.column}: " if check.column else f"{check.check}: "


def _service_columns(frame: pd.DataFrame) -> list[str]:
    """Columns the prediction log adds to the request's fields: not part of the schema check."""
    return [str(c) for c in frame.columns if c in LOG_COLUMNS]
