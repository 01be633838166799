"""The drill catalogue (``drills.yml``): what each scenario injects, when, and what is right.

A drill is a capstone scenario built from an entry here: phase 1's world effects and phase 5's
system faults, with weeks relative to an injection week drawn from the drill's seed, plus what
the user should find (the signals that point at the cause, the cause) and do (the best
response, and the ones that earn partial credit). The file is read by phase 1's scenario loader,
as every scenario file is, and validated by pydantic, so a mistake is refused with the field it
concerns.
"""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from phase1_foundations.scenarios import Effect, ScenarioFileError, parse_scenario_file
from phase5_capstone.faults import Fault
from simulator.records import RESPONSES, Declaration, Response

CATALOGUE_FILE = Path(__file__).resolve().parent / "drills.yml"
# Responses that act on the cause the user names (a hotfix for a renamed column does not map
# swapped columns back; upstream fixes the feed they were told is broken).
CAUSE_SPECIFIC: tuple[Response, ...] = ("quarantine_hotfix", "page_upstream")


class CatalogueError(ScenarioFileError):
    """The catalogue, or a name asked of it, is not usable; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoringSettings(_Strict):
    """Points of each part of a drill's score, and what costs points (see ``drill_score.py``)."""

    detection: float = Field(gt=0)
    half_life_weeks: float = Field(
        gt=0, description="Each this many weeks late halves detection and response credit."
    )
    signal: float = Field(gt=0)
    root_cause: float = Field(gt=0)
    response: float = Field(gt=0)
    impact: float = Field(gt=0)
    discipline: float = Field(gt=0)
    false_alarm_penalty: float = Field(ge=0)
    needless_retrain_penalty: float = Field(ge=0)
    missed_incident_penalty: float = Field(ge=0, description="No declaration after it began.")


class DrillSettings(_Strict):
    weeks: int = Field(ge=4, le=52)
    rows_per_week: int = Field(ge=200, le=100_000)
    label_delay_weeks: int = Field(ge=1)
    train_weeks: int = Field(ge=1)
    holdout_weeks: int = Field(ge=1)
    upstream_fix_weeks: int = Field(ge=1)
    latency_alert_ratio: float = Field(gt=1)
    latency_alert_added_ms: float = Field(ge=0)
    latency_baseline_weeks: int = Field(ge=1)
    scoring: ScoringSettings


class Release(_Strict):
    """A model shipped straight to champion in the injection week, built with these faults."""

    label_shuffle: float | None = Field(None, gt=0, le=1, description="A training bug.")
    faults: tuple[Fault, ...] = Field((), description="Packaging faults of the shipped model.")
    after_weeks: int = Field(0, ge=0, description="Weeks after the injection week it ships.")


class Decoy(_Strict):
    """Something harmless the dashboards show before or with the incident (a price change, a
    late label feed): it fires a signal that does not point at the cause."""

    weeks_before: int = Field(0, ge=0, description="Weeks before the injection week it starts.")
    world: tuple[Effect, ...] = Field(min_length=1, description="Weeks relative to its start.")


