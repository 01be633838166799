"""Interview: practise one question, or sit a timed mock loop; see what you claimed, named,
missed and contradicted, then the reference answer and a checklist to assess yourself.

Every answer is appended to the attempts file (``SimulatorPaths.interview_attempts``), and the
self-assessment is stored beside the rubric's score. The mock loop is a seed in the URL
(``?loop=``): the questions (each followed by its first follow-up) follow from the seed, and how
far you are follows from the attempts on disk, so a refresh resumes the loop where it was.
"""

from __future__ import annotations

import secrets
import time

import pandas as pd
import streamlit as st

from simulator.interview import (
    InterviewAttempt,
    Question,
    QuestionBank,
    drill_facts,
    load_bank,
    personalize,
    plan_mock_loop,
    read_attempts,
    record_attempt,
    record_self_assessment,
)
from simulator.interview_scoring import attempt_of, score_answer
from simulator.pages.common import simulator_paths
from simulator.records import SimulatorPaths

LOOP_PARAM = "loop"
STATUS_LABEL = {
    "claimed": "claimed",
    "named": "named, nothing claimed",
    "missed": "missed",
    "contradicted": "CONTRADICTED",
}


def _started(key: str) -> float:
    """When this question was first shown in this session (the clock of its answer)."""
    clocks: dict[str, float] = st.session_state.setdefault("interview_clocks", {})
    return clocks.setdefault(key, time.monotonic())


def _show_attempt(question: Question, attempt: InterviewAttempt, bank: QuestionBank) -> None:
    result = score_answer(question, attempt.answer, bank.scoring)
    st.metric("Rubric score", f"{attempt.score:g} / 100")
    budget = f" of {attempt.seconds_budget} s" if attempt.seconds_budget else ""
    late = " (over time)" if attempt.over_time else ""
    st.caption(
        f"answered in {attempt.seconds_taken:.0f} s{budget}{late}. A claim counts when a"
        " sentence makes it; a contradicted one costs more than a missed one, so a confident"
        " wrong answer scores below zero. The rubric checks which claims you made and which you"
        " contradicted, in words it knows: it cannot judge the truth of anything else you said."
    )
    st.table(
        pd.DataFrame(
            {
                "concept": [concept.name for concept in result.concepts],
                "in your answer": [STATUS_LABEL[concept.status] for concept in result.concepts],
                "the claim": [concept.claim for concept in result.concepts],
            }
        ).set_index("concept")
    )
    for concept in result.concepts:
        if concept.status == "contradicted":
            st.error(f'**{concept.name}**: "{concept.sentence}": {concept.wrong}.')
    st.markdown("**Reference answer**")
    st.markdown(question.reference_answer)
    st.markdown("**What an interviewer listens for**")
    st.markdown("\n".join(f"- {item}" for item in question.listen_for))
    _self_assessment(question, attempt)


def _self_assessment(question: Question, attempt: InterviewAttempt) -> None:
    """The learner ticks the claims they made; both scores are kept with the attempt."""
    checklist = [concept.claim for concept in question.concepts]
    with st.form(f"self-{attempt.attempt_id}"):
        st.markdown("**Your own check: tick each claim your answer made**")
        ticked = [
            item
            for index, item in enumerate(checklist)
            if st.checkbox(item, key=f"tick-{attempt.attempt_id}-{index}")
        ]
        saved = st.form_submit_button("Record my self-assessment")
    if saved:
        assessed = record_self_assessment(
            simulator_paths(), attempt.attempt_id, tuple(ticked), len(checklist)
        )
        st.success(
            f"Recorded: your check {assessed.self_score:g} / 100, the rubric {attempt.score:g}"
            " / 100."
        )


def _answer(
    paths: SimulatorPaths,
    bank: QuestionBank,
    question: Question,
    key: str,
    budget: int | None = None,
    loop_seed: int | None = None,
) -> InterviewAttempt | None:
    """The answer box for one question; the attempt, recorded, once the user submits."""
    started = _started(key)
    st.markdown(f"**{question.question}**")
    with st.form(f"answer-{key}"):
        answer = st.text_area("Your answer", height=200, key=f"text-{key}")
        submitted = st.form_submit_button("Score my answer")
    if not submitted:
        return None
    if not answer.strip():
        st.error("answer: write something first")
        return None
    result = score_answer(question, answer, bank.scoring)
    taken = time.monotonic() - started
    attempt = attempt_of(question, answer, result, taken, budget, loop_seed)
    record_attempt(paths, attempt)
    return attempt


