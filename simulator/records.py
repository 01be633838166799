"""What the simulator keeps about a user's work, and where: the contract between its parts.

The engine writes a ``DrillRecord`` when a drill starts and rewrites it after every week and
every declaration; the postmortem form, the interview bank and the Progress page read them.
Everything lives under ``<state>/simulator/`` (``SimulatorPaths``), so a browser refresh or a
restart loses nothing, and ``make clean`` removes it with the rest of the runtime state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from phase1_foundations.files import write_atomically

SIMULATOR_DIR = "simulator"

Response = Literal[
    "roll_back",
    "retrain_recent",
    "quarantine_hotfix",
    "scale",
    "wait_and_watch",
    "page_upstream",
]
RESPONSES: tuple[Response, ...] = get_args(Response)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Declaration(_Record):
    """An incident the user declared: what they saw, what they think caused it, what they did."""

    week: int = Field(ge=0, description="The drill week the user declared it in.")
    signal: str = Field(description="The signal the user points to, from the engine's list.")
    root_cause: str = Field(description="The cause the user diagnoses, from the engine's list.")
    response: Response
    note: str = ""


class ScorePart(_Record):
    """One part of a drill's score, with why it got the points it got."""

    name: str
    points: float
    max_points: float
    explanation: str


class ScoreBreakdown(_Record):
    parts: tuple[ScorePart, ...]

    @property
    def total(self) -> float:
        return sum(part.points for part in self.parts)

    @property
    def max_total(self) -> float:
        return sum(part.max_points for part in self.parts)


class SignalSighting(_Record):
    """A signal that pointed at the cause, and the first week it did (for the debrief)."""

    signal: str
    first_week: int | None = Field(description="None: it never fired in this drill.")
    detail: str


class DrillRecord(_Record):
    """One drill: its hidden scenario, what the user did, and (once finished) how it scored."""

    drill_id: str
    scenario: str
    title: str
    seed: int
    weeks: int = Field(description="How many weeks the drill lasts.")
    inject_week: int = Field(description="Hidden from the user until the drill is finished.")
    week: int = Field(0, description="The next week to play; == weeks when finished.")
    started_at: str
    finished_at: str | None = None
    declarations: tuple[Declaration, ...] = ()
    score: ScoreBreakdown | None = None
    debrief: tuple[SignalSighting, ...] = ()
    value_lost_usd: float | None = Field(
        None, description="Business value lost against a healthy system, from the injection on."
    )
    value_at_stake_usd: float | None = Field(
        None, description="What the healthy system earned in those weeks."
    )
    run_dir: str = Field(description="The capstone run folder the drill plays in (event log).")

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


class SimulatorPaths(_Record):
    """Every file the simulator keeps, under one root (``<state>/simulator``)."""

    root: Path

    @classmethod
    def of(cls, state_dir: Path) -> SimulatorPaths:
        return cls(root=state_dir / SIMULATOR_DIR)

    def drill(self, drill_id: str) -> Path:
        return self.root / "drills" / drill_id / "record.json"

    @property
    def postmortems(self) -> Path:
        return self.root / "postmortems"

    @property
    def interview_attempts(self) -> Path:
        return self.root / "interview" / "attempts.jsonl"

    def drills(self) -> list[DrillRecord]:
        """Every drill on disk, oldest first."""
        folder = self.root / "drills"
        found = [
            DrillRecord.model_validate_json(path.read_bytes())
            for path in folder.glob("*/record.json")
        ]
        return sorted(found, key=lambda record: (record.started_at, record.drill_id))

    def save_drill(self, record: DrillRecord) -> Path:
        path = self.drill(record.drill_id)
        write_atomically(path, record.model_dump_json(indent=2))
        return path
