"""The interview bank, its scoring, the mock loop and questions drawn from the user's drills."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest

from phase1_foundations.settings import PROJECT_ROOT
from simulator.interview import (
    InterviewAttempt,
    QuestionBank,
    drill_facts,
    load_bank,
    personalize,
    plan_mock_loop,
    read_attempts,
    record_attempt,
)
from simulator.interview_scoring import attempt_of, score_answer
from simulator.postmortem import write_postmortem
from simulator.postmortem_prefill import prefill_postmortem
from simulator.records import SimulatorPaths
from simulator.tests.postmortem_fixtures import DECLARED_WEEK, saved_drill

SEED_QUESTIONS = (
    "Walk me through an end-to-end MLOps project you built",
    "What changes when pipelines are triggered by data instead of code?",
    "Is the model still delivering value?",
)
OFF_TOPIC = (
    "I enjoy cooking pasta on Sundays because the kitchen smells of basil and it relaxes me,"
    " so that is how I spend my weekends rather than hiking in the hills."
)
MAKE_TARGET = re.compile(r"^([a-zA-Z0-9_-]+):", re.MULTILINE)


@pytest.fixture(scope="module")
def bank() -> QuestionBank:
    return load_bank()


def keyword_dumps(bank: QuestionBank, question_id: str) -> list[str]:
    """Every synonym of every concept, as a list, one per line, and as one long 'sentence'."""
    words = [s for c in bank.question(question_id).concepts for s in c.synonyms]
    return [
        ", ".join(words),
        "\n".join(words),
        "I would use " + ", ".join(words) + " and so on.",
        ". ".join(words) + ".",
        " because ".join(words) + ".",  # a cue between keywords does not make reasoning
        "If " + " then ".join(words) + ", so that is it.",
    ]


def test_the_bank_covers_six_domains_with_thirty_questions(bank: QuestionBank) -> None:
    assert len(bank.domains) == 6
    assert len(bank.questions) >= 30
    for domain in bank.domains:
        assert len(bank.of_domain(domain)) >= 5, domain
    texts = {q.question for q in bank.questions}
    for seed in SEED_QUESTIONS:
        assert seed in texts, seed
    for q in bank.questions:
        assert q.follow_ups, q.id  # every question has somewhere to go next


def test_every_path_and_make_target_a_reference_answer_names_exists(bank: QuestionBank) -> None:
    targets = set(MAKE_TARGET.findall((PROJECT_ROOT / "Makefile").read_text()))
    checked = 0
    for q in bank.questions:
        for quoted in re.findall(r"`([^`]+)`", q.reference_answer + (q.personal_answer or "")):
            if quoted.startswith("make "):
                assert quoted.split()[1] in targets, (q.id, quoted)
            elif re.fullmatch(r"[\w.-]+(/[\w.<>-]+)+", quoted):
                assert (PROJECT_ROOT / quoted).exists(), (q.id, quoted)
            else:
                continue
            checked += 1
    assert checked >= len(bank.questions)  # every answer points into the repository


def test_reference_answers_score_high_keyword_dumps_low_off_topic_zero(
    bank: QuestionBank,
) -> None:
    reference, dumps, off = [], [], []
    for q in bank.questions:
        good = score_answer(q, q.reference_answer, bank.scoring).score
        worst_dump = max(score_answer(q, d, bank.scoring).score for d in keyword_dumps(bank, q.id))
        reference.append(good)
        dumps.append(worst_dump)
        off.append(score_answer(q, OFF_TOPIC, bank.scoring).score)
        assert good >= 75, (q.id, good)
        assert worst_dump <= 30, (q.id, worst_dump)
        assert good - worst_dump >= 50, q.id
        assert score_answer(q, "", bank.scoring).score == 0
    assert max(off) <= 5
    assert statistics.median(reference) >= 90


# answers written in other words than the reference ones: the rubric must not need its phrasing
OWN_WORDS = {
    "serving-rollout": (
        "I never flip all traffic at once. The new version first runs in shadow mode next to the"
        " old one, so that we see its answers on live requests while customers only get the old"
        " model. After that a canary gets a few percent of users, and automatic guardrails on"
        " error rate and latency roll it back if it misbehaves, since nobody should have to"
        " watch it by hand."
    ),
    "monitoring-value": (
        "I would look at the money first, because the campaign is why the model exists: the net"
        " value per week compared with the previous champion on the same customers. Since"
        " churn labels only show up weeks later, I would use an estimate from calibrated scores"
        " until then and check it against realized value when labels arrive."
    ),
}


@pytest.mark.parametrize("question_id", sorted(OWN_WORDS))
def test_an_answer_in_other_words_scores_between_dump_and_reference(
    bank: QuestionBank, question_id: str
) -> None:
    q = bank.question(question_id)
    own = score_answer(q, OWN_WORDS[question_id], bank.scoring).score
    dump = max(score_answer(q, d, bank.scoring).score for d in keyword_dumps(bank, q.id))
    assert own >= 60
    assert own > dump + 25


def test_a_concept_counts_fully_only_with_its_reasoning(bank: QuestionBank) -> None:
    q = bank.question("serving-rollout")
    bare = score_answer(q, "We had a canary.", bank.scoring)
    reasoned = score_answer(
        q, "We sent a small canary share first because it limits the blast radius.", bank.scoring
    )
    assert bare.mentioned == ["canary"]
    assert bare.covered == []
    assert reasoned.covered == ["canary"]
    assert reasoned.score > bare.score > 0
    tied = score_answer(
        q, "The canary is watched by guardrails on errors and latency.", bank.scoring
    )
    assert set(tied.covered) == {"canary", "guardrails"}  # tied to another concept
    missed = {c.name: c.why for c in reasoned.concepts if c.status == "missed"}
    assert "shadow" in missed
    assert missed["shadow"]


def test_personal_questions_use_the_last_drill_and_its_postmortem(
    bank: QuestionBank, tmp_path: Path
) -> None:
    paths = SimulatorPaths.of(tmp_path)
    assert drill_facts(paths) is None
    generic = bank.question("project-drill-story")
    assert personalize(generic, None) == generic
    record = saved_drill(paths)
    form = prefill_postmortem(record).model_copy(update={"root_causes": "prices rose 25%"})
    write_postmortem(form, paths)
    facts = drill_facts(paths)
    assert facts is not None
    asked = personalize(generic, facts)
    assert record.title in asked.question
    assert f"week {DECLARED_WEEK}" in asked.reference_answer
    assert "prices rose 25%" in asked.reference_answer
    assert "35/45" in asked.reference_answer  # the drill's score: 15 + 20 of 25 + 20
    assert "{" not in asked.reference_answer + asked.question
    personal = [q for q in bank.questions if q.personal]
    assert {q.domain for q in personal} >= {"project", "behavioral"}
    for q in personal:
        assert (
            score_answer(
                personalize(q, facts), personalize(q, facts).reference_answer, bank.scoring
            ).score
            >= 75
        )


def test_the_mock_loop_is_seeded_and_visits_every_domain(bank: QuestionBank) -> None:
    loop = plan_mock_loop(bank, seed=3)
    assert loop == plan_mock_loop(bank, seed=3)
    assert [i.question_id for i in loop.items] != [
        i.question_id for i in plan_mock_loop(bank, seed=4).items
    ]
    assert len(loop.items) == bank.loop.questions
    assert {i.domain for i in loop.items} == set(bank.domains)
    assert all(i.seconds == bank.loop.seconds_per_question for i in loop.items)
    long = plan_mock_loop(bank, seed=3, count=14, seconds=60)
    assert len({i.question_id for i in long.items}) == 14  # no question twice
    assert {i.seconds for i in long.items} == {60}
    with pytest.raises(ValueError, match="count"):
        plan_mock_loop(bank, seed=3, count=len(bank.questions) + 1)


def test_attempts_are_appended_and_read_back(bank: QuestionBank, tmp_path: Path) -> None:
    paths = SimulatorPaths.of(tmp_path)
    assert read_attempts(paths) == []
    q = bank.question("monitoring-value")
    result = score_answer(q, q.reference_answer, bank.scoring)
    record_attempt(paths, attempt_of(q, q.reference_answer, result, 300.0, 240, loop_seed=3))
    record_attempt(paths, attempt_of(q, "no idea", score_answer(q, "no idea", bank.scoring), 20))
    with paths.interview_attempts.open("a") as handle:
        handle.write('{"question_id": "cut sho')  # a line a kill cut short
    attempts = read_attempts(paths)
    assert [a.score for a in attempts] == [result.score, 0.0]
    assert attempts[0].over_time
    assert not attempts[1].over_time
    assert attempts[0].covered
    assert attempts[1].missed
    assert isinstance(attempts[0], InterviewAttempt)


def test_a_bank_with_a_question_in_an_unknown_domain_is_refused(tmp_path: Path) -> None:
    text = (PROJECT_ROOT / "simulator" / "questions.yml").read_text()
    broken = tmp_path / "questions.yml"
    broken.write_text(text.replace("domain: serving", "domain: servng", 1))
    with pytest.raises(ValueError, match="unknown domain 'servng'"):
        load_bank(broken)
