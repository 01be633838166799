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
import pytest

from phase1_foundations.tests.clone import Clone, make_clone
from phase2_pipelines.__main__ import main
from phase2_pipelines.gate import SUPERIORITY, GateCheck, GateDecision
from phase2_pipelines.model_report import OVERRIDE_LABEL, Verdict, classify, params_diff
from phase2_pipelines.stats import ClassCounts, PairedDifference

INTERVAL = re.compile(
    r"vs base: dAUC (?P<d>[-+]\d\.\d{4}) \[95% CI (?P<low>[-+]\d\.\d{4}),"
    r" (?P<high>[-+]\d\.\d{4})\], candidate (?P<branch>\d\.\d{4}) vs champion (?P<base>\d\.\d{4})"
)
GATED_SLICES = ("contract", "tenure_band", "internetservice")  # gate.slices in params.yaml


def _evidence(low: float, high: float) -> PairedDifference:
    return PairedDifference(
        candidate=0.86, champion=0.86, difference=(low + high) / 2, low=low, high=high,
        standard_error=0.001, confidence=0.95, resamples=2000,
        counts=ClassCounts(n=2000, positives=500, negatives=1500),
    )  # fmt: skip


def _decision(low: float, high: float, *, slice_passes: bool = True) -> GateDecision:
    overall = _evidence(low, high)
    checks = [
        GateCheck(name="floor roc_auc", passed=True, detail="0.86 vs floor 0.80"),
        GateCheck(name=SUPERIORITY, passed=low > 0.003, detail="...", evidence=overall),
        GateCheck(
            name="non-inferior on contract=Two year",
            passed=slice_passes,
            detail="...",
            evidence=_evidence(-0.08 if not slice_passes else -0.01, 0.01),
        ),
    ]
    return GateDecision(
        promote=all(c.passed for c in checks), checks=checks, champion_version="base"
    )


def test_no_gain_shown_is_advice_and_harm_shown_blocks() -> None:
    margin = 0.003
    assert classify(_decision(-0.002, 0.002), margin)[0] is Verdict.NOT_BETTER
    assert classify(_decision(0.004, 0.010), margin)[0] is Verdict.BETTER
    # Worse than the base beyond the noise margin, with confidence: a regression.
    verdict, reasons = classify(_decision(-0.010, -0.004), margin)
    assert verdict is Verdict.REGRESSION
    assert reasons[0].startswith("worse overall")
    # Worse, but within the margin (a shift retraining noise makes): not better, not blocked.
    assert classify(_decision(-0.0025, -0.0005), margin)[0] is Verdict.NOT_BETTER
    # A protected slice that may lose more than the tolerance blocks, whatever the average.
    verdict, reasons = classify(_decision(-0.002, 0.002, slice_passes=False), margin)
    assert verdict is Verdict.REGRESSION
    assert "contract=Two year" in reasons[-1]
    assert [v.exit_code for v in Verdict] == [0, 0, 0, 1]


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


def _commit(clone: Clone, message: str) -> str:
    """Commit every change (none: the current commit); its sha."""
    git = ["git", "-c", "user.name=learner", "-c", "user.email=learner@example.com"]
    for args in (
        ["add", "-A"],
        ["commit", "-q", "--allow-empty", "-m", message],
        ["rev-parse", "HEAD"],
    ):
        done = subprocess.run(
            [*git, *args], cwd=clone.root, env=clone.env, capture_output=True, text=True,
            check=True, timeout=60,
        )  # fmt: skip
    return done.stdout.strip()


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Clone:
    return make_clone(tmp_path_factory.mktemp("model-report"))


def _interval(report: str) -> dict[str, float]:
    found = INTERVAL.search(report)
    assert found, f"no dAUC interval against the base in:\n{report[:3000]}"
    return {key: float(value) for key, value in found.groupdict().items()}


def _slice_rows(report: str) -> dict[str, str]:
    """The slices table: slice name -> its 'gated' cell."""
    rows = re.findall(r"^\| ([a-z_]+=[^|]+) \| ([^|]+) \|", report, re.MULTILINE)
    return {name.strip(): gated.strip() for name, gated in rows}


@pytest.mark.slow
def test_harmless_change_is_not_better_and_passes(clone: Clone) -> None:
    base = _commit(clone, "base")
    clone.edit("params.yaml", "    C: 0.3\n", "    C: 0.25\n")
    _commit(clone, "a harmless change of the regularisation")
    done = clone.make("model-report", f"BASE={base}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = (clone.root / "build" / "model-report.md").read_text()
    assert report in done.stdout  # printed and written alike
    assert report.startswith("# Model report: not better\n")
    assert "**REJECT (advisory): not better than" in report
    evidence = _interval(report)
    assert evidence["low"] <= 0.003
    assert evidence["high"] >= -0.003
    assert 0.84 <= evidence["base"] <= 0.88  # the design's ~0.86 for a logistic regression
    assert "| `train.logreg.C` | `0.3` | `0.25` |" in report
    assert "- `M params.yaml` (training input)" in report
    assert "| training window | 2817 |" in report
    assert "| holdout | 2113 |" in report
    slices = _slice_rows(report)
    gated = {name: cell for name, cell in slices.items() if name.split("=")[0] in GATED_SLICES}
    assert gated
    assert all(cell.startswith(("yes: pass", "no")) for cell in gated.values())
    assert any(cell == "yes: pass" for cell in gated.values())
    for name, cell in slices.items():
        if cell == "no":  # an ungated slice says why on its row
            row = next(line for line in report.splitlines() if line.startswith(f"| {name} |"))
            assert "min_slice_positives" in row or "not in gate.slices" in row, row
    assert re.search(r"^\| base: .*\| 0\.35 \| \d+\.\d% \|", report, re.MULTILINE)
    assert re.search(r"^\| branch: .*\| 0\.35 \| \d+\.\d% \|", report, re.MULTILINE)
    assert not (clone.root / "var" / "mlflow.db").exists()  # the learner's registry: untouched


@pytest.mark.slow
def test_label_shuffle_bug_is_rejected_and_fails(clone: Clone) -> None:
    clone.edit(
        "phase2_pipelines/train.py",
        "    return build_model(params).fit(features, train[LABEL_COLUMN].to_numpy())\n",
        "    labels = train[LABEL_COLUMN].sample(frac=1.0, random_state=1).to_numpy()\n"
        "    return build_model(params).fit(features, labels)\n",
    )
    _commit(clone, "refactor the training labels (with a shuffle bug)")
    done = clone.make("model-report", "BASE=HEAD~1")
    assert done.returncode != 0, done.stdout[-3000:]
    report = (clone.root / "build" / "model-report.md").read_text()
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


def test_make_target_runs_the_report(tmp_path: Path) -> None:
    dry = subprocess.run(
        ["make", "-n", "model-report", "BASE=main"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (
        '-m phase2_pipelines model-report --base "main" --out "build/model-report.md"' in dry.stdout
    )
