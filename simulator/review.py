"""Review a postmortem against the SRE book's review questions, and its facts against the drill.

The questions: were the key data collected, is the impact assessment complete, is the root
cause deep enough, is the action plan appropriate (and are the lessons written)? Each **form**
check is a plain rule on the text (a number with a time unit for a duration, a dollar amount
for the cost, a causal word and a named safeguard for the root cause, ...).

Each **fact** check compares what the learner wrote with the drill's record
(``record_facts.py``): the duration (within a week of the weeks the incident played), the cost
(within 25% of the business value lost, or said to be an estimate with its basis), the root
cause (it names the drill's cause), the model versions (they served), the data window, the
detection latency, and the rollback path (a version that existed). A failed check says what is
missing, or what the record shows.

The score is completeness times accuracy: the share of form points earned, times the share of
the facts it states that are true (the root cause weighs most). A complete postmortem of the
wrong incident scores low however well it reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from simulator.drill_score import usd
from simulator.interview import NegationRules, load_bank
from simulator.interview_scoring import find_phrase, parse, polarity
from simulator.postmortem import Postmortem
from simulator.record_facts import RecordFacts

WHO = re.compile(r"\b(customers?|users?|subscribers?|accounts?|clients?)\b", re.IGNORECASE)
DURATION = re.compile(r"\b\d+(\.\d+)?\s*(weeks?|days?|hours?|minutes?|months?)\b", re.IGNORECASE)
MONEY = re.compile(r"(\$\s?\d|\b\d[\d,.]*\s*(usd|dollars?)\b)", re.IGNORECASE)
CAUSAL = re.compile(
    r"\b(because|due to|caused by|led to|which (made|meant|means)|so that|as a result|since)\b",
    re.IGNORECASE,
)
SAFEGUARD = re.compile(
    r"\b(tests?|gate|monitor\w*|alerts?|checks?|contract|thresholds?|guardrails?|reviews?)\b",
    re.IGNORECASE,
)
GAP = re.compile(
    r"\b(not|no|never|missed|without|failed|didn't|did not|wasn't|was not|lacked|only)\b",
    re.IGNORECASE,
)
MIN_ROOT_CAUSE_WORDS = 15


class ReviewCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    question: str
    name: str
    points: float
    passed: bool
    missing: str
    kind: Literal["form", "fact"] = "form"
    stated: bool = True  # a fact check: whether the postmortem states that fact at all


class Review(BaseModel):
    model_config = ConfigDict(frozen=True)

    checks: tuple[ReviewCheck, ...]

    @property
    def completeness(self) -> float:
        """Share of the form points earned, 0-1."""
        form = [c for c in self.checks if c.kind == "form"]
        return sum(c.points for c in form if c.passed) / sum(c.points for c in form)

    @property
    def accuracy(self) -> float:
        """Share (by points) of the facts it states that the record confirms, 0-1; 1 when it
        states none (nothing false was said)."""
        stated = [c for c in self.checks if c.kind == "fact" and c.stated]
        if not stated:
            return 1.0
        return sum(c.points for c in stated if c.passed) / sum(c.points for c in stated)

    @property
    def score(self) -> float:
        return round(100 * self.completeness * self.accuracy, 1)

    @property
    def missing(self) -> list[str]:
        return [check.missing for check in self.checks if not check.passed]


Rule = tuple[str, str, float, Callable[[Postmortem], bool], str]

DATA = "Were the key data collected?"
IMPACT = "Is the impact assessment complete?"
ROOT = "Is the root cause deep enough?"
PLAN = "Is the action plan appropriate?"
LESSONS = "Were the lessons written down?"


def _filled(text: str) -> bool:
    return bool(text.strip())


def _root_cause_mechanism(pm: Postmortem) -> bool:
    words = len(pm.root_causes.split())
    return words >= MIN_ROOT_CAUSE_WORDS and bool(CAUSAL.search(pm.root_causes))


def _root_cause_safeguard(pm: Postmortem) -> bool:
    sentences = re.split(r"(?<=[.!?;])\s+", pm.root_causes)
    return any(SAFEGUARD.search(s) and GAP.search(s) for s in sentences)


def _has(kind: str) -> Callable[[Postmortem], bool]:
    return lambda pm: any(
        item.kind == kind and _filled(item.description) for item in pm.action_items
    )


RULES: tuple[Rule, ...] = (
    (DATA, "timeline", 1, lambda pm: bool(pm.timeline), "the timeline is empty"),
    (DATA, "summary", 1, lambda pm: _filled(pm.summary), "no summary"),
    (DATA, "trigger", 1, lambda pm: _filled(pm.trigger), "no trigger (what set it off)"),
    (DATA, "detection", 1, lambda pm: _filled(pm.detection), "no detection (how it was seen)"),
    (DATA, "resolution", 1, lambda pm: _filled(pm.resolution), "no resolution (what ended it)"),
    (DATA, "model_version", 1, lambda pm: _filled(pm.model_version), "no model version"),
    (DATA, "data_window", 1, lambda pm: _filled(pm.data_window), "no data window"),
    (DATA, "drift_test", 1, lambda pm: _filled(pm.drift_test), "no drift test or threshold"),
    (DATA, "label_delay", 1, lambda pm: _filled(pm.label_delay), "no label delay"),
    (
        DATA,
        "detection_latency",
        2,
        lambda pm: _filled(pm.detection_latency),
        "no detection latency (weeks from the fault to the declaration)",
    ),
    (
        IMPACT,
        "impact_who",
        2,
        lambda pm: bool(WHO.search(pm.impact)),
        "the impact does not say who was affected (customers, users, accounts)",
    ),
    (
        IMPACT,
        "impact_duration",
        2,
        lambda pm: bool(DURATION.search(pm.impact)),
        "the impact has no duration (a number of weeks, days or hours)",
    ),
    (
        IMPACT,
        "impact_money",
        2,
        lambda pm: bool(MONEY.search(pm.impact)),
        "the impact has no cost in dollars ($ or USD)",
    ),
    (
        ROOT,
        "root_cause_mechanism",
        3,
        _root_cause_mechanism,
        f"the root cause names no mechanism: at least {MIN_ROOT_CAUSE_WORDS} words with a causal"
        " link (because, due to, caused by, led to)",
    ),
    (
        ROOT,
        "root_cause_safeguard",
        3,
        _root_cause_safeguard,
        "the root cause does not say why it was not caught (which test, gate, monitor or"
        " contract missed it)",
    ),
    (PLAN, "action_prevent", 2, _has("prevent"), "no 'prevent' action item"),
    (PLAN, "action_mitigate", 2, _has("mitigate"), "no 'mitigate' action item"),
    (
        PLAN,
        "action_owners",
        2,
        lambda pm: bool(pm.action_items) and all(_filled(i.owner) for i in pm.action_items),
        "an action item has no owner",
    ),
    (
        PLAN,
        "rollback_path",
        1,
        lambda pm: _filled(pm.rollback_path),
        "no rollback path (which version to go back to, and how)",
    ),
    (LESSONS, "went_well", 1, lambda pm: _filled(pm.went_well), "no 'what went well'"),
    (LESSONS, "went_wrong", 1, lambda pm: _filled(pm.went_wrong), "no 'what went wrong'"),
    (LESSONS, "got_lucky", 1, lambda pm: _filled(pm.got_lucky), "no 'where we got lucky'"),
)


def review_postmortem(postmortem: Postmortem, facts: RecordFacts | None = None) -> Review:
    """Every check, passed or not, with what is missing; ``Review.score`` is 0-100. Without the
    drill's ``facts`` only the form is reviewed."""
    form = tuple(
        ReviewCheck(
            question=question, name=name, points=points, passed=rule(postmortem), missing=why
        )
        for question, name, points, rule, why in RULES
    )
    return Review(checks=form + (fact_checks(postmortem, facts) if facts else ()))


