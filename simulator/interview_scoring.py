"""Score an interview answer offline, with rules the user can read (``questions.yml``: scoring).

An answer is cut into sentences. A concept is *reasoned* when one of its synonyms appears in a
sentence that is prose (at least ``min_sentence_words`` words, of which at most
``max_keyword_share`` are the question's keywords) and that sentence either carries a reasoning
cue (because, so that, trade-off, instead of, which means, if ... then, ...) or ties the concept
to another of the question's concepts. A concept that only appears otherwise is *mentioned* and
earns ``bare_mention`` of its share. So a list of keywords scores low, whatever it names.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from simulator.interview import Concept, InterviewAttempt, Question, ScoringParams

Status = Literal["reasoned", "mentioned", "missed"]
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")
WORD = re.compile(r"[a-z0-9][a-z0-9'_/.-]*")


class ConceptResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    status: Status
    why: str
    sentence: str = ""


class AnswerScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    question_id: str
    score: float
    concepts: tuple[ConceptResult, ...]

    @property
    def covered(self) -> list[str]:
        return [c.name for c in self.concepts if c.status == "reasoned"]

    @property
    def mentioned(self) -> list[str]:
        return [c.name for c in self.concepts if c.status == "mentioned"]

    @property
    def missed(self) -> list[str]:
        return [c.name for c in self.concepts if c.status == "missed"]


@cache
def _pattern(phrase: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in phrase.lower().split()]
    body = r"[\s-]+".join(words)
    return re.compile(rf"(?<![a-z0-9]){body}(?:s|es)?(?![a-z0-9])")


def _spans(text: str, concept: Concept) -> list[tuple[int, int]]:
    return [m.span() for s in concept.synonyms for m in _pattern(s).finditer(text)]


def _cue(sentence: str, cues: tuple[str, ...]) -> bool:
    if re.search(r"\bif\b.+\bthen\b", sentence):
        return True
    return any(_pattern(cue).search(sentence) for cue in cues)


def _keyword_share(sentence: str, concepts: tuple[Concept, ...]) -> float:
    words = WORD.findall(sentence)
    if not words:
        return 1.0
    covered = [False] * len(sentence)
    for concept in concepts:
        for start, end in _spans(sentence, concept):
            covered[start:end] = [True] * (end - start)
    keyword_words = sum(1 for m in WORD.finditer(sentence) if covered[m.start()])
    return keyword_words / len(words)


def split_sentences(answer: str) -> list[str]:
    return [s.strip().lower() for s in SENTENCE_END.split(answer) if s and s.strip()]


def score_answer(question: Question, answer: str, rules: ScoringParams) -> AnswerScore:
    """Which concepts the answer reasons about, which it only names, which it misses; 0-100."""
    sentences = split_sentences(answer)
    prose = [
        s
        for s in sentences
        if len(WORD.findall(s)) >= rules.min_sentence_words
        and _keyword_share(s, question.concepts) <= rules.max_keyword_share
    ]
    results = []
    for concept in question.concepts:
        others = [c for c in question.concepts if c is not concept]
        status: Status = "missed"
        evidence = ""
        for sentence in sentences:
            if not _spans(sentence, concept):
                continue
            tied = any(_spans(sentence, other) for other in others)
            if sentence in prose and (tied or _cue(sentence, rules.reasoning_cues)):
                status, evidence = "reasoned", sentence
                break
            if status == "missed":
                status, evidence = "mentioned", sentence
        results.append(
            ConceptResult(name=concept.name, status=status, why=concept.why, sentence=evidence)
        )
    credit = {"reasoned": 1.0, "mentioned": rules.bare_mention, "missed": 0.0}
    total = sum(credit[r.status] for r in results) / len(results)
    return AnswerScore(
        question_id=question.id, score=round(100 * total, 1), concepts=tuple(results)
    )


def attempt_of(
    question: Question,
    answer: str,
    result: AnswerScore,
    seconds_taken: float,
    seconds_budget: int | None = None,
    loop_seed: int | None = None,
) -> InterviewAttempt:
    """The record of one answered question, for ``record_attempt``."""
    return InterviewAttempt(
        question_id=question.id,
        domain=question.domain,
        question=question.question,
        answer=answer,
        score=result.score,
        covered=tuple(result.covered),
        missed=tuple(result.missed),
        seconds_taken=seconds_taken,
        seconds_budget=seconds_budget,
        loop_seed=loop_seed,
    )
