"""Progress: the course phases run so far, and the history of drill and interview scores."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from phase1_foundations.settings import get_settings
from simulator.interview import read_attempts
from simulator.pages.common import score_text, simulator_paths
from simulator.pages.course import course_progress
from simulator.records import DrillRecord, SimulatorPaths


def _course(paths: SimulatorPaths, drills: list[DrillRecord]) -> None:
    st.subheader("Course")
    st.caption(
        "A phase counts as run when the artifact its lesson command writes is on disk. "
        "Whether your exercise passes is what its self-check says: run it to know."
    )
    drill_runs = {Path(record.run_dir).resolve() for record in drills}
    phases = course_progress(get_settings(), drill_runs)
    done = sum(phase.run for phase in phases)
    st.progress(done / len(phases), text=f"{done} of {len(phases)} phases run")
    table = pd.DataFrame(
        {
            "phase": [f"{phase.phase}. {phase.title}" for phase in phases],
            "run": ["yes" if phase.run else "not yet" for phase in phases],
            "evidence": [phase.evidence for phase in phases],
            "when (UTC)": [
                phase.when.strftime("%Y-%m-%d %H:%M") if phase.when else "" for phase in phases
            ],
            "run it": [phase.command for phase in phases],
            "self-check": [phase.check for phase in phases],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")


def _drills(drills: list[DrillRecord]) -> None:
    st.subheader("Drills")
    if not drills:
        st.info("No drill yet: start one on the Drill page.")
        return
    table = pd.DataFrame(
        {
            "started (UTC)": [record.started_at[:16].replace("T", " ") for record in drills],
            "drill": [record.drill_id for record in drills],
            # The scenario stays hidden until the drill is over: it is what the user diagnoses.
            "scenario": [record.title if record.finished else "(hidden)" for record in drills],
            "weeks played": [f"{record.week} / {record.weeks}" for record in drills],
            "declarations": [len(record.declarations) for record in drills],
            "score": [score_text(record) for record in drills],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    scored = [record for record in drills if record.score is not None]
    if len(scored) >= 2:
        share = [record.score.total / record.score.max_total for record in scored if record.score]
        st.line_chart(pd.DataFrame({"score (share of max)": share}), x_label="drill")


def _interviews(paths: SimulatorPaths) -> None:
    st.subheader("Interview practice")
    attempts = read_attempts(paths)
    if not attempts:
        st.info("No interview answer yet: practise on the Interview page.")
        return
    table = pd.DataFrame(
        {
            "at (UTC)": [attempt.at[:16].replace("T", " ") for attempt in attempts],
            "domain": [attempt.domain for attempt in attempts],
            "question": [attempt.question for attempt in attempts],
            "score": [attempt.score for attempt in attempts],
            "your check": [
                "" if attempt.self_score is None else f"{attempt.self_score:g}"
                for attempt in attempts
            ],
            "contradicted": [", ".join(attempt.contradicted) for attempt in attempts],
            "mock loop": [str(attempt.loop_seed or "") for attempt in attempts],
            "over time": [attempt.over_time for attempt in attempts],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")
    if len(attempts) >= 2:
        st.line_chart(pd.DataFrame({"interview score": table["score"]}), x_label="answer")


def render() -> None:
    st.title("Progress")
    paths = simulator_paths()
    drills = paths.drills()
    _course(paths, drills)
    _drills(drills)
    _interviews(paths)


if __name__ == "__main__":
    render()