# --- the facts ----------------------------------------------------------------------------

NUMBER_WORDS = {  # not "a": "1,000 customers a week" is a rate, not a duration
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "a couple of": 2,
}
SPAN = re.compile(
    r"\b(\d+(?:\.\d+)?|"
    + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
    + r")\s*(weeks?|days?|hours?|minutes?|months?)\b",
    re.IGNORECASE,
)
WEEKS_PER = {"week": 1.0, "day": 1 / 7, "hour": 1 / 168, "minute": 1 / 10080, "month": 4.35}
AMOUNT = re.compile(
    r"(-)?\$\s?(\d[\d,]*(?:\.\d+)?)\s*(k|thousand|million|m)?\b"
    r"|(\d[\d,]*(?:\.\d+)?)\s*(k|thousand|million)?\s*(?:usd|dollars?)\b",
    re.IGNORECASE,
)
SCALE = {"k": 1e3, "thousand": 1e3, "million": 1e6, "m": 1e6}
ESTIMATE = re.compile(r"\b(an estimate|estimated|we estimate|i estimate)\b", re.IGNORECASE)
BASIS = re.compile(
    r"\b(based on|basis|assuming|derived from|calculated from|computed from)\b", re.IGNORECASE
)
NO_LOSS = re.compile(
    r"\b(no (?:business )?value (?:was )?lost|nothing (?:was )?lost|no loss|lost nothing)\b",
    re.IGNORECASE,
)
VERSION = re.compile(r"\bv(\d+)\b|\bversions?\s+(\d+)\b", re.IGNORECASE)
WEEK_NUMBER = re.compile(r"\d+")
COST_TOLERANCE = 0.25  # the cost claimed is within this share of the value lost ...
COST_FLOOR = 0.01  # ... or of this share of the value at stake, when little was lost
DURATION_TOLERANCE_WEEKS = 1.0
FACT_POINTS = {
    "cause": 3.0,
    "duration": 2.0,
    "cost": 2.0,
    "versions": 1.0,
    "data_window": 1.0,
    "latency": 1.0,
    "rollback": 1.0,
}


