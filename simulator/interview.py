"""Interview practice: the question bank, questions drawn from the user's own drills, the timed
mock loop and the attempts log. Scoring lives in ``interview_scoring.py``.

The bank (``questions.yml``) is ours: six domains, each question with what an interviewer
listens for, concept groups (synonyms, and the reasoning each must be tied to), a reference
answer that points into this repository, and follow-ups. Personal questions (project depth,
incidents) are rewritten with the user's last finished drill and postmortem.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from simulator.postmortem import read_postmortems
from simulator.records import DrillRecord, SimulatorPaths

QUESTIONS_FILE = Path(__file__).resolve().parent / "questions.yml"


class _Bank(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Concept(_Bank):
    """A concept group: any synonym shows it; ``why`` is the reasoning it must come with."""

    name: str
    synonyms: tuple[str, ...] = Field(min_length=1)
    why: str


class Question(_Bank):
    id: str
    domain: str
    question: str
    listen_for: tuple[str, ...] = Field(min_length=1)
    concepts: tuple[Concept, ...] = Field(min_length=2)
    reference_answer: str
    follow_ups: tuple[str, ...] = ()
    personal: str | None = Field(
        None, description="The question asked with the user's last drill ({scenario}, ...)."
    )
    personal_answer: str | None = Field(
        None, description="Appended to the reference answer when the user has a drill."
    )


class LoopParams(_Bank):
    questions: int = Field(ge=1)
    seconds_per_question: int = Field(ge=10)


class ScoringParams(_Bank):
    """How an answer is scored (interview_scoring.py); in the bank so a reader sees the rules."""

    bare_mention: float = Field(ge=0, le=1, description="Credit for a concept with no reasoning.")
    min_sentence_words: int = Field(ge=1)
    max_keyword_share: float = Field(gt=0, le=1)
    min_plain_words: int = Field(ge=0, description="Distinct words that are not keywords.")
    reasoning_cues: tuple[str, ...] = Field(min_length=1)


class QuestionBank(_Bank):
    domains: dict[str, str]
    loop: LoopParams
    scoring: ScoringParams
    questions: tuple[Question, ...]

    @model_validator(mode="after")
    def _check(self) -> QuestionBank:
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("questions: ids must be unique")
        for q in self.questions:
            if q.domain not in self.domains:
                raise ValueError(f"questions.{q.id}.domain: unknown domain {q.domain!r}")
        return self

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(f"question_id: no question {question_id!r} in the bank")

    def of_domain(self, domain: str) -> list[Question]:
        return [q for q in self.questions if q.domain == domain]


def load_bank(path: Path = QUESTIONS_FILE) -> QuestionBank:
    """Read and validate the question bank."""
    return QuestionBank.model_validate(yaml.safe_load(path.read_text()))


def drill_facts(paths: SimulatorPaths) -> dict[str, str] | None:
    """What the user's last finished drill (and its postmortem) give a personal question."""
    finished = [record for record in paths.drills() if record.finished]
    if not finished:
        return None
    record = finished[-1]
    facts = _record_facts(record)
    postmortem = next(
        (pm for pm in reversed(read_postmortems(paths)) if pm.drill_id == record.drill_id), None
    )
    facts["postmortem"] = postmortem.title if postmortem else "no postmortem written yet"
    facts["root_cause_written"] = (
        postmortem.root_causes if postmortem and postmortem.root_causes else facts["root_cause"]
    )
    return facts


def _record_facts(record: DrillRecord) -> dict[str, str]:
    first = min(record.declarations, key=lambda d: d.week) if record.declarations else None
    score = record.score
    return {
        "scenario": record.scenario,
        "title": record.title,
        "inject_week": str(record.inject_week),
        "detection_week": str(first.week) if first else "never",
        "latency": str(first.week - record.inject_week) if first else "no",
        "signal": first.signal if first else "no signal",
        "root_cause": first.root_cause if first else "undiagnosed",
        "response": first.response.replace("_", " ") if first else "no response",
        "score": f"{score.total:g}/{score.max_total:g}" if score else "unscored",
    }


def personalize(question: Question, facts: dict[str, str] | None) -> Question:
    """The question asked about the user's own drill, when it has a personal form and a drill
    exists; otherwise unchanged."""
    if facts is None or question.personal is None:
        return question
    answer = question.reference_answer
    if question.personal_answer:
        answer = f"{answer}\n\n{question.personal_answer.format_map(facts)}"
    return question.model_copy(
        update={"question": question.personal.format_map(facts), "reference_answer": answer}
    )


class LoopItem(_Bank):
    question_id: str
    domain: str
    seconds: int


class MockLoop(_Bank):
    seed: int
    items: tuple[LoopItem, ...]


def plan_mock_loop(
    bank: QuestionBank, seed: int, count: int | None = None, seconds: int | None = None
) -> MockLoop:
    """A seeded sequence that visits the domains in turn (shuffled), one question each, with a
    time budget per question; the same seed always gives the same loop."""
    count = bank.loop.questions if count is None else count
    seconds = bank.loop.seconds_per_question if seconds is None else seconds
    if not 1 <= count <= len(bank.questions):
        raise ValueError(f"count: must be 1..{len(bank.questions)}, got {count}")
    rng = random.Random(seed)
    pools = {domain: bank.of_domain(domain) for domain in bank.domains}
    for pool in pools.values():
        rng.shuffle(pool)
    order = [domain for domain in bank.domains if pools[domain]]
    rng.shuffle(order)
    items: list[LoopItem] = []
    while len(items) < count:
        for domain in order:
            if pools[domain] and len(items) < count:
                q = pools[domain].pop()
                items.append(LoopItem(question_id=q.id, domain=domain, seconds=seconds))
    return MockLoop(seed=seed, items=tuple(items))


class InterviewAttempt(_Bank):
    """One answered question: what was asked, the answer, its score and the time it took."""

    question_id: str
    domain: str
    question: str
    answer: str
    score: float
    covered: tuple[str, ...]
    missed: tuple[str, ...]
    seconds_taken: float = Field(ge=0)
    seconds_budget: int | None = None
    loop_seed: int | None = None
    at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def over_time(self) -> bool:
        return self.seconds_budget is not None and self.seconds_taken > self.seconds_budget


def record_attempt(paths: SimulatorPaths, attempt: InterviewAttempt) -> Path:
    """Append the attempt, one JSON line, to ``SimulatorPaths.interview_attempts``."""
    path = paths.interview_attempts
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(attempt.model_dump_json() + "\n")
    return path


def read_attempts(paths: SimulatorPaths) -> list[InterviewAttempt]:
    """Every recorded attempt, oldest first (a line cut short by a kill is skipped)."""
    path = paths.interview_attempts
    if not path.exists():
        return []
    attempts = []
    for line in path.read_text().splitlines():
        try:
            attempts.append(InterviewAttempt.model_validate(json.loads(line)))
        except ValueError:
            continue
    return attempts
