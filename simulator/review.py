"""Review a postmortem against the SRE book's review questions, with checks a reader can redo.

The questions: were the key data collected, is the impact assessment complete, is the root
cause deep enough, is the action plan appropriate (and are the lessons written)? Each check is
a plain rule on the text (a number with a time unit for a duration, a dollar amount for the
cost, a causal word and a named safeguard for the root cause, ...), and a failed check says in
one sentence what is missing. The score is the share of points earned, 0-100.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from simulator.postmortem import Postmortem

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


class Review(BaseModel):
    model_config = ConfigDict(frozen=True)

    checks: tuple[ReviewCheck, ...]

    @property
    def score(self) -> float:
        earned = sum(check.points for check in self.checks if check.passed)
        return round(100 * earned / sum(check.points for check in self.checks), 1)

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


def review_postmortem(postmortem: Postmortem) -> Review:
    """Every check, passed or not, with what is missing; ``Review.score`` is 0-100."""
    return Review(
        checks=tuple(
            ReviewCheck(
                question=question, name=name, points=points, passed=rule(postmortem), missing=why
            )
            for question, name, points, rule, why in RULES
        )
    )