def durations(text: str) -> list[tuple[str, float]]:
    """Each duration written in ``text``, with its length in weeks."""
    found = []
    for match in SPAN.finditer(text):
        count, unit = match.group(1).lower(), match.group(2).lower().rstrip("s")
        value = NUMBER_WORDS[count] if count in NUMBER_WORDS else float(count)
        found.append((match.group(0), value * WEEKS_PER[unit]))
    return found


def amounts(text: str) -> list[tuple[str, float]]:
    """Each dollar amount written in ``text`` ($4,200; $4.2k; 4200 USD; -$750)."""
    found = []
    for match in AMOUNT.finditer(text):
        digits = match.group(2) or match.group(4)
        scale = SCALE.get((match.group(3) or match.group(5) or "").lower(), 1.0)
        value = float(digits.replace(",", "")) * scale
        found.append((match.group(0).strip(), -value if match.group(1) else value))
    return found


def versions_named(text: str) -> list[str]:
    return [a or b for a, b in VERSION.findall(text)]


@cache
def _negation() -> NegationRules:
    return load_bank().scoring.negation


def names_any(text: str, phrases: tuple[str, ...]) -> bool:
    """Whether ``text`` names one of ``phrases`` without denying it ("not a schema break")."""
    for sentence in parse(text, _negation()):
        for phrase in phrases:
            size = len(phrase.split())
            for start in find_phrase(sentence.words, phrase):
                if polarity(sentence, [(start, start + size)], _negation()) != "denied":
                    return True
    return False


def _fact(name: str, passed: bool, stated: bool, missing: str, question: str) -> ReviewCheck:
    return ReviewCheck(
        question=question,
        name=f"fact_{name}",
        points=FACT_POINTS[name],
        passed=passed,
        missing=missing,
        kind="fact",
        stated=stated,
    )


def _weeks(count: float) -> str:
    return f"{count:g} week" if count == 1 else f"{count:g} weeks"


def _duration_check(pm: Postmortem, facts: RecordFacts) -> ReviewCheck:
    said = durations(pm.impact)
    right = facts.incident_weeks
    ok = any(abs(weeks - right) <= DURATION_TOLERANCE_WEEKS for _, weeks in said)
    played = f"weeks {facts.inject_week}-{facts.incident_end_week}" if right else "no incident week"
    what = ", ".join(text for text, _ in said) or "no duration"
    return _fact(
        "duration",
        ok,
        bool(said),
        f"the impact says {what}; the record shows the incident played {_weeks(right)}"
        f" ({played}), and the duration must be within a week of it",
        IMPACT,
    )


