"""CI for models: train this tree's model and a base commit's on the same data, gate, report.

``make model-report BASE=<git ref>`` is what a pull request's model check runs. The base commit
is unpacked with ``git archive`` into a throwaway directory; each side's own code and own
``params.yaml`` train its model, in a process of its own, on one shared copy of the data (this
tree's ingest), and both score the same holdout rows. The gate in force on the base (its
``gate:`` and ``evaluate:`` sections: the branch cannot loosen the rules that judge it) decides
between them, and the recommendation says what a reviewer should do:

- ``better``: the gate would promote the branch's model;
- ``same model``: both score every holdout row identically;
- ``not better`` (advisory): no harm shown and no gain shown; a change meant to be neutral
  merges;
- ``regression`` (blocking): the branch's model fails a floor, a sanity bound or a gated slice,
  or is worse than the base's overall by more than the gate's noise margin
  (``superiority_margin``), with confidence.

Everything runs in a temporary state directory (``MLOPS_STATE_DIR``): no server, no network, and
no registry is read or written.
"""

from __future__ import annotations

import enum
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import yaml

from phase1_foundations.contract import ID_COLUMN, LABEL_COLUMN
from phase1_foundations.settings import PROJECT_ROOT, Settings, get_settings
from phase2_pipelines.evaluate import Metrics, compute_metrics, net_value, slice_values
from phase2_pipelines.gate import (
    SUPERIORITY,
    GateCheck,
    GateDecision,
    HoldoutComparison,
    decide_promotion,
)
from phase2_pipelines.params import ParamsError, PipelineParams, load_params, read_params_file
from phase2_pipelines.stats import signed
from phase2_pipelines.train import model_structure
from phase2_pipelines.workdir import SCORE_COLUMN, read_json

OVERRIDE_LABEL = "accept-model-regression"  # the pull-request label that overrides a block
STAGE_TIMEOUT_S = 900
# Files whose change can change the model (the workflow's paths filter says the same).
TRAINING_INPUTS = ("params.yaml", "dvc.yaml", "uv.lock", "phase1_foundations/", "phase2_pipelines/")
MAX_LISTED_FILES = 40
BASE_VERSION = "base"  # the gate's name for the champion; worded as the base's model below


def _worded(text: str) -> str:
    return text.replace(f"champion v{BASE_VERSION}", "the base's model")


class ReportError(RuntimeError):
    """The report could not be made (a bad ref, no data); the message says what to do."""


class Recommendation(enum.Enum):
    """What a reviewer does with the pull request, and the command's exit code."""

    BETTER = ("better", 0)
    SAME = ("same model", 0)
    NOT_BETTER = ("not better", 0)
    REGRESSION = ("regression", 1)

    @property
    def label(self) -> str:
        return self.value[0]

    @property
    def exit_code(self) -> int:
        return self.value[1]

    @property
    def blocking(self) -> bool:
        return self.exit_code != 0


@dataclass(frozen=True)
class Side:
    """One model's definition (a source tree) and what training it produced."""

    name: str  # "base" or "branch"
    label: str  # how the report names it: ref and commit
    root: Path
    raw_params: dict[str, Any]
    params: PipelineParams | None  # None: the tree's params.yaml does not validate here
    params_error: str = ""
    ingest: dict[str, object] = field(default_factory=dict)
    scores: np.ndarray | None = None
    threshold: float | None = None  # the contact threshold its own evaluate chose
    structure: dict[str, str] | None = None
    failure: str = ""  # the stage that failed and its last lines


@dataclass(frozen=True)
class ValueDifference:
    """Branch minus base net value on the same rows, with a paired bootstrap interval."""

    difference: float
    low: float
    high: float
    confidence: float
    resamples: int


