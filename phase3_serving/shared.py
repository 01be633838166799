"""State shared by the workers of one service: the rollout plan and the guardrail evidence.

Why files under the state directory rather than registry tags: every worker checks the plan
several times a second, which is one ``stat`` here but a database round trip per worker for a
tag; the plan is this deployment's operating state, not a fact about the model (two services
sharing one registry must not share a canary); and the per-worker evidence needs a scratch area
the registry has no place for. The cost: workers must share a file system (one host, or a shared
volume). Every write is atomic (a temporary file renamed over the old one), so a reader sees the
old plan or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ValidationError

from phase1_foundations.files import write_atomically
from phase3_serving.guardrails import GuardrailDecision, Observations

logger = logging.getLogger("phase3_serving")


class RolloutMode(StrEnum):
    OFF = "off"
    SHADOW = "shadow"
    CANARY = "canary"


class RolloutPlan(BaseModel):
    """What every worker does with the challenger; ``plan_id`` changes with every new plan."""

    mode: RolloutMode = RolloutMode.OFF
    canary_percent: float = 0.0
    plan_id: str = "none"
    source: str = "default"  # settings, admin or guardrail
    set_at: float = 0.0
    last_breach: dict[str, object] | None = None

    @classmethod
    def new(
        cls, mode: RolloutMode, canary_percent: float, source: str, **extra: object
    ) -> RolloutPlan:
        percent = canary_percent if mode is RolloutMode.CANARY else 0.0
        return cls.model_validate(
            {
                "mode": mode,
                "canary_percent": percent,
                "plan_id": uuid.uuid4().hex[:12],
                "source": source,
                "set_at": time.time(),
                **extra,
            }
        )


class PlanStore:
    """``plan.json``: read when its file changes, written atomically, under a lock to swap."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "plan.json"
        self._seen: tuple[int, int, int] | None = None

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def read(self) -> RolloutPlan:
        self._seen = self._signature()
        try:
            return RolloutPlan.model_validate_json(self.path.read_bytes())
        except FileNotFoundError:
            return RolloutPlan()
        except ValidationError as error:
            logger.error("ignoring an unreadable rollout plan %s: %s", self.path, error)
            return RolloutPlan()

    def read_if_changed(self) -> RolloutPlan | None:
        if self._signature() == self._seen:
            return None
        return self.read()

    def write(self, plan: RolloutPlan) -> None:
        with self._locked():
            write_atomically(self.path, plan.model_dump_json(indent=2))

    def replace_if_current(self, plan_id: str, plan: RolloutPlan) -> bool:
        """Write ``plan`` only if the stored plan is still ``plan_id`` (compare and swap)."""
        with self._locked():
            if self.read().plan_id != plan_id:
                return False
            write_atomically(self.path, plan.model_dump_json(indent=2))
            return True

    def seed(self, plan: RolloutPlan) -> RolloutPlan:
        """At startup: the settings' plan, unless the stored one already says the same thing
        (so a restart, or a second worker, keeps the rollout and its evidence going)."""
        with self._locked():
            stored = self.read()
            same = (stored.mode, stored.canary_percent, stored.source) == (
                plan.mode,
                plan.canary_percent,
                plan.source,
            )
            if same:
                return stored
            write_atomically(self.path, plan.model_dump_json(indent=2))
            return plan

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "plan.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class EvidenceBoard:
    """One folder per (plan, challenger): each worker's evidence, the looks taken, the verdict."""

    def __init__(self, directory: Path, worker: str | None = None) -> None:
        self.directory = directory / "evidence"
        self.worker = worker or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def _folder(self, key: str) -> Path:
        return self.directory / key

    def publish(self, key: str, evidence: Observations) -> None:
        write_atomically(
            self._folder(key) / f"worker-{self.worker}.json", evidence.model_dump_json()
        )

    def read_others(self, key: str) -> list[Observations]:
        found = []
        mine = f"worker-{self.worker}.json"
        for path in self._folder(key).glob("worker-*.json"):
            if path.name == mine:
                continue
            with contextlib.suppress(FileNotFoundError, ValidationError):
                found.append(Observations.model_validate_json(path.read_bytes()))
        return found

    def claim(self, key: str, look: int) -> bool:
        """True for exactly one worker per look: that worker evaluates it."""
        folder = self._folder(key)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            os.close(os.open(folder / f"look-{look + 1}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def record_verdict(self, key: str, verdict: GuardrailDecision) -> None:
        write_atomically(self._folder(key) / "verdict.json", json.dumps(verdict.to_dict()))

    def last_verdict(self, key: str) -> dict[str, object] | None:
        try:
            loaded: dict[str, object] = json.loads((self._folder(key) / "verdict.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return loaded
