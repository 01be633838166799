"""The retraining trigger on real world weeks: each scenario gets the action it calls for.

Every history is built by the real monitor (``replay.monitor_world``) from world weeks scored
by a champion trained on world weeks 0-9, serving from week 14 (the week after params.yaml's
cutoff_week; the tests read it there). Labels arrive 4 weeks late, so
week 14's realized quality is known at week 18. The oracle is the scenario's design (which
effect it switches on, from which week), not the trigger's code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pandas as pd
import pytest

from phase1_foundations.scenarios import ConceptDrift, Scenario
from phase1_foundations.world import World
from phase2_pipelines.params import load_params
from phase2_pipelines.stats import FloatArray
from phase4_monitoring.lesson.replay import (
    MonitoredWorld,
    Serving,
    WorldChampion,
    monitor_world,
    replay_trigger,
)
from phase4_monitoring.lesson.scenarios import phase4_scenarios
from phase4_monitoring.params import MonitoringParams, TriggerParams
from phase4_monitoring.triggers import Action, MonitoringHistory, TriggerDecision, decide_trigger
from testing.expectations import expectation

WORLD = load_params().data.world
FIRST = WORLD.first_serving_week  # the week after the champion's cutoff (params.yaml)
DELAY = WORLD.label_delay_weeks  # week FIRST's labels are out DELAY weeks later
CONTROL_SEEDS = range(2_000, 2_024)
CONTROL_WEEKS = range(FIRST, FIRST + 26)

PHASE4_SCENARIOS = phase4_scenarios()  # lesson/worlds/*.yml


def replay(
    champion: WorldChampion,
    params: MonitoringParams,
    scenario: Scenario | str,
    weeks: range,
    *,
    seed: int = 42,
    rows: int = 2_000,
    policy: TriggerParams | None = None,
    schedule: tuple[Serving, ...] | None = None,
) -> dict[int, TriggerDecision]:
    world = World(seed, scenario, rows_per_week=rows)
    monitored = monitor_world(world, schedule or (Serving(FIRST, champion),), weeks, params)
    return {d.week: d for d in replay_trigger(monitored, policy or params.triggers)}


def actions(decisions: dict[int, TriggerDecision]) -> dict[int, Action]:
    return {week: d.action for week, d in decisions.items()}


@pytest.mark.slow
def test_healthy_weeks_never_retrain_and_rarely_ask_for_a_look(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    """Healthy control: 24 clean worlds (own seeds) x 26 weeks, the schedule switched off."""
    policy = monitoring_params.triggers.model_copy(update={"schedule_weeks": 0})
    counts: Counter[Action] = Counter()
    fired = []
    for seed in CONTROL_SEEDS:
        decisions = replay(
            world_champion, monitoring_params, "baseline", CONTROL_WEEKS, seed=seed, policy=policy
        )
        counts.update(d.action for d in decisions.values())
        fired += [
            f"seed {seed} {d.summary}" for d in decisions.values() if d.action is not Action.NONE
        ]
    weeks = sum(counts.values())
    print(f"healthy control: { {a.value: n for a, n in counts.items()} } over {weeks} weeks")
    assert weeks == len(CONTROL_SEEDS) * len(CONTROL_WEEKS)
    assert counts[Action.RETRAIN] + counts[Action.ROLLBACK] == 0, fired  # a false retrain
    assert counts[Action.QUARANTINE] + counts[Action.WATCH] == 0, fired
    looks = expectation("trigger_healthy_looks_per_100_weeks")
    per_100 = 100 * counts[Action.INVESTIGATE] / weeks
    assert looks.holds(per_100), f"{looks.explain(per_100)}: {fired}"
    # "Not enough evidence either way" is its own state: it asks nothing of anyone, and it is
    # honest that a holdout of 2,000 rows cannot rule out a 0.03 drop every week (about a fifth
    # of healthy weeks, measured). Most healthy weeks must still reach "no harm shown".
    assert counts[Action.NONE] > weeks // 2, fired


def test_a_rejected_scheduled_retrain_does_not_reset_the_schedule_clock(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    """The replay promotes nothing, as a gate does in a healthy world: the champion stays
    overdue, so it is challenged again every cooldown, not a whole schedule later."""
    policy = monitoring_params.triggers
    decisions = replay(world_champion, monitoring_params, "baseline", range(FIRST, FIRST + 28))
    retrains = [w for w, a in actions(decisions).items() if a is Action.RETRAIN]
    due, every = FIRST + policy.schedule_weeks, policy.cooldown_weeks
    assert retrains == list(range(due, FIRST + 28, every)), retrains
    assert all(decisions[w].reasons[0].check == "schedule" for w in retrains)
    assert "overdue" in decisions[due + 1].rule("schedule").reason


def test_with_the_clock_from_any_retrain_the_schedule_restarts_on_a_rejection(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    """``clock_from: retrain`` (before issue 17): the next try is a whole schedule away."""
    policy = monitoring_params.triggers.model_copy(update={"clock_from": "retrain"})
    weeks = range(FIRST, FIRST + 28)
    decisions = replay(world_champion, monitoring_params, "baseline", weeks, policy=policy)
    retrains = [w for w, a in actions(decisions).items() if a is Action.RETRAIN]
    every = policy.schedule_weeks
    assert retrains == [FIRST + every, FIRST + 2 * every]


@dataclass(frozen=True)
class Story:
    """One scenario's replay, shared by the tests that read it."""

    decisions: dict[int, TriggerDecision]

    def at(self, week: int) -> TriggerDecision:
        return self.decisions[week]


