"""Capstone scenarios in YAML: the weeks, the volumes, the seed, world effects and system faults.

A scenario file (``scenarios/<name>.yml``) is read by phase 1's scenario loader and validated by
pydantic, so a mistake is refused with the field it concerns (``world.2.fraction: ...``), never a
traceback. ``world`` holds phase 1's effects exactly as phase 1's catalogue declares them;
``faults`` holds this phase's system faults (``faults.py``); ``beats`` names what the scenario is
designed to show, in order, for the summary and the tests.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from phase1_foundations.scenarios import (
    NAME_PATTERN,
    Effect,
    Scenario,
    ScenarioFileError,
    parse_scenario_file,
    read_scenario_file,
    scenario_files,
)
from phase1_foundations.world import World
from phase5_capstone.faults import (
    Fault,
    LabelShuffle,
    PackagingFault,
    StaleReplica,
    SystemFault,
)

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
FaultT = TypeVar("FaultT", bound=SystemFault)


class ScenarioError(ScenarioFileError):
    """A scenario that cannot be used; the message names the file, the field and the problem."""


class Beat(BaseModel):
    """One thing the scenario is designed to show, and the weeks it should happen in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    weeks: tuple[int, int] = Field(description="First and last week it may happen in.")
    shows: str = Field(min_length=1)


class CapstoneScenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    description: str = Field(min_length=1)
    weeks: int = Field(ge=1, le=520, description="Simulated weeks to run, from week 0.")
    # The world's shape, said by every scenario file (no default here to drift from them).
    rows_per_week: int = Field(ge=100, le=10_000_000)
    seed: int = Field(ge=0)
    label_delay_weeks: int = Field(ge=1, le=26)
    world: tuple[Effect, ...] = ()
    faults: tuple[Fault, ...] = ()
    beats: tuple[Beat, ...] = ()

    @model_validator(mode="after")
    def _check_weeks(self) -> CapstoneScenario:
        for index, beat in enumerate(self.beats):
            first, last = beat.weeks
            if not 0 <= first <= last < self.weeks:
                raise ValueError(f"beats.{index}.weeks: must lie within 0..{self.weeks - 1}")
        self.world_scenario()  # phase 1's own checks of the world (one schema break per column)
        return self

    def world_scenario(self) -> Scenario:
        return Scenario(name=self.name, description=self.description, world=self.world)

    def make_world(self) -> World:
        return World(
            self.seed,
            self.world_scenario(),
            rows_per_week=self.rows_per_week,
            label_delay_weeks=self.label_delay_weeks,
        )

    def faults_of(self, kind: type[FaultT], week: int) -> list[FaultT]:
        """The faults of one kind present in ``week``."""
        return [f for f in self.faults if isinstance(f, kind) and f.active(week)]

    def training_bug(self, week: int) -> LabelShuffle | None:
        found = self.faults_of(LabelShuffle, week)
        return found[0] if found else None

    def packaging_faults(self, week: int) -> list[PackagingFault]:
        return [
            f
            for f in self.faults
            if not isinstance(f, LabelShuffle | StaleReplica) and f.active(week)
        ]

    def stale_replica(self, week: int) -> StaleReplica | None:
        found = self.faults_of(StaleReplica, week)
        return found[0] if found else None

    def fingerprint(self) -> str:
        """sha256 of the scenario as validated: a resumed run must be running the same one."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


def known_scenarios(directory: Path = SCENARIO_DIR) -> list[str]:
    return list(scenario_files(directory))


def parse_scenario(text: str, source: str = "<text>") -> CapstoneScenario:
    """A scenario from YAML text; ScenarioError names the source, the field and the problem."""
    return parse_scenario_file(text, CapstoneScenario, source, ScenarioError)


def load_scenario(name_or_path: str, directory: Path = SCENARIO_DIR) -> CapstoneScenario:
    """A scenario by name (``scenarios/<name>.yml``) or by path to a YAML file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = directory / f"{name_or_path}.yml"
    if not path.is_file():
        known = ", ".join(known_scenarios(directory))
        raise ScenarioError(f"no scenario {name_or_path!r}: expected one of {known}, or a path")
    return read_scenario_file(path, CapstoneScenario, ScenarioError)
