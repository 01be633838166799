"""The capstone end to end on the smoke scenario: every decision with the real parts."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest

from phase1_foundations.contract import FEATURE_NAMES, ID_COLUMN
from phase1_foundations.settings import Settings
from phase3_serving.params import load_serving_params
from phase5_capstone.events import Event, read_events
from phase5_capstone.faults import LabelShuffle, SlowServing
from phase5_capstone.runner import RunResult, build_context, run
from phase5_capstone.tests.conftest import of_kind, run_scenario, smoke
from phase5_capstone.weekly import SCORES_FILE

pytestmark = pytest.mark.slow
# In the smoke scenario churn changes in week 3 and labels arrive a week late: week 4 is the
# first whose labels show the harm, and the retrain it asks for learns the drifted week.
RETRAIN_WEEK = 3 + 1


def test_smoke_run_shows_each_beat(smoke_run: RunResult) -> None:
    events = list(smoke_run.events)
    quarantined = of_kind(events, "quarantined")
    assert [e.week for e in quarantined] == [5]  # the null-flood batch, and only it
    assert "tenure" in str(quarantined[0].evidence["problems"])  # the reason names the field
    reports = [e.measured.get("evidently_html") for e in of_kind(events, "monitored")]
    assert [e.week for e, r in zip(of_kind(events, "monitored"), reports, strict=True) if r] == [5]
    assert (smoke_run.paths.root / str(reports[5])).is_file()  # Evidently, on the alert only
    staged = of_kind(events, "challenger_staged")
    assert [e.week for e in staged] == [RETRAIN_WEEK]
    trained_on = [*staged[0].evidence["train_weeks"], *staged[0].evidence["holdout_weeks"]]
    assert 3 in trained_on  # it learned from the week the world changed
    assert 5 not in trained_on  # never trained on the quarantined week
    retrains = [e for e in of_kind(events, "decision") if e.evidence["action"] == "retrain"]
    assert all(5 not in (e.evidence.get("quarantine_weeks") or []) or e.week > 5 for e in retrains)
    promoted = of_kind(events, "promoted")
    assert [e.model_version for e in promoted] == [staged[0].model_version]
    assert smoke_run.state.champion == staged[0].model_version


def _realized_auc(events: list[Event], version: str, since: int) -> list[float]:
    found = []
    for event in of_kind(events, "labels_arrived"):
        quality = event.evidence.get("quality")
        week = event.evidence.get("event_week")
        if event.model_version == version and isinstance(quality, dict):
            metrics = quality["metrics"]
            assert isinstance(metrics, dict)
            assert isinstance(week, int)
            if week >= since:
                found.append(float(metrics["roc_auc"]))  # type: ignore[arg-type]
    return found


def test_quality_recovers_after_the_promotion(smoke_run: RunResult) -> None:
    events = list(smoke_run.events)
    promoted = of_kind(events, "promoted")[0].model_version
    assert promoted is not None
    drift_start = 3  # smoke.yml
    stale = _realized_auc(events, "1", since=drift_start)
    fresh = _realized_auc(events, promoted, since=drift_start)
    assert stale
    assert fresh
    assert min(fresh) > max(stale)  # the retrained champion beats the stale one on drifted weeks


def test_service_scores_match_the_registered_pipeline(smoke_run: RunResult) -> None:
    """Oracle: the registered model's own predict_proba, not the service's fast path."""
    root = smoke_run.paths.root
    week = 2  # before the change and any challenger: every customer is served by v1
    scored = pd.read_parquet(root / "weeks" / f"{week:04d}" / SCORES_FILE)
    assert set(scored["model_version"]) == {"1"}
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    model = mlflow.sklearn.load_model("models:/churn-model/1")
    features = smoke().make_world().week(week).features
    assert list(features[ID_COLUMN]) == list(scored[ID_COLUMN])
    expected = model.predict_proba(features[list(FEATURE_NAMES)])[:, 1]
    np.testing.assert_allclose(scored["score"].to_numpy(), expected, rtol=0, atol=1e-6)


def test_a_second_run_reports_the_finished_run(smoke_run: RunResult) -> None:
    base = Settings(state_dir=smoke_run.paths.root.parents[1])
    again = run(build_context(smoke(), base=base), progress=False)
    assert again.already_finished
    assert [e.key for e in again.events] == [e.key for e in smoke_run.events]
    assert read_events(smoke_run.paths.events) == list(smoke_run.events)  # nothing appended


def test_crippled_candidate_is_rejected_by_the_gate(tmp_path: Path) -> None:
    bug = LabelShuffle(start_week=RETRAIN_WEEK, end_week=RETRAIN_WEEK, fraction=0.9)
    result = run_scenario(smoke(weeks=RETRAIN_WEEK + 1, faults=(bug,)), tmp_path)
    events = list(result.events)
    rejected = [e for e in of_kind(events, "candidate_rejected") if e.week == RETRAIN_WEEK]
    # Both candidates learned from the shuffled labels; the same retrain without the bug is
    # staged (smoke_run). The gate rejects each on the same rows as the champion.
    assert {e.evidence["candidate"] for e in rejected} == {"retrain", "recalibration"}
    retrain = next(e for e in rejected if e.evidence["candidate"] == "retrain")
    assert retrain.evidence["faults"] == ["label_shuffle"]
    gate = retrain.evidence["gate"]
    assert isinstance(gate, dict)
    assert gate["promote"] is False
    failed = [
        c["check"]
        for c in gate["checks"]  # type: ignore[union-attr]
        if c["verdict"] != "ok" and c.get("blocking", True)  # type: ignore[union-attr]
    ]
    # Crippled: worse than even the broken champion on the same rows.
    assert "not worse than the broken champion on roc_auc" in failed, failed
    assert not of_kind(events, "challenger_staged")
    assert result.state.champion == "1"  # the champion keeps serving


def test_slow_candidate_is_stopped_by_a_live_guardrail(tmp_path: Path) -> None:
    slow = SlowServing(start_week=RETRAIN_WEEK, end_week=RETRAIN_WEEK, delay_ms=400)
    result = run_scenario(smoke(weeks=RETRAIN_WEEK + 3, faults=(slow,)), tmp_path)
    events = list(result.events)
    staged = of_kind(events, "challenger_staged")
    assert staged[0].week == RETRAIN_WEEK  # offline evaluation passed it: the gate cannot time it
    stopped = of_kind(events, "guardrail_rollback")
    assert len(stopped) == 1
    assert stopped[0].model_version == staged[0].model_version
    assert stopped[0].evidence["guardrail"] == ["p95_latency_ms"]
    breach = stopped[0].measured["breach"]
    assert isinstance(breach, dict)
    latency = next(c for c in breach["verdict"]["checks"] if c["check"] == "p95_latency_ms")  # type: ignore[index,union-attr]
    assert latency["verdict"] == "alert"
    bound = next(e for e in latency["evidence"] if e["metric"] == "slow_call_share_lower_bound")
    assert bound["value"] > bound["threshold"]  # the bound on slow calls is beyond 5%
    assert bound["n"] >= load_serving_params().guardrails.min_latency_calls  # calls, judged
    promoted = {e.model_version for e in of_kind(events, "promoted")}
    assert staged[0].model_version not in promoted  # the slow one never served everyone
    assert all(e.week > RETRAIN_WEEK for e in staged[1:])  # a later try, once the fault is gone


def test_timeline_is_one_self_contained_page(smoke_run: RunResult, tmp_path: Path) -> None:
    from phase5_capstone.timeline import write_timeline

    page = write_timeline(list(smoke_run.events), tmp_path / "t.html", "smoke").read_text()
    assert "data:image/png;base64," in page  # the plots are inside the page
    assert "src='http" not in page  # nothing to fetch
    assert "promoted" in page
    assert "quarantined" in page


def test_explain_names_the_model_its_gate_and_its_data(smoke_run: RunResult) -> None:
    from phase5_capstone.summary import explain_week

    text = explain_week(list(smoke_run.events), 11)
    promoted = of_kind(list(smoke_run.events), "promoted")[0].model_version
    assert f"served: champion v{promoted}" in text
    assert "dAUC" in text  # the gate's paired comparison, with its interval
    assert "train_fingerprint" in text
    assert "world_calibrated_on_dvc_md5" in text


def test_rollback_restores_the_previous_champion_everywhere(
    smoke_run: RunResult, tmp_path: Path
) -> None:
    """The decide step's rollback, on a copy of the finished smoke run: registry, then service.

    The trigger's rollback rule itself is phase 4's (tested there); this is what the capstone
    does with its decision.
    """
    from phase2_pipelines.registry import CHAMPION, Registry
    from phase4_monitoring.triggers import Action, TriggerDecision
    from phase5_capstone.decisions import rollback

    shutil.copytree(smoke_run.paths.root, tmp_path / "capstone" / "smoke")
    ctx = build_context(smoke(), base=Settings(state_dir=tmp_path))
    state = smoke_run.state
    current = state.champion
    assert current is not None
    assert current != "1"
    decision = TriggerDecision(
        week=11, model_version=current, action=Action.ROLLBACK, checks=(), rollback_to="1"
    )
    try:
        after, event = rollback(ctx, 11, state, decision)
        scored = ctx.service.score(smoke().make_world().week(11).features, 250)
    finally:
        ctx.close()
    registry = Registry("churn-model")
    assert registry.version_for(CHAMPION) == "1"
    assert registry.rolled_back(current) is not None  # phase 2 will not promote it again
    assert set(scored.frame["model_version"]) == {"1"}  # the service swapped back
    assert after.champion == "1"
    assert current in after.rolled_back_versions
    assert event.kind == "rolled_back"


def test_healthy_control_changes_nothing(tmp_path: Path) -> None:
    """26 weeks where nothing goes wrong: no alert, no quarantine, no model change; the only
    retrains are the schedule's, and the gate rejects each (none is better). The schedule is the
    champion's age, so a rejected one resets nothing: it is tried again every cooldown."""
    from phase4_monitoring.params import load_monitoring_params
    from phase5_capstone.params import load_capstone_params
    from phase5_capstone.scenario import load_scenario
    from phase5_capstone.summary import check_beats

    scenario = load_scenario("healthy")
    result = run_scenario(scenario, tmp_path)
    events = list(result.events)
    yardstick = load_capstone_params().yardstick
    assert [ok for _, ok in check_beats(events, scenario.beats, yardstick)] == [True]
    triggers = load_monitoring_params().triggers
    due = list(range(triggers.schedule_weeks, scenario.weeks, triggers.cooldown_weeks))
    assert [e.week for e in of_kind(events, "candidate_rejected")] == due  # 13, 17, 21, 25
    assert not of_kind(events, "escalated")  # a refresh that loses is no failure to escalate
    assert result.state.champion == "1"


