"""Realized quality per segment: a concept drift that moves two segments in opposite directions
leaves the overall calibration gap small while each segment is far off. The oracle is the
world's design (which segment's churn moves, and which way), not the check's code."""

from __future__ import annotations

import numpy as np
import pytest

from phase1_foundations.contract import LABEL_COLUMN
from phase1_foundations.scenarios import ConceptDrift, Scenario
from phase1_foundations.world import World
from phase2_pipelines.evaluate import slice_values
from phase2_pipelines.evidence import Verdict
from phase4_monitoring.lesson.replay import WorldChampion
from phase4_monitoring.lesson.weeks import labeled_week
from phase4_monitoring.params import MonitoringParams
from phase4_monitoring.quality import QualityReport, check_quality

WEEK = 5
# The capstone's default scenario at week 5 (phase5_capstone/scenarios/default.yml): a fiber
# price cut settles fiber customers while a competitor's DSL offer pulls DSL customers away.
DEFAULT_DRIFT = Scenario(
    name="default_week_5",
    description="The capstone's first concept drift.",
    world=(
        ConceptDrift(
            feature="internetservice", categories=("Fiber optic",), logit_delta=-1.5, start_week=5
        ),
        ConceptDrift(feature="internetservice", categories=("DSL",), logit_delta=1.5, start_week=5),
    ),
)


def judge_week(champion: WorldChampion, params: MonitoringParams, world: World) -> QualityReport:
    frame = labeled_week(world.week(WEEK))
    reference = champion.reference
    return check_quality(
        frame[LABEL_COLUMN].to_numpy(),
        champion.score(frame),
        reference.baseline,
        threshold=reference.threshold,
        business=reference.business,
        calibration_bins=reference.calibration_bins,
        params=params,
        slices=slice_values(frame, champion.params.evaluate),
    )


def check(report: QualityReport, name: str) -> tuple[Verdict, dict[str, bool]]:
    found = next(c for c in report.checks if c.column == name)
    return found.verdict, {e.metric: e.exceeded for e in found.evidence}


def test_week_5_of_the_default_scenario_shows_up_from_calibration_alone(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    world = World(42, DEFAULT_DRIFT)
    report = judge_week(world_champion, monitoring_params, world)
    overall, _ = check(report, "calibration")
    assert overall is not Verdict.ALERT  # the two segments' errors cancel out overall
    verdict, exceeded = check(report, "segment_calibration")
    assert verdict is Verdict.ALERT, report.reason
    assert exceeded["calibration_gap[internetservice=DSL]"]  # DSL churns far above its scores
    assert exceeded["calibration_gap[internetservice=Fiber optic]"]  # fiber far below
    assert not any(v for k, v in exceeded.items() if "internetservice" not in k), exceeded


@pytest.mark.parametrize("seed", range(20))
def test_a_healthy_week_shows_no_segment_harm(
    world_champion: WorldChampion, monitoring_params: MonitoringParams, seed: int
) -> None:
    """Healthy control: 20 clean weeks of their own seeds; each segment value is judged at a
    Bonferroni-corrected 1% level, so a false alarm in any of them would be a 1-in-100 event."""
    report = judge_week(world_champion, monitoring_params, World(10_000 + seed))
    for name in ("segment_calibration", "segment_roc_auc"):
        verdict, exceeded = check(report, name)
        assert verdict is not Verdict.ALERT, (name, [k for k, v in exceeded.items() if v])


def test_segment_checks_count_values_too_small_to_judge_as_insufficient(
    world_champion: WorldChampion, monitoring_params: MonitoringParams
) -> None:
    world = World(42, DEFAULT_DRIFT, rows_per_week=300)
    report = judge_week(world_champion, monitoring_params, world)
    verdict, _ = check(report, "segment_calibration")
    assert verdict is not Verdict.OK  # 300 rows: harm shown, or not enough evidence; never "ok"
    found = next(c for c in report.checks if c.column == "segment_calibration")
    judged = [e for e in found.evidence]
    assert all(e.n >= monitoring_params.quality.min_segment_rows for e in judged)
    assert np.all([e.noise_floor is not None for e in judged])
