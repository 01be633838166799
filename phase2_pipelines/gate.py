"""The promotion gate: a pure function from evidence to a decision with every reason.

A candidate is promoted only if it clears absolute floors, predicts a sane churn rate, beats the
champion on the primary metric by a margin, and is no worse than the champion on any slice
(within a tolerance). The first model has no champion, so only floors and sanity apply.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from phase2_pipelines.evaluate import EvaluationReport
from phase2_pipelines.params import GateParams

GATED_SLICE_METRIC = "roc_auc"


@dataclass(frozen=True)
class GateCheck:
    """One rule, whether it passed, and the numbers behind it."""

    name: str
    passed: bool
    detail: str

    def __str__(self) -> str:
        return f"[{'PASS' if self.passed else 'FAIL'}] {self.name}: {self.detail}"


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    checks: list[GateCheck] = field(default_factory=list)
    champion_version: str | None = None

    @property
    def failures(self) -> list[GateCheck]:
        return [check for check in self.checks if not check.passed]

    @property
    def summary(self) -> str:
        if self.promote:
            against = f"champion v{self.champion_version}" if self.champion_version else "floors"
            return f"PROMOTE: passed all {len(self.checks)} checks against {against}"
        return "REJECT: " + "; ".join(f"{c.name}: {c.detail}" for c in self.failures)

    def render(self) -> str:
        return "\n".join([f"Gate decision: {self.summary}", *(f"  {c}" for c in self.checks)])

    def to_dict(self) -> dict[str, object]:
        return {
            "promote": self.promote,
            "summary": self.summary,
            "champion_version": self.champion_version,
            "checks": [asdict(check) for check in self.checks],
        }

    @classmethod
    def from_dict(cls, payload: dict[str, object]) -> GateDecision:
        checks = payload.get("checks", [])
        assert isinstance(checks, list)
        version = payload.get("champion_version")
        return cls(
            promote=bool(payload["promote"]),
            checks=[GateCheck(**check) for check in checks],
            champion_version=None if version is None else str(version),
        )


def _floor_checks(candidate: EvaluationReport, params: GateParams) -> list[GateCheck]:
    overall, floors = candidate.overall, params.floors
    return [
        GateCheck(
            "floor roc_auc",
            overall.roc_auc >= floors.roc_auc,
            f"{overall.roc_auc:.4f} vs floor {floors.roc_auc:.4f}",
        ),
        GateCheck(
            "floor pr_auc",
            overall.pr_auc >= floors.pr_auc,
            f"{overall.pr_auc:.4f} vs floor {floors.pr_auc:.4f}",
        ),
        GateCheck(
            "ceiling brier",
            overall.brier <= floors.max_brier,
            f"{overall.brier:.4f} vs max {floors.max_brier:.4f}",
        ),
    ]


def _sanity_check(candidate: EvaluationReport, params: GateParams) -> GateCheck:
    low, high = params.churn_rate_bounds
    rate = candidate.overall.predicted_churn_rate
    return GateCheck(
        "sane predicted churn rate",
        low <= rate <= high,
        f"mean score {rate:.3f}, allowed [{low:.2f}, {high:.2f}]",
    )


def _superiority_check(
    candidate: EvaluationReport, champion: EvaluationReport, params: GateParams
) -> GateCheck:
    metric = params.primary_metric
    ours = float(getattr(candidate.overall, metric))
    theirs = float(getattr(champion.overall, metric))
    return GateCheck(
        f"beats champion on {metric}",
        ours >= theirs + params.superiority_margin,
        f"{ours:.4f} vs champion {theirs:.4f} + margin {params.superiority_margin:.4f}",
    )


def _slice_checks(
    candidate: EvaluationReport, champion: EvaluationReport, params: GateParams, min_rows: int
) -> list[GateCheck]:
    checks = []
    for slice_name, values in candidate.slices.items():
        for value, ours in values.items():
            theirs = champion.slices.get(slice_name, {}).get(value)
            if theirs is None or min(ours.n, theirs.n) < min_rows:
                continue
            a, b = getattr(ours, GATED_SLICE_METRIC), getattr(theirs, GATED_SLICE_METRIC)
            if not (math.isfinite(a) and math.isfinite(b)):
                continue
            checks.append(
                GateCheck(
                    f"non-inferior on {slice_name}={value}",
                    a >= b - params.slice_tolerance,
                    f"{GATED_SLICE_METRIC} {a:.4f} vs champion {b:.4f}"
                    f" - tolerance {params.slice_tolerance:.3f}",
                )
            )
    return checks


def decide_promotion(
    candidate: EvaluationReport,
    champion: EvaluationReport | None,
    params: GateParams,
    *,
    min_slice_rows: int,
    champion_version: str | None = None,
) -> GateDecision:
    """Decide whether ``candidate`` replaces ``champion``; both evaluated on the same holdout."""
    checks = [*_floor_checks(candidate, params), _sanity_check(candidate, params)]
    if champion is not None:
        checks.append(_superiority_check(candidate, champion, params))
        checks.extend(_slice_checks(candidate, champion, params, min_slice_rows))
    return GateDecision(
        promote=all(check.passed for check in checks),
        checks=checks,
        champion_version=champion_version,
    )
