"""Interview: practise one question, or sit a timed mock loop; see what you covered and missed.

Every answer is appended to the attempts file (``SimulatorPaths.interview_attempts``). The mock
loop is a seed in the URL (``?loop=``): the questions follow from the seed, and how far you are
follows from the attempts on disk, so a refresh resumes the loop where it was.
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
)
from simulator.interview_scoring import attempt_of, score_answer
from simulator.pages.common import simulator_paths
from simulator.records import SimulatorPaths

LOOP_PARAM = "loop"
STATUS_LABEL = {"reasoned": "covered", "mentioned": "named, no reasoning", "missed": "missed"}


def _started(key: str) -> float:
    """When this question was first shown in this session (the clock of its answer)."""
    clocks: dict[str, float] = st.session_state.setdefault("interview_clocks", {})
    return clocks.setdefault(key, time.monotonic())


def _show_attempt(question: Question, attempt: InterviewAttempt, bank: QuestionBank) -> None:
    result = score_answer(question, attempt.answer, bank.scoring)
    st.metric("Score", f"{attempt.score:g} / 100")
    budget = f" of {attempt.seconds_budget} s" if attempt.seconds_budget else ""
    late = " (over time)" if attempt.over_time else ""
    st.caption(f"answered in {attempt.seconds_taken:.0f} s{budget}{late}")
    table = pd.DataFrame(
        {
            "concept": [concept.name for concept in result.concepts],
            "in your answer": [STATUS_LABEL[concept.status] for concept in result.concepts],
            "why it matters": [concept.why for concept in result.concepts],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    with st.expander("Reference answer and follow-ups"):
        st.markdown(question.reference_answer)
        for follow_up in question.follow_ups:
            st.markdown(f"- {follow_up}")


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
    attempt = _answer(paths, bank, question, f"practice-{question.id}")
    if attempt is not None:
        _show_attempt(question, attempt, bank)


def _mock_loop(paths: SimulatorPaths, bank: QuestionBank) -> None:
    raw_seed = st.query_params.get(LOOP_PARAM)
    if raw_seed is None or not raw_seed.isdigit():
        st.write(
            f"{bank.loop.questions} questions, one per domain in a random order, "
            f"{bank.loop.seconds_per_question} s each. The clock runs from when a question shows."
        )
        if st.button("Start a mock loop", type="primary"):
            st.query_params[LOOP_PARAM] = str(secrets.randbelow(10**6))
            st.rerun()
        return
    seed = int(raw_seed)
    loop = plan_mock_loop(bank, seed)
    done = [attempt for attempt in read_attempts(paths) if attempt.loop_seed == seed]
    facts = drill_facts(paths)
    if len(done) < len(loop.items):
        item = loop.items[len(done)]
        st.progress(
            len(done) / len(loop.items), text=f"question {len(done) + 1} of {len(loop.items)}"
        )
        question = personalize(bank.question(item.question_id), facts)
        attempt = _answer(paths, bank, question, f"loop-{seed}-{len(done)}", item.seconds, seed)
        if attempt is not None:
            _show_attempt(question, attempt, bank)
            st.button("Next question")
        return
    st.subheader(f"Mock loop {seed}: done")
    mean = sum(attempt.score for attempt in done) / len(done)
    st.metric("Mean score", f"{mean:.1f} / 100")
    summary = pd.DataFrame(
        {
            "domain": [bank.domains[attempt.domain] for attempt in done],
            "score": [attempt.score for attempt in done],
            "seconds": [round(attempt.seconds_taken) for attempt in done],
            "over time": [attempt.over_time for attempt in done],
            "missed": [", ".join(attempt.missed) for attempt in done],
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