class DrillSpec(_Strict):
    name: str = ""
    title: str = Field(min_length=1)
    incident: bool = Field(True, description="False: nothing harmful happens (a control).")
    inject_weeks: tuple[int, int]
    world: tuple[Effect, ...] = ()
    faults: tuple[Fault, ...] = ()
    release: Release | None = None
    decoy: Decoy | None = None
    signals: tuple[str, ...] = Field(description="Signals that point at the cause.")
    confirm_weeks: int = Field(
        0,
        ge=0,
        description="Weeks of evidence after the first signal before the cause can be told"
        " from its look-alikes; detection is timed from then.",
    )
    root_cause: str
    best: Response
    partial: dict[Response, float] = Field(default_factory=dict)
    lesson: str = Field(min_length=1)
    tell: str = Field(
        min_length=1, description="The evidence that told it apart from its look-alikes."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        first, last = self.inject_weeks
        if not 0 <= first <= last:
            raise ValueError(f"inject_weeks: [{first}, {last}] is not a range of weeks")
        if self.decoy is not None and self.decoy.weeks_before > first:
            raise ValueError(
                f"decoy.weeks_before: {self.decoy.weeks_before} weeks before week {first}"
                " is before the drill starts"
            )
        for response, credit in self.partial.items():
            if not 0 < credit < 1:
                raise ValueError(f"partial.{response}: credit must be between 0 and 1")
            if response == self.best:
                raise ValueError(f"partial.{response}: the best response has full credit")
        return self

    def credit(self, response: Response, root_cause: str | None = None) -> float:
        """The share of the response points ``response`` earns in this drill. A hotfix or a page
        repairs only what it names: with another cause than the drill's it earns nothing."""
        if response in CAUSE_SPECIFIC and root_cause is not None and root_cause != self.root_cause:
            return 0.0
        return 1.0 if response == self.best else self.partial.get(response, 0.0)

    def inject_week(self, seed: int) -> int:
        """The hidden injection week for ``seed`` (the same every time)."""
        first, last = self.inject_weeks
        return random.Random(f"{self.name}:{seed}").randint(first, last)


class Catalogue(_Strict):
    settings: DrillSettings
    signals: dict[str, str]
    root_causes: dict[str, str]
    cause_words: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="How a postmortem may name each root cause."
    )
    drills: dict[str, DrillSpec]

    @model_validator(mode="after")
    def _check(self) -> Self:
        named = {name: spec.model_copy(update={"name": name}) for name, spec in self.drills.items()}
        object.__setattr__(self, "drills", named)
        for name, spec in named.items():
            for signal in spec.signals:
                if signal not in self.signals:
                    raise ValueError(f"drills.{name}.signals: unknown signal {signal!r}")
            if spec.root_cause not in self.root_causes:
                raise ValueError(f"drills.{name}.root_cause: unknown cause {spec.root_cause!r}")
            if spec.inject_weeks[1] >= self.settings.weeks - 2:
                raise ValueError(f"drills.{name}.inject_weeks: leaves under 2 weeks to respond")
        for cause in self.cause_words:
            if cause not in self.root_causes:
                raise ValueError(f"cause_words.{cause}: unknown cause")
        return self

    def words_for(self, cause: str) -> tuple[str, ...]:
        """The phrases that name ``cause`` in prose (its own name, spaced, first)."""
        return (cause.replace("_", " "), *self.cause_words.get(cause, ()))

    def declaration(
        self, week: int, signal: str, root_cause: str, response: str, note: str = ""
    ) -> Declaration:
        """A declaration checked against the lists (CatalogueError names the bad field)."""
        if signal not in self.signals:
            known = ", ".join(self.signals)
            raise CatalogueError(f"signal: unknown {signal!r}; expected one of {known}")
        if root_cause not in self.root_causes:
            known = ", ".join(self.root_causes)
            raise CatalogueError(f"root_cause: unknown {root_cause!r}; expected one of {known}")
        if response not in RESPONSES:
            known = ", ".join(RESPONSES)
            raise CatalogueError(f"response: unknown {response!r}; expected one of {known}")
        if week < 0:
            raise CatalogueError(f"week: must be 0 or more, got {week}")
        return Declaration.model_validate(
            {
                "week": week,
                "signal": signal,
                "root_cause": root_cause,
                "response": response,
                "note": note,
            }
        )

    def drill(self, name: str) -> DrillSpec:
        if name not in self.drills:
            known = ", ".join(sorted(self.drills))
            raise CatalogueError(f"scenario: no drill {name!r}; expected one of {known}")
        return self.drills[name]


def parse_catalogue(text: str, source: str = "<text>") -> Catalogue:
    return parse_scenario_file(text, Catalogue, source, CatalogueError)


@cache
def load_catalogue(path: Path = CATALOGUE_FILE) -> Catalogue:
    """The catalogue (read once per process)."""
    return parse_catalogue(path.read_text(), str(path))


__all__ = ["RESPONSES", "Catalogue", "CatalogueError", "DrillSpec", "load_catalogue"]
