"""Interview practice: the question bank, questions drawn from the user's own drills, the timed
mock loop and the attempts log. Scoring lives in ``interview_scoring.py``.

The bank (``questions.yml``) is ours: six domains, each question with what an interviewer
listens for, its concepts (each a claim the answer must make, the words that name it, the
patterns that make it, and the misconceptions that contradict it), a reference answer that
points into this repository, and follow-ups, the first of which is scored like a question.
``seed_guide`` maps the seed guide's 30 questions to the bank. Personal questions (project
depth, incidents) are rewritten with the user's last finished drill and postmortem.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from phase1_foundations.files import write_atomically
from simulator.postmortem import read_postmortems
from simulator.records import DrillRecord, SimulatorPaths

QUESTIONS_FILE = Path(__file__).resolve().parent / "questions.yml"


class _Bank(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Phrase = str  # words; a word ending in * matches any ending ("retrain*": retrained, retraining)
Pattern = tuple[
    tuple[Phrase, ...], ...
]  # slots in order, each one of its phrases, a few words apart


class Misconception(_Bank):
    """A wrong claim an interviewer listens for: any pattern asserted (not denied) contradicts
    the concept; the same pattern denied ("retraining does not always fix drift") makes it."""

    claim: str = Field(description="The wrong claim, in words.")
    says: tuple[Pattern, ...] = Field(min_length=1)
    why: str = Field(description="Why it is wrong, shown to the learner.")


class Concept(_Bank):
    """A claim the answer must make. ``terms`` name the concept; a prose sentence that names it
    (not denied in its clause) together with one of ``support`` (what the claim says about it),
    or that matches a ``says`` pattern, makes the claim. A concept whose claim is itself a
    denial ("never a 500 for bad input") is ``negative``: naming it denied makes the claim."""

    name: str
    claim: str
    terms: tuple[Phrase, ...] = Field(min_length=1)
    support: tuple[Phrase, ...] = ()
    says: tuple[Pattern, ...] = ()
    negative: bool = False
    misconceptions: tuple[Misconception, ...] = ()
    why: str

    @model_validator(mode="after")
    def _check(self) -> Concept:
        if not (self.support or self.says or self.negative):
            raise ValueError(f"{self.name}: a claim needs support words or says patterns")
        return self


class FollowUp(_Bank):
    """A follow-up question; scored like a main question when it has concepts."""

    question: str
    concepts: tuple[Concept, ...] = ()
    reference_answer: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        return {"question": value} if isinstance(value, str) else value

    @property
    def scored(self) -> bool:
        return bool(self.concepts)


class Question(_Bank):
    id: str
    domain: str
    question: str
    listen_for: tuple[str, ...] = Field(min_length=1)
    concepts: tuple[Concept, ...] = Field(min_length=2)
    reference_answer: str
    follow_ups: tuple[FollowUp, ...] = Field(min_length=1)
    personal: str | None = Field(
        None, description="The question asked with the user's last drill ({scenario}, ...)."
    )
    personal_answer: str | None = Field(
        None, description="Appended to the reference answer when the user has a drill."
    )

    @model_validator(mode="after")
    def _check(self) -> Question:
        first = self.follow_ups[0]
        if not first.scored or not first.reference_answer:
            raise ValueError(f"{self.id}.follow_ups.0: the first follow-up must be scored")
        if not any(c.misconceptions for c in self.concepts):
            raise ValueError(f"{self.id}: list at least one misconception an interviewer hears")
        return self

    def follow_up(self, index: int) -> Question:
        """The ``index``-th follow-up asked as a question of its own (scored like this one)."""
        asked = self.follow_ups[index]
        if not asked.scored:
            raise ValueError(f"follow_up: {self.id}'s follow-up {index} is not scored")
        # built as asked, not re-validated: a follow-up needs no follow-up of its own
        return Question.model_construct(
            id=f"{self.id}/follow-up-{index + 1}",
            domain=self.domain,
            question=asked.question,
            listen_for=tuple(c.claim for c in asked.concepts),
            concepts=asked.concepts,
            reference_answer=asked.reference_answer,
            follow_ups=(),
            personal=None,
            personal_answer=None,
        )


class LoopParams(_Bank):
    questions: int = Field(ge=1)
    seconds_per_question: int = Field(ge=10)
    follow_ups: bool = Field(True, description="Ask each question's first follow-up after it.")


class NegationRules(_Bank):
    """How a clause denies what it names (``interview_scoring.py``); in the bank to be read."""

    before: tuple[Phrase, ...] = Field(description="Deny what follows them in the clause.")
    after: tuple[Phrase, ...] = Field(description="Deny what precedes them in the clause.")
    not_negation: tuple[Phrase, ...] = Field(description="Look like negation, are not.")
    insufficient: tuple[Phrase, ...] = Field(
        description="'Without X, this is not enough' argues for X: 'without' is no denial here."
    )
    clause_breaks: tuple[Phrase, ...] = Field(description="Words that start a new clause.")
    hypothetical: tuple[Phrase, ...] = Field(
        description="A clause starting with one is a supposition: it asserts no misconception."
    )
    window_words: int = Field(ge=0, description="A lone denial reaches this many words.")


class Credit(_Bank):
    claimed: float = Field(1.0, gt=0, le=1)
    named: float = Field(ge=0, lt=1, description="Named without the claim.")
    contradicted: float = Field(lt=0, description="Costs more than a miss (which earns 0).")


class ScoringParams(_Bank):
    """How an answer is scored (interview_scoring.py); in the bank so a reader sees the rules."""

    credit: Credit
    min_sentence_words: int = Field(ge=1)
    max_keyword_share: float = Field(gt=0, le=1)
    min_plain_words: int = Field(ge=0, description="Distinct words that are not keywords.")
    max_gap_words: int = Field(ge=0, description="Words allowed between a pattern's slots.")
    negation: NegationRules


class GuideQuestion(_Bank):
    """A question of the seed guide, and the bank question that answers it."""

    domain: str
    question: str
    id: str


class QuestionBank(_Bank):
    domains: dict[str, str]
    loop: LoopParams
    scoring: ScoringParams
    questions: tuple[Question, ...]
    seed_guide: tuple[GuideQuestion, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> QuestionBank:
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("questions: ids must be unique")
        for q in self.questions:
            if q.domain not in self.domains:
                raise ValueError(f"questions.{q.id}.domain: unknown domain {q.domain!r}")
        for index, asked in enumerate(self.seed_guide):
            if asked.id not in ids:
                raise ValueError(f"seed_guide.{index}.id: no question {asked.id!r} in the bank")
            if asked.domain not in self.domains:
                raise ValueError(f"seed_guide.{index}.domain: unknown domain {asked.domain!r}")
        return self

    def question(self, question_id: str) -> Question:
        """A question by id; ``<id>/follow-up-<n>`` is its n-th follow-up, asked on its own."""
        main, _, follow = question_id.partition("/follow-up-")
        for q in self.questions:
            if q.id == main:
                if not follow:
                    return q
                if follow.isdigit() and 1 <= int(follow) <= len(q.follow_ups):
                    return q.follow_up(int(follow) - 1)
        raise KeyError(f"question_id: no question {question_id!r} in the bank")

    def of_domain(self, domain: str) -> list[Question]:
        return [q for q in self.questions if q.domain == domain]


def load_bank(path: Path = QUESTIONS_FILE) -> QuestionBank:
    """Read and validate the question bank. Every YAML scalar is read as text (``on``, ``no``,
    ``null`` and ``0.0`` are words in a pattern) and pydantic types the numbers and flags."""
    return QuestionBank.model_validate(yaml.load(path.read_text(), Loader=yaml.CBaseLoader))


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
    question_id: str  # a follow-up is ``<id>/follow-up-1``, asked right after its question
    domain: str
    seconds: int

    @property
    def is_follow_up(self) -> bool:
        return "/follow-up-" in self.question_id


class MockLoop(_Bank):
    seed: int
    items: tuple[LoopItem, ...]


def plan_mock_loop(
    bank: QuestionBank, seed: int, count: int | None = None, seconds: int | None = None
) -> MockLoop:
    """A seeded sequence that visits the domains in turn (shuffled), one question each, each
    followed by its first follow-up (scored like it), with a time budget per answer; the same
    seed always gives the same loop. ``count`` counts the main questions."""
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
    if bank.loop.follow_ups:
        items = [
            asked
            for item in items
            for asked in (
                item,
                item.model_copy(update={"question_id": f"{item.question_id}/follow-up-1"}),
            )
        ]
    return MockLoop(seed=seed, items=tuple(items))


class InterviewAttempt(_Bank):
    """One answered question: what was asked, the answer, its score and the time it took, and
    (once the learner ticked the checklist) their own assessment beside the rubric's."""

    attempt_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    question_id: str
    domain: str
    question: str
    answer: str
    score: float
    covered: tuple[str, ...]
    missed: tuple[str, ...]
    contradicted: tuple[str, ...] = ()
    seconds_taken: float = Field(ge=0)
    seconds_budget: int | None = None
    loop_seed: int | None = None
    self_checked: tuple[str, ...] | None = Field(
        None, description="The checklist items the learner ticked (None: not assessed yet)."
    )
    self_score: float | None = Field(None, description="Ticked items as a share, 0-100.")
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


def record_self_assessment(
    paths: SimulatorPaths, attempt_id: str, checked: tuple[str, ...], items: int
) -> InterviewAttempt:
    """Store the learner's ticks beside the rubric's score of that attempt (rewritten in place)."""
    if items < 1:
        raise ValueError(f"items: a checklist has at least one item, got {items}")
    attempts = read_attempts(paths)
    found = next((a for a in attempts if a.attempt_id == attempt_id), None)
    if found is None:
        raise KeyError(f"attempt_id: no attempt {attempt_id!r}")
    assessed = found.model_copy(
        update={"self_checked": checked, "self_score": round(100 * len(checked) / items, 1)}
    )
    lines = [(assessed if a is found else a).model_dump_json() for a in attempts]
    write_atomically(paths.interview_attempts, "\n".join(lines) + "\n")
    return assessed


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
