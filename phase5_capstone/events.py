"""The event log: one JSON line per decision or action, with its evidence.

Each event carries an idempotency key, ``<week>.<step>.<n>``: the n-th event of one step of one
week. A step's events are appended in one write once the step's outcome is durable, so a run
killed at any point neither loses an event nor writes one twice (``runner.py``). A line cut
short by a kill is the only thing a reader can find broken, and ``EventLog.open`` drops it.

What differs between two runs of the same scenario and seed is kept apart from the rest: the
timestamp (``at``), MLflow run ids (``run_ids``) and wall-clock measurements such as latencies
(``measured``). ``comparable()`` leaves them out; everything else, decisions and their
evidence included, is the same run after run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, JsonValue

VOLATILE_FIELDS = {"at", "measured", "run_ids"}
SETUP_WEEK = -1  # events before week 0 (the bootstrap champion)


class Draft(BaseModel):
    """An event as a step produces it; the runner stamps it with its place in the log."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    summary: str
    model_version: str | None = None
    evidence: dict[str, JsonValue] = {}
    measured: dict[str, JsonValue] = {}
    run_ids: dict[str, str] = {}


class Event(Draft):
    seq: int
    key: str
    week: int
    step: str
    at: str

    def comparable(self) -> dict[str, JsonValue]:
        """The event without what legitimately differs between runs (see the module doc)."""
        dumped: dict[str, JsonValue] = json.loads(self.model_dump_json(exclude=VOLATILE_FIELDS))
        return dumped


def event_key(week: int, step: str, index: int) -> str:
    return f"{week:04d}.{step}.{index}"


def stamp(drafts: Iterable[Draft], week: int, step: str, first_seq: int) -> list[Event]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    return [
        Event(
            **draft.model_dump(),
            seq=first_seq + index,
            key=event_key(week, step, index),
            week=week,
            step=step,
            at=now,
        )
        for index, draft in enumerate(drafts)
    ]


class EventLog:
    """``events.jsonl``: appended whole steps at a time, read back as typed events."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.events: list[Event] = []
        self.keys: set[str] = set()

    @classmethod
    def open(cls, path: Path) -> EventLog:
        """Read the log, dropping a last line that a kill cut short."""
        log = cls(path)
        if not path.exists():
            return log
        data = path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) != len(data):
            with path.open("r+b") as handle:
                handle.truncate(len(complete))
        for line in complete.splitlines():
            log._remember(Event.model_validate_json(line))
        return log

    def _remember(self, event: Event) -> None:
        self.events.append(event)
        self.keys.add(event.key)

    @property
    def next_seq(self) -> int:
        return len(self.events)

    def append(self, events: list[Event]) -> None:
        """Append events in one write, on disk before this returns; known keys are skipped."""
        new = [event for event in events if event.key not in self.keys]
        if not new:
            return
        payload = "".join(event.model_dump_json() + "\n" for event in new).encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, payload)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        for event in new:
            self._remember(event)

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def of_kind(self, *kinds: str) -> list[Event]:
        return [event for event in self.events if event.kind in kinds]


def read_events(path: Path) -> list[Event]:
    """Every complete event of a log, without repairing it (for readers such as tests)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    return [Event.model_validate_json(line) for line in complete.splitlines()]