@dataclass(frozen=True)
class ModelReport:
    base: Side
    branch: Side
    judge: PipelineParams
    judge_source: str  # whose params.yaml the gate and slices came from
    holdout: pd.DataFrame | None
    decision: GateDecision | None
    recommendation: Recommendation
    reasons: list[str]
    branch_gate_summary: str | None  # the decision under the branch's own gate, when it differs
    metrics: dict[str, Metrics]  # side name -> metrics at that side's own threshold
    value_difference: ValueDifference | None
    changed_files: list[str]
    seconds: float

    @property
    def holdout_rows(self) -> int:
        return 0 if self.holdout is None else len(self.holdout)

    def headline(self) -> str:
        """The one line a reviewer acts on."""
        reason = "; ".join(self.reasons)
        if self.recommendation is Recommendation.REGRESSION:
            return (
                f"**REJECT: regression, do not merge.** {reason}. Fix the change; if the loss is"
                f" intended, a maintainer adds the `{OVERRIDE_LABEL}` label."
            )
        if self.recommendation is Recommendation.NOT_BETTER:
            return (
                f"**REJECT (advisory): not better than {self.base.label}.** {reason}. No harm"
                " shown: merge if the change is meant to leave the model as it is."
            )
        if self.recommendation is Recommendation.SAME:
            return f"**Same model as {self.base.label}.** {reason}. Nothing to judge: merge."
        return f"**PROMOTE: better than {self.base.label}.** {reason}. Merge to ship it."

    def render(self) -> str:
        return render_report(self)


# --- building the two sides -------------------------------------------------------------------


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise ReportError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def resolve_commit(root: Path, ref: str) -> str:
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except ReportError:
        raise ReportError(
            f"BASE={ref} is not a commit in {root}: pass BASE=<branch, tag or sha> (in CI, fetch"
            " the base branch first, e.g. `git fetch origin main`)"
        ) from None


def unpack_commit(root: Path, commit: str, target: Path) -> None:
    """The commit's tracked files, as ``git archive`` gives them (no worktree is registered)."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit],
        cwd=root,
        capture_output=True,
        timeout=300,
        check=False,
    )
    if archive.returncode != 0:
        raise ReportError(f"git archive {commit} failed: {archive.stderr.decode().strip()}")
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")


def _read_params(root: Path) -> tuple[dict[str, Any], PipelineParams | None, str]:
    path = root / "params.yaml"
    if not path.is_file():
        return {}, None, f"{path.name} is missing"
    try:
        raw = read_params_file(path)
    except ParamsError as error:
        return {}, None, f"params.yaml cannot be read: {error}"
    try:
        return raw, load_params(path), ""
    except ParamsError as error:
        return raw, None, f"params.yaml does not validate with this code: {error}"


def _stage_env(state: Path, settings: Settings, root: Path) -> dict[str, str]:
    """A stage process of ``root``'s code: throwaway state, the shared data, no MLflow store."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLOPS_", "MLFLOW_")) and k != "PYTHONPATH"
    }
    env |= {
        "MLOPS_STATE_DIR": str(state),
        "MLOPS_DATA_DIR": str(settings.data_dir.resolve()),
        "PYTHONPATH": str(root),
        "MLOPS_LOG": os.environ.get("MLOPS_LOG", ""),
    }
    return env


def _run_stage(root: Path, name: str, work: Path, env: Mapping[str, str]) -> str:
    """``python -m phase2_pipelines stage NAME`` with ``root``'s code; '' or why it failed."""
    done = subprocess.run(
        [sys.executable, "-m", "phase2_pipelines", "stage", name, "--workdir", str(work)],
        cwd=root,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=STAGE_TIMEOUT_S,
        check=False,
    )
    if done.returncode == 0:
        return ""
    tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-12:])
    return f"stage {name} failed (exit {done.returncode}):\n{tail}"


def operating_threshold(side: Side, judge: PipelineParams) -> float:
    """The threshold a side's model contacts at: what its evaluation chose, or its params'."""
    if side.threshold is not None:
        return side.threshold
    return (side.params or judge).evaluate.threshold


