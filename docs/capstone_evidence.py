"""The evidence behind each decision of a capstone run, read from its events' evidence fields.

Nothing is recomputed: every figure is one the step recorded when it decided (the gate's checks
with their dAUC intervals and class counts, the trigger's rules with their bounds, the contract's
problems, the guardrail that fired, the realized quality and net value of each labeled week).
The log is read as plain JSON, so a field a phase-5 version did not write is left out, not
guessed. Every decision's checks have one shape (phase 2's ``Check``: the check, its verdict,
its reason), and every one is rendered the same way, one line each: ``[PASS] name: reason``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import JsonValue

from phase2_pipelines.evidence import Check, Verdict
from phase5_capstone.summary import NOTABLE

GATED = ("bootstrapped", "candidate_rejected", "challenger_staged")
QUIET_ACTIONS = ("none",)


@dataclass(frozen=True)
class LabeledWeek:
    """One week's delayed labels: the realized quality of the model that served most of it, and
    the campaign's net value as served, next to the previous champion's on the same customers."""

    week: int
    model_version: str
    labels: int
    scored_by_model: int | None
    roc_auc: float | None
    interval: tuple[float, float] | None
    verdict: str
    served_usd: float | None
    customers: int | None
    previous_version: str | None
    previous_usd: float | None
    difference_usd: float | None

    @property
    def per_customer(self) -> float | None:
        if self.served_usd is None or not self.customers:
            return None
        return self.served_usd / self.customers


def _dict(value: JsonValue | None) -> Mapping[str, JsonValue]:
    return value if isinstance(value, dict) else {}


def _list(value: JsonValue | None) -> list[JsonValue]:
    return value if isinstance(value, list) else []


def _number(value: JsonValue | None) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def check_line(raw: JsonValue) -> str:
    """One check of any decision (the gate's, a guardrail's, a trigger rule's), as one line;
    a rule adds the action it asked for."""
    found = _dict(raw)
    line = str(Check.model_validate(found))
    action = found.get("action")
    return f"{line} -> {action}" if action else line


def is_decision(kind: str, evidence: Mapping[str, JsonValue]) -> bool:
    """A notable event (a model moved, a batch was stopped), or a trigger that fired."""
    if kind == "decision":
        return evidence.get("action") not in QUIET_ACTIONS
    return kind in NOTABLE or kind == "retrain_skipped"


def _gate_lines(evidence: Mapping[str, JsonValue]) -> list[str]:
    lines = []
    if "train_weeks" in evidence:
        rows = f" ({evidence['train_rows']} rows)" if "train_rows" in evidence else ""
        held = f" ({evidence['holdout_rows']} rows)" if "holdout_rows" in evidence else ""
        lines.append(
            f"trained on weeks {json.dumps(evidence['train_weeks'])}{rows}; gated on holdout"
            f" weeks {json.dumps(evidence.get('holdout_weeks'))}{held}"
        )
    faults = _list(evidence.get("faults"))
    if faults:
        lines.append(f"injected fault: {', '.join(str(f) for f in faults)}")
    gate = _dict(evidence.get("gate"))
    lines += [check_line(check) for check in _list(gate.get("checks"))]
    for raw_ungated in _list(gate.get("ungated")):
        ungated = _dict(raw_ungated)
        lines.append(f"not gated: {ungated.get('name')}: {ungated.get('reason')}")
    return lines


def _trigger_lines(evidence: Mapping[str, JsonValue]) -> list[str]:
    lines = [check_line(rule) for rule in _list(evidence.get("fired"))]
    if evidence.get("rollback_to"):
        lines.append(f"roll back to v{evidence['rollback_to']}")
    if _list(evidence.get("quarantine_weeks")):
        lines.append(f"quarantine weeks {json.dumps(evidence['quarantine_weeks'])}")
    return lines


def _quarantine_lines(evidence: Mapping[str, JsonValue]) -> list[str]:
    lines = []
    if "bad_rows" in evidence:
        lines.append(f"{evidence['bad_rows']} of {evidence.get('rows')} rows broke the contract")
    if "quarantined_rows" in evidence:
        held = " (the batch was held: a broken feed)" if evidence.get("held") else ""
        lines.append(
            f"{evidence['quarantined_rows']} rows quarantined, {evidence.get('accepted_rows')}"
            f" scored{held}"
        )
    lines += [f"contract: {problem}" for problem in _list(evidence.get("problems"))]
    return lines


def _guardrail_lines(evidence: Mapping[str, JsonValue]) -> list[str]:
    """The guardrails that fired (the event keeps their names, not their timing-dependent
    numbers), each as a check line."""
    fired = [str(name) for name in _list(evidence.get("guardrail"))] or ["unnamed guardrail"]
    reason = f"breached in the {evidence.get('stage')}; the challenger was rolled back"
    return [str(Check(check=name, verdict=Verdict.ALERT, reason=reason)) for name in fired]


def evidence_lines(kind: str, evidence: Mapping[str, JsonValue]) -> list[str]:
    """The recorded evidence of one event, one finding a line."""
    if kind in GATED:
        return _gate_lines(evidence)
    if kind == "decision":
        return _trigger_lines(evidence)
    if kind == "quarantined":
        return _quarantine_lines(evidence)
    if kind == "guardrail_rollback":
        return _guardrail_lines(evidence)
    if kind == "rolled_back":
        return [f"from v{evidence.get('from')} to v{evidence.get('to')}"]
    return [f"{key}: {json.dumps(value)}" for key, value in evidence.items()]


def labeled_week(model_version: str, evidence: Mapping[str, JsonValue]) -> LabeledWeek | None:
    """A ``labels_arrived`` event's realized quality and value (None: the event has none)."""
    quality = _dict(evidence.get("quality"))
    metrics = _dict(quality.get("metrics"))
    if not metrics or not isinstance(evidence.get("event_week"), int):
        return None
    interval = None
    for check in _list(quality.get("checks")):
        for raw_found in _list(_dict(check).get("evidence")):
            found = _dict(raw_found)
            bounds = _list(found.get("interval"))
            if found.get("metric") == "roc_auc" and len(bounds) == 2:
                low, high = _number(bounds[0]), _number(bounds[1])
                if low is not None and high is not None:
                    interval = (low, high)
    value = _dict(evidence.get("business_value"))
    labels, scored, customers = (
        _number(evidence.get("labels")),
        _number(metrics.get("n")),
        _number(value.get("customers")),
    )
    previous = value.get("previous_version")
    return LabeledWeek(
        week=int(str(evidence["event_week"])),
        model_version=model_version,
        labels=int(labels) if labels is not None else 0,
        scored_by_model=int(scored) if scored is not None else None,
        roc_auc=_number(metrics.get("roc_auc")),
        interval=interval,
        verdict=str(quality.get("verdict", "")),
        served_usd=_number(value.get("served_usd")),
        customers=int(customers) if customers is not None else None,
        previous_version=str(previous) if previous is not None else None,
        previous_usd=_number(value.get("previous_usd")),
        difference_usd=_number(value.get("difference_usd")),
    )