def _shown(paths: SimulatorPaths, key: str) -> InterviewAttempt | None:
    """The attempt this session last scored under ``key``, read back from disk (so its
    self-assessment shows): the page keeps only its id."""
    wanted = st.session_state.get(f"shown-{key}")
    if wanted is None:
        return None
    return next((a for a in read_attempts(paths) if a.attempt_id == wanted), None)


def _practice(paths: SimulatorPaths, bank: QuestionBank) -> None:
    facts = drill_facts(paths)
    domain = st.selectbox(
        "Domain", list(bank.domains), format_func=lambda name: bank.domains[name], key="domain"
    )
    questions = {q.id: personalize(q, facts) for q in bank.of_domain(domain)}
    if not questions:
        st.info("No question in this domain yet.")
        return
    chosen = st.selectbox(
        "Question",
        list(questions),
        format_func=lambda question_id: questions[question_id].question,
        key=f"question-{domain}",
    )
    question = questions[chosen]
    key = f"practice-{question.id}"
    attempt = _answer(paths, bank, question, key)
    if attempt is not None:
        st.session_state[f"shown-{key}"] = attempt.attempt_id
    shown = attempt or _shown(paths, key)
    if shown is not None:
        _show_attempt(question, shown, bank)


def _mock_loop(paths: SimulatorPaths, bank: QuestionBank) -> None:
    raw_seed = st.query_params.get(LOOP_PARAM)
    if raw_seed is None or not raw_seed.isdigit():
        st.write(
            f"{bank.loop.questions} questions, one per domain in a random order, each followed"
            f" by a follow-up, {bank.loop.seconds_per_question} s each. The clock runs from"
            " when a question shows."
        )
        if st.button("Start a mock loop", type="primary"):
            st.query_params[LOOP_PARAM] = str(secrets.randbelow(10**6))
            st.rerun()
        return
    seed = int(raw_seed)
    loop = plan_mock_loop(bank, seed)
    done = [attempt for attempt in read_attempts(paths) if attempt.loop_seed == seed]
    facts = drill_facts(paths)
    review = f"loop-{seed}"
    last = _shown(paths, review)
    if last is not None and done and last.attempt_id == done[-1].attempt_id:
        # the answer just scored stays on the page (with its checklist) until "Next question"
        item = loop.items[len(done) - 1]
        question = personalize(bank.question(item.question_id), facts)
        st.markdown(f"**{question.question}**")
        _show_attempt(question, last, bank)
        if st.button("Next question"):
            del st.session_state[f"shown-{review}"]
            st.rerun()
        return
    if len(done) < len(loop.items):
        item = loop.items[len(done)]
        st.progress(
            len(done) / len(loop.items), text=f"question {len(done) + 1} of {len(loop.items)}"
        )
        if item.is_follow_up:
            st.caption("A follow-up to the question before, scored the same way.")
        question = personalize(bank.question(item.question_id), facts)
        attempt = _answer(paths, bank, question, f"loop-{seed}-{len(done)}", item.seconds, seed)
        if attempt is not None:
            st.session_state[f"shown-{review}"] = attempt.attempt_id
            st.rerun()
        return
    st.subheader(f"Mock loop {seed}: done")
    mean = sum(attempt.score for attempt in done) / len(done)
    st.metric("Mean score", f"{mean:.1f} / 100")
    summary = pd.DataFrame(
        {
            "domain": [bank.domains[attempt.domain] for attempt in done],
            "asked": [
                "follow-up" if "/follow-up-" in attempt.question_id else "question"
                for attempt in done
            ],
            "score": [attempt.score for attempt in done],
            "your check": [
                "" if attempt.self_score is None else f"{attempt.self_score:g}" for attempt in done
            ],
            "seconds": [round(attempt.seconds_taken) for attempt in done],
            "over time": [attempt.over_time for attempt in done],
            "missed": [", ".join(attempt.missed) for attempt in done],
            "contradicted": [", ".join(attempt.contradicted) for attempt in done],
        }
    )
    st.dataframe(summary, hide_index=True, width="stretch")
    if st.button("New mock loop"):
        del st.query_params[LOOP_PARAM]
        st.rerun()


def render() -> None:
    st.title("Interview")
    paths = simulator_paths()
    bank = load_bank()
    practice, loop = st.tabs(["Practice a question", "Timed mock loop"])
    with practice:
        _practice(paths, bank)
    with loop:
        _mock_loop(paths, bank)


if __name__ == "__main__":
    render()