def _train_and_score(
    side: Side, work: Path, env: Mapping[str, str], holdout_ids: np.ndarray
) -> Side:
    """Train and evaluate with the side's own code; its scores on the shared holdout rows."""
    for stage in ("train", "evaluate"):
        failure = _run_stage(side.root, stage, work, env)
        if failure:
            return _replace(side, failure=failure)
    scored = pd.read_parquet(work / "evaluate" / "scores.parquet")
    if not np.array_equal(scored[ID_COLUMN].to_numpy(), holdout_ids):
        return _replace(side, failure="its evaluate stage scored other rows than the holdout")
    try:
        structure = model_structure(joblib.load(work / "train" / "model.joblib"))
    except (ImportError, AttributeError, EOFError, ValueError):
        structure = None  # a model this code cannot load: compared by its scores only
    chosen = json.loads((work / "evaluate" / "metrics.json").read_text()).get("threshold")
    threshold = float(chosen) if isinstance(chosen, int | float) else None
    return _replace(
        side, scores=scored[SCORE_COLUMN].to_numpy(), threshold=threshold, structure=structure
    )


def _replace(side: Side, **changes: object) -> Side:
    from dataclasses import replace

    return replace(side, **changes)  # type: ignore[arg-type]


def _ingest(side: Side, work: Path, env: Mapping[str, str]) -> Side:
    failure = _run_stage(side.root, "ingest", work, env)
    if failure:
        return _replace(side, failure=failure)
    return _replace(side, ingest=read_json(work / "ingest" / "ingest.json"))


# --- judging ---------------------------------------------------------------------------------


def classify(decision: GateDecision, margin: float) -> tuple[Recommendation, list[str]]:
    """The recommendation and its reasons: harm shown blocks, a missing gain only advises.

    Harm is a failed floor, sanity bound or gated slice, or an overall interval wholly below
    ``-margin`` (worse than the base by more than retrain noise). The superiority check failing
    alone means no gain was shown: for a change meant to be neutral, that is the expected answer.
    """
    if decision.same_as_champion:
        return Recommendation.SAME, [_worded(decision.note)]
    overall = decision.comparison
    if decision.promote:
        if overall is None:
            first = "no base model to compare with; the branch's clears the floors"
            return Recommendation.BETTER, [first]
        shown = f"{overall.render()}, lower bound above margin {signed(margin)}"
        return Recommendation.BETTER, [shown]
    failed = [c for c in decision.failures if c.check != SUPERIORITY]
    harms = [f"{c.check}: {c.reason}" for c in failed if c not in decision.slice_checks]
    gated = decision.slice_checks
    slices = [c.check.removeprefix("non-inferior on ") for c in failed if c in gated]
    if slices:
        harms.append(
            f"{len(slices)} gated slice(s) may lose more than the tolerance: {', '.join(slices)}"
        )
    if overall is not None and overall.high < -margin:
        harms.insert(
            0,
            f"worse overall: dAUC {signed(overall.difference)} [{overall.confidence:.0%} CI"
            f" {signed(overall.low)}, {signed(overall.high)}], upper bound below -margin"
            f" {signed(-margin)}",
        )
    if harms:
        return Recommendation.REGRESSION, harms
    assert overall is not None  # a decision without a comparison only fails on floors or sanity
    return Recommendation.NOT_BETTER, [
        f"{overall.render()}: the interval holds no gain above margin {signed(margin)} and no loss"
        f" below {signed(-margin)}"
    ]


def value_difference(
    labels: np.ndarray,
    base: np.ndarray,
    branch: np.ndarray,
    thresholds: tuple[float, float],
    judge: PipelineParams,
) -> ValueDifference:
    """Branch minus base net value, each at its own threshold, with a paired bootstrap interval
    (the same rows resampled for both, as the gate resamples them)."""
    business, gate = judge.evaluate.business, judge.gate
    contacted = (base >= thresholds[0], branch >= thresholds[1])

    def difference(rows: np.ndarray) -> float:
        ours = net_value(labels[rows], contacted[1][rows], business)
        return ours - net_value(labels[rows], contacted[0][rows], business)

    rng = np.random.default_rng(gate.seed)
    draws = np.array(
        [difference(rng.integers(0, len(labels), len(labels))) for _ in range(gate.resamples)]
    )
    tail = (1.0 - gate.confidence) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    everyone = np.arange(len(labels))
    return ValueDifference(
        difference(everyone), float(low), float(high), gate.confidence, gate.resamples
    )


