"""Course progress from what each phase's run leaves on disk: cheap to compute, and never guessed.

A phase counts as *run* when the artifact its lesson command writes is there (the verified Telco
CSVs, the gate's decision, the service's prediction log, phase 4's Evidently report, a finished
capstone run). That proves the learner ran the phase, not that their exercise passes: the
exercise self-checks (``make check-phaseN``) train and test, which takes minutes, so the page
names the command instead of pretending to know its result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from phase1_foundations.settings import Settings
from phase1_foundations.telco import raw_dir, raw_files_ok
from phase2_pipelines.gate import GateDecision
from phase5_capstone.state import RUNS_DIR, Manifest


@dataclass(frozen=True)
class PhaseProgress:
    phase: int
    title: str
    run: bool
    evidence: str
    command: str
    check: str
    when: datetime | None = None


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def _newest(paths: list[Path]) -> Path | None:
    return max(paths, key=lambda path: path.stat().st_mtime, default=None)


def _phase1(settings: Settings) -> PhaseProgress:
    directory = raw_dir(settings)
    ok = raw_files_ok(directory)
    evidence = (
        f"Telco CSVs in {directory} match their pinned sha256"
        if ok
        else f"no verified Telco CSVs in {directory}"
    )
    when = _mtime(directory / "train.csv") if ok else None
    return PhaseProgress(
        1, "Foundations", ok, evidence, "make data phase1", "make check-phase1", when
    )


def _phase2(settings: Settings) -> PhaseProgress:
    path = settings.state_dir / "pipeline" / "gate" / "gate.json"
    found, when, evidence = False, None, f"no gate decision at {path}"
    if path.is_file():
        try:
            decision = GateDecision.from_dict(json.loads(path.read_text()))
        except (ValueError, ValidationError) as error:
            evidence = f"unreadable gate decision at {path}: {str(error).splitlines()[0]}"
        else:
            found, when, evidence = True, _mtime(path), f"gate decision: {decision.summary}"
    return PhaseProgress(2, "Pipelines", found, evidence, "make phase2", "make check-phase2", when)


def _phase3(settings: Settings) -> PhaseProgress:
    folder = settings.state_dir / "predictions"
    logs = [path for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []
    newest = _newest(logs)
    evidence = (
        f"{len(logs)} prediction log file(s) in {folder}"
        if logs
        else f"no prediction log in {folder} (the service has scored nothing yet)"
    )
    when = _mtime(newest) if newest else None
    return PhaseProgress(
        3, "Serving", bool(logs), evidence, "make phase3", "make check-phase3", when
    )


def _phase4(settings: Settings) -> PhaseProgress:
    reports = settings.state_dir / "phase4" / "reports"
    found = sorted(reports.glob("week-*/*.html")) if reports.is_dir() else []
    newest = _newest(found)
    evidence = f"Evidently report {newest}" if newest else f"no Evidently report under {reports}"
    when = _mtime(newest) if newest else None
    return PhaseProgress(
        4, "Monitoring", bool(found), evidence, "make phase4", "make check-phase4", when
    )


def _phase5(settings: Settings, drill_runs: set[Path]) -> PhaseProgress:
    """A finished capstone run of the learner's own; the simulator's drill runs do not count."""
    finished: list[tuple[Path, Manifest]] = []
    for path in sorted((settings.state_dir / RUNS_DIR).glob("*/run.json")):
        if path.parent.resolve() in drill_runs:
            continue
        try:
            manifest = Manifest.model_validate_json(path.read_bytes())
        except ValidationError:
            continue
        if manifest.finished:
            finished.append((path, manifest))
    if not finished:
        evidence = f"no finished capstone run under {settings.state_dir / RUNS_DIR}"
        return PhaseProgress(5, "Capstone", False, evidence, "make capstone", "make capstone")
    path, manifest = max(finished, key=lambda item: item[0].stat().st_mtime)
    evidence = (
        f"capstone run {manifest.run!r}: scenario {manifest.scenario}, {manifest.weeks} weeks"
    )
    return PhaseProgress(
        5, "Capstone", True, evidence, "make capstone", "make capstone", _mtime(path)
    )


def course_progress(settings: Settings, drill_runs: set[Path]) -> list[PhaseProgress]:
    """Each phase, whether its run left its artifact, and what was found."""
    return [
        _phase1(settings),
        _phase2(settings),
        _phase3(settings),
        _phase4(settings),
        _phase5(settings, drill_runs),
    ]
