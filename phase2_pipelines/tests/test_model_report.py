"""``make model-report``: CI for models, on two commits of a learner's clone.

A harmless hyperparameter change must read "not better" and pass; a label-shuffle bug injected
into the training code must read REJECT, regression, and fail the command. The oracles are the
design's facts about the data (2,817 training rows, 2,113 holdout rows, a logistic regression
near 0.86 AUC on this split, a model of shuffled labels near chance), not the report's own code.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from phase1_foundations.contract import LABEL_COLUMN
from phase2_pipelines.__main__ import main
from phase2_pipelines.gate import SUPERIORITY, GateCheck, GateDecision
from phase2_pipelines.model_report import (
    OVERRIDE_LABEL,
    Recommendation,
    Side,
    _read_params,
    classify,
    judge_sides,
    params_diff,
)
from phase2_pipelines.params import load_params
from phase2_pipelines.stats import ClassCounts, PairedDifference
from testing.clone import Clone, make_clone

INTERVAL = re.compile(
    r"vs base: dAUC (?P<d>[-+]\d\.\d{4}) \[95% CI (?P<low>[-+]\d\.\d{4}),"
    r" (?P<high>[-+]\d\.\d{4})\], candidate (?P<branch>\d\.\d{4}) vs champion (?P<base>\d\.\d{4})"
)
GATED_SLICES = ("contract", "tenure_band", "internetservice")  # gate.slices in params.yaml


def _evidence(low: float, high: float) -> PairedDifference:
    return PairedDifference(
        metric="roc_auc_difference", value=(low + high) / 2, interval=(low, high), n=2000,
        candidate=0.86, champion=0.86, standard_error=0.001, confidence=0.95, resamples=2000,
        counts=ClassCounts(n=2000, positives=500, negatives=1500),
    )  # fmt: skip


def _decision(low: float, high: float, *, slice_passes: bool = True) -> GateDecision:
    overall = _evidence(low, high)
    checks = [
        GateCheck.judged("floor roc_auc", True, "0.86 vs floor 0.80"),
        GateCheck.judged(SUPERIORITY, low > 0.003, "...", overall),
        GateCheck.judged(
            "non-inferior on contract=Two year",
            slice_passes,
            "...",
            _evidence(-0.08 if not slice_passes else -0.01, 0.01),
        ),
    ]
    return GateDecision(
        promote=all(c.passed for c in checks), checks=checks, champion_version="base"
    )


def test_no_gain_shown_is_advice_and_harm_shown_blocks() -> None:
    margin = 0.003
    assert classify(_decision(-0.002, 0.002), margin)[0] is Recommendation.NOT_BETTER
    assert classify(_decision(0.004, 0.010), margin)[0] is Recommendation.BETTER
    # Worse than the base beyond the noise margin, with confidence: a regression.
    verdict, reasons = classify(_decision(-0.010, -0.004), margin)
    assert verdict is Recommendation.REGRESSION
    assert reasons[0].startswith("worse overall")
    # Worse, but within the margin (a shift retraining noise makes): not better, not blocked.
    assert classify(_decision(-0.0025, -0.0005), margin)[0] is Recommendation.NOT_BETTER
    # A protected slice that may lose more than the tolerance blocks, whatever the average.
    verdict, reasons = classify(_decision(-0.002, 0.002, slice_passes=False), margin)
    assert verdict is Recommendation.REGRESSION
    assert "contract=Two year" in reasons[-1]
    assert [v.exit_code for v in Recommendation] == [0, 0, 0, 1]


def test_a_branch_whose_pipeline_fails_is_a_regression_with_its_error(tmp_path: Path) -> None:
    labels = np.array([0, 1] * 50)
    holdout = pd.DataFrame({LABEL_COLUMN: labels})
    base = Side("base", "main (abc)", tmp_path, {}, load_params(), scores=labels * 0.5 + 0.2)
    error = "stage train failed (exit 1):\nValueError: the labels vanished"
    branch = Side("branch", "this tree", tmp_path, {}, load_params(), failure=error)
    report = judge_sides(base, branch, holdout, ["M phase2_pipelines/train.py"], 1.0)
    assert report.recommendation is Recommendation.REGRESSION
    text = report.render()
    assert text.startswith("# Model report: regression")
    assert "ValueError: the labels vanished" in text
    assert "stage train failed (exit 1) (its error is below)" in text


def test_a_tree_whose_params_cannot_be_read_or_validated_says_why(tmp_path: Path) -> None:
    """A branch's (or the base's) params.yaml that is not YAML, or does not validate, becomes
    the side's error in one line (the report shows it), not a traceback."""
    (tmp_path / "params.yaml").write_text("train: [\n")
    raw, params, error = _read_params(tmp_path)
    assert (raw, params) == ({}, None)
    assert error.startswith(f"params.yaml cannot be read: invalid params in {tmp_path}")
    assert "not valid YAML at line 2" in error
    (tmp_path / "params.yaml").write_text("train: {}\n")
    raw, params, error = _read_params(tmp_path)
    assert (raw, params) == ({"train": {}}, None)
    assert error.startswith("params.yaml does not validate with this code: invalid params in")


def test_params_diff_names_every_changed_value() -> None:
    base = {"train": {"logreg": {"C": 0.3, "max_iter": 2000}}, "gate": {"slices": ["a"]}}
    branch = {"train": {"logreg": {"C": 0.2, "max_iter": 2000}}, "gate": {"slices": ["a", "b"]}}
    assert params_diff(base, branch) == [
        ("gate.slices", "[a]", "[a, b]"),
        ("train.logreg.C", "0.3", "0.2"),
    ]
    assert params_diff(branch, branch) == []


