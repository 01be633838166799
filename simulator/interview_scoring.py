"""Score an interview answer offline by the claims it makes (``questions.yml``: ``scoring``).

Each concept of a question is a claim the answer must make, with the wrong claims
(misconceptions) an interviewer listens for. The answer is cut into sentences and each sentence
into clauses (at commas, colons and words such as "but", "because", "and"). Per concept:

- **contradicted**: a clause asserts one of its misconceptions, or names the concept and denies
  it ("we do not use a registry", "aliases are pointless", "... instead of a canary");
- **claimed**: a prose sentence matches one of the claim's patterns, or names the concept (not
  denied) together with a word of what the claim says about it; a denied misconception is a
  claim too ("retraining does not always fix drift");
- **named**: the concept is named, but nothing is claimed about it;
- **missed**: not there.

Negation is scoped to its clause: a word of ``negation.before`` denies what follows it in the
clause, a word of ``negation.after`` what precedes it; two denials cancel ("nothing ships
without a gate"). So "we roll back instead of retraining" denies the retraining, not the
rollback. A contradicted concept costs more than a missed one (``credit.contradicted`` < 0), so a
confident wrong answer scores below silence. Prose means at least ``min_sentence_words`` words,
at least ``min_plain_words`` distinct words that are not keywords, and keywords at most
``max_keyword_share`` of the words, so a list of keywords claims nothing.

This is a rule-based grader: it checks which claims an answer covers and which it contradicts,
in the words it knows. It cannot tell whether an unlisted claim is true.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from simulator.interview import (
    Concept,
    InterviewAttempt,
    NegationRules,
    Pattern,
    Question,
    ScoringParams,
)

Status = Literal["claimed", "named", "missed", "contradicted"]
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
WORD = re.compile(r"[a-z0-9][a-z0-9_'.]*")
CONTRACTIONS = (
    (re.compile(r"\bcan't\b|\bcannot\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"n't\b"), " not"),
)
ENDINGS = ("", "s", "es", "ed", "d", "ing", "ly", "er")
PREFIX_MARK = "zzprefix"  # what a trailing * becomes once a phrase is cut into words
OPTIONAL = "?"  # a slot holding this phrase may be left out
LIST_ITEM_WORDS = 2  # a clause this short (its joining word left out) is an item of a list


class ConceptResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    status: Status
    claim: str
    why: str
    sentence: str = ""
    wrong: str = ""  # when contradicted: the wrong claim and why it is wrong


class AnswerScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    question_id: str
    score: float
    concepts: tuple[ConceptResult, ...]

    def _named(self, status: Status) -> list[str]:
        return [c.name for c in self.concepts if c.status == status]

    @property
    def covered(self) -> list[str]:
        return self._named("claimed")

    @property
    def mentioned(self) -> list[str]:
        return self._named("named")

    @property
    def missed(self) -> list[str]:
        return self._named("missed")

    @property
    def contradicted(self) -> list[str]:
        return self._named("contradicted")


@dataclass(frozen=True)
class Clause:
    """A clause's words; ``start`` is the index of its first word in its sentence."""

    words: tuple[str, ...]
    start: int


@dataclass(frozen=True)
class Sentence:
    text: str
    words: tuple[str, ...]
    clauses: tuple[Clause, ...]

    def clause_of(self, index: int) -> Clause:
        for clause in self.clauses:
            if clause.start <= index < clause.start + len(clause.words):
                return clause
        return self.clauses[-1]


