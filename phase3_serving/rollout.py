"""Safe rollout of a challenger: shadow scoring, a sticky canary, and guardrails that roll back.

- **Shadow**: the challenger scores every request off the response path; both scores are logged.
- **Canary**: a share of customers, chosen by a stable hash of the customer id (so a customer
  always sees the same model), is served by the challenger.
- **Guardrails**: once the challenger has served enough requests, its error rate, p95 latency
  and score distribution (population stability index against the champion's) are checked; a
  breach ends the canary and the challenger is retired in the registry, with the reason.
"""

from __future__ import annotations

import threading
import zlib
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

PSI_BINS = 10
PSI_EPSILON = 1e-4
WINDOW = 5_000  # recent observations kept per model for the guardrails


class RolloutMode(StrEnum):
    OFF = "off"
    SHADOW = "shadow"
    CANARY = "canary"


def canary_bucket(customer_id: str) -> float:
    """A stable position in [0, 100) for a customer: the same on every worker and restart."""
    return (zlib.crc32(customer_id.encode()) % 10_000) / 100


def population_stability_index(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI between two score samples on [0, 1]: 0 is identical; above 0.25 is a large shift."""
    edges = np.linspace(0.0, 1.0, PSI_BINS + 1)
    e = np.histogram(np.clip(expected, 0, 1), edges)[0] / max(len(expected), 1) + PSI_EPSILON
    a = np.histogram(np.clip(actual, 0, 1), edges)[0] / max(len(actual), 1) + PSI_EPSILON
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class GuardrailLimits:
    min_requests: int
    max_error_rate: float
    max_p95_ms: float
    max_score_shift: float


@dataclass(frozen=True)
class Breach:
    guardrail: str
    observed: float
    limit: float

    @property
    def reason(self) -> str:
        return f"guardrail {self.guardrail}: {self.observed:.4g} exceeds {self.limit:.4g}"


@dataclass
class GuardrailMonitor:
    """Live evidence about the challenger, compared with the champion serving beside it."""

    limits: GuardrailLimits
    requests: int = 0
    errors: int = 0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    challenger_scores: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    champion_scores: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_challenger(self, latency_ms: float, rows: int, scores: np.ndarray | None) -> None:
        """One challenger call over ``rows`` rows; ``scores`` is None when it failed."""
        with self.lock:
            self.requests += rows
            self.latencies_ms.extend([latency_ms] * rows)
            if scores is None:
                self.errors += rows
            else:
                self.challenger_scores.extend(scores.tolist())

    def record_champion(self, scores: np.ndarray) -> None:
        with self.lock:
            self.champion_scores.extend(scores.tolist())

    def snapshot(self) -> dict[str, float]:
        with self.lock:
            latencies = np.array(self.latencies_ms) if self.latencies_ms else np.zeros(1)
            shift = (
                population_stability_index(
                    np.array(self.champion_scores), np.array(self.challenger_scores)
                )
                if self.champion_scores and self.challenger_scores
                else 0.0
            )
            return {
                "requests": float(self.requests),
                "error_rate": self.errors / self.requests if self.requests else 0.0,
                "p95_ms": float(np.percentile(latencies, 95)),
                "score_shift_psi": shift,
            }

    def check(self) -> Breach | None:
        """The first guardrail breached, once there is enough evidence to judge."""
        if self.requests < self.limits.min_requests:
            return None
        seen = self.snapshot()
        checks = (
            ("error_rate", seen["error_rate"], self.limits.max_error_rate),
            ("p95_latency_ms", seen["p95_ms"], self.limits.max_p95_ms),
            ("score_shift_psi", seen["score_shift_psi"], self.limits.max_score_shift),
        )
        for name, observed, limit in checks:
            if observed > limit:
                return Breach(name, observed, limit)
        return None


@dataclass
class Rollout:
    """The current rollout plan and its guardrail evidence (one per worker)."""

    limits: GuardrailLimits
    mode: RolloutMode = RolloutMode.OFF
    canary_percent: float = 0.0
    monitor: GuardrailMonitor = field(init=False)
    last_breach: Breach | None = None

    def __post_init__(self) -> None:
        self.monitor = GuardrailMonitor(self.limits)

    def configure(self, mode: RolloutMode, canary_percent: float = 0.0) -> None:
        """Start a new plan with fresh evidence."""
        self.mode = mode
        self.canary_percent = canary_percent if mode is RolloutMode.CANARY else 0.0
        self.monitor = GuardrailMonitor(self.limits)

    def routes_to_challenger(self, customer_id: str | None) -> bool:
        if self.mode is not RolloutMode.CANARY or customer_id is None:
            return False
        return canary_bucket(customer_id) < self.canary_percent

    @property
    def shadowing(self) -> bool:
        return self.mode is RolloutMode.SHADOW

    def stop(self, breach: Breach) -> None:
        self.last_breach = breach
        self.mode = RolloutMode.OFF
        self.canary_percent = 0.0

    def describe(self) -> dict[str, object]:
        return {
            "mode": self.mode.value,
            "canary_percent": self.canary_percent,
            "guardrails": self.monitor.snapshot(),
            "last_breach": None if self.last_breach is None else self.last_breach.reason,
        }
