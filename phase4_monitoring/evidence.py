"""What every check returns: a verdict, its reason, and the evidence behind it.

The types are pydantic models, so a report serialises to JSON as it is: an exporter can turn
each ``Evidence`` into a gauge labelled by check, column and metric, and a trigger policy can
read verdicts without parsing text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Verdict(StrEnum):
    """How a check came out, from worst to best."""

    FAIL = "fail"  # the data breaks the schema or the contract: no statistic can be trusted
    ALERT = "alert"  # an effect larger than its threshold, measured precisely enough
    INSUFFICIENT = "insufficient"  # too few rows for the effect estimate to be trusted
    SKIPPED = "skipped"  # the check could not run (a missing column, no labels yet)
    OK = "ok"


SEVERITY = {
    Verdict.FAIL: 4,
    Verdict.ALERT: 3,
    Verdict.INSUFFICIENT: 2,
    Verdict.SKIPPED: 1,
    Verdict.OK: 0,
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
    A p-value, where given, is for information only; no decision rests on it.
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
    """One check on one column (or on the whole window when ``column`` is None)."""

    check: str
    column: str | None = None
    verdict: Verdict
    reason: str
    evidence: tuple[Evidence, ...] = ()


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