def test_one_week_at_a_time_as_a_scheduler_runs_it(smoke_run: RunResult, tmp_path: Path) -> None:
    """`run --one-week` (the CronJob's command) runs the next week only, and weeks run one by
    one decide what a whole run decides."""
    from phase5_capstone.runner import next_week

    for expected in (1, 2, 3):
        ctx = build_context(smoke(), base=Settings(state_dir=tmp_path))
        result = run(ctx, progress=False, max_weeks=1)
        assert next_week(ctx) == expected
        assert not result.already_finished
    weekly = [e.comparable() for e in read_events(result.paths.events)]
    whole = [e.comparable() for e in smoke_run.events if e.week < 3]
    assert weekly == whole


def test_a_replica_left_on_an_old_version_is_caught(smoke_run: RunResult, tmp_path: Path) -> None:
    """From the week the healthy smoke run promotes v2 (v1 still serving), a second replica serves
    30% of customers and never swaps: harmless while it holds the champion, caught as version
    skew the week a newer champion serves."""
    from phase5_capstone.faults import StaleReplica

    first_promotion = of_kind(list(smoke_run.events), "promoted")[0].week
    stale = StaleReplica(start_week=first_promotion, share_percent=30)
    result = run_scenario(smoke(faults=(stale,)), tmp_path)
    events = list(result.events)
    promoted = of_kind(events, "promoted")
    assert len(promoted) == 1
    assert promoted[0].week >= stale.start_week  # promoted once the replica was pinned to v1
    skew = of_kind(events, "version_skew")
    assert skew
    assert skew[0].week == promoted[0].week + 1  # the first week the new champion serves
    unexpected = skew[0].evidence["unexpected"]
    assert isinstance(unexpected, dict)
    assert list(unexpected) == ["1"]  # the version it was pinned to when the fault began
    assert 400 < int(unexpected["1"]) < 800  # about 30% of 2,000 customers


def test_training_serving_skew_is_stopped_by_the_skew_guardrail(tmp_path: Path) -> None:
    """The package reads tenure in years where training used months: offline evaluation scored
    the training pipeline and saw nothing; in the shadow, the same rows scored live land
    elsewhere than evaluation put them, and the skew guardrail stops it before it serves."""
    from phase5_capstone.faults import ServingSkew

    skew = ServingSkew(
        start_week=RETRAIN_WEEK, end_week=RETRAIN_WEEK, feature="tenure", factor=1 / 12
    )
    result = run_scenario(smoke(weeks=RETRAIN_WEEK + 3, faults=(skew,)), tmp_path)
    events = list(result.events)
    staged = of_kind(events, "challenger_staged")
    assert staged[0].week == RETRAIN_WEEK  # the gate passed it
    stopped = of_kind(events, "guardrail_rollback")
    assert len(stopped) == 1
    assert stopped[0].model_version == staged[0].model_version
    assert stopped[0].evidence["guardrail"] == ["score_skew_psi"]
    assert stopped[0].evidence["stage"] == "shadow"
    assert staged[0].model_version not in {e.model_version for e in of_kind(events, "promoted")}
