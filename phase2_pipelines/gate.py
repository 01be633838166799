"""The promotion gate: a pure function from evidence to a decision, each check with its evidence.

A candidate is promoted only if it clears absolute floors, predicts a sane churn rate, is better
than the champion on the same holdout rows by more than the noise, and is not worse on any slice
that has enough churners and stayers to tell: the business segments of ``slices`` and the
protected attributes of ``protected_attributes`` (gender, senior citizens) alike. Comparisons
with the champion are judged on paired bootstrap intervals of the ROC AUC difference
(``stats.paired_auc_difference``), never on point estimates: the superiority check needs the
interval's lower bound above ``superiority_margin``, each gated slice needs its lower bound
above ``-slice_tolerance``. The first model has no champion, so only floors and sanity apply. A
candidate identical to the champion is not compared with it: there is nothing to promote.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from phase2_pipelines.evaluate import EvaluationReport
from phase2_pipelines.evidence import MARKS, Check, Decision, Verdict
from phase2_pipelines.params import GateParams
from phase2_pipelines.stats import (
    ClassCounts,
    PairedDifference,
    paired_auc_difference,
    paired_brier_gain,
    signed,
)

SUPERIORITY = "beats champion on roc_auc"
NON_INFERIORITY = "not worse than the broken champion on roc_auc"
RANKS_AS_WELL = "ranks as well as the champion (roc_auc)"
BETTER_CALIBRATED = "better calibrated than the champion (Brier score)"
COMPARISONS = (SUPERIORITY, NON_INFERIORITY, RANKS_AS_WELL)
STRICT = ConfigDict(frozen=True, extra="forbid")


class _Frozen(BaseModel):
    model_config = STRICT


class GateCheck(Check):
    """One rule: met (``ok``) or not (``fail``: the candidate did not carry its burden), why,
    and the paired comparison behind it when there is one."""

    model_config = STRICT

    evidence: tuple[PairedDifference, ...] = ()
    blocking: bool = True  # False: reported beside the decision, which does not rest on it

    @classmethod
    def judged(
        cls, name: str, passed: bool, reason: str, evidence: PairedDifference | None = None
    ) -> GateCheck:
        return cls(
            check=name,
            verdict=Verdict.OK if passed else Verdict.FAIL,
            reason=reason,
            evidence=() if evidence is None else (evidence,),
        )

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.OK

    @property
    def comparison(self) -> PairedDifference | None:
        return self.evidence[0] if self.evidence else None

    @property
    def mark(self) -> str:
        """INFO for a failed check the decision does not rest on."""
        return "INFO" if not (self.passed or self.blocking) else MARKS[self.verdict]


class UngatedSlice(_Frozen):
    """A slice the gate reports but does not judge, and why."""

    name: str
    reason: str
    counts: ClassCounts

    def __str__(self) -> str:
        return f"{self.name}: not gated, {self.reason}"


class GateDecision(Decision[GateCheck]):
    """Whether to promote, with every check and every slice that was not gated."""

    model_config = STRICT

    promote: bool
    champion_version: str | None = None
    ungated: tuple[UngatedSlice, ...] = ()
    same_as_champion: bool = False
    note: str = ""
    burden: str = "superiority"
    burden_reason: str = ""

    @property
    def failures(self) -> list[GateCheck]:
        return [check for check in self.checks if not check.passed and check.blocking]

    @property
    def comparison(self) -> PairedDifference | None:
        """The overall AUC difference with the champion, when there was one to compare with."""
        return next((c.comparison for c in self.checks if c.check in COMPARISONS), None)

    @property
    def slice_checks(self) -> list[GateCheck]:
        return [check for check in self.checks if check.check.startswith("non-inferior on ")]

    @property
    def summary(self) -> str:
        if self.same_as_champion:
            return f"NOTHING TO PROMOTE: {self.note}"
        if self.promote:
            blocking = [c for c in self.checks if c.blocking]
            passed = f"passed all {len(blocking)} checks"
            if self.champion_version is None:
                return f"PROMOTE: first model, {passed} against floors"
            burden = {
                "non_inferiority": " (non-inferiority: the champion is broken)",
                "calibration": " (calibration: ranks as well, better calibrated)",
            }.get(self.burden, "")
            return f"PROMOTE: {passed} against champion v{self.champion_version}{burden}"
        return "REJECT: " + "; ".join(f"{c.check}: {c.reason}" for c in self.failures)

    @property
    def relaxed(self) -> bool:
        """The burden was non-inferiority against a champion known to be broken."""
        return self.burden == "non_inferiority"

    def render(self) -> str:
        lines = [f"Gate decision: {self.summary}"]
        if self.relaxed:
            lines.append(f"  burden: non-inferiority, because {self.burden_reason}")
        elif self.burden == "calibration":
            lines.append(f"  burden: calibration, because {self.burden_reason}")
        if self.comparison is not None:
            lines.append(f"  vs champion v{self.champion_version}: {self.comparison.describe()}")
        slice_checks = self.slice_checks
        lines += [f"  {check}" for check in self.checks if check not in slice_checks]
        if slice_checks:
            lines.append("  gated slices:")
            lines += [f"    {check}" for check in slice_checks]
        if self.ungated:
            lines.append("  slices not gated:")
            lines += [f"    {entry}" for entry in self.ungated]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return self.model_dump(mode="python")

    @classmethod
    def from_dict(cls, payload: dict[str, object]) -> GateDecision:
        return cls.model_validate(payload)


@dataclass(frozen=True)
class HoldoutComparison:
    """Both models' scores on the same holdout rows, their labels, and each row's slice values."""

    labels: np.ndarray
    candidate: np.ndarray
    champion: np.ndarray
    slices: dict[str, np.ndarray]
    champion_version: str
    same_structure: bool = True  # the two pipelines have the same steps and settings

    @property
    def identical(self) -> bool:
        """The candidate is the champion: same pipeline, same scores. A different pipeline with
        the same scores (an extra step, say) is another model that is not better."""
        return self.same_structure and bool(np.array_equal(self.candidate, self.champion))


FLOOR_CHECKS = ("floor roc_auc", "floor pr_auc", "ceiling brier")


def _floor_checks(candidate: EvaluationReport, params: GateParams) -> list[GateCheck]:
    overall, floors = candidate.overall, params.floors
    return [
        GateCheck.judged(
            "floor roc_auc",
            overall.roc_auc >= floors.roc_auc,
            f"{overall.roc_auc:.4f} vs floor {floors.roc_auc:.4f}",
        ),
        GateCheck.judged(
            "floor pr_auc",
            overall.pr_auc >= floors.pr_auc,
            f"{overall.pr_auc:.4f} vs floor {floors.pr_auc:.4f}",
        ),
        GateCheck.judged(
            "ceiling brier",
            overall.brier <= floors.max_brier,
            f"{overall.brier:.4f} vs max {floors.max_brier:.4f}",
        ),
    ]


def _sanity_check(candidate: EvaluationReport, params: GateParams) -> GateCheck:
    low, high = params.churn_rate_bounds
    rate = candidate.overall.predicted_churn_rate
    return GateCheck.judged(
        "sane predicted churn rate",
        low <= rate <= high,
        f"mean score {rate:.3f}, allowed [{low:.2f}, {high:.2f}]",
    )


def _compare(
    comparison: HoldoutComparison, rows: np.ndarray, params: GateParams, stream: int
) -> PairedDifference:
    return paired_auc_difference(
        comparison.labels[rows],
        comparison.candidate[rows],
        comparison.champion[rows],
        confidence=params.confidence,
        resamples=params.resamples,
        seed=params.seed + stream,
    )


def _bound_check(name: str, evidence: PairedDifference, bound: float, label: str) -> GateCheck:
    passed = evidence.low > bound
    relation = ">" if passed else "<="
    detail = f"{evidence.render()}; lower bound {relation} {label} {signed(bound)}"
    return GateCheck.judged(name, passed, detail, evidence)


def _slice_checks(
    comparison: HoldoutComparison, params: GateParams
) -> tuple[list[GateCheck], list[UngatedSlice]]:
    checks: list[GateCheck] = []
    ungated: list[UngatedSlice] = []
    stream = 0
    for family, values in comparison.slices.items():
        for value in sorted(set(values.tolist())):
            stream += 1
            rows = values == value
            name = f"{family}={value}"
            counts = ClassCounts.of(comparison.labels[rows])
            if family not in (*params.slices, *params.protected_attributes):
                reason = f"{family} is not in gate.slices or gate.protected_attributes"
            elif min(counts.positives, counts.negatives) < params.min_slice_positives:
                smaller = "churners" if counts.positives <= counts.negatives else "stayers"
                fewest = min(counts.positives, counts.negatives)
                reason = f"{fewest} {smaller} < min_slice_positives {params.min_slice_positives}"
            else:
                evidence = _compare(comparison, rows, params, stream)
                checks.append(
                    _bound_check(
                        f"non-inferior on {name}", evidence, -params.slice_tolerance, "-tolerance"
                    )
                )
                continue
            ungated.append(UngatedSlice(name=name, reason=reason, counts=counts))
    return checks, ungated


def decide_promotion(
    candidate: EvaluationReport,
    comparison: HoldoutComparison | None,
    params: GateParams,
) -> GateDecision:
    """Decide whether the candidate replaces the champion scored on the same holdout rows."""
    checks = [*_floor_checks(candidate, params), _sanity_check(candidate, params)]
    if comparison is None:
        return GateDecision(promote=all(check.passed for check in checks), checks=tuple(checks))
    version = comparison.champion_version
    if comparison.identical:
        note = (
            f"candidate is champion v{version} (identical scores on all"
            f" {len(comparison.labels)} holdout rows)"
        )
        return GateDecision(
            promote=False,
            checks=tuple(checks),
            champion_version=version,
            same_as_champion=True,
            note=note,
        )
    everyone = np.ones(len(comparison.labels), dtype=bool)
    overall = _compare(comparison, everyone, params, stream=0)
    relaxed = params.burden == "non_inferiority"
    if relaxed:
        # The champion is below the floors too: a floor would keep the broken model serving.
        checks = [
            c.model_copy(update={"blocking": False}) if c.check in FLOOR_CHECKS else c
            for c in checks
        ]
        bound = -params.non_inferiority_margin
        checks.append(_bound_check(NON_INFERIORITY, overall, bound, "-margin"))
    elif params.burden == "calibration":
        bound = -params.non_inferiority_margin
        checks.append(_bound_check(RANKS_AS_WELL, overall, bound, "-margin"))
        gain = paired_brier_gain(
            comparison.labels,
            comparison.candidate,
            comparison.champion,
            confidence=params.confidence,
        )
        checks.append(_bound_check(BETTER_CALIBRATED, gain, params.calibration_margin, "margin"))
    else:
        checks.append(_bound_check(SUPERIORITY, overall, params.superiority_margin, "margin"))
    slice_checks, ungated = _slice_checks(comparison, params)
    checks.extend(slice_checks)
    return GateDecision(
        promote=all(check.passed for check in checks if check.blocking),
        checks=tuple(checks),
        champion_version=version,
        ungated=tuple(ungated),
        burden=params.burden,
        burden_reason=params.burden_reason if params.burden != "superiority" else "",
    )