def _changed_files(root: Path, commit: str) -> list[str]:
    """Files this tree changes against the base commit (tracked changes and new files)."""
    changed = _git(root, "diff", "--name-status", commit, "--", ".").splitlines()
    untracked = _git(root, "ls-files", "--others", "--exclude-standard").splitlines()
    return [line.replace("\t", " ") for line in changed] + [f"A {name}" for name in untracked]


def _describe_tree(root: Path) -> str:
    head = _git(root, "rev-parse", "--short", "HEAD")
    dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    return f"this tree (HEAD {head}{', with uncommitted changes' if dirty else ''})"


def build_report(
    base_ref: str, root: Path = PROJECT_ROOT, settings: Settings | None = None
) -> ModelReport:
    """Train both models in a throwaway directory, gate them, and gather the report."""
    settings = settings or get_settings()
    started = time.perf_counter()
    commit = resolve_commit(root, base_ref)
    short = commit[:10]
    with tempfile.TemporaryDirectory(prefix="model-report-") as scratch:
        tmp = Path(scratch)
        unpack_commit(root, commit, tmp / "base-src")
        sides = {}
        for name, label, source in (
            ("base", f"{base_ref} ({short})", tmp / "base-src"),
            ("branch", _describe_tree(root), root),
        ):
            raw, params, error = _read_params(source)
            sides[name] = Side(name, label, source, raw, params, error)
        envs = {
            name: _stage_env(tmp / f"state-{name}", settings, side.root)
            for name, side in sides.items()
        }
        works = {name: tmp / f"work-{name}" for name in sides}
        # The branch's ingest is the data both train on (the base's when the branch cannot
        # read it: then the branch fails, with a report); the other tells if the data changed.
        ingested = {n: _ingest(sides[n], works[n], envs[n]) for n in ("branch", "base")}
        branch, base = ingested["branch"], ingested["base"]
        shared = "base" if branch.failure else "branch"
        if ingested[shared].failure:
            raise ReportError(f"neither side's pipeline can read the data: {base.failure}")
        validated = _run_stage(sides[shared].root, "validate", works[shared], envs[shared])
        if validated:
            raise ReportError(f"the data fails the {shared}'s contract: {validated}")
        other = "base" if shared == "branch" else "branch"
        shutil.rmtree(works[other] / "ingest", ignore_errors=True)
        for stage in ("ingest", "validate"):
            shutil.copytree(works[shared] / stage, works[other] / stage)
        holdout = pd.read_parquet(works[shared] / "ingest" / "holdout.parquet")
        ids = holdout[ID_COLUMN].to_numpy()
        if not branch.failure:
            branch = _train_and_score(branch, works["branch"], envs["branch"], ids)
        if not base.failure:
            base = _train_and_score(base, works["base"], envs["base"], ids)
        changed = _changed_files(root, commit)
    return judge_sides(base, branch, holdout, changed, time.perf_counter() - started)


