"""`make check-phase2` fails on the exercise's starting state, passes when fixed, and says why.

The models are trained once per module; each test writes a params file the way a learner would
edit params.yaml and runs the check's own logic on it. The last test runs the command itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from phase1_foundations.settings import Settings
from phase2_pipelines.__main__ import main
from phase2_pipelines.exercise import (
    ExerciseScores,
    Finding,
    build_scores,
    judge,
    judge_better,
    judge_broken_for_segment,
    judge_equal_skill,
)
from phase2_pipelines.params import PARAMS_FILE, load_params

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scores() -> ExerciseScores:
    return build_scores()


def write_params(directory: Path, *, segment: bool, **gate: object) -> Path:
    """params.yaml as shipped, with paper billing added to the slices if asked and gate values
    changed."""
    raw = yaml.safe_load(PARAMS_FILE.read_text())
    if segment:
        raw["evaluate"]["slices"].append("paperlessbilling")
        raw["gate"]["slices"].append("paperlessbilling")
    raw["gate"].update(gate)
    path = directory / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


JUDGES = {"A": judge_broken_for_segment, "B": judge_better, "equal": judge_equal_skill}


def findings_for(path: Path, scores: ExerciseScores, *keys: str) -> dict[str, Finding]:
    """What ``judge`` finds, or only the findings ``keys`` name (a test that reads one finding
    skips the others: the equal-skill one runs 21 gate decisions)."""
    params = load_params(path)
    if keys:
        return {key: JUDGES[key](params, scores) for key in keys}
    return dict(zip(JUDGES, judge(params, scores), strict=True))


def test_the_shipped_params_fail_because_the_segment_is_not_protected(
    scores: ExerciseScores,
) -> None:
    found = findings_for(PARAMS_FILE, scores)
    assert not found["A"].passed
    assert "add paperlessbilling to evaluate.slices" in found["A"].advice
    assert "and to gate.slices" in found["A"].advice
    assert found["A"].decision is not None
    assert found["A"].decision.promote  # better on average: the shipped gate lets it through
    assert found["B"].passed
    assert found["equal"].passed


def test_protecting_the_segment_passes(scores: ExerciseScores, tmp_path: Path) -> None:
    found = findings_for(write_params(tmp_path, segment=True), scores)
    assert [f.passed for f in found.values()] == [True, True, True], [
        f.render() for f in found.values()
    ]
    decision = found["A"].decision
    assert decision is not None
    assert [c.name for c in decision.failures] == ["non-inferior on paperlessbilling=No"]
    assert "beats champion on roc_auc" not in {c.name for c in decision.failures}  # A is better


def test_measured_but_not_protected_names_gate_slices(
    scores: ExerciseScores, tmp_path: Path
) -> None:
    raw = yaml.safe_load(write_params(tmp_path, segment=True).read_text())
    raw["gate"]["slices"].remove("paperlessbilling")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    found = findings_for(tmp_path / "params.yaml", scores, "A")
    assert not found["A"].passed
    assert found["A"].advice == (
        "paperlessbilling is measured but not protected: add it to gate.slices in params.yaml."
    )


def test_a_tolerance_too_loose_lets_the_harm_through(
    scores: ExerciseScores, tmp_path: Path
) -> None:
    found = findings_for(write_params(tmp_path, segment=True, slice_tolerance=0.3), scores, "A")
    assert not found["A"].passed
    assert "gate.slice_tolerance 0.3 accepts that: set it below" in found["A"].advice
    # One interval per decision: the advice quotes the segment check's own, as the gate printed it.
    quoted = re.search(
        r"dAUC [-+]\d\.\d{4} \[95% CI [-+]\d\.\d{4}, [-+]\d\.\d{4}\]", found["A"].advice
    )
    assert quoted is not None
    segment = next(
        line for line in found["A"].render().splitlines() if "paperlessbilling=No" in line
    )
    assert quoted[0] in segment


def test_too_high_a_minimum_leaves_the_segment_ungated(
    scores: ExerciseScores, tmp_path: Path
) -> None:
    found = findings_for(write_params(tmp_path, segment=True, min_slice_positives=200), scores, "A")
    assert not found["A"].passed
    assert "lower gate.min_slice_positives to at most 118" in found["A"].advice


def test_zero_tolerance_blocks_the_better_model_on_noise(
    scores: ExerciseScores, tmp_path: Path
) -> None:
    """Tolerance 0 asks every slice to prove it improved; a 79-churner slice cannot."""
    found = findings_for(write_params(tmp_path, segment=True, slice_tolerance=0.0), scores, "B")
    assert not found["B"].passed
    assert "tenure_band=012-023m: dAUC +" in found["B"].advice  # better, but not provably
    assert "raise gate.min_slice_positives above 79" in found["B"].advice
    assert "-0.0000" not in found["B"].render() + found["B"].advice  # a zero tolerance is 0
    assert "-tolerance +0.0000" in found["B"].render()


def test_a_margin_beyond_the_evidence_blocks_the_better_model(
    scores: ExerciseScores, tmp_path: Path
) -> None:
    found = findings_for(write_params(tmp_path, segment=True, superiority_margin=0.05), scores, "B")
    assert not found["B"].passed
    assert "gate.superiority_margin 0.05 is above that lower bound" in found["B"].advice


def test_judging_on_the_point_estimate_promotes_noise(
    scores: ExerciseScores, tmp_path: Path
) -> None:
    """confidence 0.51 makes the interval a point: the old gate's mistake."""
    path = write_params(tmp_path, segment=True, confidence=0.51, superiority_margin=0.0)
    found = findings_for(path, scores, "equal")
    assert not found["equal"].passed
    assert "Raise gate.confidence (now 0.51)" in found["equal"].advice


def test_the_command_fails_with_advice_then_passes_when_fixed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], state: Settings
) -> None:
    assert main(["--params", str(PARAMS_FILE), "check"]) == 1
    out, err = capsys.readouterr()
    assert "[FAIL] A (better on average, worse for customers billed on paper)" in out
    assert "-> Your gate never looks at customers billed on paper" in out
    assert "1 of 3 requirements not met" in err
    assert main(["--params", str(write_params(tmp_path, segment=True)), "check"]) == 0
    assert "all 3 requirements met" in capsys.readouterr().out
    assert not (state.state_dir / "mlflow.db").exists()  # the check writes nothing