def test_an_unknown_base_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model-report", "--base", "no-such-branch-anywhere"]) == 2
    error = capsys.readouterr().err
    assert "BASE=no-such-branch-anywhere is not a commit" in error
    assert "Traceback" not in error


def git(clone: Clone, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=learner", "-c", "user.email=learner@example.com", *args],
        cwd=clone.root, env=clone.env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return done.stdout.strip()


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Clone:
    """A learner's clone whose default branch is main, as one cloned from GitHub."""
    clone = make_clone(tmp_path_factory.mktemp("model-report"))
    git(clone, "branch", "-M", "main")
    return clone


def _interval(report: str) -> dict[str, float]:
    found = INTERVAL.search(report)
    assert found, f"no dAUC interval against the base in:\n{report[:3000]}"
    return {key: float(value) for key, value in found.groupdict().items()}


def _slice_rows(report: str) -> dict[str, str]:
    """The slices table: slice name -> its 'gated' cell."""
    rows = re.findall(r"^\| ([a-z_]+=[^|]+) \| ([^|]+) \|", report, re.MULTILINE)
    return {name.strip(): gated.strip() for name, gated in rows}


def _report(clone: Clone) -> str:
    return (clone.root / "build" / "model-report.md").read_text()


@pytest.mark.slow
def test_harmless_change_is_not_better_and_passes(clone: Clone) -> None:
    git(clone, "switch", "-c", "tune-regularisation", "main")
    clone.edit("params.yaml", "    C: 0.3\n", "    C: 0.25\n")
    git(clone, "commit", "-qam", "a harmless change of the regularisation")
    done = clone.make("model-report", "BASE=main")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = _report(clone)
    print(f"\n--- the harmless change's report ---\n{report}")  # shown with -s
    assert report in done.stdout  # printed and written alike
    assert report.startswith("# Model report: not better\n")
    assert "**REJECT (advisory): not better than main" in report
    evidence = _interval(report)
    assert evidence["low"] <= 0.003  # no gain shown ...
    assert evidence["high"] >= -0.003  # ... and no harm
    assert 0.84 <= evidence["base"] <= 0.88  # the design's ~0.86 for a logistic regression
    assert "| `train.logreg.C` | `0.3` | `0.25` |" in report
    assert "- `M params.yaml` (training input)" in report
    assert "| training window | 2817 |" in report
    assert "| holdout | 2113 |" in report
    slices = _slice_rows(report)
    gated = {name: cell for name, cell in slices.items() if name.split("=")[0] in GATED_SLICES}
    assert gated
    assert all(cell in ("yes: pass", "no") for cell in gated.values())
    assert "yes: pass" in gated.values()
    for name, cell in slices.items():
        if cell == "no":  # an ungated slice says why on its row
            row = next(line for line in report.splitlines() if line.startswith(f"| {name} |"))
            assert "min_slice_positives" in row or "not in gate.slices" in row, row
    # Each at the threshold its own evaluation chose: break-even, near 10/90 on calibrated scores.
    chosen = re.findall(r"^\| (?:base|branch): .*?\| (0\.\d+) \| \d+\.\d% \|", report, re.MULTILINE)
    assert len(chosen) == 2, report
    assert all(0.05 < float(t) < 0.2 for t in chosen), chosen
    assert not (clone.root / "var" / "mlflow.db").exists()  # the learner's registry: untouched


@pytest.mark.slow
def test_label_shuffle_bug_is_rejected_and_fails_until_reverted(clone: Clone) -> None:
    """The lesson's exercise, as written: a branch, a bug, the report, the fix."""
    git(clone, "switch", "-c", "break-the-model", "main")
    clone.edit(
        "phase2_pipelines/train.py",
        "    labels = train[LABEL_COLUMN].to_numpy()\n",
        "    labels = train[LABEL_COLUMN].sample(frac=1.0, random_state=1).to_numpy()\n",
    )
    git(clone, "commit", "-qam", "Refactor: read the training labels once")
    done = clone.make("model-report", "BASE=main")
    assert done.returncode != 0, done.stdout[-3000:]
    report = _report(clone)
    print(f"\n--- the label shuffle's report ---\n{report}")  # shown with -s
    assert report.startswith("# Model report: regression\n")
    assert "**REJECT: regression, do not merge.**" in report
    assert f"`{OVERRIDE_LABEL}`" in report
    evidence = _interval(report)
    assert evidence["high"] < -0.003  # harm shown, beyond the noise margin
    assert evidence["branch"] < 0.75 < evidence["base"]  # shuffled labels: near chance
    assert "| floor roc_auc | **FAIL** |" in report
    assert "- `M phase2_pipelines/train.py` (training input)" in report
    assert "No value differs." in report  # the bug is in code, not in params
    failed = [name for name, cell in _slice_rows(report).items() if cell == "yes: **FAIL**"]
    assert failed, "no gated slice shows the harm"
    assert np.isfinite(evidence["d"])
    assert not (clone.root / "var" / "mlflow.db").exists()
    # The self-check: revert the bug, and the report passes (the same model as main's).
    git(clone, "revert", "--no-edit", "HEAD")
    fixed = clone.make("model-report", "BASE=main")
    assert fixed.returncode == 0, fixed.stdout[-3000:]
    assert _report(clone).startswith("# Model report: same model\n")