def judge_sides(
    base: Side, branch: Side, holdout: pd.DataFrame, changed: list[str], seconds: float
) -> ModelReport:
    """Gate the branch's scores against the base's under the base's rules (the branch's when the
    base's params.yaml does not validate here)."""
    if base.params is not None:
        judge, judge_source = base.params, f"{base.label}'s params.yaml"
    elif branch.params is not None:
        judge, judge_source = branch.params, f"this tree's params.yaml ({base.params_error})"
    else:
        raise ReportError(f"this tree's params.yaml does not validate: {branch.params_error}")
    labels = holdout[LABEL_COLUMN].to_numpy()
    metrics: dict[str, Metrics] = {}
    for side in (base, branch):
        if side.scores is not None:
            threshold = operating_threshold(side, judge)
            metrics[side.name] = compute_metrics(
                labels, side.scores, threshold, judge.evaluate.business
            )
    common = dict(
        base=base, branch=branch, judge=judge, judge_source=judge_source, holdout=holdout,
        metrics=metrics, changed_files=changed, seconds=seconds,
    )  # fmt: skip
    if branch.scores is None:
        where = branch.failure.splitlines()[0].rstrip(":")
        reason = f"the branch's pipeline fails: {where} (its error is below)"
        return ModelReport(
            decision=None,
            recommendation=Recommendation.REGRESSION,
            reasons=[reason],
            branch_gate_summary=None,
            value_difference=None,
            **common,  # type: ignore[arg-type]
        )
    decision = _decide(judge, holdout, labels, branch, base)
    recommendation, reasons = classify(decision, judge.gate.superiority_margin)
    branch_gate = None
    if branch.params is not None and (
        branch.params.gate != judge.gate or branch.params.evaluate != judge.evaluate
    ):
        branch_gate = _worded(_decide(branch.params, holdout, labels, branch, base).summary)
    difference = None
    if base.scores is not None:
        thresholds = (operating_threshold(base, judge), operating_threshold(branch, judge))
        difference = value_difference(labels, base.scores, branch.scores, thresholds, judge)
    return ModelReport(
        decision=decision,
        recommendation=recommendation,
        reasons=reasons,
        branch_gate_summary=branch_gate,
        value_difference=difference,
        **common,  # type: ignore[arg-type]
    )


def _decide(
    params: PipelineParams, holdout: pd.DataFrame, labels: np.ndarray, branch: Side, base: Side
) -> GateDecision:
    from phase2_pipelines.evaluate import evaluate_scores

    assert branch.scores is not None
    report = evaluate_scores(holdout, labels, branch.scores, params.evaluate)
    comparison = None
    if base.scores is not None:
        comparison = HoldoutComparison(
            labels=labels,
            candidate=branch.scores,
            champion=base.scores,
            slices=slice_values(holdout, params.evaluate),
            champion_version=BASE_VERSION,
            same_structure=branch.structure is not None and branch.structure == base.structure,
        )
    return decide_promotion(report, comparison, params.gate)


# --- rendering -------------------------------------------------------------------------------


