"""Score an interview answer offline, with rules the user can read (``questions.yml``: scoring).

An answer is cut into sentences. A concept is *reasoned* when one of its synonyms appears in a
sentence that is prose and that sentence either carries a reasoning cue (because, so that,
trade-off, instead of, which means, if ... then, ...) or ties the concept to another of the
question's concepts. Prose means at least ``min_sentence_words`` words, at least
``min_plain_words`` distinct words that are not the question's keywords, and keywords at most
``max_keyword_share`` of the words (each other word counted once). A concept that only appears
otherwise is *mentioned* and earns ``bare_mention`` of its share. So a list of keywords scores
low, whatever it names, and whatever cue words are sprinkled between them.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from simulator.interview import Concept, InterviewAttempt, Question, ScoringParams

Status = Literal["reasoned", "mentioned", "missed"]
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
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


def _is_prose(sentence: str, concepts: tuple[Concept, ...], rules: ScoringParams) -> bool:
    """Long enough, not mostly keywords, and with enough distinct other words to say something
    (so "because drift because psi because ..." is still a list)."""
    words = list(WORD.finditer(sentence))
    if len(words) < rules.min_sentence_words:
        return False
    covered = [False] * len(sentence)
    for concept in concepts:
        for start, end in _spans(sentence, concept):
            covered[start:end] = [True] * (end - start)
    plain = {m.group() for m in words if not covered[m.start()]}
    keyword_words = sum(1 for m in words if covered[m.start()])
    # repeated filler ("then ... then ...") counts once, so it cannot dilute a list of keywords
    share = keyword_words / (keyword_words + len(plain)) if plain else 1.0
    return share <= rules.max_keyword_share and len(plain) >= rules.min_plain_words


def split_sentences(answer: str) -> list[str]:
    return [s.strip().lower() for s in SENTENCE_END.split(answer) if s and s.strip()]


def score_answer(question: Question, answer: str, rules: ScoringParams) -> AnswerScore:
    """Which concepts the answer reasons about, which it only names, which it misses; 0-100."""
    sentences = split_sentences(answer)
    prose = [s for s in sentences if _is_prose(s, question.concepts, rules)]
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