def _cost_check(pm: Postmortem, facts: RecordFacts) -> ReviewCheck | None:
    if facts.value_lost_usd is None:
        return None
    lost, stake = facts.value_lost_usd, facts.value_at_stake_usd or 0.0
    said = amounts(pm.impact)
    slack = max(COST_TOLERANCE * abs(lost), COST_FLOOR * stake)
    close = any(abs(value - max(lost, 0.0)) <= slack for _, value in said)
    close = close or (lost <= slack and bool(NO_LOSS.search(pm.impact)))
    estimate = bool(ESTIMATE.search(pm.impact) and BASIS.search(pm.impact))
    shown = f"{usd(lost)} of business value lost" if lost > 0 else "no value lost"
    what = ", ".join(text for text, _ in said) or "no amount"
    return _fact(
        "cost",
        close or estimate,
        bool(said) or estimate or bool(NO_LOSS.search(pm.impact)),
        f"the impact says {what}; the record shows {shown} against a healthy system's"
        f" {usd(stake)} (a cost must be within 25% of it, or be called an estimate with its"
        " basis)",
        IMPACT,
    )


def _cause_check(pm: Postmortem, facts: RecordFacts) -> ReviewCheck:
    text = pm.root_causes
    ok = names_any(text, facts.cause_words)
    others = [cause for cause, words in facts.other_causes.items() if names_any(text, words)]
    named = f"it names {', '.join(others)}" if others and not ok else "it does not name it"
    return _fact(
        "cause",
        ok,
        bool(text.strip()),
        f"the root cause is not the drill's: {named}; the record shows the cause was"
        f" {facts.root_cause.replace('_', ' ')}",
        ROOT,
    )


def _versions_check(pm: Postmortem, facts: RecordFacts) -> ReviewCheck:
    named = versions_named(pm.model_version)
    unknown = [v for v in named if v not in facts.known_versions]
    ok = bool(named) and not unknown and any(v in facts.served_versions for v in named)
    served = ", ".join(f"v{v}" for v in facts.served_versions) or "none"
    wrong = ", ".join(f"v{v}" for v in unknown) or "no version that served"
    return _fact(
        "versions",
        ok,
        bool(named),
        f"the model versions name {wrong}; the record shows these served: {served}",
        DATA,
    )


def _window_check(pm: Postmortem, facts: RecordFacts) -> ReviewCheck:
    text = VERSION.sub(" ", pm.data_window)
    weeks: set[int] = set()
    for match in re.finditer(r"(\d+)\s*(?:-|to|\.\.)\s*(\d+)", text):
        weeks.update(range(int(match.group(1)), int(match.group(2)) + 1))
        text = text.replace(match.group(0), " ")
    weeks.update(int(n) for n in WEEK_NUMBER.findall(text))
    unknown = sorted(weeks - set(facts.data_weeks))
    return _fact(
        "data_window",
        bool(weeks) and not unknown,
        bool(weeks),
        f"the data window names weeks {unknown}; the record shows the models learned from and"
        f" were gated on weeks {list(facts.data_weeks)}",
        DATA,
    )


def _latency_check(pm: Postmortem, facts: RecordFacts) -> ReviewCheck | None:
    if facts.exposed_weeks is None:
        return None
    said = durations(pm.detection_latency)
    right = {facts.exposed_weeks} | ({facts.late_weeks} if facts.late_weeks is not None else set())
    ok = bool(said) and round(said[0][1]) in right and said[0][1] == round(said[0][1])
    return _fact(
        "latency",
        ok,
        bool(said),
        f"the detection latency says {said[0][0] if said else 'nothing'}; the record shows"
        f" {_weeks(facts.exposed_weeks)} of the fault before the declaration"
        + (
            f" ({_weeks(facts.late_weeks)} after the first signal could be seen)"
            if facts.late_weeks is not None
            else ""
        ),
        DATA,
    )


def _rollback_check(pm: Postmortem, facts: RecordFacts) -> ReviewCheck:
    named = versions_named(pm.rollback_path)
    unknown = [v for v in named if v not in facts.known_versions]
    known = ", ".join(f"v{v}" for v in facts.known_versions) or "none"
    return _fact(
        "rollback",
        not unknown,
        bool(named),
        f"the rollback path names {', '.join(f'v{v}' for v in unknown)}, which never existed;"
        f" the record's versions: {known}",
        PLAN,
    )


def fact_checks(pm: Postmortem, facts: RecordFacts) -> tuple[ReviewCheck, ...]:
    """The learner's judgement fields against the drill's record."""
    checks = (
        _cause_check(pm, facts),
        _duration_check(pm, facts),
        _cost_check(pm, facts),
        _versions_check(pm, facts),
        _window_check(pm, facts),
        _latency_check(pm, facts),
        _rollback_check(pm, facts),
    )
    return tuple(check for check in checks if check is not None)