def _flatten(value: object, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        flat: dict[str, str] = {}
        for key, item in value.items():
            flat |= _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return flat
    return {
        prefix: yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
    }


def params_diff(base: dict[str, Any], branch: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(dotted key, base value, branch value) for every value that differs."""
    ours, theirs = _flatten(branch), _flatten(base)
    return [
        (key, theirs.get(key, "(absent)"), ours.get(key, "(absent)"))
        for key in sorted(set(ours) | set(theirs))
        if ours.get(key) != theirs.get(key)
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _check_row(check: GateCheck) -> str:
    result = "pass" if check.passed else "**FAIL**"
    return f"| {_cell(check.check)} | {result} | {_cell(check.reason)} |"


def _fmt(value: float, spec: str = ".4f") -> str:
    return "n/a" if not np.isfinite(value) else format(value + 0.0, spec)


def _slices_section(report: ModelReport) -> list[str]:
    decision = report.decision
    if decision is None or report.holdout is None or decision.comparison is None:
        return []
    lines = [
        "## Slices",
        "",
        f"Every value of every slice in `evaluate.slices`; `gate.slices` are judged, each needing"
        f" the lower bound of its dAUC above -{report.judge.gate.slice_tolerance}, when it has"
        f" at least {report.judge.gate.min_slice_positives} churners and stayers.",
        "",
        "| slice | gated | base AUC | branch AUC | dAUC [interval] | churners / stayers | why |",
        "|---|---|---|---|---|---|---|",
    ]
    for check in decision.slice_checks:
        evidence = check.comparison
        assert evidence is not None
        name = check.check.removeprefix("non-inferior on ")
        verdict = "pass" if check.passed else "**FAIL**"
        lines.append(
            f"| {_cell(name)} | yes: {verdict} | {evidence.champion:.4f} | {evidence.candidate:.4f}"
            f" | {signed(evidence.difference)} [{signed(evidence.low)}, {signed(evidence.high)}]"
            f" | {evidence.counts.positives} / {evidence.counts.negatives}"
            f" | lower bound {'>' if check.passed else '<='}"
            f" -{report.judge.gate.slice_tolerance} |"
        )
    labels = report.holdout[LABEL_COLUMN].to_numpy()
    values = slice_values(report.holdout, report.judge.evaluate)
    base, branch = report.base.scores, report.branch.scores
    assert base is not None
    assert branch is not None
    from phase2_pipelines.stats import roc_auc

    for entry in decision.ungated:
        family, _, value = entry.name.partition("=")
        rows = values[family] == value
        ours, theirs = roc_auc(labels[rows], branch[rows]), roc_auc(labels[rows], base[rows])
        lines.append(
            f"| {_cell(entry.name)} | no | {_fmt(theirs)} | {_fmt(ours)} |"
            f" {_fmt(ours - theirs, '+.4f')} (no interval: not gated)"
            f" | {entry.counts.positives} / {entry.counts.negatives} | {_cell(entry.reason)} |"
        )
    return [*lines, ""]


def _dollars(value: float) -> str:
    """A signed amount, sign first: -$27,160, +$0."""
    rounded = round(value)
    return f"{'-' if rounded < 0 else '+'}${abs(rounded):,}"


def _value_section(report: ModelReport) -> list[str]:
    if not report.metrics:
        return []
    business = report.judge.evaluate.business
    lines = [
        "## Business value at each model's threshold",
        "",
        f"A contacted customer costs ${business.contact_cost:g}; a contacted churner stays with"
        f" probability {business.save_rate:g}, worth ${business.retained_value:g}"
        " (`evaluate.business`). Each model is judged at the threshold its own evaluation"
        " chose (`evaluate.contact_rule`).",
        "",
        "| model | threshold | contacted | precision | recall | net value | per customer |",
        "|---|---|---|---|---|---|---|",
    ]
    for side in (report.base, report.branch):
        m = report.metrics.get(side.name)
        if m is None:
            continue
        threshold = operating_threshold(side, report.judge)
        lines.append(
            f"| {side.name}: {_cell(side.label)} | {threshold:g} | {m.contacted_share:.1%}"
            f" | {_fmt(m.precision, '.3f')} | {_fmt(m.recall, '.3f')}"
            f" | ${m.net_value:,.0f} | ${m.net_value_per_customer:.2f} |"
        )
    difference = report.value_difference
    if difference is not None:
        lines += [
            "",
            f"Branch minus base: **{_dollars(difference.difference)}**"
            f" [{difference.confidence:.0%} interval {_dollars(difference.low)},"
            f" {_dollars(difference.high)}] on the same {report.holdout_rows} customers"
            f" (paired bootstrap, {difference.resamples} resamples). Reported, not gated.",
        ]
    return [*lines, ""]


def _short(ingest: dict[str, object], key: str) -> str:
    return str(ingest.get(key))[:16]


def _changes_section(report: ModelReport) -> list[str]:
    lines = ["## What changed", "", "### params.yaml", ""]
    diff = params_diff(report.base.raw_params, report.branch.raw_params)
    if diff:
        lines += ["| key | base | branch |", "|---|---|---|"]
        lines += [f"| `{key}` | `{_cell(a)}` | `{_cell(b)}` |" for key, a, b in diff]
    else:
        lines.append("No value differs.")
    training = [f for f in report.changed_files if f.split(" ", 1)[-1].startswith(TRAINING_INPUTS)]
    lines += ["", "### Files", ""]
    if report.changed_files:
        lines.append(
            f"{len(report.changed_files)} changed against the base, {len(training)} of them"
            " training inputs (marked):"
        )
        lines.append("")
        for entry in report.changed_files[:MAX_LISTED_FILES]:
            mark = " (training input)" if entry in training else ""
            lines.append(f"- `{entry}`{mark}")
        if len(report.changed_files) > MAX_LISTED_FILES:
            lines.append(f"- ... and {len(report.changed_files) - MAX_LISTED_FILES} more")
    else:
        lines.append("None.")
    lines += ["", "### Data", ""]
    if report.branch.ingest:
        ours, theirs, whose = report.branch.ingest, report.base.ingest, "branch"
    else:  # the branch could not read the data: both were given the base's
        ours, theirs, whose = report.base.ingest, {}, "base"
    lines += [
        f"Both models were trained on the {whose}'s training window and judged on its holdout.",
        "",
        "| | rows | sha256 fingerprint (first 16) |",
        "|---|---|---|",
        f"| training window | {ours.get('train_rows')} | `{_short(ours, 'train_fingerprint')}` |",
        f"| holdout | {ours.get('holdout_rows')} | `{_short(ours, 'holdout_fingerprint')}` |",
        "",
        f"Source `{ours.get('source')}`, DVC data version `{ours.get('dvc_data_version')}`.",
    ]
    failed = report.branch if whose == "base" else report.base
    if not theirs:
        lines.append(f"The {failed.name}'s ingest failed: {failed.failure.splitlines()[0]}")
    elif any(ours.get(k) != theirs.get(k) for k in ("train_fingerprint", "holdout_fingerprint")):
        lines.append(
            f"**The branch changes the data**: the base's own ingest gives a training window of"
            f" {theirs.get('train_rows')} rows (`{_short(theirs, 'train_fingerprint')}`)"
            f" and a holdout of {theirs.get('holdout_rows')} rows"
            f" (`{_short(theirs, 'holdout_fingerprint')}`)."
        )
    else:
        lines.append("The base's own ingest gives the same data (same fingerprints).")
    return [*lines, ""]


def render_report(report: ModelReport) -> str:
    """The report as Markdown: the recommendation first, then the evidence for it."""
    lines = [
        f"# Model report: {report.recommendation.label}",
        "",
        report.headline(),
        "",
        f"- base: {report.base.label}",
        f"- branch: {report.branch.label}",
        f"- gate rules from: {report.judge_source}",
        "",
        "## Gate decision",
        "",
    ]
    decision = report.decision
    for side in (report.branch, report.base):
        if side.failure:
            lines += [f"The {side.name}'s pipeline failed:", "", "```text", side.failure, "```", ""]
    if decision is not None:
        head = _worded(decision.summary).partition(": ")[0]
        if decision.failures:
            head += f": {len(decision.failures)} of {len(decision.checks)} checks failed"
        elif not decision.same_as_champion:
            head += f": all {len(decision.checks)} checks passed"
        lines += [f"The gate's decision: **{head}**.", ""]
        if decision.comparison is not None:
            lines += [f"vs base: {decision.comparison.describe()}.", ""]
        if report.branch_gate_summary is not None:
            lines += [
                "The branch also changes the gate; under its own rules:"
                f" {report.branch_gate_summary}",
                "",
            ]
        slice_checks = decision.slice_checks
        lines += ["| check | result | evidence |", "|---|---|---|"]
        lines += [_check_row(c) for c in decision.checks if c not in slice_checks]
        lines.append("")
    lines += _slices_section(report)
    lines += _value_section(report)
    lines += _changes_section(report)
    lines += [
        "---",
        f"`make model-report` trained both models in a throwaway state directory in"
        f" {report.seconds:.0f} s; no server, no network, no registry.",
    ]
    return "\n".join(lines) + "\n"


def run_model_report(base_ref: str, out: Path | None) -> int:
    """Build, print and save the report; the recommendation's exit code (2 if no report was
    made)."""
    try:
        report = build_report(base_ref)
    except ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    text = report.render()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    print(text, end="")
    if out is not None:
        print(f"(report written to {out})")
    return report.recommendation.exit_code