def normalize(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    for pattern, replacement in CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return text


def words_of(text: str) -> tuple[str, ...]:
    """The words of ``text``: hyphens and slashes split words ("trade-off": trade, off), a dot
    inside a word does not ("events.py", "0.3")."""
    return tuple(m.group().strip(".'") for m in WORD.finditer(text.replace("-", " ")) if m.group())


@cache
def _phrase(phrase: str) -> tuple[str, ...]:
    return words_of(normalize(phrase.replace("*", PREFIX_MARK))) if phrase else ()


@lru_cache(maxsize=1 << 18)
def _word_matches(pattern: str, word: str) -> bool:
    """``pattern`` or its usual endings (rolls, rolled, rolling; canaries; caching); short words
    ("not", "no", "api") only as they are or with an s; ``x*`` any word starting with x."""
    if pattern.endswith(PREFIX_MARK):
        return word.startswith(pattern[: -len(PREFIX_MARK)])
    if word == pattern:
        return True
    if len(pattern) <= 3:
        return word == pattern + "s"
    rest = word[len(pattern) :] if word.startswith(pattern) else None
    if rest is not None and rest in ENDINGS:
        return True
    if pattern.endswith("e") and word.startswith(pattern[:-1]):
        return word[len(pattern) - 1 :] in ("ing", "ed", "er")  # retire: retiring
    if pattern.endswith("y") and word.startswith(pattern[:-1]):
        return word[len(pattern) - 1 :] in ("ies", "ied")  # canary: canaries
    return False


def find_phrase(words: tuple[str, ...], phrase: str, start: int = 0) -> Iterator[int]:
    """Every index from ``start`` where ``phrase`` begins in ``words``."""
    wanted = _phrase(phrase)
    if not wanted:
        return
    first, rest = wanted[0], wanted[1:]
    for i in range(start, len(words) - len(wanted) + 1):
        if _word_matches(first, words[i]) and all(
            _word_matches(p, words[i + 1 + k]) for k, p in enumerate(rest)
        ):
            yield i


def _clauses(sentence: str, breaks: tuple[str, ...]) -> tuple[Clause, ...]:
    """Cut at , : ( ) and dashes, and before each clause-break word."""
    clauses: list[Clause] = []
    index = 0
    for piece in re.split(r"[,:()\u2014]|\s-\s", sentence):
        words = words_of(piece)
        cut = [0]
        for i, word in enumerate(words):
            if i and any(_word_matches(b, word) for b in breaks if " " not in b):
                cut.append(i)
        for b in (b for b in breaks if " " in b):
            cut.extend(i for i in find_phrase(words, b) if i)
        cut = sorted(set(cut))
        for a, z in zip(cut, [*cut[1:], len(words)], strict=True):
            if z > a:
                clauses.append(Clause(words=words[a:z], start=index + a))
        index += len(words)
    return tuple(clauses) or (Clause(words=(), start=0),)


def parse(answer: str, rules: NegationRules) -> list[Sentence]:
    """The answer's sentences, each cut into clauses (lower case, contractions spelled out)."""
    parsed = []
    for text in SENTENCE_END.split(normalize(answer)):
        text = text.strip()
        if not text:
            continue
        clauses = _clauses(text, rules.clause_breaks)
        words = tuple(w for c in clauses for w in c.words)
        parsed.append(Sentence(text=text, words=words, clauses=clauses))
    return parsed


@lru_cache(maxsize=1 << 16)
def _spans(words: tuple[str, ...], phrase: str) -> tuple[tuple[int, int], ...]:
    """Where ``phrase`` occurs in ``words`` (the same sentence is searched for the same phrase
    by several rules: remembered)."""
    size = len(_phrase(phrase))
    return tuple((i, i + size) for i in find_phrase(words, phrase))


def _cue_positions(words: tuple[str, ...], phrases: Iterable[str]) -> list[tuple[int, int]]:
    return [span for phrase in phrases for span in _spans(words, phrase)]


Polarity = Literal["asserted", "denied", "hypothetical"]


def _skipped_without(clause: Clause, a: int, rules: NegationRules) -> bool:
    """ "Without X, ..." and "X without Y is not enough" argue for what they name."""
    if a == 0:
        return True
    return any(i > a for i, _ in _cue_positions(clause.words, rules.insufficient))


def _before_cues(
    sentence: Sentence, lo: int, hi: int, own: set[int], rules: NegationRules
) -> list[int]:
    """Sentence indexes (lo <= i < hi) where a denying cue starts, its exceptions left out."""
    found = []
    for clause in sentence.clauses:
        end = clause.start + len(clause.words)
        if end <= lo or clause.start >= hi:
            continue
        excluded = {
            i for a, z in _cue_positions(clause.words, rules.not_negation) for i in range(a, z)
        }
        for a, _ in _cue_positions(clause.words, rules.before):
            where = clause.start + a
            if not lo <= where < hi or where in own or a in excluded:
                continue
            if clause.words[a] == "without" and _skipped_without(clause, a, rules):
                continue
            found.append(where)
    return found


def _after_cues(sentence: Sentence, last: int, rules: NegationRules) -> list[int]:
    clause = sentence.clause_of(last)
    found = []
    for a, _ in _cue_positions(clause.words, rules.after):
        where = clause.start + a
        if where <= last:
            continue
        if {"not", "never", "hardly"} & set(clause.words[max(0, a - 2) : a]):
            continue  # "not pointless", "never a waste"
        found.append(where)
    return found


def polarity(sentence: Sentence, spans: list[tuple[int, int]], rules: NegationRules) -> Polarity:
    """Whether the words of ``spans`` (a term, or a pattern's slots in order) are asserted or
    denied in their clause, or said in a hypothetical clause ("if you retrain on noise, ...").

    Denying cues count from the start of the first span's clause (and in the gaps between the
    spans), ``after`` cues up to the end of the last span's clause; an even number cancels out,
    and an odd number denies only when the nearest cue is within ``window_words``."""
    first, last = spans[0][0], spans[-1][1] - 1
    own = {i for a, z in spans for i in range(a, z)}
    clause = sentence.clause_of(first)
    before = _before_cues(sentence, clause.start, last + 1, own, rules)
    after = _after_cues(sentence, last, rules)
    if (len(before) + len(after)) % 2 == 0:
        verdict: Polarity = "asserted"
    else:
        near = [first - i for i in before] + [i - last for i in after]
        verdict = "denied" if min(near) <= rules.window_words else "asserted"
    supposed = [i for i, _ in _cue_positions(clause.words, rules.hypothetical) if i == 0]
    inside = last < clause.start + len(clause.words)
    early = first - clause.start <= rules.window_words
    if supposed and inside and early and verdict == "asserted":
        return "hypothetical"  # "if you pick on the test set, ...": a supposition
    return verdict


def _match(sentence: Sentence, pattern: Pattern, gap: int) -> Iterator[list[tuple[int, int]]]:
    """Every way the pattern's slots match in order, at most ``gap`` words apart."""

    def extend(slot: int, after: int, started: bool) -> Iterator[list[tuple[int, int]]]:
        if slot == len(pattern):
            if started:
                yield []
            return
        for phrase in pattern[slot]:
            if phrase == OPTIONAL:
                yield from extend(slot + 1, after, started)  # an optional slot may be empty
                continue
            for a, z in _spans(sentence.words, phrase):
                if a < after or (started and a - after > gap):
                    continue
                for rest in extend(slot + 1, z, True):
                    yield [(a, z), *rest]

    yield from extend(0, 0, False)


def pattern_polarities(sentence: Sentence, pattern: Pattern, rules: ScoringParams) -> set[Polarity]:
    return {
        polarity(sentence, spans, rules.negation)
        for spans in _match(sentence, pattern, rules.max_gap_words)
    }


def term_polarities(sentence: Sentence, concept: Concept, rules: NegationRules) -> set[Polarity]:
    return {
        polarity(sentence, [span], rules)
        for term in concept.terms
        for span in _spans(sentence.words, term)
    }


def _keywords(concepts: tuple[Concept, ...]) -> list[str]:
    """The names of the question's concepts (what a keyword dump is made of)."""
    return [term for concept in concepts for term in concept.terms]


def _is_real_clause(words: tuple[str, ...]) -> bool:
    """More than a name or two: a list's items are one or two words ("model store")."""
    return len(words) > LIST_ITEM_WORDS


def _is_list(sentence: Sentence, joiners: tuple[str, ...]) -> bool:
    """Mostly fragments ("registry, alias, champion, rollback"), however they are joined
    (commas, or ``joiners`` such as "because" and "then", which do not count as words of the
    fragment), with more words in the fragments than in the real clauses around them (an
    enumeration inside a sentence that says something is prose)."""
    pieces = []
    for clause in sentence.clauses:
        words = clause.words
        if words and words[0] in joiners:
            words = words[1:]
        if words:
            pieces.append(words)
    real = [words for words in pieces if _is_real_clause(words)]
    fragments = [words for words in pieces if not _is_real_clause(words)]
    said = sum(len(words) for words in real)
    listed = sum(len(words) for words in fragments)
    return len(pieces) >= 4 and len(fragments) * 2 > len(pieces) and listed > said


def _is_prose(sentence: Sentence, keywords: list[str], rules: ScoringParams) -> bool:
    """Long enough, not a list, not mostly concept names, and with enough other words."""
    words = sentence.words
    joiners = (*rules.negation.clause_breaks, *rules.negation.hypothetical)
    if len(words) < rules.min_sentence_words or _is_list(sentence, joiners):
        return False
    covered = [False] * len(words)
    for phrase in keywords:
        for a, z in _spans(words, phrase):
            covered[a:z] = [True] * (z - a)
    plain = {w for w, hit in zip(words, covered, strict=True) if not hit}
    keyword_words = sum(covered)
    share = keyword_words / (keyword_words + len(plain)) if plain else 1.0
    return share <= rules.max_keyword_share and len(plain) >= rules.min_plain_words


def judge(
    concept: Concept, sentences: list[Sentence], prose: list[bool], rules: ScoringParams
) -> ConceptResult:
    """The concept's status over the whole answer: contradicted > claimed > named > missed."""
    status: Status = "missed"
    evidence = wrong = ""
    rank = {"missed": 0, "named": 1, "claimed": 2, "contradicted": 3}

    def note(new: Status, sentence: Sentence, why: str = "") -> None:
        nonlocal status, evidence, wrong
        if rank[new] > rank[status]:
            status, evidence, wrong = new, sentence.text, why

    for sentence, is_prose in zip(sentences, prose, strict=True):
        for misconception in concept.misconceptions:
            for pattern in misconception.says:
                seen = pattern_polarities(sentence, pattern, rules)
                if "asserted" in seen:
                    wrong = f"it claims that {misconception.claim}, but {misconception.why}"
                    note("contradicted", sentence, wrong)
                elif "denied" in seen and is_prose:
                    note("claimed", sentence)
        said = any(
            {"asserted", "hypothetical"} & pattern_polarities(sentence, p, rules)
            for p in concept.says
        )
        seen = term_polarities(sentence, concept, rules.negation)
        backed = any(True for phrase in concept.support for _ in _spans(sentence.words, phrase))
        if said and is_prose:
            note("claimed", sentence)
        named = bool({"asserted", "hypothetical"} & seen)
        if concept.negative:
            # its claim is a denial ("never a 500"): denied it is made, asserted only named
            if "denied" in seen:
                made = is_prose and (backed or not concept.support)
                note("claimed" if made else "named", sentence)
            if named:
                note("named", sentence)
            continue
        if "denied" in seen and not said:
            note("contradicted", sentence, f"it denies that {concept.claim}")
        if named:
            note("claimed" if backed and is_prose else "named", sentence)
    return ConceptResult(
        name=concept.name,
        status=status,
        claim=concept.claim,
        why=concept.why,
        sentence=evidence,
        wrong=wrong,
    )


def score_answer(question: Question, answer: str, rules: ScoringParams) -> AnswerScore:
    """Which claims the answer makes, names, misses or contradicts; 100 when all are made, below
    zero when it contradicts more than it claims."""
    sentences = parse(answer, rules.negation)
    keywords = _keywords(question.concepts)
    prose = [_is_prose(s, keywords, rules) for s in sentences]
    results = tuple(judge(c, sentences, prose, rules) for c in question.concepts)
    credit = {
        "claimed": rules.credit.claimed,
        "named": rules.credit.named,
        "missed": 0.0,
        "contradicted": rules.credit.contradicted,
    }
    total = sum(credit[r.status] for r in results) / len(results)
    return AnswerScore(question_id=question.id, score=round(100 * total, 1), concepts=results)


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
        contradicted=tuple(result.contradicted),
        seconds_taken=seconds_taken,
        seconds_budget=seconds_budget,
        loop_seed=loop_seed,
    )