@pytest.fixture(scope="module")
def stories(world_champion: WorldChampion, monitoring_params: MonitoringParams) -> dict[str, Story]:
    names: list[Scenario | str] = [
        "covariate_shift",
        "null_flood",
        "schema_break",
        *PHASE4_SCENARIOS.values(),
    ]
    weeks = range(FIRST, FIRST + 14)  # through week 27, when the schedule is due
    return {
        s if isinstance(s, str) else s.name: Story(
            replay(world_champion, monitoring_params, s, weeks)
        )
        for s in names
    }


def test_drift_without_harm_waits_for_labels_then_watches(stories: dict[str, Story]) -> None:
    story = stories["covariate_shift"]  # monthlycharges shifts; how customers churn does not
    assert story.at(FIRST).action is Action.NONE  # one drifted week is not sustained drift
    for week in range(FIRST + 1, FIRST + DELAY):
        assert story.at(week).action is Action.WAIT  # drifted, but no labels yet
        assert story.at(week).rule("drift").action is Action.WAIT
    for week in range(FIRST + DELAY, FIRST + 13):
        decision = story.at(week)
        assert decision.action is Action.WATCH, decision.render()  # never a drift retrain
        assert "monthlycharges" in decision.rule("drift").reason
        assert decision.rule("performance").action is Action.NONE  # no harm on the labels


def test_harm_without_drift_retrains_on_the_realized_auc(
    stories: dict[str, Story], monitoring_params: MonitoringParams
) -> None:
    story = stories["loyal_customers_leave"]  # concept drift: the features look the same
    for week in range(FIRST, FIRST + DELAY):
        assert story.at(week).action is Action.NONE  # nothing to see before labels arrive
    decision = story.at(FIRST + DELAY)  # week FIRST's labels are out
    assert decision.action is Action.RETRAIN, decision.render()
    assert decision.rule("performance").action is Action.RETRAIN
    assert decision.rule("drift").action is Action.NONE  # the harm is not in the features
    bounds = {e.metric: e for w in decision.rule("performance").findings for e in w.evidence}
    drop = bounds["auc_drop_lower_bound"]
    assert drop.exceeded  # the bound, not the point, clears the margin
    assert drop.value > monitoring_params.triggers.performance.auc_drop
    assert drop.n == 2_000


