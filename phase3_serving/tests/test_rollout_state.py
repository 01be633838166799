"""The rollout plan and its evidence, shared by workers through the state directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from phase3_serving.guardrails import GuardrailPolicy
from phase3_serving.rollout import Rollout, RolloutMode, RolloutPlan, canary_bucket
from phase3_serving.shared import EvidenceBoard, PlanStore

POLICY = GuardrailPolicy(
    alpha=0.01,
    looks=(100, 200),
    max_error_rate=0.02,
    max_p95_ms=50.0,
    max_score_shift=0.25,
    score_bins=10,
    min_latency_calls=1,
)


def worker(directory: Path, name: str) -> Rollout:
    """One worker's rollout state; workers share only ``directory``."""
    return Rollout(POLICY, PlanStore(directory), EvidenceBoard(directory, worker=name))


ROWS_PER_CALL = 5


def serve_challenger(
    rollout: Rollout, rows: int, failed_calls: int = 0, latency_ms: float = 5.0
) -> None:
    """``rows`` challenger rows in calls of ``ROWS_PER_CALL``; the first ``failed_calls`` fail."""
    rng = np.random.default_rng(rows)
    rollout.record_champion(rng.beta(2, 5, 4 * rows))
    for call, start in enumerate(range(0, rows, ROWS_PER_CALL)):
        size = min(ROWS_PER_CALL, rows - start)
        scored = 0 if call < failed_calls else size
        rollout.record_challenger(latency_ms, size, rng.beta(2, 5, scored))


def test_canary_is_sticky_and_close_to_its_share(tmp_path: Path) -> None:
    rollout = worker(tmp_path, "a")
    rollout.configure(RolloutMode.CANARY, 10, "test")
    ids = [f"cust-{i}" for i in range(20_000)]
    chosen = [rollout.routes_to_challenger(i) for i in ids]
    assert chosen == [rollout.routes_to_challenger(i) for i in ids]  # sticky
    assert 0.09 < np.mean(chosen) < 0.11  # about 10%
    assert canary_bucket("cust-1") == canary_bucket("cust-1")
    assert not rollout.routes_to_challenger(None)  # no id, no canary


def test_a_plan_set_on_one_worker_is_followed_by_the_other(tmp_path: Path) -> None:
    a, b = worker(tmp_path, "a"), worker(tmp_path, "b")
    plan = a.configure(RolloutMode.CANARY, 30, "admin")
    assert b.mode is RolloutMode.OFF
    b.refresh()
    assert (b.mode, b.canary_percent, b.plan.plan_id) == (RolloutMode.CANARY, 30, plan.plan_id)
    assert b.store.read_if_changed() is None  # unchanged file: nothing re-read


def test_a_new_challenger_never_inherits_the_last_ones_evidence(tmp_path: Path) -> None:
    rollout = worker(tmp_path, "a")
    rollout.configure(RolloutMode.CANARY, 50, "admin")
    rollout.set_challenger("4")
    serve_challenger(rollout, 150, failed_calls=6, latency_ms=500.0)
    assert rollout.pooled().errors == 30
    rollout.set_challenger("5")
    fresh = rollout.pooled()
    assert (fresh.requests, fresh.errors, fresh.calls, sum(fresh.challenger_bins)) == (0, 0, 0, 0)
    assert rollout.looks_done == 0
    rollout.set_challenger("5")  # the same one again: evidence kept
    serve_challenger(rollout, 10)
    rollout.set_challenger("5")
    assert rollout.pooled().requests == 10


def test_a_new_plan_starts_from_no_evidence(tmp_path: Path) -> None:
    rollout = worker(tmp_path, "a")
    rollout.set_challenger("4")
    rollout.configure(RolloutMode.CANARY, 50, "admin")
    serve_challenger(rollout, 50)
    rollout.configure(RolloutMode.SHADOW, 0, "admin")
    assert rollout.pooled().requests == 0


def test_evidence_is_pooled_and_each_look_is_taken_by_one_worker(tmp_path: Path) -> None:
    a, b = worker(tmp_path, "a"), worker(tmp_path, "b")
    a.configure(RolloutMode.CANARY, 50, "admin")
    b.refresh()
    for w in (a, b):
        w.set_challenger("7")
        serve_challenger(w, 60)
    assert a.check() is None  # 60 published; b's 60 not yet: below the first look (100)
    verdict = b.check()  # b sees 120 in all and takes look 1
    assert verdict is not None
    assert verdict.look == 1
    assert verdict.requests == 120
    serve_challenger(a, 5)
    assert a.check() is None  # look 1 was b's; look 2 (200) not reached
    assert a.pooled().requests == 125
    assert a.describe()["looks"]["last_verdict"]["look"] == 1  # type: ignore[index]


def test_a_breach_stops_every_worker_with_its_evidence(tmp_path: Path) -> None:
    a, b = worker(tmp_path, "a"), worker(tmp_path, "b")
    a.configure(RolloutMode.CANARY, 50, "admin")
    b.refresh()
    a.set_challenger("9")
    b.set_challenger("9")
    serve_challenger(a, 120, failed_calls=12)
    verdict = a.check()
    assert verdict is not None
    assert verdict.breach is not None
    assert verdict.breach.check == "error_rate"
    assert a.stop(verdict)
    b.refresh()
    assert b.mode is RolloutMode.OFF
    assert b.plan.last_breach is not None
    assert "error_rate" in str(b.plan.last_breach["reason"])
    assert b.describe()["last_breach"] == b.plan.last_breach


def test_a_stale_breach_does_not_undo_a_newer_plan(tmp_path: Path) -> None:
    a, b = worker(tmp_path, "a"), worker(tmp_path, "b")
    a.configure(RolloutMode.CANARY, 50, "admin")
    a.set_challenger("9")
    serve_challenger(a, 120, failed_calls=12)
    verdict = a.check()
    assert verdict is not None
    newer = b.configure(RolloutMode.SHADOW, 0, "admin")  # an operator moved on meanwhile
    assert not a.stop(verdict)
    assert PlanStore(tmp_path).read().plan_id == newer.plan_id


def test_settings_seed_the_plan_once_and_a_restart_keeps_it(tmp_path: Path) -> None:
    store = PlanStore(tmp_path)
    first = store.seed(RolloutPlan.new(RolloutMode.CANARY, 20, "settings"))
    again = store.seed(RolloutPlan.new(RolloutMode.CANARY, 20, "settings"))  # worker 2, restart
    assert again.plan_id == first.plan_id
    changed = store.seed(RolloutPlan.new(RolloutMode.CANARY, 40, "settings"))
    assert changed.plan_id != first.plan_id
