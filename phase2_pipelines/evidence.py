"""The one vocabulary every automated decision reports in: evidence, checks, verdicts, decisions.

The gate (phase 2), the rollout guardrails (phase 3), the monitor and the retraining triggers
(phase 4) each decide something; each says so in these types, so a reader, the event log and
the docs meet one shape:

- ``Evidence``: one effect size with what it takes to trust it (n, interval, noise floor).
- ``Check``: one rule applied to evidence: its ``verdict`` and, in words, its ``reason``.
- ``Verdict``: how a check came out. "Not enough evidence" is a state of its own and never
  counts as "no harm shown".
- ``Decision``: what was decided, with every check it rests on.

Each owner adds what only it knows in a subclass (``GateCheck``, ``GuardrailCheck``,
``FeatureDrift``, ``RuleOutcome``...). They are pydantic models, so they serialise to JSON as
they are, and the base ``Check`` reads any of their JSON back (extra fields are ignored), which
is how the docs render every decision of the event log one way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from enum import StrEnum
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict


class Verdict(StrEnum):
    """How a check came out, from worst to best."""

    FAIL = "fail"  # a hard rule is broken (a schema, a contract, a floor, a burden not met)
    ALERT = "alert"  # harm shown: an effect beyond its limit, measured precisely enough
    INSUFFICIENT = "insufficient"  # not enough evidence either way; never counts as ok
    SKIPPED = "skipped"  # the check could not run (a missing column, no labels yet)
    OK = "ok"  # the rule is met, or no harm shown


SEVERITY = {
    Verdict.FAIL: 4,
    Verdict.ALERT: 3,
    Verdict.INSUFFICIENT: 2,
    Verdict.SKIPPED: 1,
    Verdict.OK: 0,
}
MARKS = {
    Verdict.FAIL: "FAIL",
    Verdict.ALERT: "ALERT",
    Verdict.INSUFFICIENT: "INSUFFICIENT",
    Verdict.SKIPPED: "SKIPPED",
    Verdict.OK: "PASS",
}


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    return max(verdicts, key=SEVERITY.__getitem__, default=Verdict.OK)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Evidence(_Frozen):
    """One effect size with what it takes to trust it.

    ``noise_floor`` is what the effect stays below with probability 1 - alpha when nothing
    changed, at these sample sizes. An effect counts (``exceeded``) only when it is above its
    threshold and ``trusted``: its noise floor is well below the threshold. An imprecise effect
    whose value plus floor stays below the threshold is trusted too: it rules the threshold out.
    A one-sided confidence bound is evidence of its own, named for it (``..._lower_bound``),
    whose value is the bound. A p-value, where given, is for information only; no decision
    rests on it.
    """

    metric: str
    value: float
    threshold: float | None = None  # None: reported, not judged
    noise_floor: float | None = None
    n: int
    n_reference: int | None = None
    interval: tuple[float, float] | None = None
    standard_error: float | None = None  # of ``value``, where it has one (a trigger's interval)
    p_value: float | None = None
    trusted: bool = True
    exceeded: bool = False

    def describe(self) -> str:
        text = f"{self.metric} {_number(self.value)}"
        if self.threshold is not None:
            text += f" {'>' if self.exceeded else 'of'} {_number(self.threshold)}"
        if self.interval is not None:
            text += f" [{_number(self.interval[0])}, {_number(self.interval[1])}]"
        if self.noise_floor is not None:
            text += f" (noise floor {_number(self.noise_floor)} at n={self.n:,})"
        return text


def _number(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def judge(
    metric: str,
    value: float,
    threshold: float,
    noise_floor: float,
    *,
    n: int,
    n_reference: int | None,
    max_floor_ratio: float,
    interval: tuple[float, float] | None = None,
    standard_error: float | None = None,
    p_value: float | None = None,
) -> Evidence:
    """An effect judged against its threshold, counted only when its noise floor allows.

    The estimate can decide (``trusted``) when its floor is well below the threshold, or when
    even the estimate plus its floor stays at or below the threshold: then an effect that large
    is ruled out (no harm shown), however imprecise the estimate is otherwise.
    """
    finite = math.isfinite(noise_floor) and math.isfinite(value)
    precise = finite and noise_floor <= max_floor_ratio * threshold
    trusted = precise or (finite and value + noise_floor <= threshold)
    return Evidence(
        metric=metric,
        value=value,
        threshold=threshold,
        noise_floor=noise_floor,
        n=n,
        n_reference=n_reference,
        interval=interval,
        standard_error=standard_error,
        p_value=p_value,
        trusted=trusted,
        exceeded=trusted and math.isfinite(value) and value > threshold,
    )


class Check(_Frozen):
    """One rule on one subject (a column, when ``column`` is set): the verdict, why, and the
    evidence it rests on."""

    check: str
    column: str | None = None
    verdict: Verdict
    reason: str
    evidence: tuple[Evidence, ...] = ()

    @property
    def mark(self) -> str:
        """The verdict as a line's tag: PASS, FAIL, ALERT, INSUFFICIENT or SKIPPED."""
        return MARKS[self.verdict]

    def __str__(self) -> str:
        column = f" {self.column}" if self.column else ""
        return f"[{self.mark}] {self.check}{column}: {self.reason}"


def verdict_from(evidence: Iterable[Evidence]) -> tuple[Verdict, str]:
    """ALERT when an effect exceeds its threshold; INSUFFICIENT when one can't be trusted yet."""
    items = list(evidence)
    judged = [e for e in items if e.threshold is not None]
    exceeded = [e for e in judged if e.exceeded]
    if exceeded:
        return Verdict.ALERT, "; ".join(e.describe() for e in exceeded)
    untrusted = [e for e in judged if not e.trusted]
    if untrusted:
        worst_floor = max(untrusted, key=lambda e: (e.noise_floor or 0) / (e.threshold or 1))
        return Verdict.INSUFFICIENT, f"too few rows to judge: {worst_floor.describe()}"
    if not judged:
        return Verdict.OK, "nothing to judge"
    largest = max(judged, key=lambda e: e.value / (e.threshold or 1))
    return Verdict.OK, f"largest effect: {largest.describe()}"


C = TypeVar("C", bound=Check)


class Decision(_Frozen, Generic[C]):
    """What was decided and every check it rests on; a subclass says what is decided (promote,
    roll back, which action) and which kind of check it holds."""

    checks: tuple[C, ...] = ()

    def named(self, name: str) -> C | None:
        """The check called ``name``, if the decision has one."""
        return next((c for c in self.checks if c.check == name), None)

    def verdict_of(self, name: str) -> Verdict | None:
        found = self.named(name)
        return None if found is None else found.verdict