def test_drift_with_harm_retrains_and_a_rejected_retrain_starts_no_cooldown(
    stories: dict[str, Story], monitoring_params: MonitoringParams
) -> None:
    story = stories["two_year_promotion_backfires"]
    decision = story.at(FIRST + DELAY)
    assert decision.action is Action.RETRAIN, decision.render()
    drift = decision.rule("drift")
    assert drift.action is Action.RETRAIN
    assert "contract" in drift.reason
    assert "labels show harm" in drift.reason
    # The replay promotes nothing: last week's retrain came to nothing, so the still-harmed
    # champion is retrained again now, on a week more of labels, rather than cooled down.
    again = story.at(FIRST + DELAY + 1)
    assert again.action is Action.RETRAIN, again.render()
    assert "cooldown" not in again.rule("drift").reason


def test_with_the_clock_from_any_retrain_a_rejected_retrain_cools_down(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    """The policy before issue 17 (``clock_from: retrain``): any retrain, promoted or not,
    started the cooldown, so a rejected one kept a broken champion serving for four weeks."""
    policy = monitoring_params.triggers.model_copy(update={"clock_from": "retrain"})
    scenario = PHASE4_SCENARIOS["two_year_promotion_backfires"]
    weeks = range(FIRST, FIRST + DELAY + 5)
    story = replay(world_champion, monitoring_params, scenario, weeks, policy=policy)
    assert story[FIRST + DELAY].action is Action.RETRAIN
    cooled = story[FIRST + DELAY + 1]
    assert cooled.action is Action.WATCH, cooled.render()
    assert "cooldown: a retrain started at week" in cooled.rule("drift").reason
    assert story[FIRST + DELAY + policy.cooldown_weeks].action is Action.RETRAIN  # still harmed


def test_an_estimated_drop_asks_for_a_look_and_never_retrains_alone(
    stories: dict[str, Story],
) -> None:
    story = stories["month_to_month_fiber_push"]  # customers alike: CBPE sees the ranking suffer
    for week in range(FIRST, FIRST + DELAY):
        decision = story.at(week)
        assert decision.action in (Action.INVESTIGATE, Action.WAIT), decision.render()
        assert decision.rule("estimate").action is Action.INVESTIGATE
        assert Action.RETRAIN not in {r.action for r in decision.checks}  # no labels: no retrain


def test_harm_to_calibration_alone_retrains(stories: dict[str, Story]) -> None:
    """The ranking holds up while calibration and the churn rate move: a recalibration (one of
    the retrain's candidates) is the cheap fix, so calibration harm acts, not only asks."""
    story = stories["fiber_price_hike"]
    decision = story.at(FIRST + DELAY + 1)
    performance = decision.rule("performance")
    assert performance.action is Action.RETRAIN, decision.render()
    assert "calibration" in performance.reason
    auc = next(e for w in performance.findings for e in w.evidence if "auc_drop" in e.metric)
    assert not auc.exceeded  # the ranking did not drop: calibration alone decided


def test_harm_to_calibration_alone_only_asks_when_the_policy_acts_on_auc_only(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    """``performance.act_on: []`` (the policy before issue 17): a look, never a retrain."""
    triggers = monitoring_params.triggers
    policy = triggers.model_copy(
        update={
            "performance": triggers.performance.model_copy(update={"act_on": ()}),
            "harm_checks": ("roc_auc",),
            "drift": triggers.drift.model_copy(update={"needs_harm": True}),
        }
    )
    scenario = PHASE4_SCENARIOS["fiber_price_hike"]
    weeks = range(FIRST, FIRST + DELAY + 2)
    decision = replay(world_champion, monitoring_params, scenario, weeks, policy=policy)[
        FIRST + DELAY + 1
    ]
    performance = decision.rule("performance")
    assert performance.action is Action.INVESTIGATE, decision.render()
    assert "calibration" in performance.reason


@pytest.mark.parametrize("scenario", ["null_flood", "schema_break"])
def test_broken_data_is_quarantined_even_when_the_schedule_is_due(
    stories: dict[str, Story], scenario: str, monitoring_params: MonitoringParams
) -> None:
    story = stories[scenario]
    due = FIRST + monitoring_params.triggers.schedule_weeks
    for week, decision in story.decisions.items():
        assert decision.action is Action.QUARANTINE, decision.render()
        assert decision.page_upstream
        assert week in decision.quarantine_weeks
        assert decision.rule("data_quality").findings  # names the column and the problem
    assert story.at(due).rule("schedule").action is Action.RETRAIN  # asked, and overruled


def test_too_few_labels_waits_instead_of_retraining(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    """300 customers a week: even pooled over three weeks, fewer labels than the rule needs."""
    scenario = PHASE4_SCENARIOS["loyal_customers_leave"]
    weeks = range(FIRST, FIRST + DELAY + 3)
    decisions = replay(world_champion, monitoring_params, scenario, weeks, seed=7, rows=300)
    waited = [d for d in decisions.values() if d.rule("performance").action is Action.WAIT]
    assert waited, [d.render() for d in decisions.values()]
    assert all(d.action is not Action.RETRAIN for d in decisions.values())
    assert "not enough evidence: 300 labels < 1,000" in waited[0].rule("performance").reason


class SkewedChampion(WorldChampion):
    """A version whose serving path reads tenure in years (a training-serving skew)."""

    def score_model_frame(self, rows: pd.DataFrame) -> FloatArray:
        skewed = rows.assign(tenure=rows["tenure"] // 12)
        return super().score_model_frame(skewed)


def bad_promotion_world(
    champion: WorldChampion,
    params: MonitoringParams,
    second: WorldChampion,
    scenario: Scenario | str,
) -> MonitoredWorld:
    schedule = (Serving(FIRST, champion), Serving(FIRST + 6, second))
    return monitor_world(World(42, scenario), schedule, range(FIRST, FIRST + 14), params)


def v2(champion: WorldChampion, skewed: bool) -> WorldChampion:
    kind = SkewedChampion if skewed else WorldChampion
    return kind(
        champion.params,
        champion.train,
        champion.holdout,
        champion.model,
        champion.profile,
        champion.reference,
        version="2",
    )


def test_harm_from_the_first_week_of_a_new_champion_rolls_back(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    second = v2(world_champion, skewed=True)
    monitored = bad_promotion_world(world_champion, monitoring_params, second, "baseline")
    decisions = {d.week: d for d in replay_trigger(monitored, monitoring_params.triggers)}
    promoted = FIRST + 6
    for week in range(promoted, promoted + DELAY):
        assert decisions[week].action is not Action.ROLLBACK  # v2's labels are not out yet
    decision = decisions[promoted + DELAY]
    assert decision.action is Action.ROLLBACK, decision.render()
    assert decision.rollback_to == "1"
    assert "v1 was good on 8,000 labels" in decision.rule("rollback").reason


def test_harm_that_begins_after_a_good_promotion_retrains_instead(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    promoted = FIRST + 6
    later = Scenario(
        name="loyal_customers_leave_later",
        description="Two-year customers start leaving two weeks after v2's promotion.",
        world=(
            ConceptDrift(
                feature="contract",
                categories=("Two year",),
                logit_delta=2.0,
                start_week=promoted + 2,
            ),
        ),
    )
    monitored = bad_promotion_world(
        world_champion, monitoring_params, v2(world_champion, skewed=False), later
    )
    decisions = {d.week: d for d in replay_trigger(monitored, monitoring_params.triggers)}
    decision = decisions[promoted + 2 + DELAY]  # the first harmed week's labels
    assert decision.action is Action.RETRAIN, decision.render()
    assert "the harm began later" in decision.rule("rollback").reason


def test_a_history_must_be_ordered_weeks(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    monitored = monitor_world(
        World(42), (Serving(FIRST, world_champion),), range(FIRST, FIRST + 2), monitoring_params
    )
    with pytest.raises(ValueError, match="one per week, oldest first"):
        MonitoringHistory(windows=monitored.windows[::-1])
    with pytest.raises(ValueError, match="at least one week"):
        MonitoringHistory(windows=())
    decision = decide_trigger(monitored.history(FIRST + 1), monitoring_params.triggers)
    assert decision.action is Action.NONE
    assert decision.week == FIRST + 1


@pytest.mark.slow
def test_a_good_promotion_in_a_healthy_world_is_never_rolled_back(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    """Healthy control of the rollback rule: 8 clean worlds, a sound v2 promoted at week 20."""
    policy = monitoring_params.triggers.model_copy(update={"schedule_weeks": 0})
    schedule = (Serving(FIRST, world_champion), Serving(FIRST + 6, v2(world_champion, False)))
    counts: Counter[Action] = Counter()
    for seed in range(3_000, 3_008):
        world = World(seed, "baseline")
        monitored = monitor_world(world, schedule, range(FIRST, FIRST + 14), monitoring_params)
        counts.update(d.action for d in replay_trigger(monitored, policy))
    print(f"rollback control: { {a.value: n for a, n in counts.items()} } over 112 weeks")
    assert counts[Action.ROLLBACK] == 0
    assert counts[Action.RETRAIN] == 0


def test_labels_that_contradict_cbpe_mark_it_refuted_for_that_model(
    stories: dict[str, Story],
) -> None:
    story = stories["loyal_customers_leave"]  # concept drift: the scores, and CBPE, look the same
    assert story.at(FIRST + DELAY - 1).cbpe_refuted is None  # no labels yet: nothing to refute
    decision = story.at(FIRST + DELAY)  # week FIRST's labels are out
    assert decision.cbpe_refuted is not None, decision.render()
    assert "CBPE refuted for v1 by week 14's labels" in decision.cbpe_refuted
    estimate = decision.rule("estimate")
    assert estimate.action is Action.NONE  # a refuted estimate asks for nothing
    assert "refuted" in estimate.reason
    assert story.at(FIRST + DELAY + 2).cbpe_refuted is not None  # it stays refuted


def test_cbpe_is_not_refuted_where_it_holds(stories: dict[str, Story]) -> None:
    """Covariate shift: who the customers are changes, how they churn does not; CBPE holds."""
    story = stories["covariate_shift"]
    assert all(d.cbpe_refuted is None for d in story.decisions.values()), [
        d.cbpe_refuted for d in story.decisions.values() if d.cbpe_refuted
    ]


def test_repeated_failed_retrains_escalate_and_back_off(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    """Three fixes in a row failed (rejected by the gate or stopped live): a person must look,
    and the next tries back off (1, 2, 4 weeks), while the harm still asks for a retrain."""
    policy = monitoring_params.triggers
    scenario = PHASE4_SCENARIOS["loyal_customers_leave"]
    weeks = range(FIRST, FIRST + DELAY + 6)
    monitored = monitor_world(
        World(42, scenario), (Serving(FIRST, world_champion),), weeks, monitoring_params
    )
    start = FIRST + DELAY
    failed = tuple(range(start, start + policy.escalate_after))
    at = failed[-1] + 1

    def decide(week: int, tried: tuple[int, ...]) -> TriggerDecision:
        history = monitored.history(week, list(tried)).model_copy(update={"rejected_weeks": tried})
        return decide_trigger(history, policy)

    escalated = decide(at, failed)
    assert escalated.escalate, escalated.render()
    assert (
        f"{policy.escalate_after} retrains in a row rejected" in escalated.rule("escalation").reason
    )
    assert escalated.action is Action.RETRAIN  # 3 failures: back off 1 week, so try again now
    one_more = (*failed, at)
    backed_off = decide(at + 1, one_more)
    assert backed_off.action is Action.INVESTIGATE, backed_off.render()  # the person, not a retrain
    performance = backed_off.rule("performance")
    assert performance.action is Action.WATCH
    assert "backing off: 4 retrains in a row failed" in performance.reason
    assert decide(at + 2, one_more).action is Action.RETRAIN  # 2 weeks after the 4th failure
    below = decide(at, failed[:-1])
    assert not below.escalate  # two failures are not yet a pattern
