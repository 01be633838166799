"""Safe rollout of a challenger: shadow scoring, a sticky canary, guardrails that roll back.

- **Shadow**: the challenger scores every request after the response is sent; both are logged.
- **Canary**: a share of customers, chosen by a stable hash of the customer id (so a customer
  always sees the same model), is served by the challenger.
- **Guardrails** (``guardrails.py``): tested at a fixed schedule of looks; a breach ends the
  rollout and the challenger is retired in the registry, with the evidence. In both stages the
  score check is skew (live against offline scores of the same rows, the *probe*, scored once
  per plan); the canary also reports how far it scores from the champion (the business view),
  which is never a rollback reason.

The plan is shared by every worker: it lives in ``<state>/rollout/plan.json``, written
atomically, and each worker re-reads it when the file changes (``shared.py``). The evidence is
pooled too: each worker publishes its counts for the current plan and challenger, a look is
evaluated by whichever worker claims it first, on everyone's evidence. Evidence belongs to one
(plan, challenger version) pair, so a new plan or a new challenger starts from nothing.
"""

from __future__ import annotations

import threading
import zlib

import numpy as np

from phase3_serving.guardrails import GuardrailDecision, GuardrailPolicy, Observations, Stage
from phase3_serving.shared import EvidenceBoard, PlanStore, RolloutMode, RolloutPlan

__all__ = ["Rollout", "RolloutMode", "RolloutPlan", "canary_bucket"]


def canary_bucket(customer_id: str) -> float:
    """A stable position in [0, 100) for a customer: the same on every worker and restart."""
    return (zlib.crc32(customer_id.encode()) % 10_000) / 100


class Rollout:
    """This worker's view of the shared plan, and its share of the guardrail evidence."""

    def __init__(self, policy: GuardrailPolicy, store: PlanStore, board: EvidenceBoard) -> None:
        self.policy = policy
        self.store = store
        self.board = board
        self.plan = RolloutPlan()
        self.challenger_version: str | None = None
        self.observed = Observations.empty(policy)
        self.looks_done = 0
        self.probe_claimed: str | None = None  # the key whose probe is running or done
        self.lock = threading.Lock()

    # ---- the plan ---------------------------------------------------------------------------

    @property
    def mode(self) -> RolloutMode:
        return self.plan.mode

    @property
    def canary_percent(self) -> float:
        return self.plan.canary_percent

    @property
    def shadowing(self) -> bool:
        return self.plan.mode is RolloutMode.SHADOW

    @property
    def active(self) -> bool:
        return self.plan.mode is not RolloutMode.OFF

    @property
    def key(self) -> str:
        """Evidence belongs to one plan and one challenger version."""
        return f"{self.plan.plan_id}-v{self.challenger_version}"

    def routes_to_challenger(self, customer_id: str | None) -> bool:
        if self.plan.mode is not RolloutMode.CANARY or customer_id is None:
            return False
        return canary_bucket(customer_id) < self.plan.canary_percent

    def adopt(self, plan: RolloutPlan) -> None:
        """Follow ``plan``; a different plan starts with fresh evidence."""
        with self.lock:
            fresh = plan.plan_id != self.plan.plan_id
            self.plan = plan
            if fresh:
                self._reset()

    def set_challenger(self, version: str | None) -> None:
        """A new (or no) challenger never inherits the last one's evidence."""
        with self.lock:
            if version != self.challenger_version:
                self.challenger_version = version
                self._reset()

    def _reset(self) -> None:
        self.observed = Observations.empty(self.policy)
        self.looks_done = 0

    def configure(self, mode: RolloutMode, canary_percent: float, source: str) -> RolloutPlan:
        """Start a new plan for every worker (written to the shared file) and follow it here."""
        plan = RolloutPlan.new(mode, canary_percent, source)
        self.store.write(plan)
        self.adopt(plan)
        return plan

    def refresh(self) -> None:
        """Pick up a plan another worker wrote (cheap when nothing changed: one stat)."""
        plan = self.store.read_if_changed()
        if plan is not None:
            self.adopt(plan)

    # ---- evidence ---------------------------------------------------------------------------

    def record_challenger(self, latency_ms: float, rows: int, scores: np.ndarray) -> None:
        with self.lock:
            self.observed.record_challenger(self.policy, latency_ms, rows, scores)

    def record_champion(self, scores: np.ndarray) -> None:
        with self.lock:
            self.observed.record_champion(scores)

    def claim_probe(self, version: str) -> bool:
        """Whether this worker should now score ``version``'s offline rows live: once per plan
        and challenger (a second call while the first probe runs says no)."""
        with self.lock:
            if version != self.challenger_version or self.observed.probed:
                return False
            if self.probe_claimed == self.key:
                return False
            self.probe_claimed = self.key
            return True

    def record_probe(self, version: str, live: np.ndarray, offline: np.ndarray) -> None:
        with self.lock:
            if version == self.challenger_version:
                self.observed.record_probe(live, offline)

    def pooled(self) -> Observations:
        """Every worker's evidence for the current plan and challenger (this one's is live)."""
        with self.lock:
            key, mine = self.key, self.observed.model_copy(deep=True)
        others = self.board.read_others(key)
        return Observations.pooled([mine, *others], self.policy)

    def check(self) -> GuardrailDecision | None:
        """Share this worker's evidence; test the guardrails if a look is due and is ours.

        Runs off the event loop (it touches files). Returns the verdict of a look this worker
        evaluated, or None.
        """
        if not self.active or self.challenger_version is None:
            return None
        with self.lock:
            key, mine, done = self.key, self.observed.model_copy(deep=True), self.looks_done
        self.board.publish(key, mine)
        pooled = Observations.pooled([mine, *self.board.read_others(key)], self.policy)
        look = self.policy.due_look(pooled.requests, done)
        if look is None:
            return None
        with self.lock:
            if key != self.key:
                return None  # the plan or the challenger changed meanwhile
            self.looks_done = look + 1
        if not self.board.claim(key, look):
            return None  # another worker is evaluating this look
        stage = Stage.SHADOW if self.plan.mode is RolloutMode.SHADOW else Stage.CANARY
        verdict = self.policy.check(pooled, look, stage)
        self.board.record_verdict(key, verdict)
        return verdict

    def stop(self, verdict: GuardrailDecision) -> bool:
        """End the rollout for every worker, recording the breach; False if the plan has
        moved on already (an operator set a new one meanwhile)."""
        breach = verdict.breach
        plan = RolloutPlan.new(
            RolloutMode.OFF,
            0.0,
            "guardrail",
            last_breach={
                "reason": breach.reason if breach else "",
                "verdict": verdict.to_dict(),
                "challenger_version": self.challenger_version,
            },
        )
        if not self.store.replace_if_current(self.plan.plan_id, plan):
            return False
        self.adopt(plan)
        return True

    def describe(self) -> dict[str, object]:
        self.refresh()  # the shared truth, so every worker answers alike
        plan, evidence = self.plan, self.pooled()
        return {
            "mode": plan.mode.value,
            "canary_percent": plan.canary_percent,
            "plan_id": plan.plan_id,
            "source": plan.source,
            "challenger_version": self.challenger_version,
            "guardrails": evidence.summary(),
            "looks": {
                "schedule": list(self.policy.looks),
                "alpha": self.policy.alpha,
                "alpha_per_test": self.policy.alpha_per_test,
                "last_verdict": self.board.last_verdict(self.key),
            },
            "last_breach": plan.last_breach,
        }
