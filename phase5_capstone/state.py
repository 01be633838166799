"""Durable state of one capstone run: where its files live, what the cycle carries week to week.

Everything of a run is under ``<state>/capstone/<run>/``, the run's own state directory: its
MLflow store and artifacts, the service's prediction log and rollout plan, the quarantine, the
week folders and the event log. ``--fresh`` removes that one folder; nothing else is touched.

Each step's outcome (its events and the cycle state after it) is written atomically to
``weeks/<week>/<step>.json`` before its events are appended to the log: the outcome file is the
step's idempotency record. On a rerun, a step whose outcome exists is not run again; its events
are appended if a kill came between the two writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from phase1_foundations.files import write_atomically
from phase1_foundations.settings import Settings
from phase5_capstone.events import Draft

RUNS_DIR = "capstone"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RolloutState(_Frozen):
    """A challenger on its way: which stage, since when, how many weeks of traffic it has seen."""

    version: str
    stage: Literal["shadow", "canary"]
    staged_week: int
    weeks_in_stage: int = 0


class CycleState(_Frozen):
    """What the weekly cycle carries from one step to the next (the rest is in week folders)."""

    champion: str | None = None
    previous_champion: str | None = None
    champion_since: int | None = Field(None, description="Week the champion started serving.")
    rollout: RolloutState | None = None
    quarantined_weeks: tuple[int, ...] = ()
    rolled_back_versions: tuple[str, ...] = ()
    promotions: tuple[tuple[str, int], ...] = Field(
        (), description="(version, first week it served), oldest first; rollbacks included."
    )
    retrain_weeks: tuple[int, ...] = ()
    rejected_weeks: tuple[int, ...] = Field(
        (),
        description="Weeks whose retrain, asked for by harm, failed: every candidate rejected by"
        " the gate, or the staged one stopped by a live guardrail (what escalation counts).",
    )


class StepOutcome(_Frozen):
    """A finished step: what it decided (events), what it passes on (state, data)."""

    week: int
    step: str
    events: tuple[Draft, ...] = ()
    state: CycleState
    data: dict[str, JsonValue] = {}
    seconds: float = Field(0.0, description="Wall time of the step (not in the event log).")


class Manifest(_Frozen):
    """What a run is: a resumed run must be the same scenario, or it is refused."""

    run: str
    scenario: str
    scenario_fingerprint: str
    weeks: int
    finished: bool = False


class RunPaths:
    """The files of one run."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def of(cls, state_dir: Path, run: str) -> RunPaths:
        return cls(state_dir / RUNS_DIR / run)

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    @property
    def timeline(self) -> Path:
        return self.root / "timeline.html"

    @property
    def manifest(self) -> Path:
        return self.root / "run.json"

    def week(self, week: int) -> Path:
        return self.root / "weeks" / (f"{week:04d}" if week >= 0 else "setup")

    def outcome(self, week: int, step: str) -> Path:
        return self.week(week) / f"{step}.json"

    def settings(self, base: Settings) -> Settings:
        """The run's own settings: its MLflow store, quarantine and logs live in its folder."""
        return base.model_copy(update={"state_dir": self.root, "mlflow_tracking_uri": None})

    def read_outcome(self, week: int, step: str) -> StepOutcome | None:
        path = self.outcome(week, step)
        if not path.exists():
            return None
        return StepOutcome.model_validate_json(path.read_bytes())

    def write_outcome(self, outcome: StepOutcome) -> None:
        write_atomically(
            self.outcome(outcome.week, outcome.step), outcome.model_dump_json(), durable=True
        )

    def read_manifest(self) -> Manifest | None:
        if not self.manifest.exists():
            return None
        return Manifest.model_validate_json(self.manifest.read_bytes())

    def write_manifest(self, manifest: Manifest) -> None:
        write_atomically(self.manifest, manifest.model_dump_json(indent=2), durable=True)
