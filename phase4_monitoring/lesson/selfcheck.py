"""``make check-phase4``: does your trigger policy retrain only when it should?

It reads ``params.yaml`` as it stands (it never edits it), trains a champion on the world weeks
whose labels are out by ``data.world.cutoff_week``, as the capstone does, and replays four worlds
through the monitor and your policy (``monitoring:``), from the champion's first serving week
(the one after the cutoff):

- clean weeks (the healthy control, several seeds): no retrain, no rollback, no quarantine
  before the schedule is due;
- harmless drift (prices up 25%, churn unchanged): never a drift or performance retrain;
- harm without drift (loyal customers leave): a retrain within two weeks of the first labels;
- a null flood: quarantine every week, even when the schedule is due.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from phase1_foundations.lesson.findings import Finding, report_findings
from phase1_foundations.scenarios import Scenario
from phase2_pipelines.params import PARAMS_FILE
from phase2_pipelines.world_source import window_world
from phase4_monitoring.lesson.replay import Serving, WorldChampion, monitor_world, replay_trigger
from phase4_monitoring.lesson.scenarios import phase4_scenario
from phase4_monitoring.params import MonitoringParams, load_monitoring_params
from phase4_monitoring.triggers import Action, TriggerDecision

CONTROL_SEEDS = (101, 202, 303, 404)
QUARTER = 13  # weeks replayed when the policy has no schedule


def _replay(
    champion: WorldChampion,
    params: MonitoringParams,
    scenario: Scenario | str,
    weeks: range,
    seed: int = 42,
) -> list[TriggerDecision]:
    world = window_world(champion.params.data.world, seed, scenario)  # its rows, label delay
    monitored = monitor_world(world, (Serving(champion.first_week, champion),), weeks, params)
    return replay_trigger(monitored, params.triggers)


def _first(decisions: list[TriggerDecision], wanted: Callable[[TriggerDecision], bool]) -> str:
    found = next((d for d in decisions if wanted(d)), None)
    return "" if found is None else f"week {found.week}: {found.summary}"


def _monitors_retrain(decision: TriggerDecision) -> bool:
    """A retrain asked for by what the monitor saw (the schedule aside)."""
    return any(
        r.check in ("drift", "performance") and r.action is Action.RETRAIN for r in decision.checks
    )


def check_policy(params: MonitoringParams, champion: WorldChampion) -> list[Finding]:
    policy = params.triggers
    delay = champion.params.data.world.label_delay_weeks
    due = policy.schedule_weeks or QUARTER
    first = champion.first_week
    before_schedule = range(first, first + due)
    findings = []

    bad = (Action.RETRAIN, Action.ROLLBACK, Action.QUARANTINE)
    alarms = [
        f"seed {seed} {line}"
        for seed in CONTROL_SEEDS
        if (
            line := _first(
                _replay(champion, params, "baseline", before_schedule, seed),
                lambda d: d.action in bad,
            )
        )
    ]
    weeks = len(CONTROL_SEEDS) * len(before_schedule)
    findings.append(
        Finding(
            "healthy control",
            not alarms,
            "; ".join(alarms) or f"no retrain, rollback or quarantine in {weeks} clean weeks",
        )
    )

    harmless = _replay(champion, params, "covariate_shift", before_schedule)
    retrained = _first(
        harmless,
        lambda d: any(
            r.check in ("drift", "performance") and r.action is Action.RETRAIN for r in d.checks
        ),
    )
    findings.append(
        Finding(
            "harmless drift",
            not retrained,
            retrained or "prices rose, churn did not change: watched, never retrained",
        )
    )

    labels_out = first + delay
    harmful = _replay(
        champion, params, phase4_scenario("loyal_customers_leave"), range(first, labels_out + 2)
    )
    caught = _first(harmful, lambda d: d.action is Action.RETRAIN)
    findings.append(
        Finding(
            "harm without drift",
            bool(caught),
            caught or f"no retrain by week {labels_out + 1}, though labels showed the drop",
        )
    )

    broken = _replay(champion, params, "null_flood", range(first, first + due + 1))
    leaked = _first(broken, lambda d: d.action is not Action.QUARANTINE)
    findings.append(
        Finding(
            "broken data",
            not leaked,
            leaked or "every flooded week quarantined, the schedule overruled",
        )
    )
    return findings


def run_selfcheck(path: Path = PARAMS_FILE) -> int:
    """Print each finding; 0 when all pass, 1 when one fails (a bad params file: ParamsError)."""
    from phase4_monitoring.lesson.replay import train_world_champion

    params = load_monitoring_params(path)
    print(f"checking the trigger policy in {path} (monitoring.triggers) on replayed world weeks")
    return report_findings(
        "check-phase4",
        check_policy(params, train_world_champion(params, params_file=path)),
        "see the lesson's Exercise section",
    )
